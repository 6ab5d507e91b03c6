/**
 * Starting the systems under test as separate processes: the real app
 * (`deno run -A main.ts`, exactly as production starts it, on a fresh KV
 * file) and the two broadcast baselines.
 * @module
 */
import { Api, BENCH, type Proc, ROOT, spawn } from "./common.ts";
import { WS_PROTOCOL } from "../lib/cursor.ts";

export const ADMIN_PASSWORD = "bench-admin-pass-123";
export const INVITE = "BENCH-INVITE";
export const PASSWORD = "bench-resident-pass-1";

/** A server under test. */
export interface Target {
  name: string;
  proc: Proc;
  base: string;
  /** Temp dir to delete after (app only). */
  dir?: string;
  stop(): Promise<void>;
}

/** The app's environment for benchmarks (heartbeat effectively off, fresh KV). */
export function appEnv(kvPath: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PORT: "0",
    HOSTNAME_BIND: "127.0.0.1",
    KV_PATH: kvPath,
    ADMIN_PASSWORD,
    INVITE_CODE: INVITE,
    VAPID_SUBJECT: "mailto:bench@example.org",
    WS_PING_MS: "3600000",
    WS_TIMEOUT_MS: "7200000",
    ...extra,
  };
}

/** Start `deno run -A main.ts` on a fresh (or given) KV file. */
export async function startApp(
  opts: {
    env?: Record<string, string>;
    kvDir?: string;
    timeoutMs?: number;
    root?: string;
    /** Delete `kvDir` on stop too (a dir made for this run). */
    removeDir?: boolean;
  } = {},
): Promise<Target> {
  const dir = opts.kvDir ?? await Deno.makeTempDir({ prefix: "laundrylive-bench-" });
  const proc = await spawn("app", Deno.execPath(), ["run", "-A", "main.ts"], {
    env: appEnv(`${dir}/kv.sqlite`, opts.env),
    cwd: opts.root ?? ROOT,
  });
  let base: string;
  try {
    base = (await proc.waitFor(/listening on (http:\/\/\S+)/, opts.timeoutMs ?? 60_000))[1];
  } catch (err) {
    await proc.kill();
    throw err;
  }
  return {
    name: "app",
    proc,
    base,
    dir,
    async stop() {
      await proc.kill();
      if (!opts.kvDir || opts.removeDir) {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    },
  };
}

/** Start one of the broadcast baselines. */
export async function startBaseline(kind: "deno" | "node"): Promise<Target> {
  const proc = kind === "deno"
    ? await spawn("bare-deno", Deno.execPath(), ["run", "-A", `${BENCH}/baseline_deno_ws.ts`])
    : await spawn("node-ws", "node", [`${BENCH}/baseline_node_ws.mjs`]);
  const base = (await proc.waitFor(/listening on (http:\/\/\S+)/, 30_000))[1];
  return { name: kind === "deno" ? "bare-deno" : "node-ws", proc, base, stop: () => proc.kill() };
}

/** Register `n` residents through the API (in parallel); returns their clients. */
export async function registerResidents(base: string, n: number, prefix = "res"): Promise<Api[]> {
  return await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const api = new Api(base);
      await api.ok("POST", "/api/auth/register", {
        inviteCode: INVITE,
        loginId: `${prefix}${String(i).padStart(3, "0")}`,
        password: PASSWORD,
        name: `Resident ${i}`,
        room: `${100 + i}`,
      });
      return api;
    }),
  );
}

/**
 * The `ws://…/ws` URL of a base URL, asking for the protocol client/live.ts
 * speaks (`v=2`, lib/cursor.ts WS_PROTOCOL: no cursor in `event` messages;
 * the baselines ignore it).
 */
export function wsUrlOf(base: string, since?: string): string {
  const u = new URL("/ws", base);
  u.protocol = "ws:";
  if (since) u.searchParams.set("since", since);
  u.searchParams.set("v", String(WS_PROTOCOL));
  return u.href;
}

/** Log in as the seeded admin. */
export async function adminClient(base: string): Promise<Api> {
  const api = new Api(base);
  await api.ok("POST", "/api/auth/login", { loginId: "admin", password: ADMIN_PASSWORD });
  return api;
}

/** Sessions written straight into a KV file (see {@link seedSessions}). */
export interface SeededSessions {
  /** One `Cookie` header value per session, users interleaved (round-robin). */
  cookies: string[];
  /** The store epoch the sessions were written under. */
  epoch: string;
  users: number;
}

/**
 * Write `users` residents with `perUser` sessions each into a KV file before
 * the app starts (the app's own Store initialises it, so the app keeps the
 * epoch; its first-start seeding then adds the admin and demo building).
 * Registering thousands of residents through the API would spend minutes in
 * PBKDF2; the sockets under test only need valid session cookies of
 * distinct residents (the hub allows 8 sockets per resident per instance).
 * Users and sessions use the app's own key builders, in batches of 50 users
 * per atomic operation.
 */
export async function seedSessions(
  kvPath: string,
  users: number,
  perUser: number,
): Promise<SeededSessions> {
  const { Store } = await import("../lib/db/mod.ts");
  const { K } = await import("../lib/keys.ts");
  const { newId } = await import("../lib/ids.ts");
  const kv = await Deno.openKv(kvPath);
  try {
    const store = new Store(kv);
    await store.init();
    const tokens: string[][] = [];
    const now = Date.now();
    for (let b = 0; b < users; b += 50) {
      const op = kv.atomic();
      for (let i = b; i < Math.min(users, b + 50); i++) {
        const id = newId(12);
        const loginId = `storm${String(i).padStart(5, "0")}`;
        op.set(K.userByLogin(loginId), id).set(K.user(id), {
          id,
          loginId,
          name: `Resident ${i}`,
          room: `${100 + (i % 900)}`,
          role: "resident",
          disabled: false,
          passwordHash: "x",
          createdAt: now,
        });
        const mine: string[] = [];
        // As Store.createSession makes them (signed with the store's key).
        for (let s = 0; s < perUser; s++) mine.push(await store.addSessionOp(op, id, now));
        tokens.push(mine);
      }
      const res = await op.commit();
      if (!res.ok) throw new Error("seeding sessions: commit refused");
    }
    const cookies: string[] = [];
    for (let s = 0; s < perUser; s++) {
      for (const mine of tokens) cookies.push(`ll_session=${mine[s]}`);
    }
    return { cookies, epoch: store.epoch, users };
  } finally {
    kv.close();
  }
}
