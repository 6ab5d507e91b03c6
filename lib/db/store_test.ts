/**
 * Tests of {@link Store} against a real Deno KV file in a temp directory, plus
 * the password hashing it stores.
 */
import assert from "node:assert/strict";
import {
  holdRef,
  type LogEvent,
  PRESENCE_TTL_MS,
  type SnapshotMemo,
  Store,
  StoreError,
  TRIM_EVERY,
} from "./mod.ts";
import type { Actor, LifecycleSettings } from "../lifecycle.ts";
import { formatCursor, isCursor, parseCursor } from "../cursor.ts";
import { DUMMY_HASH, hashPassword, PBKDF2_ITERATIONS, verifyPassword } from "../password.ts";
import type { InboxItem, Role } from "../types.ts";
import type { DueEntry, DueRecord } from "../outbox.ts";
import { due } from "../notify/plan.ts";
import { storeErrorStatus } from "../http.ts";
import { boardScope, feedScope, K, userScope } from "../keys.ts";
import { sha256Hex } from "../ids.ts";
import { applyBoardEvent } from "../board_view.ts";

// ───────────────────────────── helpers ─────────────────────────────

/** The building every test works in. */
const B = "bt";

interface Ctx {
  store: Store;
  kv: Deno.Kv;
  path: string;
}

/** Run `fn` with a fresh Store over a KV file in a temp dir; always cleans up. */
async function withStore(
  fn: (ctx: Ctx) => Promise<void>,
  settings: Partial<LifecycleSettings> = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive_db_test_" });
  const path = `${dir}/kv.sqlite3`;
  const kv = await Deno.openKv(path);
  try {
    const store = new Store(kv, settings);
    await store.init();
    await store.createBuilding({ id: B, name: "Test building" });
    await fn({ store, kv, path });
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function resident(n: number | string): Actor {
  return { id: `res-${n}`, name: `Resident ${n}`, role: "resident" };
}
const ALICE = resident("alice");
const BOB = resident("bob");
const ADMIN: Actor = { id: "adm-1", name: "Admin", role: "admin" };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Assert that `p` rejects with a StoreError of `code` (and `status` if given). */
async function rejectsWith(p: Promise<unknown>, code: string, status?: number): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof StoreError, `expected StoreError, got ${e}`);
    assert.equal(e.code, code);
    if (status !== undefined) assert.equal(storeErrorStatus(e.code), status);
    return true;
  });
}

async function boardLog(store: Store): Promise<LogEvent[]> {
  const head = (await store.kv.get<number>(["log_head", `b:${B}`])).value ?? 0;
  return await store.readBoard(B, 0, head);
}

async function addWasher(store: Store, name = "Washer 1") {
  return (await store.addMachine(B, { name, kind: "washer", room: "B1" })).machine;
}

function userInput(loginId: string, role: Role = "resident") {
  return { loginId, passwordHash: "x", name: `Name ${loginId}`, room: "101", role, buildingId: B };
}

// ───────────────────────────── epoch ─────────────────────────────

Deno.test("init creates an epoch that survives reopening the KV file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive_db_test_" });
  const path = `${dir}/kv.sqlite3`;
  try {
    const kv1 = await Deno.openKv(path);
    const s1 = new Store(kv1);
    await s1.init();
    const epoch = s1.epoch;
    assert.match(epoch, /^[A-Za-z0-9_-]{1,32}$/);
    assert.ok(isCursor(formatCursor({ epoch, building: B, board: 0, user: 0 })));
    await s1.init(); // idempotent
    assert.equal(s1.epoch, epoch);
    kv1.close();

    const kv2 = await Deno.openKv(path);
    try {
      const s2 = new Store(kv2);
      await s2.init();
      assert.equal(s2.epoch, epoch);
      // Several stores initialising at once agree on one epoch.
      const many = Array.from({ length: 5 }, () => new Store(kv2));
      await Promise.all(many.map((s) => s.init()));
      for (const s of many) assert.equal(s.epoch, epoch);
    } finally {
      kv2.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("init: stores starting at once on a fresh file agree on one epoch and one session key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive_db_test_" });
  const kv = await Deno.openKv(`${dir}/kv.sqlite3`);
  try {
    const many = Array.from({ length: 5 }, () => new Store(kv));
    await Promise.all(many.map((s) => s.init()));
    const stored = (await kv.get<Uint8Array>(K.sessionKey())).value!;
    assert.equal(stored.length, 32);
    for (const s of many) {
      assert.equal(s.epoch, many[0].epoch);
      assert.deepEqual(s.sessionKey, stored);
    }
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a fresh store gets a different epoch", async () => {
  let a = "";
  let b = "";
  await withStore(({ store }) => Promise.resolve(void (a = store.epoch)));
  await withStore(({ store }) => Promise.resolve(void (b = store.epoch)));
  assert.notEqual(a, b);
});

// ───────────────────────────── machines & commands ─────────────────────────────

Deno.test("addMachine appends machine.added with increasing order and seq", async () => {
  await withStore(async ({ store }) => {
    const r1 = await store.addMachine(B, { name: "Washer 1", kind: "washer", room: "B1" });
    const r2 = await store.addMachine(B, { name: "Dryer 1", kind: "dryer", room: "B1" });
    assert.equal(r1.machine.state, "available");
    assert.equal(r1.machine.gen, 0);
    assert.equal(r1.machine.order, 1);
    assert.equal(r2.machine.order, 2);
    assert.equal(r1.events.length, 1);
    assert.equal(r1.events[0].type, "machine.added");
    assert.equal(r1.events[0].seq, 1);
    assert.equal(r1.events[0].scope, "board");
    assert.deepEqual(r1.events[0].machine, r1.machine);
    assert.equal(r2.events[0].seq, 2);
    assert.deepEqual(await store.getMachine(B, r1.machine.id), r1.machine);
    assert.deepEqual((await store.listMachines(B)).map((m) => m.name), ["Washer 1", "Dryer 1"]);
    const log = await boardLog(store);
    assert.deepEqual(log.map((e) => [e.seq, e.type]), [[1, "machine.added"], [2, "machine.added"]]);
  });
});

Deno.test("command: hold, arrive, start, finish, collect append consecutive board events", async () => {
  await withStore(async ({ store, kv }) => {
    const m = await addWasher(store);
    const held = await store.command(B, m.id, { type: "hold" }, ALICE);
    assert.equal(held.machine.state, "held");
    assert.equal(held.machine.ownerId, ALICE.id);
    assert.equal(held.before.state, "available");
    assert.deepEqual(held.events.map((e) => [e.seq, e.type]), [[2, "machine.held"]]);
    assert.equal((await kv.get(["holds", ALICE.id, "washer"])).value, holdRef(B, m.id));

    const arrived = await store.command(B, m.id, { type: "arrive" }, ALICE);
    assert.deepEqual(arrived.events.map((e) => [e.seq, e.type]), [[3, "machine.arrived"]]);

    const started = await store.command(B, m.id, { type: "start", minutes: 45 }, ALICE);
    assert.equal(started.machine.state, "in_use");
    assert.equal(started.machine.useId, held.machine.useId);
    assert.deepEqual(started.events.map((e) => [e.seq, e.type]), [[4, "machine.started"]]);
    assert.equal((await kv.get(["holds", ALICE.id, "washer"])).value, null, "hold index freed");

    const finished = await store.command(B, m.id, { type: "finish" }, ALICE);
    assert.deepEqual(finished.events.map((e) => [e.seq, e.type]), [[5, "machine.finished"]]);

    const collected = await store.command(B, m.id, { type: "collect" }, ALICE);
    assert.equal(collected.machine.state, "available");
    assert.equal(collected.before.state, "done");
    assert.deepEqual(collected.events.map((e) => [e.seq, e.type]), [[6, "machine.collected"]]);

    const log = await boardLog(store);
    assert.deepEqual(log.map((e) => e.seq), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(log.map((e) => e.type), [
      "machine.added",
      "machine.held",
      "machine.arrived",
      "machine.started",
      "machine.finished",
      "machine.collected",
    ]);
    for (const e of log) assert.equal(e.scope, "board");
    assert.deepEqual(await store.getMachine(B, m.id), collected.machine);
  });
});

Deno.test("command: a cycle that ended by time is settled first (done, then collected)", async () => {
  await withStore(async ({ store }) => {
    const m = await addWasher(store);
    const started = await store.command(B, m.id, { type: "start", minutes: 1 }, ALICE); // 20 ms
    await sleep(60);
    const r = await store.command(B, m.id, { type: "collect" }, ALICE);
    assert.deepEqual(r.events.map((e) => [e.seq, e.type]), [
      [3, "machine.done"],
      [4, "machine.collected"],
    ]);
    assert.equal(r.events[0].machine?.state, "done");
    assert.equal(r.events[0].machine?.doneAt, started.machine.endsAt);
    assert.equal(r.before.state, "done");
    assert.equal(r.machine.state, "available");
  }, { minuteMs: 20 });
});

Deno.test("command: errors map to StoreError codes and statuses", async () => {
  await withStore(async ({ store }) => {
    const m = await addWasher(store);
    await rejectsWith(store.command(B, "nope", { type: "hold" }, ALICE), "not_found", 404);
    await rejectsWith(store.command(B, m.id, { type: "arrive" }, ALICE), "invalid_state", 409);
    await rejectsWith(
      store.command(B, m.id, { type: "start", minutes: 0 }, ALICE),
      "bad_minutes",
      400,
    );
    await rejectsWith(
      store.command(B, m.id, { type: "out_of_order", reason: "x" }, ALICE),
      "forbidden",
      403,
    );
    await store.command(B, m.id, { type: "hold" }, ALICE);
    await rejectsWith(store.command(B, m.id, { type: "arrive" }, BOB), "not_owner", 403);
    await store.command(B, m.id, { type: "out_of_order", reason: "leak" }, ADMIN);
    await rejectsWith(store.command(B, m.id, { type: "hold" }, BOB), "out_of_order", 409);
    // Failed commands append nothing.
    assert.deepEqual((await boardLog(store)).map((e) => e.type), [
      "machine.added",
      "machine.held",
      "machine.out_of_order",
    ]);
  });
});

Deno.test("command: out_of_order on a held machine frees the holder's hold", async () => {
  await withStore(async ({ store, kv }) => {
    const a = await addWasher(store, "A");
    const b = await addWasher(store, "B");
    await store.command(B, a.id, { type: "hold" }, ALICE);
    await store.command(B, a.id, { type: "out_of_order", reason: "broken" }, ADMIN);
    assert.equal((await kv.get(["holds", ALICE.id, "washer"])).value, null);
    await store.command(B, b.id, { type: "hold" }, ALICE);
  });
});

Deno.test("removeMachine: refused while in use, allowed when available", async () => {
  await withStore(async ({ store }) => {
    const m = await addWasher(store);
    await store.command(B, m.id, { type: "start", minutes: 30 }, ALICE);
    await rejectsWith(store.removeMachine(B, m.id), "machine_in_use");
    await store.command(B, m.id, { type: "finish" }, ALICE);
    await store.command(B, m.id, { type: "collect" }, ALICE);
    const events = await store.removeMachine(B, m.id);
    assert.deepEqual(events.map((e) => [e.type, e.machineId]), [["machine.removed", m.id]]);
    assert.equal(await store.getMachine(B, m.id), null);
    await rejectsWith(store.removeMachine(B, m.id), "not_found", 404);
  });
});

// ───────────────────────────── one hold per kind ─────────────────────────────

Deno.test("one hold per resident per kind; frees up on release and on expiry", async () => {
  // minuteMs 20 × holdMinutes 10 = holds last 200 ms.
  await withStore(async ({ store }) => {
    const w1 = await addWasher(store, "W1");
    const w2 = await addWasher(store, "W2");
    const w3 = await addWasher(store, "W3");
    const d1 = (await store.addMachine(B, { name: "D1", kind: "dryer", room: "B1" })).machine;

    await store.command(B, w1.id, { type: "hold" }, ALICE);
    await rejectsWith(store.command(B, w2.id, { type: "hold" }, ALICE), "already_holding", 409);
    // Another kind is fine; another resident is fine.
    await store.command(B, d1.id, { type: "hold" }, ALICE);
    await store.command(B, w2.id, { type: "hold" }, BOB);

    // Arrived still counts as holding.
    await store.command(B, w1.id, { type: "arrive" }, ALICE);
    await rejectsWith(store.command(B, w3.id, { type: "hold" }, ALICE), "already_holding");

    // Release frees it.
    await store.command(B, w1.id, { type: "release" }, ALICE);
    await store.command(B, w3.id, { type: "hold" }, ALICE);
    await rejectsWith(store.command(B, w1.id, { type: "hold" }, ALICE), "already_holding");

    // Expiry frees it, without anyone settling the old machine first.
    await sleep(260);
    const r = await store.command(B, w1.id, { type: "hold" }, ALICE);
    assert.equal(r.machine.ownerId, ALICE.id);
    const w3now = await store.getMachine(B, w3.id);
    assert.equal(w3now?.state, "held", "w3 is not settled in KV yet");
  }, { minuteMs: 20 });
});

Deno.test("one hold per kind: re-holding the machine whose hold expired keeps the invariant", async () => {
  // Alice's hold on W1 expires; she holds W1 again (the command settles the
  // expiry and applies the hold in one commit). She must still not be able to
  // hold a second washer.
  await withStore(async ({ store, kv }) => {
    const w1 = await addWasher(store, "W1");
    const w2 = await addWasher(store, "W2");
    await store.command(B, w1.id, { type: "hold" }, ALICE);
    await sleep(260);
    const again = await store.command(B, w1.id, { type: "hold" }, ALICE);
    assert.deepEqual(again.events.map((e) => e.type), ["machine.hold_expired", "machine.held"]);
    await rejectsWith(store.command(B, w2.id, { type: "hold" }, ALICE), "already_holding");
    assert.equal(
      (await kv.get(["holds", ALICE.id, "washer"])).value,
      holdRef(B, w1.id),
      "hold index must point at W1",
    );
  }, { minuteMs: 20 });
});

Deno.test("one hold per kind: someone taking over your expired machine does not drop your new hold", async () => {
  // Alice's hold on W1 expires (unsettled); she holds W2; Bob then holds W1,
  // which settles Alice's old expiry. Alice still holds W2, so W3 is refused.
  await withStore(async ({ store, kv }) => {
    const w1 = await addWasher(store, "W1");
    const w2 = await addWasher(store, "W2");
    const w3 = await addWasher(store, "W3");
    await store.command(B, w1.id, { type: "hold" }, ALICE);
    await sleep(1100);
    await store.command(B, w2.id, { type: "hold" }, ALICE);
    const bob = await store.command(B, w1.id, { type: "hold" }, BOB);
    assert.deepEqual(bob.events.map((e) => e.type), ["machine.hold_expired", "machine.held"]);
    await rejectsWith(store.command(B, w3.id, { type: "hold" }, ALICE), "already_holding");
    assert.equal(
      (await kv.get(["holds", ALICE.id, "washer"])).value,
      holdRef(B, w2.id),
      "Alice's hold index must still point at W2",
    );
  }, { minuteMs: 100 }); // holds last 1 s: long enough to outlast a loaded machine's commands
});

/** A tick record for a machine, due now, as the worker would read it. */
async function tickEntry(store: Store, machineId: string, useId?: string): Promise<DueEntry> {
  const op = store.kv.atomic();
  store.addDue(op, [due({ t: "tick", b: B, machineId, useId }, Date.now())]);
  await op.commit();
  for await (const e of store.kv.list<DueRecord>({ prefix: ["due"] })) {
    const j = e.value.job;
    if (j.t === "tick" && j.machineId === machineId && j.useId === useId) return e;
  }
  throw new Error("no tick");
}

async function dueJobs(store: Store): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.kv.list<DueRecord>({ prefix: ["due"] })) out.push(e.key[2] as string);
  return out;
}

const noReminders = () => [];

Deno.test("runTick persists a hold expiry and a cycle end with what they owe, once", async () => {
  await withStore(async ({ store, kv }) => {
    const w1 = await addWasher(store, "W1");
    const w2 = await addWasher(store, "W2");
    const held = await store.command(B, w1.id, { type: "hold" }, ALICE);
    const started = await store.command(B, w2.id, { type: "start", minutes: 5 }, BOB);
    // Before anything is due: the tick is consumed, nothing changes.
    let tick = await tickEntry(store, w1.id, held.machine.useId);
    assert.deepEqual(await store.runTick(tick, B, w1.id, held.machine.useId, noReminders), []);
    assert.equal((await kv.get(tick.key)).value, null, "consumed");
    assert.equal((await store.getMachine(B, w1.id))?.state, "held");
    // A tick for a machine that is gone, or a use that is over: consumed, nothing else.
    tick = await tickEntry(store, "nope");
    assert.deepEqual(await store.runTick(tick, B, "nope", undefined, noReminders), []);
    tick = await tickEntry(store, w1.id, "an-old-use");
    assert.deepEqual(await store.runTick(tick, B, w1.id, "an-old-use", noReminders), []);
    assert.equal((await kv.get(tick.key)).value, null);

    await sleep(held.machine.holdExpiresAt! - Date.now() + 5);
    tick = await tickEntry(store, w1.id, held.machine.useId);
    const expired = await store.runTick(tick, B, w1.id, held.machine.useId, noReminders);
    assert.deepEqual(expired.map((e) => e.type), ["machine.hold_expired"]);
    assert.equal(expired[0].machine?.state, "available");
    assert.equal((expired[0].data as { ownerId: string }).ownerId, ALICE.id);
    assert.equal((await kv.get(["holds", ALICE.id, "washer"])).value, null);
    // The same commit owed the holder's notice and the offer to watchers.
    const owed = await dueJobs(store);
    assert.ok(owed.includes(`notify:${ALICE.id}:hold.expired:${held.machine.useId}`), owed.join());
    assert.ok(owed.some((id) => id.startsWith(`free:${w1.id}:`)), owed.join());

    await sleep(started.machine.endsAt! - Date.now() + 5);
    tick = await tickEntry(store, w2.id, started.machine.useId);
    const done = await store.runTick(tick, B, w2.id, started.machine.useId, noReminders);
    assert.deepEqual(done.map((e) => e.type), ["machine.done"]);
    assert.equal((await store.getMachine(B, w2.id))?.doneAt, started.machine.endsAt);
    assert.ok(
      (await dueJobs(store)).includes(`notify:${BOB.id}:use.done:${started.machine.useId}`),
    );
    // Again: nothing more (idempotent).
    tick = await tickEntry(store, w2.id, started.machine.useId);
    assert.deepEqual(await store.runTick(tick, B, w2.id, started.machine.useId, noReminders), []);
    const types = (await boardLog(store)).map((e) => e.type);
    assert.equal(types.filter((t) => t === "machine.done").length, 1);
  }, { minuteMs: 20 });
});

Deno.test("runTick: the reminders due now are owed in the tick's commit", async () => {
  await withStore(async ({ store }) => {
    const w = await addWasher(store, "W1");
    const s = await store.command(B, w.id, { type: "start", minutes: 30 }, BOB);
    const tick = await tickEntry(store, w.id, s.machine.useId);
    const seen: number[] = [];
    await store.runTick(tick, B, w.id, s.machine.useId, (m, lead, now) => {
      seen.push(lead);
      return [due({
        t: "notify",
        userId: m.ownerId!,
        b: B,
        n: {
          id: "r1",
          kind: "use.ending_soon",
          url: "/",
          text: { literal: { title: "t", body: "b" } },
        },
      }, now)];
    });
    assert.deepEqual(seen, [5], "the owner's lead (default 5)");
    assert.ok((await dueJobs(store)).includes(`notify:${BOB.id}:r1`));
  });
});

Deno.test("one hold per kind: settling an old expired hold does not drop the holder's newer hold", async () => {
  // Alice's hold on W1 expires; she holds W2; then W1's tick settles W1.
  await withStore(async ({ store, kv }) => {
    const w1 = await addWasher(store, "W1");
    const w2 = await addWasher(store, "W2");
    const w3 = await addWasher(store, "W3");
    const h1 = await store.command(B, w1.id, { type: "hold" }, ALICE);
    await sleep(260);
    await store.command(B, w2.id, { type: "hold" }, ALICE);
    const tick = await tickEntry(store, w1.id, h1.machine.useId);
    const settled = await store.runTick(tick, B, w1.id, h1.machine.useId, noReminders);
    assert.equal(settled[0]?.type, "machine.hold_expired");
    await rejectsWith(store.command(B, w3.id, { type: "hold" }, ALICE), "already_holding");
    assert.equal((await kv.get(["holds", ALICE.id, "washer"])).value, holdRef(B, w2.id));
  }, { minuteMs: 20 });
});

// ───────────────────────────── concurrency ─────────────────────────────

Deno.test("concurrency: 10 residents hold one machine at once → exactly one wins", async () => {
  await withStore(async ({ store }) => {
    const m = await addWasher(store);
    const actors = Array.from({ length: 10 }, (_, i) => resident(i));
    const results = await Promise.allSettled(
      actors.map((a) => store.command(B, m.id, { type: "hold" }, a)),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r) => r.status === "rejected");
    assert.equal(won.length, 1);
    assert.equal(lost.length, 9);
    for (const r of lost) {
      const e = (r as PromiseRejectedResult).reason;
      assert.ok(e instanceof StoreError, `expected StoreError, got ${e}`);
      assert.equal(e.code, "invalid_state");
    }
    const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<Store["command"]>>>).value;
    const stored = await store.getMachine(B, m.id);
    assert.equal(stored?.state, "held");
    assert.equal(stored?.ownerId, winner.machine.ownerId);
    const log = await boardLog(store);
    assert.equal(log.filter((e) => e.type === "machine.held").length, 1);
    assert.deepEqual(log.map((e) => e.seq), [1, 2]);
  });
});

Deno.test("concurrency: commands on different machines all commit with distinct seqs", async () => {
  await withStore(async ({ store }) => {
    const machines = [];
    for (let i = 0; i < 6; i++) machines.push(await addWasher(store, `W${i}`));
    await Promise.all(
      machines.map((m, i) => store.command(B, m.id, { type: "start", minutes: 30 }, resident(i))),
    );
    const log = await boardLog(store);
    assert.deepEqual(log.map((e) => e.seq), Array.from({ length: 12 }, (_, i) => i + 1));
    assert.equal(log.filter((e) => e.type === "machine.started").length, 6);
  });
});

Deno.test("concurrency: addMachine while the board is busy still succeeds", async () => {
  await withStore(async ({ store }) => {
    const w = await addWasher(store, "W0");
    const results = await Promise.allSettled([
      store.command(B, w.id, { type: "start", minutes: 30 }, ALICE),
      ...Array.from(
        { length: 4 },
        (_, i) => store.addMachine(B, { name: `D${i}`, kind: "dryer", room: "B1" }),
      ),
    ]);
    const failed = results.flatMap((r) =>
      r.status === "rejected" ? [(r.reason as StoreError).code] : []
    );
    assert.deepEqual(failed, [], "no command or add should fail with busy");
    const machines = await store.listMachines(B);
    assert.equal(machines.length, 5);
  });
});

// ───────────────────────────── sync ─────────────────────────────

Deno.test("sync: no cursor → snapshot", async () => {
  await withStore(async ({ store }) => {
    const m = await addWasher(store);
    const r = await store.sync(ALICE.id, B, null);
    assert.equal(r.recovered, false);
    assert.deepEqual(r.events, []);
    assert.deepEqual(r.snapshot, { machines: [m], waitlists: [] });
    assert.equal(r.inboxReset, true);
    assert.equal(r.cursor, await store.currentCursor(ALICE.id, B));
    assert.equal(r.cursor, `${store.epoch}:${B}:1:0`);
  });
});

Deno.test("sync: a snapshot memo is reused while the board head stays, read again after a change", async () => {
  await withStore(async ({ kv, store }) => {
    const m = await addWasher(store);
    const memo: SnapshotMemo = {};
    const first = await store.sync(ALICE.id, B, null, memo);
    assert.deepEqual(memo.memo, { head: 1, snapshot: first.snapshot });
    // A write that appends no board event (nothing in the app does this) is
    // invisible to the memo: proof that the second hello did not list the board.
    await kv.set(K.machine(B, m.id), { ...m, name: "unseen" });
    const second = await store.sync(BOB.id, B, null, memo);
    assert.equal(second.snapshot, first.snapshot);
    assert.equal(second.snapshot!.machines[0].name, m.name);
    // Without the memo the same hello lists the board.
    const plain = await store.sync(BOB.id, B, null);
    assert.equal(plain.snapshot!.machines[0].name, "unseen");
    // A change appends an event: the head moves and the memo is read again.
    await store.command(B, m.id, { type: "hold" }, ALICE);
    const third = await store.sync(BOB.id, B, null, memo);
    assert.notEqual(third.snapshot, first.snapshot);
    assert.equal(third.snapshot!.machines[0].state, "held");
    assert.equal(memo.memo!.head, 2);
    assert.equal(third.cursor, `${store.epoch}:${B}:2:0`);
  });
});

Deno.test("sync: same-epoch cursor → exactly the missed events, in order", async () => {
  await withStore(async ({ store }) => {
    const m = await addWasher(store);
    const c0 = await store.currentCursor(ALICE.id, B);
    await store.command(B, m.id, { type: "hold" }, ALICE);
    await store.command(B, m.id, { type: "arrive" }, ALICE);
    const c2 = await store.currentCursor(ALICE.id, B);
    await store.command(B, m.id, { type: "start", minutes: 30 }, ALICE);

    const r = await store.sync(ALICE.id, B, parseCursor(c0));
    assert.equal(r.recovered, true);
    assert.equal(r.snapshot, undefined);
    assert.equal(r.inboxReset, false);
    assert.deepEqual(r.events.map((e) => [e.seq, e.type]), [
      [2, "machine.held"],
      [3, "machine.arrived"],
      [4, "machine.started"],
    ]);
    assert.equal(r.cursor, `${store.epoch}:${B}:4:0`);

    const r2 = await store.sync(ALICE.id, B, parseCursor(c2));
    assert.deepEqual(r2.events.map((e) => e.seq), [4]);

    const upToDate = await store.sync(ALICE.id, B, parseCursor(r.cursor));
    assert.equal(upToDate.recovered, true);
    assert.deepEqual(upToDate.events, []);
    assert.equal(upToDate.cursor, r.cursor);
  });
});

Deno.test("sync: foreign epoch or a cursor from the future → snapshot", async () => {
  await withStore(async ({ store }) => {
    await addWasher(store);
    const foreign = await store.sync(ALICE.id, B, {
      epoch: "someotherepoch",
      building: B,
      board: 0,
      user: 0,
    });
    assert.equal(foreign.recovered, false);
    assert.equal(foreign.snapshot?.machines.length, 1);
    assert.deepEqual(foreign.events, []);
    assert.equal(foreign.inboxReset, true);

    const future = await store.sync(ALICE.id, B, {
      epoch: store.epoch,
      building: B,
      board: 99,
      user: 0,
    });
    assert.equal(future.recovered, false);
    assert.equal(future.snapshot?.machines.length, 1);
  });
});

Deno.test("sync: after a trim an old cursor gets a snapshot, a current one recovers", async () => {
  await withStore(async ({ store }) => {
    const m = await addWasher(store);
    const old = await store.currentCursor(ALICE.id, B);
    await store.command(B, m.id, { type: "hold" }, ALICE);
    await store.appendUserEvents(ALICE.id, B, [{ type: "notice", data: { n: 1 } }]);
    const current = await store.currentCursor(ALICE.id, B);
    await sleep(5);

    assert.equal(await store.trimLog(boardScope(B), 2), 2);
    assert.equal(await store.trimLog(userScope(ALICE.id), 1), 1);
    assert.equal(await store.trimLog(userScope(ALICE.id), 1), 0, "a trim twice deletes nothing");
    assert.equal((await store.kv.get(["log_floor", boardScope(B)])).value, 2);
    assert.deepEqual(await boardLog(store), []);

    const r = await store.sync(ALICE.id, B, parseCursor(old));
    assert.equal(r.recovered, false);
    assert.deepEqual(r.snapshot?.machines.map((x) => x.state), ["held"]);
    assert.equal(r.inboxReset, true);
    assert.deepEqual(r.events, []);

    const ok = await store.sync(ALICE.id, B, parseCursor(current));
    assert.equal(ok.recovered, true);
    assert.equal(ok.snapshot, undefined);
    assert.deepEqual(ok.events, []);

    // New events after the trim replay normally from the current cursor.
    await store.command(B, m.id, { type: "release" }, ALICE);
    const after = await store.sync(ALICE.id, B, parseCursor(current));
    assert.equal(after.recovered, true);
    assert.deepEqual(after.events.map((e) => [e.seq, e.type]), [[3, "machine.released"]]);
  });
});

Deno.test("every TRIM_EVERY events a log owes a trim, due when they have aged out", async () => {
  await withStore(async ({ store, kv }) => {
    store.retentionMs = 60_000;
    const trims = async () => {
      const out: [number, string][] = [];
      for await (const e of kv.list<DueRecord>({ prefix: ["due"] })) {
        if (e.value.job.t === "trim") out.push([e.key[1] as number, e.key[2] as string]);
      }
      return out;
    };
    const before = Date.now();
    for (let i = 0; i < TRIM_EVERY - 1; i++) {
      await store.appendUserEvents(ALICE.id, B, [{ type: "notice", data: { i } }]);
    }
    assert.deepEqual(await trims(), [], "none before the 100th event");
    await store.appendUserEvents(ALICE.id, B, [{ type: "notice", data: { i: 99 } }]);
    const owed = await trims();
    const ids = owed.map(([, id]) => id).sort();
    assert.deepEqual(ids, [
      `trim:${feedScope(B)}:${TRIM_EVERY}`,
      `trim:${userScope(ALICE.id)}:${TRIM_EVERY}`,
    ]);
    for (const [at] of owed) {
      assert.ok(at >= before + 60_000 && at <= Date.now() + 60_000, "due after the retention");
    }
    // The trim deletes the events and raises the floor; newer events stay.
    await store.appendUserEvents(ALICE.id, B, [{ type: "notice", data: { i: 100 } }]);
    assert.equal(await store.trimLog(userScope(ALICE.id), TRIM_EVERY), TRIM_EVERY);
    const left = await store.readUser(ALICE.id, 0, TRIM_EVERY + 1);
    assert.deepEqual(left.map((e) => e.seq), [TRIM_EVERY + 1]);
  });
});

/**
 * `kv` whose first `list` of exactly `prefix` runs `meanwhile` once it was
 * read to the end: a change that lands between a reader's reads.
 */
function racingKv(kv: Deno.Kv, prefix: Deno.KvKey, meanwhile: () => Promise<unknown>) {
  let landed = false;
  const proxy = new Proxy(kv, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop !== "list") return typeof value === "function" ? value.bind(target) : value;
      return (selector: Deno.KvListSelector, opts?: Deno.KvListOptions) => {
        const it = target.list(selector, opts);
        const match = "prefix" in selector &&
          JSON.stringify(selector.prefix) === JSON.stringify(prefix);
        if (!match || landed) return it;
        landed = true;
        return (async function* () {
          yield* it;
          await meanwhile();
        })();
      };
    },
  });
  return { kv: proxy, landed: () => landed };
}

/** An unread inbox item `n` (what the notifier puts there). */
function inboxItem(n: number, createdAt = 1_000 + n): InboxItem {
  return {
    id: `note-${n}`,
    kind: "use.done",
    title: `Done ${n}`,
    body: "Washer 1 is done.",
    url: "/",
    tag: `t${n}`,
    createdAt,
  };
}

Deno.test("markRead: each batch of items is one commit with its inbox.read event; none announced twice", async () => {
  await withStore(async ({ store, kv }) => {
    for (let n = 0; n < 450; n++) await store.addToInbox(ALICE.id, B, inboxItem(n));
    await store.markRead(ALICE.id, B, ["note-7", "note-8"]);
    // Two devices mark all read at once: the rest, each item by one of them.
    const [a, b] = await Promise.all([
      store.markRead(ALICE.id, B),
      store.markRead(ALICE.id, B),
    ]);
    assert.equal(a.updated + b.updated, 448);
    const events = (await store.readUser(ALICE.id, 450, 10_000))
      .filter((e) => e.type === "inbox.read");
    const announced = events.flatMap((e) => (e.data as { ids: string[] }).ids);
    assert.equal(announced.length, 450, "each item announced read once");
    assert.equal(new Set(announced).size, 450);
    assert.deepEqual(
      events.map((e) => (e.data as { ids: string[] }).ids.length).sort((x, y) => x - y),
      [2, 48, 200, 200],
    );
    // Atomic: an event and the items it names carry one versionstamp (one commit).
    for (const e of events) {
      const logged = await kv.get(K.log(userScope(ALICE.id), e.seq));
      const items = await kv.getMany<InboxItem[]>(
        (e.data as { ids: string[] }).ids.slice(0, 10).map((id) => K.inboxItem(ALICE.id, id)),
      );
      for (const item of items) {
        assert.equal(item.versionstamp, logged.versionstamp, `${item.key} with event ${e.seq}`);
        assert.equal(item.value!.readAt, (e.data as { at: number }).at);
      }
    }
    assert.equal(await store.unreadCount(ALICE.id), 0);
    assert.deepEqual(await store.markRead(ALICE.id, B), { updated: 0, events: [] });
  });
});

Deno.test("inboxAt: the list is the inbox at the cursor's user seq, even when a notification lands between its reads", async () => {
  await withStore(async ({ store, kv }) => {
    await store.addToInbox(ALICE.id, B, inboxItem(1));
    // The first inbox list lets a new notification commit right after it was read.
    const race = racingKv(kv, K.inbox(ALICE.id), () => store.addToInbox(ALICE.id, B, inboxItem(2)));
    const reader = new Store(race.kv);
    await reader.init();
    const { items, cursor } = await reader.inboxAt(ALICE.id, B);
    assert.equal(race.landed(), true, "the notification landed between the reads");
    const head = (await kv.get<number>(K.logHead(userScope(ALICE.id)))).value;
    assert.equal(parseCursor(cursor)?.user, head);
    assert.deepEqual(
      items.map((i) => i.id),
      ["note-2", "note-1"],
      "the list holds what the cursor says",
    );
  });
});

Deno.test("boardAt: the machines with the events after its cursor make the board as it is, whatever lands between the reads", async () => {
  await withStore(async ({ store, kv }) => {
    const m = await addWasher(store);
    await addWasher(store, "Washer 2");
    // A queue for the one dryer, which Alice holds.
    const { machine: dryer } = await store.addMachine(B, {
      name: "Dryer",
      kind: "dryer",
      room: "B1",
    });
    await store.command(B, dryer.id, { type: "hold" }, ALICE);
    await store.joinWaitlist(B, BOB.id, "B1", "dryer");
    const race = racingKv(kv, K.machines(B), () => store.command(B, m.id, { type: "hold" }, BOB));
    const reader = new Store(race.kv);
    await reader.init();
    const at = await reader.boardAt(ALICE.id, B);
    assert.equal(race.landed(), true, "the hold landed between the reads");
    // What a page does: start from the list, apply the events after the cursor.
    const from = parseCursor(at.cursor)!.board;
    const head = await store.logHead(boardScope(B));
    let shown = at.machines;
    for (const e of await store.readBoard(B, from, head)) shown = applyBoardEvent(shown, e);
    assert.deepEqual(shown, await store.listMachines(B));
    assert.equal(shown.find((x) => x.id === m.id)?.state, "held");
    assert.deepEqual(at.waitlists, [{ room: "B1", kind: "dryer", queue: [BOB.id] }]);
    assert.deepEqual((await reader.boardAt(ALICE.id, B, { waitlists: false })).waitlists, []);
  });
});

Deno.test("sync: user-log events from appendUserEvents are replayed to that user only", async () => {
  await withStore(async ({ store, kv }) => {
    const m = await addWasher(store);
    const aliceStart = parseCursor(await store.currentCursor(ALICE.id, B));
    const bobStart = parseCursor(await store.currentCursor(BOB.id, B));
    const appended = await store.appendUserEvents(
      ALICE.id,
      B,
      [{ type: "notification", data: { kind: "use.done" } }, { type: "inbox.read", data: {} }],
      (op) => op.set(["test_extra", ALICE.id], true),
    );
    assert.deepEqual(appended.map((e) => [e.seq, e.scope, e.type]), [
      [1, "user", "notification"],
      [2, "user", "inbox.read"],
    ]);
    assert.equal((await kv.get(["test_extra", ALICE.id])).value, true, "extra write committed");
    await store.command(B, m.id, { type: "hold" }, BOB);

    const r = await store.sync(ALICE.id, B, aliceStart);
    assert.equal(r.recovered, true);
    assert.equal(r.inboxReset, false);
    assert.equal(r.cursor, `${store.epoch}:${B}:2:2`);
    assert.deepEqual(
      r.events.map((e) => [e.scope, e.seq, e.type]).sort(),
      [["board", 2, "machine.held"], ["user", 1, "notification"], ["user", 2, "inbox.read"]],
    );
    const userEvents = r.events.filter((e) => e.scope === "user");
    assert.deepEqual(userEvents.map((e) => e.seq), [1, 2], "user events in order");
    assert.deepEqual(userEvents[0].data, { kind: "use.done" });

    const rb = await store.sync(BOB.id, B, bobStart);
    assert.deepEqual(rb.events.map((e) => [e.scope, e.type]), [["board", "machine.held"]]);
    assert.equal(rb.cursor, `${store.epoch}:${B}:2:0`);
    assert.deepEqual((await store.readUser(ALICE.id, 0, 2)).map((e) => e.seq), [1, 2]);
  });
});

Deno.test("appendUserEvents: concurrent appends get distinct consecutive seqs", async () => {
  await withStore(async ({ store }) => {
    await Promise.all(
      Array.from({ length: 8 }, (_, i) => store.appendUserEvents(ALICE.id, B, [{ type: `n${i}` }])),
    );
    const events = await store.readUser(ALICE.id, 0, 100);
    assert.deepEqual(events.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(new Set(events.map((e) => e.type)).size, 8);
  });
});

// ───────────────────────────── users & invites ─────────────────────────────

Deno.test("createUser with an invite counts uses and enforces maxUses", async () => {
  await withStore(async ({ store }) => {
    const inv = await store.createInvite(B, "adm-1", { code: "wash-test-1", maxUses: 2 });
    assert.equal(inv.code, "WASH-TEST-1");
    assert.equal(inv.uses, 0);

    const u1 = await store.createUser(userInput("ann"), "wash-test-1");
    const u2 = await store.createUser(userInput("ben"), " WASH-TEST-1 ");
    assert.equal(u1.disabled, false);
    assert.notEqual(u1.id, u2.id);
    assert.equal((await store.listInvites(B))[0].uses, 2);

    await rejectsWith(store.createUser(userInput("cat"), "WASH-TEST-1"), "invalid_invite", 400);
    assert.equal(await store.getUserByLogin("cat"), null, "no user created");
    assert.equal((await store.listInvites(B))[0].uses, 2);
    assert.equal((await store.listUsers(B)).length, 2);
  });
});

Deno.test("createUser: revoked, expired and unknown invites are refused", async () => {
  await withStore(async ({ store }) => {
    await store.createInvite(B, "adm-1", { code: "REVOKED-1" });
    const revoked = await store.revokeInvite(B, "revoked-1");
    assert.equal(revoked.revoked, true);
    await rejectsWith(store.createUser(userInput("ann"), "REVOKED-1"), "invalid_invite", 400);

    await store.createInvite(B, "adm-1", { code: "EXPIRED-1", expiresAt: Date.now() - 1 });
    await rejectsWith(store.createUser(userInput("ann"), "EXPIRED-1"), "invalid_invite", 400);

    await rejectsWith(store.createUser(userInput("ann"), "NO-SUCH-CODE"), "invalid_invite", 400);
    assert.deepEqual(await store.listUsers(B), []);
    await rejectsWith(store.createInvite(B, "adm-1", { code: "revoked-1" }), "invite_exists");
  });
});

Deno.test("createUser: a duplicate login is refused case-insensitively", async () => {
  await withStore(async ({ store }) => {
    await store.createInvite(B, "adm-1", { code: "INV-1", maxUses: 5 });
    const alice = await store.createUser(userInput("Alice"), "INV-1");
    await rejectsWith(store.createUser(userInput("alice"), "INV-1"), "login_taken");
    await rejectsWith(store.createUser(userInput("ALICE")), "login_taken");
    assert.equal((await store.listInvites(B))[0].uses, 1, "failed signup used no invite");
    assert.equal((await store.getUserByLogin("aLiCe"))?.id, alice.id);
    assert.equal((await store.getUser(alice.id))?.loginId, "Alice");
    assert.equal((await store.listUsers(B)).length, 1);
  });
});

Deno.test("createUser: concurrent signups for one login → exactly one wins", async () => {
  await withStore(async ({ store }) => {
    const results = await Promise.allSettled(
      ["dup", "DUP", "Dup", "dUp"].map((l) => store.createUser(userInput(l))),
    );
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    for (const r of results) {
      if (r.status === "rejected") assert.equal((r.reason as StoreError).code, "login_taken");
    }
    assert.equal((await store.listUsers(B)).length, 1);
  });
});

// ───────────────────────────── sessions ─────────────────────────────

Deno.test("sessions: create, get, delete", async () => {
  await withStore(async ({ store }) => {
    const u = await store.createUser(userInput("ann"));
    const token = await store.createSession(u.id, "TestAgent/1.0");
    assert.ok(token.length >= 32);
    const s = await store.getSession(token);
    assert.ok(s);
    assert.equal(s.user.id, u.id);
    assert.equal(s.session.userId, u.id);
    assert.equal(s.session.userAgent, "TestAgent/1.0");
    assert.ok(s.session.expiresAt > Date.now());
    assert.match(s.id, /^[0-9a-f]{64}$/);
    assert.notEqual(s.id, token, "stored by hash, not by token");

    assert.equal(await store.getSession("not-a-token"), null);
    assert.equal(await store.getSession(""), null);
    assert.equal(await store.getSession("x".repeat(101)), null);

    await store.deleteSession(token);
    assert.equal(await store.getSession(token), null);
    await store.deleteSession(token); // idempotent
  });
});

Deno.test("sessions: the token names its user; another user's id in it opens nothing; old tokens still work", async () => {
  await withStore(async ({ store, kv }) => {
    const ann = await store.createUser(userInput("ann"));
    const bob = await store.createUser(userInput("bob"));
    const token = await store.createSession(ann.id);
    assert.ok(token.startsWith(`${ann.id}.`));
    // Someone else's id in front of a valid secret, or a valid token with its
    // user's id swapped: no session (the hash covers the whole token).
    const secret = token.slice(ann.id.length + 1);
    assert.equal(await store.getSession(`${bob.id}.${secret}`), null);
    // A session record naming another user than the token does: refused.
    const forged = `${bob.id}.forged`;
    await kv.set(K.session(await sha256Hex(forged)), {
      userId: ann.id,
      createdAt: Date.now(),
      expiresAt: Date.now() + 60_000,
    });
    assert.equal(await store.getSession(forged), null);
    // A token made before ids led tokens (no dot): found in two reads.
    const old = "oldstyletoken_0123456789abcdefghijklmnopqrstu";
    await kv.set(K.session(await sha256Hex(old)), {
      userId: bob.id,
      createdAt: Date.now(),
      expiresAt: Date.now() + 60_000,
    });
    assert.equal((await store.getSession(old))?.user.id, bob.id);
    // Disabled or expired: nothing, on both paths.
    await kv.set(K.user(bob.id), { ...(await store.getUser(bob.id))!, disabled: true });
    assert.equal(await store.getSession(old), null);
    const bobs = await store.createSession(bob.id);
    assert.equal(await store.getSession(bobs), null);
    await kv.set(K.session(await sha256Hex(token)), {
      userId: ann.id,
      createdAt: 0,
      expiresAt: Date.now() - 1,
    });
    assert.equal(await store.getSession(token), null);
  });
});

Deno.test("sessions: disabling a user revokes all their sessions, and only theirs", async () => {
  await withStore(async ({ store, kv }) => {
    const ann = await store.createUser(userInput("ann"));
    const ben = await store.createUser(userInput("ben"));
    const t1 = await store.createSession(ann.id);
    const t2 = await store.createSession(ann.id);
    const tb = await store.createSession(ben.id);

    const disabled = await store.setUserDisabled(ann.id, true);
    assert.equal(disabled.disabled, true);
    assert.equal((await store.getUser(ann.id))?.disabled, true);
    assert.equal(await store.getSession(t1), null);
    assert.equal(await store.getSession(t2), null);
    assert.equal((await store.getSession(tb))?.user.id, ben.id);
    const left = [];
    for await (const e of kv.list({ prefix: ["sessions_by_user", ann.id] })) left.push(e);
    assert.equal(left.length, 0);

    // Re-enabling does not bring revoked sessions back.
    await store.setUserDisabled(ann.id, false);
    assert.equal(await store.getSession(t1), null);
    const t3 = await store.createSession(ann.id);
    assert.equal((await store.getSession(t3))?.user.id, ann.id);
    await rejectsWith(store.setUserDisabled("nobody", true), "not_found", 404);
  });
});

// ───────────────────────────── presence ─────────────────────────────

Deno.test("presence: connected / visible across connections, stale rows ignored", async () => {
  await withStore(async ({ store }) => {
    const now = Date.now();
    assert.deepEqual(await store.getPresence(ALICE.id, now), { connected: false, visible: false });

    await store.setPresence(ALICE.id, "c1", { visible: false, at: now, instance: "i1" });
    assert.deepEqual(await store.getPresence(ALICE.id, now), { connected: true, visible: false });

    await store.setPresence(ALICE.id, "c2", { visible: true, at: now, instance: "i1" });
    assert.deepEqual(await store.getPresence(ALICE.id, now), { connected: true, visible: true });
    assert.deepEqual(await store.getPresence(BOB.id, now), { connected: false, visible: false });

    // Exactly TTL old still counts; older does not.
    assert.deepEqual(await store.getPresence(ALICE.id, now + PRESENCE_TTL_MS), {
      connected: true,
      visible: true,
    });
    assert.deepEqual(await store.getPresence(ALICE.id, now + PRESENCE_TTL_MS + 1), {
      connected: false,
      visible: false,
    });

    // A stale visible row does not make a fresh hidden one visible.
    await store.setPresence(ALICE.id, "c2", {
      visible: true,
      at: now - PRESENCE_TTL_MS - 1,
      instance: "i1",
    });
    assert.deepEqual(await store.getPresence(ALICE.id, now), { connected: true, visible: false });

    await store.clearPresence(ALICE.id, "c1");
    assert.deepEqual(await store.getPresence(ALICE.id, now), { connected: false, visible: false });
  });
});

// ───────────────────────────── rate limits ─────────────────────────────

Deno.test("hitRate: allows up to the limit, then refuses with retryAfterMs > 0", async () => {
  await withStore(async ({ store }) => {
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await store.hitRate("login:ann", 3, 60_000), {
        allowed: true,
        retryAfterMs: 0,
      });
    }
    const refused = await store.hitRate("login:ann", 3, 60_000);
    assert.equal(refused.allowed, false);
    assert.ok(
      refused.retryAfterMs > 0 && refused.retryAfterMs <= 60_000,
      `${refused.retryAfterMs}`,
    );

    // Other keys are independent.
    assert.equal((await store.hitRate("login:ben", 3, 60_000)).allowed, true);
    assert.equal((await store.hitRate("login:ann", 3, 60_000)).allowed, false);
  });
});

Deno.test("hitRate: the window resets after windowMs", async () => {
  await withStore(async ({ store }) => {
    assert.equal((await store.hitRate("k", 1, 50)).allowed, true);
    assert.equal((await store.hitRate("k", 1, 50)).allowed, false);
    await sleep(80);
    assert.equal((await store.hitRate("k", 1, 50)).allowed, true);
  });
});

Deno.test("hitRate: concurrent hits never exceed the limit", async () => {
  await withStore(async ({ store }) => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () => store.hitRate("burst", 4, 60_000)),
    );
    assert.equal(results.filter((r) => r.allowed).length, 4);
  });
});

// ───────────────────────────── passwords ─────────────────────────────

Deno.test("password: hash and verify (right, wrong)", async () => {
  const h = await hashPassword("correct horse", 1_000);
  assert.match(h, /^pbkdf2-sha256\$1000\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  assert.equal(await verifyPassword("correct horse", h), true);
  assert.equal(await verifyPassword("correct horsf", h), false);
  assert.equal(await verifyPassword("", h), false);
  assert.notEqual(await hashPassword("correct horse", 1_000), h, "fresh salt every time");
  const korean = await hashPassword("세탁기 🧺", 1_000);
  assert.equal(await verifyPassword("세탁기 🧺", korean), true);
});

Deno.test("password: default iterations are stored in the hash", async () => {
  assert.equal(PBKDF2_ITERATIONS, 600_000);
  const h = await hashPassword("pw");
  assert.equal(h.split("$")[1], "600000");
  assert.equal(await verifyPassword("pw", DUMMY_HASH), false);
});

Deno.test("password: tampered or malformed hashes never verify", async () => {
  const h = await hashPassword("secret", 1_000);
  const [alg, iter, salt, hash] = h.split("$");
  const flip = (b64: string) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    bytes[0] ^= 1;
    return btoa(String.fromCharCode(...bytes));
  };
  const bad = [
    [alg, iter, salt, flip(hash)].join("$"),
    [alg, iter, flip(salt), hash].join("$"),
    [alg, "1001", salt, hash].join("$"),
    [alg, "0", salt, hash].join("$"),
    [alg, "-5", salt, hash].join("$"),
    [alg, "abc", salt, hash].join("$"),
    ["pbkdf2-sha1", iter, salt, hash].join("$"),
    [alg, iter, salt, hash.slice(0, 20)].join("$"), // truncated hash
    [alg, iter, salt].join("$"),
    `${h}$extra`,
    "",
    "plaintext",
  ];
  for (const stored of bad) {
    assert.equal(await verifyPassword("secret", stored), false, stored);
  }
});

Deno.test("password: a hash with invalid base64 is refused, not thrown", async () => {
  const h = await hashPassword("secret", 1_000);
  const [alg, iter, salt, hash] = h.split("$");
  for (const stored of [[alg, iter, "!!!", hash].join("$"), [alg, iter, salt, "%%%"].join("$")]) {
    assert.equal(await verifyPassword("secret", stored), false, stored);
  }
});
