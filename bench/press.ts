/**
 * KV round trips per press (issue 13: "≤ 4"). The app's real request path,
 * in-process: the Hono app exactly as lib/server.ts wires it (store → hub →
 * board → `createApp`), its Store on a counting KV handle
 * (tests/support/kv_counter.ts: every get, getMany, set, delete, enqueue,
 * list and atomic commit is one round trip) over a fresh KV file. Each press
 * is `POST /api/machines/:id/<action>` with a resident's session cookie and
 * Origin, through the whole middleware chain (session lookup, CSRF, body
 * validation) and the route (command + the cursor it answers with).
 * Counted per command: the whole request, and its parts (session lookup,
 * `Store.command`) by calling them directly; the rest is the route's own.
 *
 * Not counted (not on the press's path, and run after the answer): the
 * hub's fan-out read of the new events (`kv.watch` wakes every instance;
 * this one is also poked at once) and the due-index worker's work.
 * @module
 */
import { createApp } from "../app.ts";
import { Board } from "../lib/board.ts";
import { loadConfig } from "../lib/config.ts";
import type { AppContext } from "../lib/context.ts";
import { Store } from "../lib/db/mod.ts";
import { Hub } from "../lib/realtime.ts";
import { newMachine } from "../lib/lifecycle.ts";
import { K } from "../lib/keys.ts";
import { countingKv } from "../tests/support/kv_counter.ts";
import { median } from "./common.ts";

/** Round trips of one command. */
export interface PressCost {
  action: string;
  presses: number;
  /** The whole HTTP request (median, min, max over the presses). */
  request: { median: number; min: number; max: number };
  /** Parts, measured by calling them directly (median). */
  session: number;
  command: number;
  /** What the route adds beyond those two (request − session − command). */
  rest: number;
  /** Round trips by KV method for one request (the median press). */
  byMethod: Record<string, number>;
  /** Median in-process request time, ms (KV on a local SQLite file). */
  ms: number;
}

/** The press section's results. */
export interface PressResult {
  costs: PressCost[];
  failed: number;
}

/** The presses of one cycle, in order; each leaves the machine ready for the next. */
const CYCLE: [string, Record<string, unknown>][] = [
  ["hold", {}],
  ["arrive", {}],
  ["start", { minutes: 40 }],
  ["finish", {}],
  ["collect", {}],
];

/** Count `presses` cycles of hold → arrive → start (→ finish → collect). */
export async function runPress(
  opts: { presses: number; log: (s: string) => void },
): Promise<PressResult> {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-bench-" });
  const raw = await Deno.openKv(`${dir}/kv.sqlite`);
  const counter = countingKv(raw);
  const store = new Store(counter.kv);
  const hub = new Hub(store, { pingMs: 3_600_000, timeoutMs: 7_200_000 });
  try {
    await store.init();
    const config = loadConfig({ BACKGROUND: "0", SEED: "0" });
    const ctx: AppContext = { config, store, hub, board: new Board(store, hub), onClose: [] };
    const app = createApp(ctx);
    const building = await store.createBuilding({ name: "Press bench" });
    const bid = building.id;
    const user = await store.createUser({
      buildingId: bid,
      loginId: "presser",
      passwordHash: "x",
      name: "Presser",
      room: "101",
      role: "resident",
    });
    const token = await store.createSession(user.id);
    const m = newMachine("pressw1", bid, "W1", "washer", "1층", 1, Date.now());
    await raw.set(K.machine(bid, m.id), m);
    const actor = { id: user.id, name: user.name, role: "resident" as const };
    const origin = "http://app.test";
    const samples = new Map<string, { req: number[]; ms: number[]; by: Record<string, number>[] }>(
      CYCLE.map(([a]) => [a, { req: [], ms: [], by: [] }]),
    );
    let failed = 0;
    for (let i = 0; i < opts.presses; i++) {
      for (const [action, body] of CYCLE) {
        counter.reset();
        const t0 = performance.now();
        const res = await app.request(`${origin}/api/machines/${m.id}/${action}`, {
          method: "POST",
          headers: { cookie: `ll_session=${token}`, origin, "content-type": "application/json" },
          body: JSON.stringify(body),
        }, { remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 } });
        await res.text();
        const ms = performance.now() - t0;
        if (res.status !== 200) {
          failed++;
          continue;
        }
        const s = samples.get(action)!;
        s.req.push(counter.total());
        s.ms.push(ms);
        s.by.push({ ...counter.counts });
      }
    }
    // The parts, on a second machine, calling them as the request does.
    const m2 = newMachine("pressw2", bid, "W2", "washer", "1층", 2, Date.now());
    await raw.set(K.machine(bid, m2.id), m2);
    const parts = new Map<string, { session: number[]; command: number[] }>(
      CYCLE.map(([a]) => [a, { session: [], command: [] }]),
    );
    for (let i = 0; i < Math.min(20, opts.presses); i++) {
      for (const [action, body] of CYCLE) {
        const p = parts.get(action)!;
        counter.reset();
        await store.getSession(token);
        p.session.push(counter.total());
        counter.reset();
        // deno-lint-ignore no-explicit-any
        await store.command(bid, m2.id, { type: action, ...body } as any, actor);
        p.command.push(counter.total());
      }
    }
    const costs: PressCost[] = CYCLE.map(([action]) => {
      const s = samples.get(action)!;
      const p = parts.get(action)!;
      const med = median(s.req) ?? NaN;
      return {
        action,
        presses: s.req.length,
        request: { median: med, min: Math.min(...s.req), max: Math.max(...s.req) },
        session: median(p.session) ?? NaN,
        command: median(p.command) ?? NaN,
        rest: med - (median(p.session) ?? NaN) - (median(p.command) ?? NaN),
        byMethod: s.by[s.req.indexOf(med)] ?? {},
        ms: median(s.ms) ?? NaN,
      };
    });
    for (const c of costs) {
      opts.log(
        `    ${c.action}: ${c.request.median} round trips per request (min ${c.request.min}, max ${c.request.max}; session ${c.session} + command ${c.command} + rest of the route ${c.rest}) ${
          JSON.stringify(c.byMethod)
        }, ${c.ms.toFixed(2)} ms`,
      );
    }
    return { costs, failed };
  } finally {
    await hub.close();
    raw.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
