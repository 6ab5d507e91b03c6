/**
 * The dependencies every route receives. Built once by `lib/server.ts`.
 * @module
 */
import type { Hono } from "hono";
import type { AppEnv } from "./http.ts";
import type { Board } from "./board.ts";
import type { Config } from "./config.ts";
import type { Store } from "./db/mod.ts";
import type { Hub } from "./realtime.ts";
import type { Notifier } from "./notify/notifier.ts";
import type { NotificationService } from "./notify/service.ts";
import type { DueWorker } from "./outbox.ts";
import type { EmailAccounts } from "./mail/accounts.ts";

/** A route module: mounts itself on the app (the composition root, `app.ts`, lists them). */
export type Mount = (app: Hono<AppEnv>, ctx: AppContext) => void;

/** Route dependencies. Optional parts are wired in by features that need them. */
export interface AppContext {
  config: Config;
  store: Store;
  hub: Hub;
  board: Board;
  notifier?: Notifier;
  notifications?: NotificationService;
  /** Processes the due-index (outbox) on this instance. */
  worker?: DueWorker;
  vapidPublicKey?: string;
  /** Residents' fallback addresses (lib/mail/), when `SMTP_URL` is set. */
  emailAccounts?: EmailAccounts;
  /** Run (in order) when the server closes, before the KV handle is closed. */
  onClose: (() => Promise<void>)[];
}
