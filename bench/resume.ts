/**
 * Resume: a client that was offline while 100 / 1,000 board events happened
 * reconnects with `GET /ws?since=<cursor>`; time from the socket's `open`
 * (and, separately, from `new WebSocket`) until the `hello` has been received
 * and applied to the board it had, exactly as client/live.ts does it
 * (snapshot if any, then `applyBoardEvent` for each replayed board event).
 * Baseline: a fresh connect without a cursor (hello carries a snapshot).
 * Every resumed board is checked against `GET /api/machines` afterwards.
 * @module
 */
import { applyBoardEvent } from "../lib/board_view.ts";
import type { Machine } from "../lib/types.ts";
import { LoadWatch, sleep, summary, waitQuiet } from "./common.ts";
import { registerResidents, startApp, wsUrlOf } from "./servers.ts";

type Timing = ReturnType<typeof summary>;
export interface ResumeCase {
  name: string;
  missed: number;
  openToApplied: Timing;
  connectToApplied: Timing;
  helloBytes: number;
  recovered: boolean;
  consistent: boolean;
}
export interface ResumeResult {
  reps: number;
  cases: ResumeCase[];
  otherCpuPct: number;
}

const DenoWs = WebSocket as unknown as new (u: string, o: { headers: HeadersInit }) => WebSocket;

/** One connect: returns the board after applying hello, and the timings. */
function connectOnce(
  url: string,
  headers: HeadersInit,
  board: Machine[],
): Promise<
  { openMs: number; totalMs: number; machines: Machine[]; bytes: number; recovered: boolean }
> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let tOpen = 0;
    const ws = new DenoWs(url, { headers });
    ws.onopen = () => (tOpen = performance.now());
    ws.onmessage = (ev) => {
      const raw = ev.data as string;
      const msg = JSON.parse(raw);
      if (msg.type !== "hello") return;
      let machines = board;
      if (msg.snapshot) machines = msg.snapshot.machines;
      for (const e of msg.events) if (e.scope === "board") machines = applyBoardEvent(machines, e);
      const t1 = performance.now();
      ws.close();
      resolve({
        openMs: t1 - tOpen,
        totalMs: t1 - t0,
        machines,
        bytes: raw.length,
        recovered: msg.recovered,
      });
    };
    ws.onerror = () => reject(new Error("socket error"));
    setTimeout(() => reject(new Error("no hello in 10 s")), 10_000);
  });
}

/** Comparable form of a board. */
function canon(ms: Machine[]): string {
  return JSON.stringify([...ms].sort((a, b) => a.id.localeCompare(b.id)));
}

export async function runResume(
  opts: { missed: number[]; reps: number; log: (s: string) => void },
): Promise<ResumeResult> {
  const app = await startApp();
  const ours = () => [app.proc.pid];
  try {
    const [resident] = await registerResidents(app.base, 1, "resume");
    const headers = { cookie: resident.cookie, origin: new URL(app.base).origin };
    const { machines } = await resident.ok("GET", "/api/machines");
    const washer = machines.find((m: Machine) => m.kind === "washer")!;
    const dryer = machines.find((m: Machine) => m.kind === "dryer")!;
    // Board events: hold/release alternating on one washer and one dryer.
    let held = { [washer.id]: false, [dryer.id]: false } as Record<string, boolean>;
    const makeEvents = async (n: number) => {
      const chain = async (id: string, k: number) => {
        for (let i = 0; i < k; i++) {
          await resident.ok("POST", `/api/machines/${id}/${held[id] ? "release" : "hold"}`, {});
          held[id] = !held[id];
        }
      };
      await Promise.all([chain(washer.id, Math.ceil(n / 2)), chain(dryer.id, Math.floor(n / 2))]);
    };
    const max = Math.max(...opts.missed);
    // Positions: the board and cursor `k` events before the end, for each k.
    const points = new Map<number, { cursor: string; machines: Machine[] }>();
    let made = 0;
    for (const k of [...opts.missed].sort((a, b) => b - a)) {
      await makeEvents(max - k - made);
      made = max - k;
      const snap = await resident.ok("GET", "/api/machines");
      points.set(k, { cursor: snap.cursor, machines: snap.machines });
    }
    await makeEvents(max - made);
    const truth = canon((await resident.ok("GET", "/api/machines")).machines);
    held = {};
    opts.log(`    ${max} events written; measuring ${opts.reps} reconnects per case`);

    const cases = [
      {
        name: "fresh connect (snapshot)",
        missed: 0,
        since: undefined as string | undefined,
        board: [] as Machine[],
      },
      ...opts.missed.map((k) => ({
        name: `resume after ${k} events`,
        missed: k,
        since: points.get(k)!.cursor,
        board: points.get(k)!.machines,
      })),
    ];
    const samples = cases.map(() => ({
      open: [] as number[],
      total: [] as number[],
      bytes: 0,
      recovered: true,
      consistent: true,
    }));
    await waitQuiet(ours);
    const watch = new LoadWatch(ours);
    // Warm-up (JIT on both sides), then interleave the cases rep by rep.
    for (const c of cases) await connectOnce(wsUrlOf(app.base, c.since), headers, c.board);
    for (let r = 0; r < opts.reps; r++) {
      for (let ci = 0; ci < cases.length; ci++) {
        const c = cases[ci];
        const res = await connectOnce(wsUrlOf(app.base, c.since), headers, c.board);
        const s = samples[ci];
        s.open.push(res.openMs);
        s.total.push(res.totalMs);
        s.bytes = res.bytes;
        s.recovered &&= c.since ? res.recovered : true;
        s.consistent &&= canon(res.machines) === truth;
        await sleep(20);
      }
    }
    const otherCpuPct = watch.stop();
    return {
      reps: opts.reps,
      otherCpuPct,
      cases: cases.map((c, i) => ({
        name: c.name,
        missed: c.missed,
        openToApplied: summary(samples[i].open),
        connectToApplied: summary(samples[i].total),
        helloBytes: samples[i].bytes,
        recovered: samples[i].recovered,
        consistent: samples[i].consistent,
      })),
    };
  } finally {
    await app.stop();
  }
}
