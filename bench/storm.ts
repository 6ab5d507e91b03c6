/**
 * Reconnect storm: N clients that were connected when an instance went away
 * (a restart, an evicted Deno Deploy isolate) all reconnect at once to a
 * fresh server process. For the app each one is an authenticated resume,
 * exactly as client/live.ts does it: `GET /ws?since=<cursor>` with its own
 * session cookie (N sessions of N/5 residents, seeded into the KV file before
 * the server starts) and Origin; it counts as accepted when its `hello`
 * arrived. Baseline, in the same run: bare Deno (bench/baseline_deno_ws.ts)
 * accepting N plain upgrades and sending its small hello on open.
 *
 * The load generator (bench/load_client.mjs, Node) opens the N sockets with
 * a fixed number of handshakes in flight; time = first handshake sent → last
 * hello received. Server CPU over the storm from /proc. Targets alternate,
 * each repetition on a fresh server process (app: a fresh copy of the seeded
 * KV file), after the suite's quiet-wait.
 * @module
 */
import {
  BENCH,
  cpuSpan,
  LineClient,
  LoadWatch,
  median,
  perConnKB,
  type Proc,
  procRss,
  sleep,
  spawn,
  threadSplit,
  waitQuiet,
} from "./common.ts";
import { seedSessions, startApp, startBaseline, type Target, wsUrlOf } from "./servers.ts";

/** One storm on one fresh server. */
export interface StormRun {
  target: "app" | "bare-deno";
  rep: number;
  connected: number;
  failed: number;
  errors: Record<string, number>;
  ms: number;
  serverCpuMs: number;
  loadCpuMs: number;
  rssPerConnKB: number;
  helloBytes: number;
  otherCpuPct: number;
  /** Server CPU by thread group over the storm, ms ({@link threadSplit}). */
  threadsMs?: Record<"main" | "kv" | "v8" | "other", number>;
}

/** The storm section's results. */
export interface StormResult {
  n: number;
  concurrency: number;
  residents: number;
  runs: StormRun[];
  appMedianMs: number | null;
  bareMedianMs: number | null;
  appCpuMedianMs: number | null;
  bareCpuMedianMs: number | null;
}

const PER_RESIDENT = 5;

async function copyKv(from: string, to: string): Promise<void> {
  for (const suffix of ["", "-wal", "-shm"]) {
    try {
      await Deno.copyFile(`${from}/kv.sqlite${suffix}`, `${to}/kv.sqlite${suffix}`);
    } catch { /* no such file */ }
  }
}

/** Run the storm: `reps` alternating repetitions of the app and bare Deno. */
export async function runStorm(
  opts: { n: number; reps: number; concurrency: number; log: (s: string) => void },
): Promise<StormResult> {
  const { n, reps, concurrency, log } = opts;
  const template = await Deno.makeTempDir({ prefix: "laundrylive-bench-" });
  const residents = Math.ceil(n / PER_RESIDENT);
  const runs: StormRun[] = [];
  try {
    const t0 = performance.now();
    const seeded = await seedSessions(`${template}/kv.sqlite`, residents, PER_RESIDENT);
    log(
      `    seeded ${residents} residents × ${PER_RESIDENT} sessions in ${
        Math.round(performance.now() - t0)
      } ms`,
    );
    for (let rep = 0; rep < reps; rep++) {
      const order: StormRun["target"][] = rep % 2 ? ["bare-deno", "app"] : ["app", "bare-deno"];
      for (const t of order) {
        let target: Target | null = null;
        let load: Proc | null = null;
        try {
          let url: string;
          let headers: Record<string, string>[];
          if (t === "app") {
            const dir = await Deno.makeTempDir({ prefix: "laundrylive-bench-" });
            await copyKv(template, dir);
            target = await startApp({ kvDir: dir, removeDir: true });
            const origin = new URL(target.base).origin;
            // Every seeded resident is up to date at the board's head, user log 0.
            const res = await fetch(`${target.base}/api/machines`, {
              headers: { cookie: seeded.cookies[0] },
            });
            const { cursor } = await res.json() as { cursor: string };
            // epoch:building:board:user (cursors carry the building since tenancy).
            const [epoch, building, board] = cursor.split(":");
            if (epoch !== seeded.epoch) throw new Error(`epoch ${epoch} ≠ seeded ${seeded.epoch}`);
            url = wsUrlOf(target.base, `${epoch}:${building}:${board}:0`);
            headers = seeded.cookies.slice(0, n).map((cookie) => ({ cookie, origin }));
          } else {
            target = await startBaseline("deno");
            url = wsUrlOf(target.base);
            headers = [{ origin: new URL(target.base).origin }];
          }
          load = await spawn("load", "node", [`${BENCH}/load_client.mjs`], {
            passStdin: true,
            nofile: n + 2_000,
          });
          const lc = new LineClient(load);
          for (let i = 0; i < 5; i++) {
            await fetch(`${target.base}/api/machines`).then((r) => r.body?.cancel());
          }
          await sleep(300);
          const pid = target.proc.pid;
          const ours = () => [pid, load!.pid];
          await waitQuiet(ours);
          const rss0 = procRss(pid);
          const watch = new LoadWatch(ours);
          const span = cpuSpan(pid);
          const split = threadSplit(pid);
          const conn = await lc.call({
            cmd: "connect",
            url,
            n,
            headers,
            concurrency,
            timeoutMs: 120_000,
          });
          const serverCpuMs = span();
          const threadsMs = split();
          const otherCpuPct = watch.stop();
          await sleep(500);
          const rss1 = procRss(pid);
          const run: StormRun = {
            target: t,
            rep,
            connected: conn.connected,
            failed: conn.failed,
            errors: conn.errors,
            ms: conn.ms,
            serverCpuMs,
            loadCpuMs: conn.clientCpuMs,
            rssPerConnKB: perConnKB(rss1, rss0, conn.connected),
            helloBytes: conn.helloBytes,
            otherCpuPct,
            threadsMs,
          };
          runs.push(run);
          log(
            `    ${t} #${rep + 1}: ${conn.connected} accepted${
              conn.failed ? ` (${conn.failed} failed: ${JSON.stringify(conn.errors)})` : ""
            } in ${Math.round(conn.ms)} ms, server CPU ${Math.round(serverCpuMs)} ms, hello ${
              Math.round(conn.helloBytes)
            } B (main ${Math.round(threadsMs.main)}, KV ${Math.round(threadsMs.kv)}, V8 ${
              Math.round(threadsMs.v8)
            }), other load ${otherCpuPct.toFixed(0)}%`,
          );
          await lc.call({ cmd: "close", timeoutMs: 20_000 });
        } finally {
          await load?.kill();
          await target?.stop();
        }
      }
    }
  } finally {
    await Deno.remove(template, { recursive: true }).catch(() => {});
  }
  const ok = (t: StormRun["target"]) => runs.filter((r) => r.target === t && r.failed === 0);
  return {
    n,
    concurrency,
    residents,
    runs,
    appMedianMs: median(ok("app").map((r) => r.ms)),
    bareMedianMs: median(ok("bare-deno").map((r) => r.ms)),
    appCpuMedianMs: median(ok("app").map((r) => r.serverCpuMs)),
    bareCpuMedianMs: median(ok("bare-deno").map((r) => r.serverCpuMs)),
  };
}
