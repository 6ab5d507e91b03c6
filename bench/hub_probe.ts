/**
 * In-process probe of the realtime hot path, without sockets or kernel: the
 * real `Hub` of a checkout (its lib/realtime.ts and lib/db/mod.ts) on a temp KV,
 * `n` in-memory sockets attached as signed-in connections, then one board
 * event published at a time. Measures the JavaScript time per socket per
 * event (until every socket's `send` was called) and the live heap per
 * connection (after a forced GC). Sockets speak protocol 2, as browsers do
 * (`/ws?v=2`). Used to compare the app with
 * bench/patches applied; the real-socket numbers are in the fan-out section.
 *
 * Usage: deno run -A --v8-flags=--expose-gc --unstable-kv bench/hub_probe.ts <checkout root> [n]
 * Prints `RESULT {…}`.
 * @module
 */
const root = Deno.args[0];
const n = Number(Deno.args[1] ?? 10_000);
const { Store } = await import(`${root}/lib/db/mod.ts`);
const { Hub } = await import(`${root}/lib/realtime.ts`);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const settle = async () => {
  gc();
  await new Promise((r) => setTimeout(r, 50));
  gc();
};

const dir = await Deno.makeTempDir({ prefix: "laundrylive-bench-" });
const kv = await Deno.openKv(`${dir}/kv.sqlite`);
try {
  const store = new Store(kv);
  await store.init();
  const hub = new Hub(store, { pingMs: 3_600_000, timeoutMs: 7_200_000 });
  await hub.start();
  const building = await store.createBuilding({ name: "Probe", rooms: ["1층 세탁실"] });
  const bid = building.id;
  const { machine } = await store.addMachine(bid, {
    name: "세탁기 1",
    kind: "washer",
    room: "1층 세탁실",
  });
  let sent = 0;
  let wake: (() => void) | null = null;
  class MemorySocket extends EventTarget {
    readyState = 1;
    send(_s: string) {
      sent++;
      wake?.();
    }
    close() {}
  }
  const sockets = Array.from({ length: n }, () => new MemorySocket());
  // Each connection gets its own user record, as each real handshake loads one;
  // 5 sockets per resident (the hub allows 8 per resident).
  const USERS = Math.ceil(n / 5);
  const userOf = (i: number) =>
    JSON.parse(JSON.stringify({
      id: `u${(i % USERS).toString().padStart(11, "0")}`,
      buildingId: bid,
      loginId: `resident${i % USERS}`,
      name: `Resident ${i % USERS}`,
      room: "101",
      role: "resident",
      disabled: false,
      passwordHash: `pbkdf2-sha256$600000$${crypto.randomUUID()}$${crypto.randomUUID()}`,
      createdAt: Date.now(),
    }));
  await settle();
  const heap0 = Deno.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) {
    hub.attach(sockets[i] as unknown as WebSocket, userOf(i), bid, null, null, {
      sharedFrames: true,
    });
  }
  // Bounded waits: a probe that stops getting sends fails with its counts instead of hanging.
  const deadline = Date.now() + 60_000;
  while (sent < n) {
    if (Date.now() > deadline) throw new Error(`hub probe: ${sent} hellos of ${n}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  await settle();
  const heapPerConn = (Deno.memoryUsage().heapUsed - heap0) / n;

  const actor = { id: "probe", name: "Probe", role: "resident" as const };
  const times: number[] = [];
  for (let round = 0; round < 40; round++) {
    await store.command(bid, machine.id, { type: round % 2 ? "release" : "hold" }, actor);
    const target = sent + n;
    const t0 = performance.now();
    hub.poll(); // as Board.command does; the watch would call it too
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`hub probe: round ${round} stalled`)), 30_000);
      const done = () => (clearTimeout(timer), res());
      if (sent >= target) done();
      else {
        wake = () => {
          if (sent >= target) {
            wake = null;
            done();
          }
        };
      }
    });
    if (round >= 10) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const med = times[Math.floor(times.length / 2)];
  console.log(
    "RESULT " +
      JSON.stringify({
        root,
        n,
        usPerSocketPerEvent: (med * 1000) / n,
        publishMs: med,
        heapPerConnBytes: heapPerConn,
      }),
  );
  await hub.close();
} finally {
  kv.close();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
Deno.exit(0);
