/**
 * Reminder precision: `count` cycles ending within one window, each owned by
 * a different resident who has the board open in a background tab (socket
 * connected, page hidden → the notification goes in-app AND as a push).
 * Lateness = arrival − the machine's `endsAt`:
 * - on the owner's WebSocket: the `notification` event of kind `use.done`
 *   (received by this process: `Date.now()` at `onmessage`);
 * - at the push sink (another process: `Date.now()` when the POST arrived).
 * `endsAt` is the server's own `Date.now()` + cycle length; all three
 * processes read the same system clock, so differences are exact to 1 ms.
 *
 * Setup that is not under test is written straight into a fresh KV file
 * with the app's own Store before the server starts (residents with one
 * shared password hash, sessions, machines, push devices), because
 * registering 500 residents through the API would spend ~2 minutes in
 * PBKDF2. Everything measured goes through the real server: each cycle is
 * started with `POST /api/machines/:id/start {minutes: 1}` (walk-up start),
 * which schedules the KV-queue `tick` that ends it; `MINUTE_MS` scales the
 * one-minute cycle to `minuteMs`.
 * @module
 */
import { BENCH, LoadWatch, type Proc, sleep, spawn, summary, waitQuiet } from "./common.ts";
import { startApp, wsUrlOf } from "./servers.ts";
import { Store } from "../lib/db/mod.ts";
import { hashPassword } from "../lib/password.ts";

/** One run of the app (queue path, or `KV_QUEUES=off`). */
export interface ReminderAppRun {
  started: number;
  startFailed: number;
  ws: ReturnType<typeof summary> & { missing: number };
  push: ReturnType<typeof summary> & { missing: number };
  boardDone: ReturnType<typeof summary>;
  startPostP99: number | null;
  otherCpuPct: number;
  wsSamples: number[];
  pushSamples: number[];
}

export interface ReminderResult extends ReminderAppRun {
  count: number;
  windowMs: number;
  minuteMs: number;
  /** The same measurement with `KV_QUEUES=off` (timer + kv.watch + cron only). */
  queueless?: ReminderAppRun;
  baseline: ReturnType<typeof summary> & { missing: number };
  baselineOtherCpuPct: number;
  baselineSamples: number[];
}

const b64u = (b: Uint8Array) =>
  btoa(String.fromCharCode(...b)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

async function subscriptionKeys(): Promise<{ p256dh: string; auth: string }> {
  const kp = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
    "deriveBits",
  ]);
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", kp.publicKey));
  return { p256dh: b64u(raw), auth: b64u(crypto.getRandomValues(new Uint8Array(16))) };
}

/** Seed residents, sessions, machines and devices into a fresh KV file. */
async function seedStore(
  kvPath: string,
  count: number,
  minuteMs: number,
  sink: string,
): Promise<{ users: { id: string; token: string; machineId: string }[] }> {
  const kv = await Deno.openKv(kvPath);
  try {
    const store = new Store(kv, { minuteMs });
    await store.init();
    const building = await store.createBuilding({ name: "Reminder bench" });
    const hash = await hashPassword("bench-resident-pass-1");
    const users = [];
    for (let i = 0; i < count; i++) {
      const u = await store.createUser({
        buildingId: building.id,
        loginId: `rem${i}`,
        passwordHash: hash,
        name: `Resident ${i}`,
        room: `${100 + (i % 400)}`,
        role: "resident",
      });
      const token = await store.createSession(u.id, "bench");
      const { machine } = await store.addMachine(building.id, {
        name: `세탁기 ${i + 1}`,
        kind: i % 2 ? "dryer" : "washer",
        room: `B${Math.floor(i / 50)}`,
      });
      await store.upsertDevice(u.id, `bench-dev-${i}`, {
        kind: "webpush",
        endpoint: `${sink}/r/${i}`,
        keys: await subscriptionKeys(),
        label: "bench",
      });
      users.push({ id: u.id, token, machineId: machine.id });
    }
    return { users };
  } finally {
    kv.close();
  }
}

/** One app run: seed a fresh KV, start the app with `env`, time `count` cycle ends. */
async function measureApp(
  opts: { count: number; windowMs: number; minuteMs: number; log: (s: string) => void },
  sink: string,
  sinkProc: Proc,
  env: Record<string, string>,
): Promise<ReminderAppRun> {
  const { count, windowMs, minuteMs, log } = opts;
  await fetch(`${sink}/_reset`, { method: "POST" }).then((r) => r.body?.cancel());
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-rem-" });
  const sockets: WebSocket[] = [];
  let app: Awaited<ReturnType<typeof startApp>> | null = null;
  try {
    const t0 = performance.now();
    const { users } = await seedStore(`${dir}/kv.sqlite`, count, minuteMs, sink);
    log(
      `    seeded ${count} residents, machines and devices in ${
        Math.round(performance.now() - t0)
      } ms`,
    );
    app = await startApp({
      kvDir: dir,
      env: { MINUTE_MS: String(minuteMs), PUSH_ENDPOINT_ALLOW: new URL(sink).origin, ...env },
    });
    const base = app.base;
    const origin = new URL(base).origin;
    const ours = () => [app!.proc.pid, sinkProc.pid];

    // ── owners' sockets: connected, page hidden
    const wsArrival = new Map<string, number>(); // machineId → Date.now()
    const doneArrival = new Map<string, number>();
    const DenoWs = WebSocket as unknown as new (
      u: string,
      o: { headers: HeadersInit },
    ) => WebSocket;
    await Promise.all(users.map((u) =>
      new Promise<void>((resolve, reject) => {
        const ws = new DenoWs(wsUrlOf(base), {
          headers: { cookie: `ll_session=${u.token}`, origin },
        });
        sockets.push(ws);
        let first = true;
        ws.onmessage = (ev) => {
          const at = Date.now();
          if (first) {
            first = false;
            ws.send(JSON.stringify({ type: "visibility", visible: false }));
            resolve();
            return;
          }
          const s = ev.data as string;
          // Cheap filters first: this socket sees every board event.
          if (s.includes('"notification"') && s.includes('"use.done"')) {
            const msg = JSON.parse(s);
            const mid = msg.event?.data?.item?.machineId;
            if (mid === u.machineId && !wsArrival.has(mid)) wsArrival.set(mid, at);
          } else if (s.includes('"machine.done"') && s.includes(u.machineId)) {
            const msg = JSON.parse(s);
            if (msg.event?.machine?.id === u.machineId && !doneArrival.has(u.machineId)) {
              doneArrival.set(u.machineId, at);
            }
          }
        };
        ws.onerror = () => reject(new Error("socket error"));
      })
    ));
    await sleep(500); // visibility messages land in KV presence
    log(`    ${count} owners connected (page hidden)`);

    // ── start the cycles on a schedule: ends spread evenly over the window
    await waitQuiet(ours);
    const watch = new LoadWatch(ours);
    const endsAt = new Map<string, number>();
    const postMs: number[] = [];
    let startFailed = 0;
    const startAt = performance.now() + 200;
    await Promise.all(users.map(async (u, i) => {
      const due = startAt + (i * windowMs) / count;
      await sleep(Math.max(0, due - performance.now()));
      const p0 = performance.now();
      const res = await fetch(`${base}/api/machines/${u.machineId}/start`, {
        method: "POST",
        headers: {
          cookie: `ll_session=${u.token}`,
          origin,
          "content-type": "application/json",
        },
        body: JSON.stringify({ minutes: 1 }),
      });
      const body = await res.json().catch(() => null);
      postMs.push(performance.now() - p0);
      if (res.status !== 200 || !body?.machine?.endsAt) {
        startFailed++;
        return;
      }
      endsAt.set(u.machineId, body.machine.endsAt);
    }));
    const lastEnd = Math.max(...endsAt.values());
    log(
      `    ${endsAt.size} cycles started over ${windowMs / 1000} s; last ends in ${
        Math.round((lastEnd - Date.now()) / 1000)
      } s`,
    );
    // ── wait for every notification (or 15 s past the last end)
    while (Date.now() < lastEnd + 15_000) {
      if (wsArrival.size >= endsAt.size) {
        const r = await fetch(`${sink}/_count`).then((r) => r.json());
        if (r.count >= endsAt.size) break;
      }
      await sleep(200);
    }
    await sleep(300);
    const otherCpuPct = watch.stop();
    const pushLog: [string, number][] = await fetch(`${sink}/_log`).then((r) => r.json());
    const pushArrival = new Map<string, number>();
    for (const [path, at] of pushLog) {
      const i = Number(path.split("/")[2]);
      const mid = users[i]?.machineId;
      if (mid && !pushArrival.has(mid)) pushArrival.set(mid, at);
    }
    const late = (arr: Map<string, number>) => {
      const xs: number[] = [];
      for (const [mid, end] of endsAt) {
        const at = arr.get(mid);
        if (at !== undefined) xs.push(at - end);
      }
      return xs;
    };
    const wsLate = late(wsArrival);
    const pushLate = late(pushArrival);
    for (const s of sockets) s.close();
    // What the app logged about failures (e.g. a due-index run retried later).
    const errLines = app.proc.output().split("\n").filter((l) => /error|failed/i.test(l));
    if (errLines.length) {
      log(`    app logged ${errLines.length} error line(s), first: ${errLines[0].slice(0, 300)}`);
    }
    await app.stop();
    app = null;
    return {
      started: endsAt.size,
      startFailed,
      ws: { ...summary(wsLate), missing: endsAt.size - wsLate.length },
      push: { ...summary(pushLate), missing: endsAt.size - pushLate.length },
      boardDone: summary(late(doneArrival)),
      startPostP99: summary(postMs).p99,
      otherCpuPct,
      wsSamples: wsLate,
      pushSamples: pushLate,
    };
  } finally {
    for (const s of sockets) {
      try {
        s.close();
      } catch { /* closed */ }
    }
    await app?.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Run the app on the queue path and on the queue-less path (`KV_QUEUES=off`:
 * the in-process timer armed through `kv.watch`, as on Deno Deploy and
 * self-hosted denokv), then the bare KV-queue baseline.
 */
export async function runReminders(
  opts: {
    count: number;
    windowMs: number;
    minuteMs: number;
    log: (s: string) => void;
    queueless?: boolean;
  },
): Promise<ReminderResult> {
  const { count, windowMs, minuteMs, log } = opts;
  const sinkProc = await spawn("push-sink", "node", [`${BENCH}/push_sink.mjs`]);
  try {
    const sink = (await sinkProc.waitFor(/SINK http=(\S+)/))[1];
    log("    app, KV queues on (a delayed queue message wakes the due-index worker)");
    const queued = await measureApp(opts, sink, sinkProc, {});
    let queueless: ReminderAppRun | undefined;
    if (opts.queueless !== false) {
      log("    app, KV_QUEUES=off (timer armed for the earliest due record, kv.watch)");
      queueless = await measureApp(opts, sink, sinkProc, { KV_QUEUES: "off" });
    }

    // ── baseline: a bare KV queue with the same due times
    log("    baseline: bare KV queue, same due times");
    await waitQuiet(() => [sinkProc.pid]);
    const bw = new LoadWatch(() => []);
    const bq = await spawn("kv-queue", Deno.execPath(), [
      "run",
      "-A",
      "--unstable-kv",
      `${BENCH}/baseline_kv_queue.ts`,
      String(count),
      String(windowMs),
      "2000",
    ]);
    const m = await bq.waitFor(/RESULT (.+)/, windowMs + 60_000);
    await Promise.race([bq.status, sleep(3_000)]); // it removes its temp KV, then exits
    await bq.kill();
    const base0 = JSON.parse(m[1]) as { lateness: number[]; count: number };
    return {
      count,
      windowMs,
      minuteMs,
      ...queued,
      queueless,
      baseline: { ...summary(base0.lateness), missing: base0.count - base0.lateness.length },
      baselineOtherCpuPct: bw.stop(),
      baselineSamples: base0.lateness,
    };
  } finally {
    await sinkProc.kill();
  }
}
