/**
 * What a change costs the hubs that fan it out, in KV round trips: the
 * watch hands over the heads it saw, so an instance reads only the log
 * records it has not yet seen, and the wake-up that follows an instance's
 * own poke reads nothing at all. Two hubs (two instances) on one real KV
 * file, each with one real WebSocket on loopback.
 */
import assert from "node:assert/strict";
import { Board } from "../lib/board.ts";
import { Store } from "../lib/db/mod.ts";
import { Hub } from "../lib/realtime.ts";
import type { User } from "../lib/types.ts";
import { countingKv } from "./support/kv_counter.ts";
import { waitFor } from "./support/harness.ts";
import { newResident } from "./support/store_kit.ts";

/** A loopback server whose sockets `hub` adopts for `user`, and a client socket's messages. */
async function socketOn(hub: Hub, user: User, bid: string) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: 0 });
    hub.attach(socket, user, bid, null, null, { sharedFrames: true });
    return response;
  });
  const messages: { type: string; event?: { seq: number; scope: string } }[] = [];
  const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/ws`);
  ws.onmessage = (e) => messages.push(JSON.parse(e.data));
  await waitFor(() => messages.some((m) => m.type === "hello"), 5_000, "hello");
  return {
    boardSeqs: () => messages.filter((m) => m.event?.scope === "board").map((m) => m.event!.seq),
    async close() {
      ws.close();
      await server.shutdown();
    },
  };
}

Deno.test("a change costs each hub only the records it has not seen: no head reads on a watch wake-up", async () => {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-hubwatch-" });
  const raw = await Deno.openKv(`${dir}/kv.sqlite3`);
  // Instance A's hub and its commands count apart: `a` is A's hub alone.
  const [a, b] = [countingKv(raw), countingKv(raw)];
  const storeA = new Store(a.kv);
  const storeB = new Store(b.kv);
  const commands = new Store(raw);
  await storeA.init();
  await storeB.init();
  await commands.init();
  const hubA = new Hub(storeA, { pingMs: 3_600_000, timeoutMs: 7_200_000 });
  const hubB = new Hub(storeB, { pingMs: 3_600_000, timeoutMs: 7_200_000 });
  try {
    await storeA.createBuilding({ id: "bw", name: "W" });
    const m = (await storeA.addMachine("bw", { name: "W1", kind: "washer", room: "B1" })).machine;
    const alice = await newResident(storeA, "alice", "bw");
    const bob = await newResident(storeA, "bob", "bw");
    await hubA.start();
    await hubB.start();
    const onA = await socketOn(hubA, alice, "bw");
    const onB = await socketOn(hubB, bob, "bw");
    const board = new Board(commands, hubA);
    const actor = { id: alice.id, name: alice.name, role: "resident" as const };
    try {
      // Let the follows' first watch wake-ups pass before counting.
      await new Promise((r) => setTimeout(r, 300));
      const startSeq = (await storeA.heads("bw")).board;
      for (const [i, type] of (["hold", "release", "hold", "release"] as const).entries()) {
        a.reset();
        b.reset();
        await board.command("bw", m.id, { type }, actor);
        const want = startSeq + i + 1;
        await waitFor(() => onA.boardSeqs().includes(want), 5_000, `event ${want} on A`);
        await waitFor(() => onB.boardSeqs().includes(want), 5_000, `event ${want} on B`);
        // Both watches wake for this commit; give them time to do whatever they do.
        await new Promise((r) => setTimeout(r, 250));
        // A: the poke after its commit reads the heads once and the new
        // records; its own watch's wake-up for the same heads reads nothing.
        const { list: aLists = 0, ...aRest } = a.counts;
        assert.deepEqual(aRest, { getMany: 1 }, `A after ${type}: ${JSON.stringify(a.counts)}`);
        assert.ok(aLists >= 1 && aLists <= 2, `A: one list per log that grew (${aLists})`);
        // B learns of the change from its watch alone: the heads come with it.
        const { list: bLists = 0, ...bRest } = b.counts;
        assert.deepEqual(
          bRest,
          {},
          `B after ${type}: only log reads (${JSON.stringify(b.counts)})`,
        );
        assert.ok(bLists >= 1 && bLists <= 2, `B: one list per log that grew (${bLists})`);
      }
      // Each socket got each event once, in order.
      const seqs = (xs: number[]) => xs.filter((s) => s > startSeq);
      const expected = [1, 2, 3, 4].map((k) => startSeq + k);
      assert.deepEqual(seqs(onA.boardSeqs()), expected);
      assert.deepEqual(seqs(onB.boardSeqs()), expected);
    } finally {
      await onA.close();
      await onB.close();
    }
  } finally {
    await hubA.close();
    await hubB.close();
    raw.close();
    await Deno.remove(dir, { recursive: true });
  }
});
