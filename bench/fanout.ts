/**
 * Realtime fan-out: N authenticated WebSocket clients on one server process,
 * one board change reaching all of them, for the app and two baselines
 * (bare Deno, Node `ws`) driven by the same load generator.
 *
 * Per target and N:
 * 1. start the server (a separate process); for the app, register 6
 *    residents through the API (one per seeded machine) and reuse their
 *    session cookies round-robin over the N connections (Cookie + Origin on
 *    every handshake, as a browser sends them);
 * 2. idle RSS before and after N connections → RSS per connection;
 * 3. latency rounds: one change at a time (hold, then release, alternating),
 *    latency = receipt − just-before-the-POST on the load generator's own
 *    monotonic clock (driver and receivers are one process); server CPU per
 *    change from /proc/<pid>/stat;
 * 4. rate ramp: open-loop changes at R/s for a fixed window, R ×1.25 per
 *    step, until p99 > 250 ms, frames are lost, or the driver cannot keep
 *    the rate → the highest passing R × N is the sustained frames/s.
 * @module
 */
import {
  cpuSpan,
  LineClient,
  LoadWatch,
  perConnKB,
  type Proc,
  procRss,
  sleep,
  spawn,
  sysCpuSample,
  waitQuiet,
} from "./common.ts";
import {
  adminClient,
  registerResidents,
  seedSessions,
  startApp,
  startBaseline,
  type Target,
  wsUrlOf,
} from "./servers.ts";
import { BENCH } from "./common.ts";

export type TargetName = "app" | "app-patched" | "bare-deno" | "node-ws";

/** One ramp step. */
export interface RampStep {
  rate: number;
  achievedRate: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  lostFrames: number;
  deliveredFps: number;
  postP99: number | null;
  postFailed: number;
  serverCpuPct: number;
  clientCpuPct: number;
  systemBusyPct: number;
  otherCpuPct: number;
  pass: boolean;
  why?: string;
}

/** Results of one target at one N. */
export interface FanoutRun {
  target: TargetName;
  n: number;
  connected: number;
  connectFailed: number;
  connectMs: number;
  rssIdleMB: number;
  rssConnectedMB: number;
  rssPerConnKB: number;
  frameBytes: number;
  rounds: number;
  latency: { p50: number | null; p90: number | null; p99: number | null; max: number | null };
  completion: { p50: number | null; p99: number | null; max: number | null };
  lost: number;
  cpuPerEventMs: number;
  cpuPerFrameUs: number;
  clientCpuPerFrameUs: number;
  ramp: RampStep[];
  maxEventsPerSec: number;
  maxFramesPerSec: number;
  /** Server CPU µs per frame at the highest passing step. */
  rampCpuPerFrameUs: number | null;
  /** True when the load generator, not the server, was near saturation at the limit. */
  clientBound: boolean;
  /** False when the ramp stopped (steps/time) before any rate failed: the sustained figure is a lower bound. */
  limitReached: boolean;
  otherCpuPct: number;
  latencyOtherCpuPct: number;
  error?: string;
}

export interface FanoutOptions {
  ns: number[];
  targets: TargetName[];
  rounds: number;
  stepMs: number;
  maxSteps: number;
  /** Bisection steps after the ramp found its limit. */
  refine: number;
  /** First rate, as a share of the CPU-derived estimate (default 0.4), and the step factor (1.25). */
  rampStart?: number;
  rampFactor?: number;
  /** Wall-clock deadline (performance.now()) after which ramps stop early. */
  deadline: number;
  log: (s: string) => void;
  /** A copy of the repository with bench/patches applied (target "app-patched"). */
  patchedRoot?: string;
  /** Extra arguments for bench/load_client.mjs (e.g. `--client=ws`). */
  clientArgs?: string[];
  /** The app's event frame size, if already known (pads the baselines' frames). */
  frameBytes?: number;
}

/** Residents driving changes; each holds one washer and one dryer in turn. */
const RESIDENTS = 6;
/** Machines the changes rotate over (the 6 seeded + 6 added by the admin). */
const MACHINES = 12;

/** Sessions per seeded resident (the hub allows 8 sockets per resident per instance). */
const SESSIONS_PER_RESIDENT = 5;

/**
 * Start a target. The app gets `n` session cookies of `n / 5` residents
 * seeded into its fresh KV file first (one per socket: 5 devices per resident).
 */
async function startTarget(
  name: TargetName,
  n: number,
  patchedRoot?: string,
): Promise<{ target: Target; cookies?: string[] }> {
  if (name === "app" || name === "app-patched") {
    if (name === "app-patched" && !patchedRoot) throw new Error("no patched checkout");
    const dir = await Deno.makeTempDir({ prefix: "laundrylive-bench-" });
    const seeded = await seedSessions(
      `${dir}/kv.sqlite`,
      Math.ceil(n / SESSIONS_PER_RESIDENT),
      SESSIONS_PER_RESIDENT,
    );
    const target = await startApp({
      kvDir: dir,
      removeDir: true,
      root: name === "app-patched" ? patchedRoot : undefined,
    });
    return { target, cookies: seeded.cookies.slice(0, n) };
  }
  return { target: await startBaseline(name === "bare-deno" ? "deno" : "node") };
}

/** Run one target at one N. `frameBytes` pads the baselines' frames to the app's size. */
/** A started target with N connected clients. */
interface Prepared {
  target: Target;
  load: Proc;
  lc: LineClient;
  // deno-lint-ignore no-explicit-any
  trigger: any;
  rssIdle: number;
  rssConn: number;
  // deno-lint-ignore no-explicit-any
  conn: any;
  ours: () => number[];
  close(): Promise<void>;
}

/** Start a target and its load generator, set up residents (app), connect N clients. */
async function prepare(
  name: TargetName,
  n: number,
  frameBytes: number,
  opts: FanoutOptions,
  localAddress?: string,
): Promise<Prepared> {
  const log = opts.log;
  const { target, cookies } = await startTarget(name, n, opts.patchedRoot);
  let load: Proc | null = null;
  const close = async () => {
    await load?.kill();
    await target.stop();
  };
  try {
    load = await spawn("load", "node", [`${BENCH}/load_client.mjs`, ...(opts.clientArgs ?? [])], {
      passStdin: true,
      nofile: n + 2_000,
    });
    const lc = new LineClient(load);
    const ours = () => [target.proc.pid, load!.pid];
    if (load.nofile < n + 100) {
      throw new Error(
        `load generator open-file limit ${load.nofile} < ${n + 100}; raise ulimit -n`,
      );
    }
    if (target.proc.nofile < n + 100) {
      throw new Error(`server open-file limit ${target.proc.nofile} < ${n + 100}`);
    }
    // ── setup: residents and machines (app) / trigger spec (baselines)
    let headers: Record<string, string>[];
    // deno-lint-ignore no-explicit-any
    let trigger: any;
    const origin = new URL(target.base).origin;
    if (name === "app" || name === "app-patched") {
      const [residents, admin] = await Promise.all([
        registerResidents(target.base, RESIDENTS, "fan"),
        adminClient(target.base),
      ]);
      // 6 washers + 6 dryers, whatever the store started with (a store with
      // seeded sessions migrates into a building without machines).
      const before = (await residents[0].ok("GET", "/api/machines")).machines as { kind: string }[];
      for (const kind of ["washer", "dryer"]) {
        const have = before.filter((m) => m.kind === kind).length;
        for (let i = have; i < RESIDENTS; i++) {
          await admin.ok("POST", "/api/admin/machines", {
            name: `bench ${kind} ${i + 1}`,
            kind,
            room: "B1",
          });
        }
      }
      const { machines } = await residents[0].ok("GET", "/api/machines");
      const washers = machines.filter((m: { kind: string }) => m.kind === "washer");
      const dryers = machines.filter((m: { kind: string }) => m.kind === "dryer");
      if (washers.length < RESIDENTS || dryers.length < RESIDENTS) {
        throw new Error(`expected ${MACHINES} machines, got ${machines.length}`);
      }
      // One seeded session per socket (distinct residents, ≤ 5 sockets each).
      headers = cookies!.map((cookie) => ({ cookie, origin }));
      // One hold per resident per kind: resident k drives washer k and dryer k.
      const pairs = residents.flatMap((r, k) => [
        { id: washers[k].id, cookie: r.cookie, next: "hold" },
        { id: dryers[k].id, cookie: r.cookie, next: "hold" },
      ]);
      trigger = { kind: "app", base: target.base, origin, machines: pairs };
    } else {
      headers = [{ origin }];
      trigger = { kind: "bare", url: `${target.base}/broadcast`, size: frameBytes };
    }
    // Warm the HTTP path, then let the process settle before the idle reading.
    for (let i = 0; i < 5; i++) {
      await fetch(`${target.base}/api/machines`).then((r) => r.body?.cancel());
    }
    await sleep(500);
    const rssIdle = procRss(target.proc.pid);

    // ── connect
    const conn = await lc.call({
      cmd: "connect",
      url: wsUrlOf(target.base),
      n,
      headers,
      concurrency: 200,
      timeoutMs: 120_000,
      localAddress,
    });
    if (conn.failed) log(`    ${conn.failed} connections failed: ${JSON.stringify(conn.errors)}`);
    await sleep(1_000);
    const rssConn = procRss(target.proc.pid);
    return { target, load, lc, trigger, rssIdle, rssConn, conn, ours, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Run one target at one N. `frameBytes` pads the baselines' frames to the app's size. */
export async function fanoutOne(
  name: TargetName,
  n: number,
  frameBytes: number,
  opts: FanoutOptions,
): Promise<FanoutRun> {
  const log = opts.log;
  const prep = await prepare(name, n, frameBytes, opts);
  const { target, lc, rssIdle, rssConn, conn, ours } = prep;
  let trigger = prep.trigger;
  const watch = new LoadWatch(ours);
  try {
    // ── latency rounds
    await waitQuiet(ours);
    const latWatch = new LoadWatch(ours);
    const latSpan = cpuSpan(target.proc.pid);
    const lat = await lc.call({
      cmd: "latency",
      trigger,
      rounds: opts.rounds,
      warmup: 2,
      gapMs: 100,
      timeoutMs: 5_000,
    });
    // CPU of the measured rounds only is not separable from the 2 warm-up
    // rounds here; count all of them.
    const latCpu = latSpan();
    const latOther = latWatch.stop();
    const events = opts.rounds + 2;
    const cpuPerEventMs = latCpu / events;
    if (lat.trigger) trigger = { ...trigger, machines: lat.trigger };
    const fb = lat.frameBytes;
    log(
      `    ${name} N=${n}: connect ${Math.round(conn.ms)} ms, RSS/conn ${
        perConnKB(rssConn, rssIdle, conn.connected).toFixed(1)
      } KB, one change p50 ${lat.latency.p50?.toFixed(1)} ms p99 ${
        lat.latency.p99?.toFixed(1)
      } ms, server CPU ${cpuPerEventMs.toFixed(1)} ms/change, frame ${
        Math.round(fb)
      } B, other load ${latOther.toFixed(0)}%`,
    );

    // ── ramp
    const capacity = 1000 / Math.max(0.05, cpuPerEventMs); // changes/s at 100 % of one core
    // Rates keep one decimal below 20/s, so a step is never coarser than ~5 %.
    const r1 = (x: number) => (x < 20 ? Math.round(x * 10) / 10 : Math.round(x));
    let rate = Math.max(1, r1(capacity * (opts.rampStart ?? 0.4)));
    const ramp: RampStep[] = [];
    const step = async (rate: number): Promise<RampStep> => {
      await sleep(300); // stragglers of the previous step
      await waitQuiet(ours, 2_000);
      const w = new LoadWatch(ours);
      const s0 = sysCpuSample();
      const stepSpan = cpuSpan(target.proc.pid);
      const r = await lc.call({
        cmd: "ramp",
        trigger,
        rate,
        durationMs: opts.stepMs,
        drainMs: 3_000,
      });
      const srvCpu = stepSpan();
      const s1 = sysCpuSample();
      const d = s1.map((x, i) => x - s0[i]);
      const total = d.reduce((a, b) => a + b, 0);
      const busy = total - d[3] - d[4]; // minus idle and iowait
      const why = r.latency.p99 === null
        ? "no frames"
        : r.latency.p99 > 250
        ? `p99 ${r.latency.p99.toFixed(0)} ms > 250`
        : r.lostFrames > 0
        ? `${r.lostFrames} frames lost`
        : r.posts.failed > 0
        ? `${r.posts.failed} POSTs failed ${JSON.stringify(r.posts.errors)}`
        : r.skipped > 0
        ? `${r.skipped} changes not fired (all machines busy)`
        : r.achievedRate < rate * 0.95
        ? `driver reached ${r.achievedRate.toFixed(1)}/s only`
        : undefined;
      const st: RampStep = {
        rate,
        achievedRate: r.achievedRate,
        p50: r.latency.p50,
        p99: r.latency.p99,
        max: r.latency.max,
        lostFrames: r.lostFrames,
        deliveredFps: r.deliveredFramesPerSec,
        postP99: r.posts.p99,
        postFailed: r.posts.failed,
        serverCpuPct: (srvCpu / r.wallMs) * 100,
        clientCpuPct: (r.clientCpuMs / r.wallMs) * 100,
        systemBusyPct: total ? (busy / total) * 100 * navigator.hardwareConcurrency : 0,
        otherCpuPct: w.stop(),
        pass: why === undefined,
        why,
      };
      log(
        `      ${rate}/s: p50 ${st.p50?.toFixed(1)} p99 ${st.p99?.toFixed(1)} ms, ${
          Math.round(st.deliveredFps)
        } frames/s, server ${st.serverCpuPct.toFixed(0)}% client ${
          st.clientCpuPct.toFixed(0)
        }% other ${st.otherCpuPct.toFixed(0)}% ${st.pass ? "ok" : "FAIL: " + why}`,
      );
      return st;
    };
    let retried = false;
    let noisyRetries = 0;
    for (let i = 0; i < opts.maxSteps + noisyRetries; i++) {
      if (performance.now() > opts.deadline) {
        log("    (deadline: ramp stopped early)");
        break;
      }
      const st = await step(rate);
      ramp.push(st);
      if (!st.pass) {
        // Other processes on this shared machine took CPU during the step:
        // it measured them, not us. Repeat it (twice at most).
        if (st.otherCpuPct > 50 && noisyRetries < 2) {
          noisyRetries++;
          continue;
        }
        // Nothing passed yet: the estimate was too high; halve the rate.
        if (!ramp.some((x) => x.pass) && rate > 1) {
          rate = Math.max(1, r1(rate / 2));
          continue;
        }
        // One retry of the first failing rate filters a transient hiccup (GC…).
        if (!retried) {
          retried = true;
          continue;
        }
        break;
      }
      rate = r1(rate * (opts.rampFactor ?? 1.25));
    }
    // Bisect between the best passing and the lowest failing rate.
    for (let k = 0; k < opts.refine; k++) {
      if (performance.now() > opts.deadline) break;
      const lo = Math.max(0, ...ramp.filter((s) => s.pass).map((s) => s.rate));
      const hi = Math.min(...ramp.filter((s) => !s.pass && s.rate > lo).map((s) => s.rate));
      if (!lo || !Number.isFinite(hi)) break;
      const mid = r1((lo + hi) / 2);
      if (mid <= lo || mid >= hi || (hi - lo) / lo < 0.04) break;
      const st = await step(mid);
      ramp.push(st);
    }
    const passing = ramp.filter((s) => s.pass);
    const best = passing.reduce<RampStep | null>((b, s) => (!b || s.rate > b.rate ? s : b), null);
    const firstFail = ramp.find((s) => !s.pass && s.rate > (best?.rate ?? 0));
    await lc.call({ cmd: "close", timeoutMs: 10_000 });
    return {
      target: name,
      n,
      connected: conn.connected,
      connectFailed: conn.failed,
      connectMs: conn.ms,
      rssIdleMB: rssIdle / 1048576,
      rssConnectedMB: rssConn / 1048576,
      rssPerConnKB: perConnKB(rssConn, rssIdle, conn.connected),
      frameBytes: fb,
      rounds: opts.rounds,
      latency: lat.latency,
      completion: lat.completion,
      lost: lat.lost,
      cpuPerEventMs,
      cpuPerFrameUs: (cpuPerEventMs * 1000) / Math.max(1, conn.connected),
      clientCpuPerFrameUs: (lat.clientCpuMs * 1000) / Math.max(1, opts.rounds * conn.connected),
      ramp,
      maxEventsPerSec: best?.rate ?? 0,
      maxFramesPerSec: (best?.rate ?? 0) * conn.connected,
      rampCpuPerFrameUs: best
        ? (best.serverCpuPct / 100) * 1e6 / Math.max(1, best.deliveredFps)
        : null,
      clientBound: !!firstFail && firstFail.clientCpuPct > 90 && firstFail.serverCpuPct < 90,
      limitReached: !!firstFail,
      otherCpuPct: watch.stop(),
      latencyOtherCpuPct: latOther,
    };
  } finally {
    await prep.close();
  }
}

/** The whole fan-out section: for each N, the app then the baselines. */
export async function runFanout(opts: FanoutOptions): Promise<FanoutRun[]> {
  const out: FanoutRun[] = [];
  let frameBytes = Math.round(opts.frameBytes ?? 0);
  let left = opts.ns.length * opts.targets.length;
  for (const n of opts.ns) {
    for (const t of opts.targets) {
      opts.log(`  fan-out ${t} N=${n}`);
      // An even share of the remaining time, so no target is starved.
      const now = performance.now();
      const deadline = now + Math.max(0, opts.deadline - now) / left--;
      try {
        const r = await fanoutOne(t, n, frameBytes || 480, { ...opts, deadline });
        if (t === "app" && !frameBytes && r.frameBytes) frameBytes = Math.round(r.frameBytes);
        out.push(r);
      } catch (err) {
        opts.log(`    ${t} N=${n} failed: ${err instanceof Error ? err.message : err}`);
        out.push({ target: t, n, error: String(err) } as FanoutRun);
      }
    }
  }
  return out;
}

/** Paired, interleaved server CPU per frame (see {@link pairedCpu}). */
export interface PairedCpu {
  n: number;
  blocks: number;
  changesPerBlock: number;
  /** Per target: server CPU µs per delivered frame in each block. */
  perBlock: Partial<Record<TargetName, number[]>>;
  /** Per target: median over blocks. */
  median: Partial<Record<TargetName, number>>;
  /** Per target: median of the per-block ratios target ÷ bare Deno (paired by block). */
  ratioToBare: Partial<Record<TargetName, number>>;
  /**
   * Per target: RSS per connection (KB, VmRSS over the idle server ÷ N) 1 s
   * after connecting (`early`) and after all targets sat idle for
   * {@link SETTLE_MS} (`settled`: V8's memory reducer has handed the connect
   * storm's garbage back).
   */
  rssPerConnKB?: Partial<Record<TargetName, { early: number; settled: number }>>;
  /** How long the targets sat idle before the settled reading, ms. */
  settleMs?: number;
  otherCpuPct: number;
}

/**
 * Idle time before the settled RSS reading. V8 starts its memory reducer
 * 30 s after a mark-compact (`--gc-memory-reducer-start-delay-ms=30000`);
 * it then collects and releases the pages a burst of garbage grew. Measured
 * on 2026-12-04 (10,000 resumes, every 2–20 s): both the app's and bare
 * Deno's RSS stay flat until 20 s and drop once between 20 and 40 s.
 */
export const SETTLE_MS = 45_000;

/**
 * Server CPU per delivered frame, measured with every target up at once
 * (each with N clients on its own load generator) and the targets taking
 * turns in short blocks of single changes. Whatever the shared machine does
 * in a given minute then hits all targets alike, and each block gives a
 * paired ratio. This is the steadier basis for "≥ 80 % of bare Deno".
 */
export async function pairedCpu(
  n: number,
  targets: TargetName[],
  frameBytes: number,
  opts: FanoutOptions & { blocks: number; changesPerBlock: number; settleMs?: number },
): Promise<PairedCpu> {
  const preps: { name: TargetName; p: Prepared; trigger: unknown }[] = [];
  const ours = () => preps.flatMap((x) => x.p.ours());
  try {
    for (const [i, name] of targets.entries()) {
      // A loopback source address per target: N sockets each, own port range.
      const p = await prepare(name, n, frameBytes, opts, `127.0.0.${i + 1}`);
      preps.push({ name, p, trigger: p.trigger });
      // Warm up this target once (JIT, first frames).
      await p.lc.call({ cmd: "latency", trigger: p.trigger, rounds: 1, warmup: 2, gapMs: 50 });
    }
    // RSS once the connect storms' garbage is gone: every target idle, together.
    const settleMs = opts.settleMs ?? SETTLE_MS;
    const rssPerConnKB: PairedCpu["rssPerConnKB"] = {};
    if (settleMs > 0) {
      await sleep(settleMs);
      for (const x of preps) {
        const per = (rss: number) => perConnKB(rss, x.p.rssIdle, x.p.conn.connected);
        rssPerConnKB[x.name] = {
          early: per(x.p.rssConn),
          settled: per(procRss(x.p.target.proc.pid)),
        };
      }
      opts.log(
        `    RSS per connection at N=${n}, 1 s after connecting → after ${
          settleMs / 1000
        } s idle: ${
          preps.map((x) => {
            const v = rssPerConnKB[x.name]!;
            return `${x.name} ${v.early.toFixed(1)} → ${v.settled.toFixed(1)} KB`;
          }).join(", ")
        }`,
      );
    }
    const watch = new LoadWatch(ours);
    const perBlock: Partial<Record<TargetName, number[]>> = {};
    for (let b = 0; b < opts.blocks; b++) {
      // Rotate the order so no target always goes first.
      for (let k = 0; k < preps.length; k++) {
        const x = preps[(b + k) % preps.length];
        await waitQuiet(ours, 2_000);
        const span = cpuSpan(x.p.target.proc.pid);
        const r = await x.p.lc.call({
          cmd: "latency",
          trigger: x.trigger,
          rounds: opts.changesPerBlock,
          warmup: 0,
          gapMs: 100,
        });
        const cpu = span();
        const frames = r.latency.n || opts.changesPerBlock * x.p.conn.connected;
        (perBlock[x.name] ??= []).push((cpu * 1000) / frames);
      }
    }
    const med = (xs: number[]) => [...xs].sort((a, c) => a - c)[Math.floor(xs.length / 2)];
    const median: Partial<Record<TargetName, number>> = {};
    const ratioToBare: Partial<Record<TargetName, number>> = {};
    for (const t of targets) median[t] = med(perBlock[t]!);
    const bare = perBlock["bare-deno"];
    if (bare) {
      for (const t of targets) ratioToBare[t] = med(perBlock[t]!.map((v, i) => v / bare[i]));
    }
    opts.log(
      `    paired CPU per frame at N=${n} (${opts.blocks} blocks × ${opts.changesPerBlock} changes): ${
        targets.map((t) => `${t} ${median[t]!.toFixed(2)} µs (${ratioToBare[t]?.toFixed(2)}× bare)`)
          .join(", ")
      }`,
    );
    return {
      n,
      blocks: opts.blocks,
      changesPerBlock: opts.changesPerBlock,
      perBlock,
      median,
      ratioToBare,
      ...(settleMs > 0 ? { rssPerConnKB, settleMs } : {}),
      otherCpuPct: watch.stop(),
    };
  } finally {
    for (const x of preps) await x.p.close();
  }
}
