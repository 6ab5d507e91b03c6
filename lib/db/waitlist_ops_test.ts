/**
 * Tests of the waitlist's order and the operations a machine commit adds for
 * it (`lib/db/waitlist_ops.ts`), against a real Deno KV file in a temp
 * directory: a queue is read in key order, so the position strings are the
 * queue's order, and each operation is checked by committing it.
 */
import assert from "node:assert/strict";
import { K } from "../keys.ts";
import {
  LAPSE_LIMIT,
  lapseOps,
  leaveOps,
  queuePos,
  waitDraft,
  WAITLIST_MAX,
  type WaitRef,
} from "./waitlist_ops.ts";

const B = "bt";
const ROOM = "B1";

/** Run `fn` with a fresh KV file in a temp dir; always cleans up. */
async function withKv(fn: (kv: Deno.Kv) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive_waitlist_ops_test_" });
  const kv = await Deno.openKv(`${dir}/kv.sqlite3`);
  try {
    await fn(kv);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Queue `userId` at `at` the way `joinWaitlist` stores it. */
async function enqueue(kv: Deno.Kv, userId: string, at: number, lapses = 0): Promise<string> {
  const pos = queuePos(at, userId);
  const res = await kv.atomic()
    .set(K.waitEntry(B, ROOM, "washer", pos), { userId, at })
    .set(K.waiting(B, userId, "washer"), { room: ROOM, pos, lapses } satisfies WaitRef)
    .commit();
  assert.ok(res.ok);
  return pos;
}

/** The queue's residents in the order KV lists them. */
async function queue(kv: Deno.Kv): Promise<string[]> {
  const out: string[] = [];
  for await (const e of kv.list<{ userId: string }>({ prefix: K.waitlist(B, ROOM, "washer") })) {
    out.push(e.value.userId);
  }
  return out;
}

Deno.test("queuePos: join time padded to 15 digits, then the user id", () => {
  assert.equal(queuePos(5, "u1"), "000000000000005:u1");
  assert.equal(queuePos(1_764_000_000_000, "res-a"), "001764000000000:res-a");
  // String order is time order even across a change in the number of digits,
  // and residents who joined in the same millisecond are ordered by id.
  const positions = [
    queuePos(10, "a"),
    queuePos(9, "z"),
    queuePos(100, "a"),
    queuePos(9, "b"),
  ].sort();
  assert.deepEqual(positions, [
    queuePos(9, "b"),
    queuePos(9, "z"),
    queuePos(10, "a"),
    queuePos(100, "a"),
  ]);
});

Deno.test("the queue lists residents in the order they joined", async () => {
  await withKv(async (kv) => {
    await enqueue(kv, "late", 1_000);
    await enqueue(kv, "first", 9);
    await enqueue(kv, "second", 99);
    assert.deepEqual(await queue(kv), ["first", "second", "late"]);
  });
});

Deno.test("waitDraft: the board event of a queue change", () => {
  assert.deepEqual(waitDraft("waitlist.joined", ROOM, "dryer", "u1"), {
    type: "waitlist.joined",
    data: { room: ROOM, kind: "dryer", userId: "u1" },
  });
  assert.deepEqual(waitDraft("waitlist.left", "B2", "washer", "u2"), {
    type: "waitlist.left",
    data: { room: "B2", kind: "washer", userId: "u2" },
  });
});

Deno.test("limits: two lapses in a row, a hundred in a queue", () => {
  assert.equal(LAPSE_LIMIT, 2);
  assert.equal(WAITLIST_MAX, 100);
});

Deno.test("leaveOps: the entry and the index go in one checked commit", async () => {
  await withKv(async (kv) => {
    await enqueue(kv, "a", 1);
    const posB = await enqueue(kv, "b", 2);
    const idx = await kv.get<WaitRef>(K.waiting(B, "b", "washer"));
    const op = kv.atomic();
    const drafts = leaveOps(op, B, "b", "washer", idx as Deno.KvEntry<WaitRef>);
    assert.deepEqual(drafts, [waitDraft("waitlist.left", ROOM, "washer", "b")]);
    assert.ok((await op.commit()).ok);
    assert.equal((await kv.get(K.waiting(B, "b", "washer"))).value, null);
    assert.equal((await kv.get(K.waitEntry(B, ROOM, "washer", posB))).value, null);
    assert.deepEqual(await queue(kv), ["a"]);
    assert.ok((await kv.get(K.waiting(B, "a", "washer"))).value);
  });
});

Deno.test("leaveOps: a queue change since the read fails the commit", async () => {
  await withKv(async (kv) => {
    await enqueue(kv, "b", 2);
    const idx = await kv.get<WaitRef>(K.waiting(B, "b", "washer"));
    await kv.set(idx.key, { ...idx.value!, lapses: 1 });
    const op = kv.atomic();
    leaveOps(op, B, "b", "washer", idx as Deno.KvEntry<WaitRef>);
    assert.equal((await op.commit()).ok, false);
    assert.deepEqual(await queue(kv), ["b"]);
  });
});

Deno.test("lapseOps: not in the queue adds nothing", async () => {
  await withKv(async (kv) => {
    await enqueue(kv, "a", 1);
    const op = kv.atomic();
    assert.deepEqual(await lapseOps(kv, op, B, "nobody", "washer", 50), []);
    // A write of the resident's index made after the read cannot fail the
    // commit: nothing was checked.
    await kv.set(K.waiting(B, "nobody", "washer"), { room: ROOM, pos: "x", lapses: 0 });
    assert.ok((await op.commit()).ok);
    assert.deepEqual(await queue(kv), ["a"]);
    assert.deepEqual((await kv.get(K.waiting(B, "nobody", "washer"))).value, {
      room: ROOM,
      pos: "x",
      lapses: 0,
    });
  });
});

Deno.test("lapseOps: a first lapse keeps the place and counts it", async () => {
  await withKv(async (kv) => {
    const posA = await enqueue(kv, "a", 1);
    await enqueue(kv, "b", 2);
    const op = kv.atomic();
    assert.deepEqual(await lapseOps(kv, op, B, "a", "washer", 500), []);
    assert.ok((await op.commit()).ok);
    assert.deepEqual(await queue(kv), ["a", "b"]);
    assert.deepEqual((await kv.get(K.waiting(B, "a", "washer"))).value, {
      room: ROOM,
      pos: posA,
      lapses: 1,
    });
  });
});

Deno.test("lapseOps: the second lapse in a row moves the resident to the back", async () => {
  await withKv(async (kv) => {
    const posA = await enqueue(kv, "a", 1, LAPSE_LIMIT - 1);
    await enqueue(kv, "b", 2);
    const op = kv.atomic();
    const drafts = await lapseOps(kv, op, B, "a", "washer", 500);
    assert.deepEqual(drafts, [
      waitDraft("waitlist.left", ROOM, "washer", "a"),
      waitDraft("waitlist.joined", ROOM, "washer", "a"),
    ]);
    assert.ok((await op.commit()).ok);
    assert.deepEqual(await queue(kv), ["b", "a"]);
    const pos = queuePos(500, "a");
    assert.equal((await kv.get(K.waitEntry(B, ROOM, "washer", posA))).value, null);
    assert.deepEqual((await kv.get(K.waitEntry(B, ROOM, "washer", pos))).value, {
      userId: "a",
      at: 500,
    });
    // The count starts again: the next lapse keeps the new place.
    assert.deepEqual((await kv.get(K.waiting(B, "a", "washer"))).value, {
      room: ROOM,
      pos,
      lapses: 0,
    });
  });
});

Deno.test("lapseOps: a queue change since the read fails the commit (both paths)", async () => {
  await withKv(async (kv) => {
    for (const lapses of [0, LAPSE_LIMIT - 1]) {
      await enqueue(kv, "a", 1, lapses);
      const op = kv.atomic();
      await lapseOps(kv, op, B, "a", "washer", 500);
      const idx = await kv.get<WaitRef>(K.waiting(B, "a", "washer"));
      await kv.set(idx.key, { ...idx.value!, room: "B2" });
      assert.equal((await op.commit()).ok, false, `lapses ${lapses}`);
      assert.deepEqual((await kv.get(K.waiting(B, "a", "washer"))).value, {
        ...idx.value!,
        room: "B2",
      });
    }
  });
});
