/**
 * Start LaundryLive: open KV, seed, wire store → board → hub → app, serve.
 * `main.ts` calls this with the environment's config; tests call it with a
 * temporary KV file and port 0.
 * @module
 */
import type { Hono } from "hono";
import type { AppEnv } from "./http.ts";
import { Board } from "./board.ts";
import type { Config } from "./config.ts";
import type { AppContext, Mount } from "./context.ts";
import { Store } from "./db/mod.ts";
import { Hub } from "./realtime.ts";
import { seed, type SeedReport } from "./seed.ts";
import { migrate } from "./migrate.ts";
import { lockRetrying } from "./commit.ts";

/** Requests that must wait for the seed's password work (`/api/auth/*`). */
const AUTH_PATH = /^[a-z]+:\/\/[^/]+\/api\/auth\//;

/** A running server. */
export interface Server {
  url: string;
  port: number;
  ctx: AppContext;
  seed: SeedReport | null;
  /**
   * Resolves when the seed's password work, done after listening, is over
   * (the operator exists with ADMIN_PASSWORD's hash); already resolved when
   * there was none.
   */
  seeded: Promise<void>;
  /** Stop serving, close sockets, timers and (if owned) the KV handle. */
  close(): Promise<void>;
}

/** Extra wiring a server start may take. */
export interface ServerOptions {
  /** Builds the Hono app (the composition root's `createApp`, `app.ts`). */
  createApp: (ctx: AppContext, mounts: Mount[], extraConnect: string[]) => Hono<AppEnv>;
  /** Route modules beyond the core API (pages, push, notifications). */
  mounts?: Mount[];
  /** Called with the context before serving (register listeners, queue handlers…). */
  setup?: (ctx: AppContext) => Promise<Mount[] | void> | Mount[] | void;
  /** Several servers on one port (SO_REUSEPORT): `WORKERS=N`. */
  reusePort?: boolean;
  /** Extra CSP connect-src entries. */
  extraConnect?: string[];
  /** Log the listening address. */
  quiet?: boolean;
}

/**
 * Open the store, run migrations and seed it (when `config.seed`), then
 * close it: the main thread of a `WORKERS=N` pool does this once, before the
 * workers start with `SEED=0`.
 */
export async function prepareStore(config: Config): Promise<SeedReport | null> {
  const kv = lockRetrying(await Deno.openKv(config.kvPath));
  try {
    const store = new Store(kv, { minuteMs: config.minuteMs, offerMinutes: config.offerMinutes });
    await store.init();
    await migrate(store, Date.now(), { adminLogin: config.adminLogin });
    return config.seed ? await seed(store, config) : null;
  } finally {
    kv.close();
  }
}

/** Open the store, build the app and serve it. */
export async function startServer(config: Config, opts: ServerOptions): Promise<Server> {
  const kv = lockRetrying(await Deno.openKv(config.kvPath));
  const store = new Store(kv, { minuteMs: config.minuteMs, offerMinutes: config.offerMinutes });
  await store.init();
  store.retentionMs = config.retentionMs;
  await migrate(store, Date.now(), { adminLogin: config.adminLogin });
  // The operator's password (PBKDF2) is hashed or checked once serving has
  // started: a restart answers without waiting for it.
  const report = config.seed ? await seed(store, config, { deferPassword: true }) : null;
  const hub = new Hub(store, { pingMs: config.pingMs, timeoutMs: config.timeoutMs });
  await hub.start();
  const board = new Board(store, hub);
  const ctx: AppContext = { config, store, hub, board, onClose: [] };
  const mounts = [...(opts.mounts ?? [])];
  const more = await opts.setup?.(ctx);
  if (more) mounts.push(...more);
  // The Firebase JS SDK (loaded only when FCM is configured) talks to these.
  const firebaseConnect = config.firebaseWebConfig
    ? ["https://firebaseinstallations.googleapis.com", "https://fcmregistrations.googleapis.com"]
    : [];
  const app = opts.createApp(ctx, mounts, [...(opts.extraConnect ?? []), ...firebaseConnect]);
  // Logins, registrations and resets wait until the operator's password is
  // in place (a fresh store's operator is created by it); the work itself
  // starts once listening.
  let openGate = () => {};
  let authGate: Promise<void> | null = report?.password
    ? new Promise<void>((r) => (openGate = r))
    : null;
  const ac = new AbortController();
  let resolveListen: (addr: Deno.NetAddr) => void;
  const listening = new Promise<Deno.NetAddr>((r) => (resolveListen = r));
  const server = Deno.serve(
    {
      port: config.port,
      hostname: config.hostname,
      reusePort: opts.reusePort,
      signal: ac.signal,
      onListen: (addr) => resolveListen(addr as Deno.NetAddr),
    },
    (req, info) =>
      authGate && AUTH_PATH.test(req.url)
        ? authGate.then(() => app.fetch(req, { remoteAddr: info.remoteAddr }))
        : app.fetch(req, { remoteAddr: info.remoteAddr }),
  );
  const addr = await listening;
  const seeded = report?.password
    ? report.password().catch((err) => {
      console.error("seeding the operator's password failed:", err);
    }).finally(() => {
      authGate = null;
      openGate();
    })
    : Promise.resolve();
  const host = addr.hostname === "0.0.0.0" ? "localhost" : addr.hostname;
  const url = `http://${host}:${addr.port}`;
  if (!opts.quiet) console.log(`LaundryLive listening on ${url}`);
  return {
    url,
    port: addr.port,
    ctx,
    seed: report,
    seeded,
    async close() {
      ac.abort();
      await seeded;
      await hub.close();
      await server.finished;
      for (const fn of ctx.onClose) await fn();
      kv.close();
    },
  };
}
