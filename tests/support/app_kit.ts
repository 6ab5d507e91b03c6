/**
 * In-process app for guard and authorization tests: the same wiring as
 * `lib/server.ts` (store → hub → board → features → `createApp`) on a fresh
 * temporary KV file, without listening. Requests go through Hono's
 * `app.request`, with `remoteAddr` in the env as `Deno.serve` would pass it.
 *
 * @example
 * ```ts
 * await using kit = await createTestApp();
 * const alice = await kit.resident("alice");
 * const r = await kit.call("GET", "/api/me", { cookie: alice.cookie });
 * ```
 * @module
 */
import { createApp, type Mount } from "../../app.ts";
import { Board } from "../../lib/board.ts";
import { type Config, loadConfig } from "../../lib/config.ts";
import type { AppContext } from "../../lib/context.ts";
import { Store } from "../../lib/db/mod.ts";
import { features } from "../../app.ts";
import { SESSION_COOKIE } from "../../lib/http.ts";
import { Hub } from "../../lib/realtime.ts";
import { migrate } from "../../lib/migrate.ts";
import { seed } from "../../lib/seed.ts";
import type { User } from "../../lib/types.ts";
import { ensureBuilt } from "./browser.ts";
import { TEST_ADMIN_PASSWORD, TEST_INVITE, TEST_PASSWORD } from "./harness.ts";
import { hashPassword } from "../../lib/password.ts";
import type { Hono } from "hono";
import type { AppEnv } from "../../lib/http.ts";

/** The origin every in-process request is addressed to. */
export const APP_ORIGIN = "http://app.test";

/** A signed-in (or not) party: the user and the `Cookie` header to send. */
export interface Party {
  user: User | null;
  cookie: string;
}

/** One in-process request's answer. */
export interface KitResponse {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  json: any;
  text: string;
}

/** Options of {@link TestApp.call}. */
export interface CallOptions {
  cookie?: string;
  /** JSON-encoded unless `rawBody` is given. */
  body?: unknown;
  rawBody?: string;
  /** Extra headers; `null` removes a default (`origin`, `content-type`). */
  headers?: Record<string, string | null>;
  /** The client address `clientIp` sees (default 127.0.0.1). */
  remoteIp?: string;
}

/** An app built by {@link createTestApp}. */
export interface TestApp {
  app: Hono<AppEnv>;
  ctx: AppContext;
  config: Config;
  /** A request with the defaults of a same-origin page (Origin and JSON on writes). */
  call(method: string, path: string, opts?: CallOptions): Promise<KitResponse>;
  /** Create a resident directly in the store and a session for it. */
  resident(loginId: string, room?: string): Promise<Party & { user: User }>;
  /** The seeded admin with a fresh session. */
  /** The seeded building (the operator's; residents made by the kit live there). */
  home: string;
  admin(): Promise<Party & { user: User }>;
  /** A new session (cookie) for an existing user. */
  session(user: User): Promise<Party & { user: User }>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

let passwordHash: Promise<string> | null = null;

/**
 * Build the app on a fresh KV file in a temporary directory. `env` overrides
 * the environment like `startTestServer`'s; `pages` mounts the page routes
 * (builds assets first if needed; default true).
 */
export async function createTestApp(
  env: Record<string, string> = {},
  opts: { pages?: boolean } = {},
): Promise<TestApp> {
  const pages = opts.pages ?? true;
  if (pages) await ensureBuilt();
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-app-" });
  const config = loadConfig({
    PORT: "0",
    KV_PATH: `${dir}/kv.sqlite`,
    ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
    INVITE_CODE: TEST_INVITE,
    VAPID_SUBJECT: "mailto:guards@laundrylive.test",
    BACKGROUND: "0",
    ...env,
  });
  // The wiring of lib/server.ts startServer, minus Deno.serve.
  const kv = await Deno.openKv(config.kvPath);
  const store = new Store(kv, { minuteMs: config.minuteMs, offerMinutes: config.offerMinutes });
  await store.init();
  await migrate(store, Date.now(), { adminLogin: config.adminLogin });
  await seed(store, config);
  const home = (await store.getUserByLogin(config.adminLogin))!.buildingId;
  const hub = new Hub(store, { pingMs: config.pingMs, timeoutMs: config.timeoutMs });
  await hub.start();
  const board = new Board(store, hub);
  const ctx: AppContext = { config, store, hub, board, onClose: [] };
  // No due-index worker: nothing runs in the background of a guard test.
  const mounts: Mount[] = await features({ pages, notify: { worker: false } })(ctx);
  const app = createApp(ctx, mounts);

  const call = async (method: string, path: string, o: CallOptions = {}) => {
    const headers: Record<string, string> = {};
    if (method !== "GET" && method !== "HEAD") {
      headers["origin"] = APP_ORIGIN;
      headers["content-type"] = "application/json";
    }
    if (o.cookie) headers["cookie"] = o.cookie;
    const body = o.rawBody ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
    // On the wire a body always comes with its length (a Request object has none).
    if (body !== undefined) {
      headers["content-length"] = String(new TextEncoder().encode(body).length);
    }
    for (const [k, v] of Object.entries(o.headers ?? {})) {
      if (v === null) delete headers[k.toLowerCase()];
      else headers[k.toLowerCase()] = v;
    }
    const remoteAddr: Deno.NetAddr = {
      transport: "tcp",
      hostname: o.remoteIp ?? "127.0.0.1",
      port: 40000,
    };
    const res = await app.request(new URL(path, APP_ORIGIN).href, { method, headers, body }, {
      remoteAddr,
    });
    const text = await res.text();
    let json: unknown = null;
    if (text !== "") {
      try {
        json = JSON.parse(text);
      } catch { /* a page or plain text */ }
    }
    return { status: res.status, headers: res.headers, json, text };
  };

  const session = async (user: User) => {
    const token = await store.createSession(user.id);
    return { user, cookie: `${SESSION_COOKIE}=${token}` };
  };

  let closing: Promise<void> | null = null;
  const close = () =>
    closing ??= (async () => {
      await hub.close();
      for (const fn of ctx.onClose) await fn();
      kv.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    })();

  return {
    app,
    ctx,
    config,
    home,
    call,
    session,
    async resident(loginId: string, room = "101") {
      passwordHash ??= hashPassword(TEST_PASSWORD);
      const user = await store.createUser({
        loginId,
        passwordHash: await passwordHash,
        name: loginId,
        room,
        role: "resident",
        buildingId: home,
      });
      return await session(user);
    },
    async admin() {
      const user = await store.getUserByLogin(config.adminLogin);
      if (!user) throw new Error("no seeded admin");
      return await session(user);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
