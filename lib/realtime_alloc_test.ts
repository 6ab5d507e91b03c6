/**
 * The fan-out's per-socket path makes no garbage: at 10,000 sockets, even
 * 60 bytes per socket per event is 0.6 MB per change for the collector.
 * The real hub on a temporary KV file, with in-memory sockets (as in
 * bench/hub_probe.ts); V8's sampling heap profiler (through
 * `node:inspector`) counts what was allocated, collected or not, by the
 * function that allocated it.
 */
import assert from "node:assert/strict";
import { Session } from "node:inspector/promises";
import { Hub } from "./realtime.ts";
import { waitFor } from "../tests/support/harness.ts";
import { Store } from "./db/mod.ts";
import type { User } from "./types.ts";

/** The hub's functions that run once per socket for each event. */
const PER_SOCKET = new Set(["offer", "#enqueue", "#fanOut", "#toUser"]);

interface ProfileNode {
  callFrame: { functionName: string; url: string };
  selfSize: number;
  children: ProfileNode[];
}

Deno.test("fanning an event out to sockets that are up to date allocates nothing per socket", async () => {
  const N = 2_000;
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-alloc-" });
  const kv = await Deno.openKv(`${dir}/kv.sqlite3`);
  const store = new Store(kv);
  await store.init();
  const hub = new Hub(store, { pingMs: 3_600_000, timeoutMs: 7_200_000 });
  const session = new Session();
  try {
    await hub.start();
    const { id: bid } = await store.createBuilding({ name: "Alloc" });
    const { machine } = await store.addMachine(bid, { name: "W1", kind: "washer", room: "B1" });
    let sent = 0;
    class MemorySocket extends EventTarget {
      readyState = WebSocket.OPEN;
      send(_s: string) {
        sent++;
      }
      close() {}
    }
    const user = (i: number) =>
      ({
        id: `u${String(i % 400).padStart(11, "0")}`,
        buildingId: bid,
        loginId: `r${i % 400}`,
        name: "R",
        room: "101",
        role: "resident",
        disabled: false,
        passwordHash: "x",
        createdAt: 0,
      }) as User;
    for (let i = 0; i < N; i++) {
      // Both protocols: shared frames (v=2) and a cursor per socket (v=1).
      hub.attach(new MemorySocket() as unknown as WebSocket, user(i), bid, null, null, {
        sharedFrames: i % 2 === 0,
      });
    }
    const until = (n: number) => waitFor(() => sent >= n, 20_000, `${n} sends`, 1);
    await until(N); // every hello
    const actor = { id: "probe", name: "Probe", role: "resident" as const };
    const round = async (r: number) => {
      const target = sent + N;
      await store.command(bid, machine.id, { type: r % 2 ? "release" : "hold" }, actor);
      await hub.poll();
      await until(target);
    };
    for (let r = 0; r < 60; r++) await round(r); // optimised, as on a server that has been up a while

    session.connect();
    await session.post("HeapProfiler.enable");
    await session.post("HeapProfiler.startSampling", {
      samplingInterval: 256,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    const ROUNDS = 30;
    for (let r = 60; r < 60 + ROUNDS; r++) await round(r);
    const { profile } = await session.post("HeapProfiler.stopSampling") as {
      profile: { head: ProfileNode };
    };
    let perSocket = 0;
    const where = new Map<string, number>();
    const walk = (n: ProfileNode) => {
      if (n.selfSize && n.callFrame.url.endsWith("/lib/realtime.ts")) {
        const name = n.callFrame.functionName;
        where.set(name, (where.get(name) ?? 0) + n.selfSize / (ROUNDS * N));
        // What runs once per socket (the protocol-1 message in `#sendEvent`
        // is one string per socket by design: it carries that socket's cursor).
        if (PER_SOCKET.has(name)) perSocket += n.selfSize / (ROUNDS * N);
      }
      n.children.forEach(walk);
    };
    walk(profile.head);
    const detail = JSON.stringify([...where].map(([k, v]) => [k, +v.toFixed(1)]));
    // A closure in `offer` (a context per call) alone is ~60 B here.
    assert.ok(perSocket < 2, `${perSocket.toFixed(1)} B per socket per event: ${detail}`);
  } finally {
    session.disconnect();
    await hub.close();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
