import assert from "node:assert/strict";
import { DEFAULT_SETTINGS } from "../lifecycle.ts";
import type { Machine } from "../types.ts";
import { dueReminders, nextStateChangeAt, remindersFor } from "./reminders.ts";

const s = { ...DEFAULT_SETTINGS, minuteMs: 1000 }; // one "minute" = 1 s
const base: Machine = {
  id: "m1",
  buildingId: "b1",
  name: "W1",
  kind: "washer",
  room: "r",
  order: 1,
  state: "in_use",
  ownerId: "u1",
  useId: "use1",
  gen: 3,
  startedAt: 0,
  endsAt: 40_000,
  updatedAt: 0,
};

Deno.test("remindersFor an in-use machine: ending soon at end − lead, overdue at +10 and +30", () => {
  const rs = remindersFor(base, 5, s);
  assert.deepEqual(rs.map((r) => [r.kind, r.at, r.minutes]), [
    ["use.ending_soon", 35_000, 5],
    ["use.overdue", 50_000, 10],
    ["use.overdue", 70_000, 30],
  ]);
  assert.equal(rs[0].expiresAt, 40_000);
});

Deno.test("no ending-soon reminder when the cycle is shorter than the lead or lead is 0", () => {
  assert.equal(
    remindersFor({ ...base, endsAt: 3_000 }, 5, s).some((r) => r.kind === "use.ending_soon"),
    false,
  );
  assert.equal(remindersFor(base, 0, s).some((r) => r.kind === "use.ending_soon"), false);
});

Deno.test("ids change when the use is re-timed, so an extended cycle reminds again", () => {
  const a = remindersFor(base, 5, s)[0].id;
  const b = remindersFor({ ...base, gen: 4, endsAt: 50_000 }, 5, s)[0].id;
  assert.notEqual(a, b);
  // Settling in_use → done keeps the overdue ids (doneAt = endsAt).
  const done = { ...base, state: "done" as const, doneAt: 40_000 };
  assert.deepEqual(
    remindersFor(done, 5, s).map((r) => r.id),
    remindersFor(base, 5, s).filter((r) => r.kind === "use.overdue").map((r) => r.id),
  );
});

Deno.test("dueReminders: nothing early, ending soon inside its window only, latest overdue only", () => {
  assert.deepEqual(dueReminders(base, 34_999, 5, s), []);
  assert.deepEqual(dueReminders(base, 35_000, 5, s).map((r) => r.kind), ["use.ending_soon"]);
  assert.deepEqual(dueReminders(base, 40_000, 5, s), [], "expired at the end");
  const done = { ...base, state: "done" as const, doneAt: 40_000 };
  assert.deepEqual(dueReminders(done, 55_000, 5, s).map((r) => r.minutes), [10]);
  assert.deepEqual(dueReminders(done, 75_000, 5, s).map((r) => r.minutes), [30]);
});

Deno.test("holds: hold.expiring two minutes before expiry; state change at expiry", () => {
  const held: Machine = {
    ...base,
    state: "held",
    endsAt: undefined,
    startedAt: undefined,
    holdExpiresAt: 600_000,
  };
  const rs = remindersFor(held, 5, s);
  assert.deepEqual(rs.map((r) => [r.kind, r.at]), [["hold.expiring", 598_000]]);
  assert.equal(nextStateChangeAt(held), 600_000);
  assert.equal(nextStateChangeAt(base), 40_000);
  assert.equal(nextStateChangeAt({ ...base, state: "available" }), null);
});

Deno.test("a machine without an owner or use has no reminders", () => {
  assert.deepEqual(remindersFor({ ...base, ownerId: undefined }, 5, s), []);
  assert.deepEqual(remindersFor({ ...base, state: "available", useId: undefined }, 5, s), []);
});

Deno.test("remindersFor: every field of each reminder, ids included", () => {
  assert.deepEqual(remindersFor(base, 5, s), [
    {
      machineId: "m1",
      useId: "use1",
      gen: 3,
      id: "use.ending_soon:use1:3",
      kind: "use.ending_soon",
      at: 35_000,
      minutes: 5,
      expiresAt: 40_000,
    },
    {
      machineId: "m1",
      useId: "use1",
      gen: 3,
      id: "use.overdue:use1:40000:10",
      kind: "use.overdue",
      at: 50_000,
      minutes: 10,
    },
    {
      machineId: "m1",
      useId: "use1",
      gen: 3,
      id: "use.overdue:use1:40000:30",
      kind: "use.overdue",
      at: 70_000,
      minutes: 30,
    },
  ]);
  const arrived: Machine = {
    ...base,
    state: "arrived",
    gen: 7,
    endsAt: undefined,
    startedAt: undefined,
    holdExpiresAt: 600_000,
  };
  assert.deepEqual(remindersFor(arrived, 5, s), [
    {
      machineId: "m1",
      useId: "use1",
      gen: 7,
      id: "hold.expiring:use1:600000",
      kind: "hold.expiring",
      at: 598_000,
      minutes: 2,
      expiresAt: 600_000,
    },
  ]);
});

Deno.test("no ending-soon reminder when the lead is exactly the cycle length", () => {
  const rs = remindersFor({ ...base, startedAt: 0, endsAt: 5_000 }, 5, s);
  assert.deepEqual(rs.map((r) => r.kind), ["use.overdue", "use.overdue"]);
  const longer = remindersFor({ ...base, startedAt: 0, endsAt: 5_001 }, 5, s);
  assert.deepEqual(longer.map((r) => [r.kind, r.at]).slice(0, 1), [["use.ending_soon", 1]]);
});

Deno.test("reminders follow the state, not fields left over from another state", () => {
  // A held machine still carrying a cycle's times gets only its hold warning.
  const held: Machine = { ...base, state: "held", holdExpiresAt: 600_000 };
  assert.deepEqual(remindersFor(held, 5, s).map((r) => r.kind), ["hold.expiring"]);
  assert.equal(nextStateChangeAt(held), 600_000);
  // A running or finished machine with a stale hold expiry gets no hold warning.
  assert.equal(
    remindersFor({ ...base, holdExpiresAt: 600_000 }, 5, s).some((r) => r.kind === "hold.expiring"),
    false,
  );
  const done: Machine = { ...base, state: "done", doneAt: 40_000, holdExpiresAt: 600_000 };
  assert.deepEqual(remindersFor(done, 5, s).map((r) => r.kind), ["use.overdue", "use.overdue"]);
  assert.equal(nextStateChangeAt(done), null);
  // A hold without an expiry has no warning and no state change.
  const noExpiry: Machine = { ...base, state: "arrived", endsAt: undefined, startedAt: undefined };
  assert.deepEqual(remindersFor(noExpiry, 5, s), []);
  assert.equal(nextStateChangeAt(noExpiry), null);
  assert.equal(nextStateChangeAt({ ...noExpiry, state: "held" }), null);
  // A running machine without an end time changes state with time never.
  assert.equal(nextStateChangeAt({ ...base, endsAt: undefined }), null);
});

Deno.test("nextStateChangeAt: an arrived machine changes when its hold expires", () => {
  const arrived: Machine = { ...base, state: "arrived", endsAt: undefined, holdExpiresAt: 9_000 };
  assert.equal(nextStateChangeAt(arrived), 9_000);
  assert.equal(nextStateChangeAt({ ...arrived, state: "out_of_order" }), null);
});

Deno.test("a cycle a sensor follows: no overdue from its estimated end, no time-driven end", () => {
  const m: Machine = {
    id: "w1",
    buildingId: "b1",
    name: "W1",
    kind: "washer",
    room: "r",
    order: 1,
    state: "in_use",
    ownerId: "u1",
    useId: "use1",
    gen: 2,
    startedAt: 0,
    endsAt: 40 * 60_000,
    sensed: true,
    updatedAt: 0,
  };
  const s = { ...DEFAULT_SETTINGS };
  assert.deepEqual(remindersFor(m, 5, s).map((r) => r.kind), ["use.ending_soon"]);
  assert.equal(nextStateChangeAt(m), null);
  const { sensed: _, ...timed } = m;
  assert.deepEqual(remindersFor(timed, 5, s).map((r) => r.kind), [
    "use.ending_soon",
    "use.overdue",
    "use.overdue",
  ]);
  assert.equal(nextStateChangeAt(timed), 40 * 60_000);
});

Deno.test("nextStateChangeAt: a waitlist offer changes a free machine when it lapses; only a free one", () => {
  const free: Machine = {
    ...base,
    state: "available",
    ownerId: undefined,
    useId: undefined,
    startedAt: undefined,
    endsAt: undefined,
  };
  assert.equal(nextStateChangeAt({ ...free, offer: { userId: "u7", until: 300_000 } }), 300_000);
  assert.equal(nextStateChangeAt(free), null);
  // An offer field left on a taken machine is not a state change of its own.
  const stray = { offer: { userId: "u7", until: 300_000 } };
  assert.equal(
    nextStateChangeAt({ ...free, ...stray, state: "done", doneAt: 0 }),
    null,
  );
  assert.equal(
    nextStateChangeAt({ ...free, ...stray, state: "out_of_order" }),
    null,
  );
});
