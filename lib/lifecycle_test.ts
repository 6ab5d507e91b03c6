/**
 * Unit tests of the pure machine lifecycle (SPEC section 2).
 *
 * The heart of this file is {@link TABLE}: for every state × command × actor
 * the exact expected outcome is written out by hand (an error code, or the
 * event and the full resulting machine). Expectations are never computed with
 * the code under test.
 */
import assert from "node:assert/strict";
import {
  type Actor,
  apply,
  applySensor,
  type Command,
  COMMANDS,
  DEFAULT_SETTINGS,
  isHeldBy,
  type LifecycleSettings,
  type MachineEventType,
  newMachine,
  nudgeOpensAt,
  nudgeRefusal,
  offeredTo,
  settle,
} from "./lifecycle.ts";
import type { Machine, MachineState } from "./types.ts";

// ───────────────────────────── fixtures ─────────────────────────────

/** One "minute" is 10 ms so the numbers stay readable. */
const S: LifecycleSettings = {
  minuteMs: 10,
  holdMinutes: 10, // 100 ms
  minCycleMinutes: 1,
  maxCycleMinutes: 240,
  maxExtendMinutes: 120,
  pickupGraceMinutes: 3, // 30 ms
  nudgeCooldownMinutes: 10, // 100 ms
  offerMinutes: 5, // 50 ms
};

const NOW = 10_000;

const OWNER: Actor = { id: "u-owner", name: "Owner", role: "resident" };
const OTHER: Actor = { id: "u-other", name: "Other", role: "resident" };
const ADMIN: Actor = { id: "u-admin", name: "Admin", role: "admin" };
const SYSTEM: Actor = { id: "system", name: "Scheduler", role: "system" };

type ActorKind = "owner" | "other" | "admin";
const ACTORS: Record<ActorKind, Actor> = { owner: OWNER, other: OTHER, admin: ADMIN };

type CommandName = (typeof COMMANDS)[number];

const STATES: MachineState[] = ["available", "held", "arrived", "in_use", "done", "out_of_order"];

/** The command used for each name in the table. */
const CMD: Record<CommandName, Command> = {
  hold: { type: "hold" },
  arrive: { type: "arrive" },
  start: { type: "start", minutes: 40 },
  extend: { type: "extend", minutes: 15 },
  finish: { type: "finish" },
  collect: { type: "collect" },
  release: { type: "release" },
  out_of_order: { type: "out_of_order", reason: "leaking" },
  repair: { type: "repair" },
  offer: { type: "offer", userId: "u-next" },
  pass: { type: "pass" },
};

const NEW_USE_ID = "use-new";
const newUseId = () => NEW_USE_ID;

/** Fields every machine fixture shares. */
const BASE = {
  id: "m1",
  buildingId: "b1",
  name: "Washer 1",
  kind: "washer",
  room: "B1",
  order: 1,
} as const;

/** One machine per state, all at gen 5, owned (where that applies) by OWNER. */
const FIXTURES: Record<MachineState, Machine> = {
  available: { ...BASE, state: "available", gen: 5, updatedAt: 1_000 },
  held: {
    ...BASE,
    state: "held",
    ownerId: "u-owner",
    ownerName: "Owner",
    useId: "use-1",
    gen: 5,
    holdExpiresAt: NOW + 50,
    updatedAt: 1_000,
  },
  arrived: {
    ...BASE,
    state: "arrived",
    ownerId: "u-owner",
    ownerName: "Owner",
    useId: "use-1",
    gen: 5,
    holdExpiresAt: NOW + 80,
    updatedAt: 1_000,
  },
  in_use: {
    ...BASE,
    state: "in_use",
    ownerId: "u-owner",
    ownerName: "Owner",
    useId: "use-1",
    gen: 5,
    startedAt: NOW - 100,
    endsAt: NOW + 300,
    updatedAt: 1_000,
  },
  done: {
    ...BASE,
    state: "done",
    ownerId: "u-owner",
    ownerName: "Owner",
    useId: "use-1",
    gen: 5,
    startedAt: NOW - 500,
    endsAt: NOW - 200,
    doneAt: NOW - 200,
    updatedAt: 1_000,
  },
  out_of_order: {
    ...BASE,
    state: "out_of_order",
    gen: 5,
    outOfOrderReason: "drum stuck",
    updatedAt: 1_000,
  },
};

// ───────────────────────────── expected results ─────────────────────────────
// Literal builders for the resulting machines (no lifecycle code involved).

/** Available again, every owner/use field gone, gen bumped. */
const FREED: Machine = { ...BASE, state: "available", gen: 6, updatedAt: NOW };

/** Marked out of order by the admin (reason "leaking"), owner fields gone. */
const BROKEN: Machine = {
  ...BASE,
  state: "out_of_order",
  gen: 6,
  outOfOrderReason: "leaking",
  updatedAt: NOW,
};

function heldBy(a: Actor): Machine {
  return {
    ...BASE,
    state: "held",
    ownerId: a.id,
    ownerName: a.name,
    useId: NEW_USE_ID,
    gen: 6,
    holdExpiresAt: NOW + 100, // 10 minutes × 10 ms
    updatedAt: NOW,
  };
}

function walkUpBy(a: Actor): Machine {
  return {
    ...BASE,
    state: "in_use",
    ownerId: a.id,
    ownerName: a.name,
    useId: NEW_USE_ID,
    gen: 6,
    startedAt: NOW,
    endsAt: NOW + 400, // 40 minutes × 10 ms
    updatedAt: NOW,
  };
}

/** Started by the holder: keeps the hold's useId, hold expiry dropped. */
const STARTED_FROM_HOLD: Machine = {
  ...BASE,
  state: "in_use",
  ownerId: "u-owner",
  ownerName: "Owner",
  useId: "use-1",
  gen: 6,
  startedAt: NOW,
  endsAt: NOW + 400,
  updatedAt: NOW,
};

const ARRIVED: Machine = {
  ...BASE,
  state: "arrived",
  ownerId: "u-owner",
  ownerName: "Owner",
  useId: "use-1",
  gen: 6,
  holdExpiresAt: NOW + 100,
  updatedAt: NOW,
};

const EXTENDED: Machine = {
  ...BASE,
  state: "in_use",
  ownerId: "u-owner",
  ownerName: "Owner",
  useId: "use-1",
  gen: 6,
  startedAt: NOW - 100,
  endsAt: NOW + 300 + 150, // + 15 minutes × 10 ms
  updatedAt: NOW,
};

const FINISHED: Machine = {
  ...BASE,
  state: "done",
  ownerId: "u-owner",
  ownerName: "Owner",
  useId: "use-1",
  gen: 6,
  startedAt: NOW - 100,
  endsAt: NOW,
  doneAt: NOW,
  updatedAt: NOW,
};

type Expected =
  | { event: MachineEventType; machine: Machine }
  | "invalid_state"
  | "not_owner"
  | "forbidden"
  | "out_of_order";

function ok(event: MachineEventType, machine: Machine): Expected {
  return { event, machine };
}

type Row = Record<ActorKind, Expected>;

/** Same error for every actor. */
function all(code: Exclude<Expected, { event: MachineEventType }>): Row {
  return { owner: code, other: code, admin: code };
}

/**
 * The expected outcome of every (state, command, actor). In `available` and
 * `out_of_order` the machine has no owner, so "owner" is just a resident.
 */
const TABLE: Record<MachineState, Record<CommandName, Row>> = {
  available: {
    hold: {
      owner: ok("machine.held", heldBy(OWNER)),
      other: ok("machine.held", heldBy(OTHER)),
      admin: ok("machine.held", heldBy(ADMIN)),
    },
    arrive: all("invalid_state"),
    start: {
      owner: ok("machine.started", walkUpBy(OWNER)),
      other: ok("machine.started", walkUpBy(OTHER)),
      admin: ok("machine.started", walkUpBy(ADMIN)),
    },
    extend: all("invalid_state"),
    finish: all("invalid_state"),
    collect: all("invalid_state"),
    release: all("invalid_state"),
    out_of_order: {
      owner: "forbidden",
      other: "forbidden",
      admin: ok("machine.out_of_order", BROKEN),
    },
    repair: { owner: "forbidden", other: "forbidden", admin: "invalid_state" },
    // Only the waitlist (the system actor) offers; nothing is offered to pass on.
    offer: all("forbidden"),
    pass: all("invalid_state"),
  },
  held: {
    hold: all("invalid_state"),
    arrive: {
      owner: ok("machine.arrived", ARRIVED),
      other: "not_owner",
      admin: "not_owner",
    },
    start: {
      owner: ok("machine.started", STARTED_FROM_HOLD),
      other: "not_owner",
      admin: "not_owner",
    },
    extend: all("invalid_state"),
    finish: all("invalid_state"),
    collect: all("invalid_state"),
    release: {
      owner: ok("machine.released", FREED),
      other: "not_owner",
      admin: ok("machine.released", FREED),
    },
    out_of_order: {
      owner: "forbidden",
      other: "forbidden",
      admin: ok("machine.out_of_order", BROKEN),
    },
    repair: { owner: "forbidden", other: "forbidden", admin: "invalid_state" },
    offer: all("forbidden"),
    pass: all("invalid_state"),
  },
  arrived: {
    hold: all("invalid_state"),
    arrive: all("invalid_state"),
    start: {
      owner: ok("machine.started", STARTED_FROM_HOLD),
      other: "not_owner",
      admin: "not_owner",
    },
    extend: all("invalid_state"),
    finish: all("invalid_state"),
    collect: all("invalid_state"),
    release: {
      owner: ok("machine.released", FREED),
      other: "not_owner",
      admin: ok("machine.released", FREED),
    },
    out_of_order: {
      owner: "forbidden",
      other: "forbidden",
      admin: ok("machine.out_of_order", BROKEN),
    },
    repair: { owner: "forbidden", other: "forbidden", admin: "invalid_state" },
    offer: all("forbidden"),
    pass: all("invalid_state"),
  },
  in_use: {
    hold: all("invalid_state"),
    arrive: all("invalid_state"),
    start: all("invalid_state"),
    extend: {
      owner: ok("machine.extended", EXTENDED),
      other: "not_owner",
      admin: "not_owner",
    },
    finish: {
      owner: ok("machine.finished", FINISHED),
      other: "not_owner",
      admin: ok("machine.finished", FINISHED),
    },
    collect: all("invalid_state"),
    release: all("invalid_state"),
    out_of_order: {
      owner: "forbidden",
      other: "forbidden",
      admin: ok("machine.out_of_order", BROKEN),
    },
    repair: { owner: "forbidden", other: "forbidden", admin: "invalid_state" },
    offer: all("forbidden"),
    pass: all("invalid_state"),
  },
  done: {
    hold: all("invalid_state"),
    arrive: all("invalid_state"),
    start: all("invalid_state"),
    extend: all("invalid_state"),
    finish: all("invalid_state"),
    collect: {
      owner: ok("machine.collected", FREED),
      other: "not_owner",
      admin: ok("machine.collected", FREED),
    },
    release: all("invalid_state"),
    out_of_order: {
      owner: "forbidden",
      other: "forbidden",
      admin: ok("machine.out_of_order", BROKEN),
    },
    repair: { owner: "forbidden", other: "forbidden", admin: "invalid_state" },
    offer: all("forbidden"),
    pass: all("invalid_state"),
  },
  out_of_order: {
    hold: all("out_of_order"),
    arrive: all("out_of_order"),
    start: all("out_of_order"),
    extend: all("out_of_order"),
    finish: all("out_of_order"),
    collect: all("out_of_order"),
    release: all("out_of_order"),
    out_of_order: {
      owner: "forbidden",
      other: "forbidden",
      admin: ok("machine.out_of_order", BROKEN),
    },
    repair: {
      owner: "forbidden",
      other: "forbidden",
      admin: ok("machine.repaired", FREED),
    },
    offer: all("out_of_order"),
    pass: all("out_of_order"),
  },
};

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
deepFreeze(FIXTURES);

function run(m: Machine, cmd: Command, actor: Actor, now = NOW, s = S) {
  return apply(m, cmd, actor, now, s, newUseId);
}

function expectError(outcome: ReturnType<typeof apply>, code: string, label = "") {
  assert.equal(outcome.ok, false, `${label}: expected ${code}, got ok`);
  if (outcome.ok) return;
  assert.equal(outcome.code, code, label);
  assert.ok(outcome.message.length > 0, `${label}: empty message`);
}

function expectOk(outcome: ReturnType<typeof apply>, label = ""): Machine {
  assert.ok(outcome.ok, `${label}: expected ok, got ${!outcome.ok && outcome.code}`);
  return (outcome as Extract<typeof outcome, { ok: true }>).machine;
}

// ───────────────────────────── the table ─────────────────────────────

Deno.test("table covers every state × command × actor, and nothing else", () => {
  assert.deepEqual(Object.keys(TABLE).sort(), [...STATES].sort());
  assert.deepEqual(Object.keys(FIXTURES).sort(), [...STATES].sort());
  assert.deepEqual(Object.keys(CMD), [...COMMANDS]);
  for (const state of STATES) {
    assert.deepEqual(Object.keys(TABLE[state]), [...COMMANDS], `commands of ${state}`);
    for (const c of COMMANDS) {
      assert.deepEqual(Object.keys(TABLE[state][c]).sort(), ["admin", "other", "owner"]);
    }
  }
  // 6 states × 9 commands × 3 actors.
  let cells = 0;
  for (const state of STATES) {
    for (const c of COMMANDS) cells += Object.keys(TABLE[state][c]).length;
  }
  assert.equal(cells, 6 * 11 * 3);
});

Deno.test("fixtures are in the state they claim and already settled", () => {
  for (const state of STATES) {
    assert.equal(FIXTURES[state].state, state);
    const s = settle(FIXTURES[state], NOW);
    assert.equal(s.event, undefined, state);
    assert.equal(s.machine, FIXTURES[state], state);
  }
});

for (const state of STATES) {
  Deno.test(`apply: every command on a ${state} machine`, () => {
    for (const c of COMMANDS) {
      for (const kind of ["owner", "other", "admin"] as const) {
        const label = `${state} × ${c} × ${kind}`;
        const expected = TABLE[state][c][kind];
        const before = structuredClone(FIXTURES[state]);
        const outcome = run(FIXTURES[state], CMD[c], ACTORS[kind]);
        if (typeof expected === "string") {
          expectError(outcome, expected, label);
        } else {
          assert.ok(outcome.ok, `${label}: expected ok, got ${!outcome.ok && outcome.code}`);
          assert.equal(outcome.event, expected.event, label);
          assert.deepEqual(outcome.machine, expected.machine, label);
        }
        assert.deepEqual(FIXTURES[state], before, `${label}: input mutated`);
      }
    }
  });
}

Deno.test("apply: the system actor (scheduler) has admin rights", () => {
  assert.equal(run(FIXTURES.in_use, CMD.finish, SYSTEM).ok, true);
  assert.equal(run(FIXTURES.done, CMD.collect, SYSTEM).ok, true);
  assert.equal(run(FIXTURES.held, CMD.release, SYSTEM).ok, true);
  assert.equal(run(FIXTURES.available, CMD.out_of_order, SYSTEM).ok, true);
  assert.equal(run(FIXTURES.out_of_order, CMD.repair, SYSTEM).ok, true);
  expectError(run(FIXTURES.held, CMD.arrive, SYSTEM), "not_owner");
  expectError(run(FIXTURES.in_use, CMD.extend, SYSTEM), "not_owner");
});

Deno.test("apply: an ownerless machine gives no one owner rights", () => {
  // A (malformed) held machine without ownerId: nobody counts as its holder.
  const m: Machine = { ...BASE, state: "held", gen: 1, updatedAt: 0, holdExpiresAt: NOW + 50 };
  expectError(run(m, CMD.arrive, OWNER), "not_owner");
  expectError(run(m, CMD.start, OTHER), "not_owner");
});

// ───────────────────────────── settle ─────────────────────────────

Deno.test("settle: a hold expires at exactly holdExpiresAt, not before", () => {
  for (const state of ["held", "arrived"] as const) {
    const m = FIXTURES[state];
    const t = m.holdExpiresAt!;
    const early = settle(m, t - 1);
    assert.equal(early.event, undefined);
    assert.equal(early.previousOwnerId, undefined);
    assert.equal(early.machine, m);

    const at = settle(m, t);
    assert.equal(at.event, "machine.hold_expired");
    assert.equal(at.previousOwnerId, "u-owner");
    assert.deepEqual(at.machine, { ...BASE, state: "available", gen: 6, updatedAt: t });

    const late = settle(m, t + 1_000);
    assert.equal(late.event, "machine.hold_expired");
    assert.deepEqual(late.machine, { ...BASE, state: "available", gen: 6, updatedAt: t + 1_000 });
  }
});

Deno.test("settle: a cycle ends at exactly endsAt; doneAt is endsAt, not now", () => {
  const m = FIXTURES.in_use; // endsAt NOW + 300
  const early = settle(m, NOW + 299);
  assert.equal(early.event, undefined);
  assert.equal(early.machine, m);

  const at = settle(m, NOW + 300);
  assert.equal(at.event, "machine.done");
  assert.equal(at.previousOwnerId, "u-owner");
  assert.equal(at.machine.state, "done");
  assert.equal(at.machine.doneAt, NOW + 300);
  assert.equal(at.machine.endsAt, NOW + 300);

  const late = settle(m, NOW + 5_000);
  assert.equal(late.event, "machine.done");
  assert.deepEqual(late.machine, {
    ...BASE,
    state: "done",
    ownerId: "u-owner",
    ownerName: "Owner",
    useId: "use-1",
    gen: 5,
    startedAt: NOW - 100,
    endsAt: NOW + 300,
    doneAt: NOW + 300,
    updatedAt: NOW + 5_000,
  });
});

Deno.test("settle: nothing changes for available, done and out_of_order, however late", () => {
  for (const state of ["available", "done", "out_of_order"] as const) {
    const r = settle(FIXTURES[state], NOW + 10 ** 9);
    assert.equal(r.event, undefined, state);
    assert.equal(r.previousOwnerId, undefined, state);
    assert.equal(r.machine, FIXTURES[state], state);
  }
});

Deno.test("settle: a hold/use without an expiry or end never settles", () => {
  const { holdExpiresAt: _h, ...held } = FIXTURES.held;
  const { endsAt: _e, ...inUse } = FIXTURES.in_use;
  assert.equal(settle(held, Number.MAX_SAFE_INTEGER).event, undefined);
  assert.equal(settle(inUse, Number.MAX_SAFE_INTEGER).event, undefined);
});

Deno.test("settle then apply: a resident may hold a machine whose hold just expired", () => {
  const t = FIXTURES.held.holdExpiresAt!;
  const settled = settle(FIXTURES.held, t);
  const m = expectOk(run(settled.machine, CMD.hold, OTHER, t));
  assert.equal(m.ownerId, "u-other");
  assert.equal(m.useId, NEW_USE_ID);
  assert.equal(m.gen, 7);
});

// ───────────────────────────── minutes ─────────────────────────────

Deno.test("start: minutes must be a whole number within [minCycle, maxCycle]", () => {
  for (const minutes of [0, -1, -40, 1.5, 0.5, 241, 10_000, NaN, Infinity, -Infinity]) {
    expectError(
      run(FIXTURES.available, { type: "start", minutes }, OWNER),
      "bad_minutes",
      `${minutes}`,
    );
    expectError(run(FIXTURES.held, { type: "start", minutes }, OWNER), "bad_minutes", `${minutes}`);
  }
  assert.equal(
    expectOk(run(FIXTURES.available, { type: "start", minutes: 1 }, OWNER)).endsAt,
    NOW + 10,
  );
  assert.equal(
    expectOk(run(FIXTURES.available, { type: "start", minutes: 240 }, OWNER)).endsAt,
    NOW + 2_400,
  );
  // The bounds come from the settings.
  const strict = { ...S, minCycleMinutes: 5, maxCycleMinutes: 60 };
  expectError(
    run(FIXTURES.available, { type: "start", minutes: 4 }, OWNER, NOW, strict),
    "bad_minutes",
  );
  expectError(
    run(FIXTURES.available, { type: "start", minutes: 61 }, OWNER, NOW, strict),
    "bad_minutes",
  );
  assert.equal(run(FIXTURES.available, { type: "start", minutes: 5 }, OWNER, NOW, strict).ok, true);
  assert.equal(
    run(FIXTURES.available, { type: "start", minutes: 60 }, OWNER, NOW, strict).ok,
    true,
  );
});

Deno.test("extend: minutes must be a whole number within [1, maxExtend]", () => {
  for (const minutes of [0, -1, -15, 2.5, 121, NaN, Infinity]) {
    expectError(
      run(FIXTURES.in_use, { type: "extend", minutes }, OWNER),
      "bad_minutes",
      `${minutes}`,
    );
  }
  assert.equal(
    expectOk(run(FIXTURES.in_use, { type: "extend", minutes: 1 }, OWNER)).endsAt,
    NOW + 310,
  );
  assert.equal(
    expectOk(run(FIXTURES.in_use, { type: "extend", minutes: 120 }, OWNER)).endsAt,
    NOW + 1_500,
  );
  const strict = { ...S, maxExtendMinutes: 30 };
  expectError(
    run(FIXTURES.in_use, { type: "extend", minutes: 31 }, OWNER, NOW, strict),
    "bad_minutes",
  );
});

// ───────────────────────────── use ids, gen, timing ─────────────────────────────

Deno.test("start from a hold keeps its useId; a walk-up start gets a new one", () => {
  let calls = 0;
  const counting = () => `use-${++calls}x`;
  const fromHeld = apply(FIXTURES.held, CMD.start, OWNER, NOW, S, counting);
  const fromArrived = apply(FIXTURES.arrived, CMD.start, OWNER, NOW, S, counting);
  assert.ok(fromHeld.ok && fromArrived.ok);
  assert.equal(fromHeld.machine.useId, "use-1");
  assert.equal(fromArrived.machine.useId, "use-1");
  assert.equal(calls, 0, "no new id for a held machine");

  const walkUp = apply(FIXTURES.available, CMD.start, OWNER, NOW, S, counting);
  assert.ok(walkUp.ok);
  assert.equal(walkUp.machine.useId, "use-1x");
  assert.equal(calls, 1);

  const hold = apply(FIXTURES.available, CMD.hold, OWNER, NOW, S, counting);
  assert.ok(hold.ok);
  assert.equal(hold.machine.useId, "use-2x");
});

Deno.test("gen increments by one on every change through a whole lifecycle", () => {
  let m = newMachine("m9", "b1", "Dryer 9", "dryer", "B2", 9, 0);
  assert.equal(m.gen, 0);
  const steps: [Command, Actor, MachineState][] = [
    [CMD.hold, OWNER, "held"],
    [CMD.arrive, OWNER, "arrived"],
    [CMD.start, OWNER, "in_use"],
    [CMD.extend, OWNER, "in_use"],
    [CMD.extend, OWNER, "in_use"],
    [CMD.finish, OWNER, "done"],
    [CMD.collect, OWNER, "available"],
    [CMD.start, OTHER, "in_use"],
    [CMD.out_of_order, ADMIN, "out_of_order"],
    [CMD.out_of_order, ADMIN, "out_of_order"],
    [CMD.repair, ADMIN, "available"],
    [CMD.hold, OTHER, "held"],
    [CMD.release, OTHER, "available"],
  ];
  let t = NOW;
  for (const [i, [cmd, actor, state]] of steps.entries()) {
    t += 1;
    m = expectOk(run(m, cmd, actor, t), `step ${i} ${cmd.type}`);
    assert.equal(m.gen, i + 1, `step ${i} ${cmd.type}`);
    assert.equal(m.state, state, `step ${i} ${cmd.type}`);
    assert.equal(m.updatedAt, t);
  }
});

Deno.test("extend adds to endsAt (repeatedly), not to now", () => {
  const once = expectOk(run(FIXTURES.in_use, { type: "extend", minutes: 5 }, OWNER, NOW + 200));
  assert.equal(once.endsAt, NOW + 300 + 50);
  assert.equal(once.startedAt, NOW - 100);
  const twice = expectOk(run(once, { type: "extend", minutes: 7 }, OWNER, NOW + 250));
  assert.equal(twice.endsAt, NOW + 300 + 50 + 70);
  assert.equal(twice.gen, 7);
});

Deno.test("finish ends the cycle now: state done, doneAt = endsAt = now", () => {
  const m = expectOk(run(FIXTURES.in_use, CMD.finish, OWNER, NOW + 42));
  assert.equal(m.state, "done");
  assert.equal(m.doneAt, NOW + 42);
  assert.equal(m.endsAt, NOW + 42);
  assert.equal(m.ownerId, "u-owner");
  assert.equal(m.useId, "use-1");
});

Deno.test("collect, release and out_of_order clear every owner field", () => {
  const ownerFields = [
    "ownerId",
    "ownerName",
    "useId",
    "holdExpiresAt",
    "startedAt",
    "endsAt",
    "doneAt",
  ] as const;
  const cases: [Machine, Command, Actor][] = [
    [FIXTURES.done, CMD.collect, OWNER],
    [FIXTURES.done, CMD.collect, ADMIN],
    [FIXTURES.held, CMD.release, OWNER],
    [FIXTURES.arrived, CMD.release, ADMIN],
    [FIXTURES.held, CMD.out_of_order, ADMIN],
    [FIXTURES.in_use, CMD.out_of_order, ADMIN],
    [FIXTURES.done, CMD.out_of_order, ADMIN],
  ];
  for (const [before, cmd, actor] of cases) {
    const label = `${before.state} × ${cmd.type} × ${actor.id}`;
    const m = expectOk(run(before, cmd, actor), label);
    for (const f of ownerFields) assert.equal(f in m, false, `${label}: ${f} left`);
    assert.equal(m.id, "m1");
    assert.equal(m.name, "Washer 1");
    assert.equal(m.kind, "washer");
    assert.equal(m.room, "B1");
    assert.equal(m.order, 1);
  }
  // Repair clears the reason too.
  const repaired = expectOk(run(FIXTURES.out_of_order, CMD.repair, ADMIN));
  assert.equal("outOfOrderReason" in repaired, false);
});

// ───────────────────────────── nudges ─────────────────────────────

Deno.test("nudgeRefusal: only a done machine can be nudged", () => {
  for (const state of ["available", "held", "arrived", "in_use", "out_of_order"] as const) {
    assert.equal(
      nudgeRefusal(FIXTURES[state], "u-other", NOW + 10_000, S, undefined)?.code,
      "invalid_state",
    );
  }
  const { doneAt: _, ...noDoneAt } = FIXTURES.done;
  assert.equal(
    nudgeRefusal(noDoneAt, "u-other", NOW + 10_000, S, undefined)?.code,
    "invalid_state",
  );
});

Deno.test("nudgeRefusal: never your own machine", () => {
  const r = nudgeRefusal(FIXTURES.done, "u-owner", NOW + 10_000, S, undefined);
  assert.equal(r?.code, "own_machine");
  assert.ok(r.message.length > 0);
});

Deno.test("nudgeRefusal: not before the grace period (exactly at grace is allowed)", () => {
  const doneAt = FIXTURES.done.doneAt!; // grace 3 × 10 ms
  assert.equal(nudgeRefusal(FIXTURES.done, "u-other", doneAt, S, undefined)?.code, "too_early");
  assert.equal(
    nudgeRefusal(FIXTURES.done, "u-other", doneAt + 29, S, undefined)?.code,
    "too_early",
  );
  assert.equal(nudgeRefusal(FIXTURES.done, "u-other", doneAt + 30, S, undefined), null);
});

Deno.test("nudgeRefusal: one nudge per cooldown (exactly at cooldown is allowed)", () => {
  const last = NOW; // cooldown 10 × 10 ms
  assert.equal(nudgeRefusal(FIXTURES.done, "u-other", last, S, last)?.code, "cooldown");
  assert.equal(nudgeRefusal(FIXTURES.done, "u-other", last + 99, S, last)?.code, "cooldown");
  assert.equal(nudgeRefusal(FIXTURES.done, "u-other", last + 100, S, last), null);
});

Deno.test("nudgeRefusal: allowed for a neighbour after grace with no recent nudge", () => {
  assert.equal(nudgeRefusal(FIXTURES.done, "u-other", NOW, S, undefined), null);
  assert.equal(nudgeRefusal(FIXTURES.done, "u-admin", NOW, S, NOW - 1_000), null);
});

// ───────────────────────────── isHeldBy / newMachine ─────────────────────────────

Deno.test("isHeldBy: true only for held/arrived by that user", () => {
  assert.equal(isHeldBy(FIXTURES.held, "u-owner"), true);
  assert.equal(isHeldBy(FIXTURES.arrived, "u-owner"), true);
  assert.equal(isHeldBy(FIXTURES.held, "u-other"), false);
  assert.equal(isHeldBy(FIXTURES.arrived, "u-other"), false);
  assert.equal(isHeldBy(FIXTURES.in_use, "u-owner"), false);
  assert.equal(isHeldBy(FIXTURES.done, "u-owner"), false);
  assert.equal(isHeldBy(FIXTURES.available, "u-owner"), false);
  assert.equal(isHeldBy(FIXTURES.out_of_order, "u-owner"), false);
});

Deno.test("newMachine: available, gen 0, no owner fields", () => {
  assert.deepEqual(newMachine("m2", "b1", "Dryer 2", "dryer", "B1", 2, 123), {
    id: "m2",
    buildingId: "b1",
    name: "Dryer 2",
    kind: "dryer",
    room: "B1",
    order: 2,
    state: "available",
    gen: 0,
    updatedAt: 123,
  });
});

// ───────────────────────────── defaults and edge inputs ─────────────────────────────

Deno.test("DEFAULT_SETTINGS are the SPEC's durations", () => {
  assert.deepEqual(DEFAULT_SETTINGS, {
    minuteMs: 60_000,
    holdMinutes: 10,
    minCycleMinutes: 1,
    maxCycleMinutes: 240,
    maxExtendMinutes: 120,
    pickupGraceMinutes: 3,
    nudgeCooldownMinutes: 10,
    offerMinutes: 5,
  });
});

Deno.test("nudgeRefusal: every refusal says why in words", () => {
  const { doneAt: _, ...noDoneAt } = FIXTURES.done;
  const refusals = [
    nudgeRefusal(FIXTURES.in_use, "u-other", NOW, S, undefined),
    nudgeRefusal(noDoneAt, "u-other", NOW, S, undefined),
    nudgeRefusal(FIXTURES.done, "u-owner", NOW, S, undefined),
    nudgeRefusal(FIXTURES.done, "u-other", FIXTURES.done.doneAt!, S, undefined),
    nudgeRefusal(FIXTURES.done, "u-other", NOW, S, NOW),
  ];
  assert.deepEqual(refusals.map((r) => r?.code), [
    "invalid_state",
    "invalid_state",
    "own_machine",
    "too_early",
    "cooldown",
  ]);
  for (const r of refusals) assert.ok(r && r.message.length > 0, r?.code);
});

Deno.test("extend: a running machine without an end time is extended from now", () => {
  const { endsAt: _, ...noEnd } = FIXTURES.in_use;
  const m = expectOk(run(noEnd, { type: "extend", minutes: 5 }, OWNER, NOW + 7));
  assert.equal(m.endsAt, NOW + 7 + 50);
});

Deno.test("settle and nudgeRefusal follow the state, not fields left over from another state", () => {
  // A running machine with a (stale) past hold expiry: the hold rule does not apply.
  const running: Machine = { ...FIXTURES.in_use, holdExpiresAt: NOW - 1 };
  assert.equal(settle(running, NOW).machine, running);
  const done: Machine = { ...FIXTURES.done, holdExpiresAt: NOW - 1 };
  assert.equal(settle(done, NOW).event, undefined);
  // A running machine with a (stale) doneAt cannot be nudged.
  const withDoneAt: Machine = { ...FIXTURES.in_use, doneAt: NOW - 1_000 };
  assert.equal(nudgeRefusal(withDoneAt, "u-other", NOW, S, undefined)?.code, "invalid_state");
});

// ───────────────────────────── when a nudge opens, retry hints ─────────────────────────────

/** Real minutes, so retry hints in whole seconds are readable. */
const REAL: LifecycleSettings = { ...S, minuteMs: 60_000 }; // grace 3 min, cooldown 10 min
const DONE_AT_0: Machine = { ...FIXTURES.done, doneAt: 0, endsAt: 0 };

Deno.test("nudgeOpensAt: doneAt + grace for a done machine, null otherwise", () => {
  assert.equal(nudgeOpensAt(DONE_AT_0, REAL), 180_000);
  assert.equal(nudgeOpensAt(FIXTURES.done, S), NOW - 200 + 30);
  const { doneAt: _, ...noDoneAt } = FIXTURES.done;
  assert.equal(nudgeOpensAt(noDoneAt, REAL), null);
  for (const state of ["available", "held", "arrived", "in_use", "out_of_order"] as const) {
    assert.equal(nudgeOpensAt({ ...FIXTURES[state], doneAt: 0 }, REAL), null, state);
  }
});

Deno.test("nudgeRefusal: too early says in whole seconds (rounded up) when asking can succeed", () => {
  assert.deepEqual(nudgeRefusal(DONE_AT_0, "u-other", 0, REAL, undefined), {
    code: "too_early",
    message: "Give the owner a few minutes before asking.",
    retryAfterSec: 180,
  });
  assert.equal(nudgeRefusal(DONE_AT_0, "u-other", 178_999, REAL, undefined)?.retryAfterSec, 2);
  assert.equal(nudgeRefusal(DONE_AT_0, "u-other", 179_000, REAL, undefined)?.retryAfterSec, 1);
  assert.equal(nudgeRefusal(DONE_AT_0, "u-other", 179_999, REAL, undefined)?.retryAfterSec, 1);
  assert.equal(nudgeRefusal(DONE_AT_0, "u-other", 180_000, REAL, undefined), null);
});

Deno.test("nudgeRefusal: a cooldown says in whole seconds (rounded up) when it ends", () => {
  const last = 200_000; // cooldown ends at 800 000
  assert.deepEqual(nudgeRefusal(DONE_AT_0, "u-other", 300_000, REAL, last), {
    code: "cooldown",
    message: "You already asked recently.",
    retryAfterSec: 500,
  });
  assert.equal(nudgeRefusal(DONE_AT_0, "u-other", 798_999, REAL, last)?.retryAfterSec, 2);
  assert.equal(nudgeRefusal(DONE_AT_0, "u-other", 799_500, REAL, last)?.retryAfterSec, 1);
  assert.equal(nudgeRefusal(DONE_AT_0, "u-other", 800_000, REAL, last), null);
});

Deno.test("nudgeRefusal: no retry hint where waiting cannot help", () => {
  assert.deepEqual(nudgeRefusal(FIXTURES.in_use, "u-other", NOW, REAL, undefined), {
    code: "invalid_state",
    message: "Only a finished machine can be nudged.",
  });
  assert.deepEqual(nudgeRefusal(DONE_AT_0, "u-owner", 0, REAL, undefined), {
    code: "own_machine",
    message: "This is your own laundry.",
  });
});

// ───────────────────────────── sensor facts ─────────────────────────────

const SENSOR: Actor = { id: "sensor", name: "sensor", role: "sensor" };
const W: Machine = {
  id: "w1",
  buildingId: "b1",
  name: "W1",
  kind: "washer",
  room: "r",
  order: 1,
  state: "available",
  gen: 5,
  updatedAt: 0,
};
const useId = () => "use-new";

Deno.test("sensor_start on a free machine: a walk-up cycle by someone, end estimated, followed by the sensor", () => {
  const r = applySensor(
    W,
    { type: "sensor_start", at: NOW - 60, expectMinutes: 50 },
    SENSOR,
    NOW,
    S,
    useId,
  );
  assert.deepEqual(r, {
    ok: true,
    event: "machine.started",
    machine: {
      ...W,
      state: "in_use",
      useId: "use-new",
      gen: 6,
      startedAt: NOW - 60,
      endsAt: NOW - 60 + 500,
      sensed: true,
      updatedAt: NOW,
    },
  });
  // A start reported "in the future" is taken as now.
  const ahead = applySensor(
    W,
    { type: "sensor_start", at: NOW + 99, expectMinutes: 50 },
    SENSOR,
    NOW,
    S,
    useId,
  );
  assert.equal(ahead.ok && ahead.machine.startedAt, NOW);
  // Only a sensor (or the scheduler) reports sensor facts.
  assert.deepEqual(
    applySensor(W, { type: "sensor_start", at: NOW, expectMinutes: 50 }, ADMIN, NOW, S, useId),
    { ok: false, code: "forbidden", message: "Only a sensor reports sensor facts." },
  );
});

Deno.test("sensor_start on a done machine is someone's new cycle; on a held one the holder's; on a timed one the sensor takes over", () => {
  const done: Machine = {
    ...W,
    state: "done",
    ownerId: "u-owner",
    ownerName: "Owner",
    useId: "u1",
    startedAt: 0,
    endsAt: 400,
    doneAt: 400,
  };
  const r1 = applySensor(
    done,
    { type: "sensor_start", at: NOW, expectMinutes: 50 },
    SENSOR,
    NOW,
    S,
    useId,
  );
  assert.ok(r1.ok);
  assert.equal(r1.machine.ownerId, undefined);
  assert.equal(r1.machine.useId, "use-new");
  assert.equal(r1.machine.doneAt, undefined);

  const held: Machine = {
    ...W,
    state: "arrived",
    ownerId: "u-owner",
    ownerName: "Owner",
    useId: "h1",
    holdExpiresAt: NOW + 50,
  };
  const r2 = applySensor(
    held,
    { type: "sensor_start", at: NOW - 10, expectMinutes: 50 },
    SENSOR,
    NOW,
    S,
    useId,
  );
  assert.deepEqual(r2, {
    ok: true,
    event: "machine.started",
    machine: {
      ...W,
      state: "in_use",
      ownerId: "u-owner",
      ownerName: "Owner",
      useId: "h1",
      gen: 6,
      startedAt: NOW - 10,
      endsAt: NOW + 490,
      sensed: true,
      updatedAt: NOW,
    },
  });

  const timed: Machine = {
    ...W,
    state: "in_use",
    ownerId: "u-owner",
    ownerName: "Owner",
    useId: "u2",
    startedAt: NOW - 100,
    endsAt: NOW + 300,
  };
  const r3 = applySensor(
    timed,
    { type: "sensor_start", at: NOW - 90, expectMinutes: 50 },
    SENSOR,
    NOW,
    S,
    useId,
  );
  assert.deepEqual(r3, {
    ok: true,
    event: "machine.sensed",
    machine: { ...timed, sensed: true, gen: 6, updatedAt: NOW },
  });
  assert.ok(r3.ok);
  const again = applySensor(
    r3.machine,
    { type: "sensor_start", at: NOW, expectMinutes: 50 },
    SENSOR,
    NOW,
    S,
    useId,
  );
  assert.equal(again.ok, false);
  const broken: Machine = { ...W, state: "out_of_order", outOfOrderReason: "leak" };
  assert.equal(
    applySensor(broken, { type: "sensor_start", at: NOW, expectMinutes: 50 }, SENSOR, NOW, S, useId)
      .ok,
    false,
  );
});

Deno.test("sensor_end: done at the real end (not before the start, not after now); the timer no longer ends a sensed cycle", () => {
  const sensed: Machine = {
    ...W,
    state: "in_use",
    ownerId: "u-owner",
    ownerName: "Owner",
    useId: "u2",
    startedAt: NOW - 100,
    endsAt: NOW - 5,
    sensed: true,
  };
  // The timer's end has passed, but a sensed cycle is not settled by time.
  assert.equal(settle(sensed, NOW).machine, sensed);
  const { sensed: _, ...plain } = sensed;
  assert.equal(settle(plain as Machine, NOW).event, "machine.done");
  const r = applySensor(sensed, { type: "sensor_end", at: NOW - 20 }, SENSOR, NOW, S, useId);
  assert.deepEqual(r, {
    ok: true,
    event: "machine.done",
    machine: {
      ...plain,
      state: "done",
      gen: 6,
      endsAt: NOW - 20,
      doneAt: NOW - 20,
      updatedAt: NOW,
    },
  });
  const before = applySensor(sensed, { type: "sensor_end", at: NOW - 500 }, SENSOR, NOW, S, useId);
  assert.equal(before.ok && before.machine.doneAt, NOW - 100);
  const after = applySensor(sensed, { type: "sensor_end", at: NOW + 500 }, SENSOR, NOW, S, useId);
  assert.equal(after.ok && after.machine.doneAt, NOW);
  assert.equal(applySensor(W, { type: "sensor_end", at: NOW }, SENSOR, NOW, S, useId).ok, false);
});

Deno.test("sensor_lost: a cycle the sensor followed goes back to its timer; anything else is unchanged", () => {
  const sensed: Machine = {
    ...W,
    state: "in_use",
    useId: "s1",
    startedAt: NOW - 100,
    endsAt: NOW + 400,
    sensed: true,
  };
  const r = applySensor(sensed, { type: "sensor_lost" }, SENSOR, NOW, S, useId);
  const { sensed: _, ...plain } = sensed;
  assert.deepEqual(r, {
    ok: true,
    event: "machine.sensor_lost",
    machine: { ...plain, gen: 6, updatedAt: NOW },
  });
  assert.equal(
    applySensor(plain as Machine, { type: "sensor_lost" }, SENSOR, NOW, S, useId).ok,
    false,
  );
  assert.equal(applySensor(W, { type: "sensor_lost" }, SENSOR, NOW, S, useId).ok, false);
});

Deno.test("a cycle nobody registered: any resident may claim it (start) or clear its laundry (collect)", () => {
  const someone: Machine = {
    ...W,
    state: "in_use",
    useId: "s1",
    startedAt: NOW - 100,
    endsAt: NOW + 400,
    sensed: true,
  };
  const claim = apply(someone, { type: "start", minutes: 30 }, OTHER, NOW, S, useId);
  assert.deepEqual(claim, {
    ok: true,
    event: "machine.started",
    machine: {
      ...someone,
      ownerId: OTHER.id,
      ownerName: OTHER.name,
      gen: 6,
      endsAt: NOW + 300,
      updatedAt: NOW,
    },
  });
  assert.ok(claim.ok);
  // Once claimed it is theirs: another resident's start is refused.
  assert.equal(
    apply(claim.machine, { type: "start", minutes: 40 }, OWNER, NOW, S, useId).ok,
    false,
  );
  const done: Machine = { ...someone, state: "done", doneAt: NOW - 1, sensed: undefined };
  const collected = apply(done, { type: "collect" }, OTHER, NOW, S, useId);
  assert.equal(collected.ok && collected.machine.state, "available");
  // An owner's laundry stays theirs.
  const owned: Machine = { ...done, ownerId: OWNER.id, ownerName: OWNER.name };
  assert.deepEqual(apply(owned, { type: "collect" }, OTHER, NOW, S, useId), {
    ok: false,
    code: "not_owner",
    message: "Only the owner can mark the laundry collected.",
  });
});

// ───────────────────────────── waitlist offers ─────────────────────────────

const NEXT: Actor = { id: "u-next", name: "Next", role: "resident" };
/** The free machine offered to NEXT until NOW + 50. */
const OFFERED: Machine = deepFreeze({
  ...FIXTURES.available,
  offer: { userId: "u-next", until: NOW + 50 },
  gen: 6,
  updatedAt: NOW,
});

Deno.test("offer: the waitlist offers a free machine for offerMinutes; never twice, never a taken one", () => {
  const m = expectOk(run(FIXTURES.available, CMD.offer, SYSTEM), "offer");
  assert.deepEqual(m, OFFERED);
  expectError(run(OFFERED, { type: "offer", userId: "u-other" }, SYSTEM), "invalid_state", "twice");
  for (const st of ["held", "arrived", "in_use", "done"] as const) {
    expectError(run(FIXTURES[st], CMD.offer, SYSTEM), "invalid_state", st);
  }
  expectError(run(FIXTURES.out_of_order, CMD.offer, SYSTEM), "out_of_order");
  // A lapsed offer no longer blocks a new one.
  expectOk(run(OFFERED, { type: "offer", userId: "u-other" }, SYSTEM, NOW + 50), "after lapse");
});

Deno.test("offer: during it only the holder takes the machine; an admin may override; after it anyone", () => {
  for (const cmd of [CMD.hold, CMD.start]) {
    expectError(run(OFFERED, cmd, OTHER), "offered", `${cmd.type} by other`);
    expectError(run(OFFERED, cmd, OWNER), "offered", `${cmd.type} by a resident`);
    const mine = expectOk(run(OFFERED, cmd, NEXT), `${cmd.type} by the holder`);
    assert.equal(mine.ownerId, NEXT.id);
    assert.equal(mine.offer, undefined, "accepting ends the offer");
    assert.equal(mine.passed, undefined);
    const admin = expectOk(run(OFFERED, cmd, ADMIN), `${cmd.type} by an admin`);
    assert.equal(admin.ownerId, ADMIN.id);
    assert.equal(admin.offer, undefined);
    // At the moment it lapses, the offer no longer protects it.
    expectOk(run(OFFERED, cmd, OTHER, NOW + 50), `${cmd.type} after the lapse`);
  }
});

Deno.test("pass: only the holder, only during the offer; they join `passed`", () => {
  const r = run(OFFERED, CMD.pass, NEXT);
  assert.ok(r.ok);
  assert.equal(r.event, "machine.offer_passed");
  assert.deepEqual(r.machine, {
    ...FIXTURES.available,
    passed: ["u-next"],
    gen: 7,
    updatedAt: NOW,
  });
  expectError(run(OFFERED, CMD.pass, OTHER), "not_owner");
  expectError(run(OFFERED, CMD.pass, ADMIN), "not_owner");
  expectError(run(OFFERED, CMD.pass, NEXT, NOW + 50), "invalid_state", "lapsed");
  // Passed residents accumulate within one free period.
  const again = expectOk(run({ ...OFFERED, passed: ["u-a"] }, CMD.pass, NEXT));
  assert.deepEqual(again.passed, ["u-a", "u-next"]);
});

Deno.test("settle: an offer lapses at its time; the holder joins `passed`; before then nothing changes", () => {
  assert.deepEqual(settle(OFFERED, NOW + 49), { machine: OFFERED });
  const s = settle({ ...OFFERED, passed: ["u-a"] }, NOW + 50);
  assert.equal(s.event, "machine.offer_lapsed");
  assert.equal(s.previousOwnerId, "u-next");
  assert.deepEqual(s.machine, {
    ...FIXTURES.available,
    passed: ["u-a", "u-next"],
    gen: 7,
    updatedAt: NOW + 50,
  });
});

Deno.test("a new free period forgets who passed: used and freed, broken, or sensed", () => {
  const passedBy = { ...FIXTURES.available, passed: ["u-a"] };
  const held = expectOk(run(passedBy, CMD.hold, OTHER));
  assert.equal(held.passed, undefined);
  const freed = expectOk(run(held, CMD.release, OTHER));
  assert.equal(freed.passed, undefined);
  const broken = expectOk(run(OFFERED, CMD.out_of_order, ADMIN));
  assert.equal(broken.offer, undefined);
  const sensed = applySensor(
    OFFERED,
    { type: "sensor_start", at: NOW, expectMinutes: 40 },
    { id: "sensor", name: "", role: "sensor" },
    NOW,
    S,
    newUseId,
  );
  assert.ok(sensed.ok);
  assert.equal(sensed.machine.offer, undefined, "a walk-up the sensor saw ends the offer");
  assert.equal(sensed.machine.ownerId, undefined);
});

// ─────────────── mutation survivors (issue 14): offers, sensors, nudges ───────────────

Deno.test("offer: the event is machine.offered", () => {
  const r = run(FIXTURES.available, CMD.offer, SYSTEM);
  assert.ok(r.ok);
  assert.equal(r.event, "machine.offered");
});

Deno.test("out_of_order: an expected repair day is kept; none is not invented", () => {
  const m = expectOk(
    run(
      FIXTURES.available,
      { type: "out_of_order", reason: "leak", repairDate: "2026-12-24" },
      ADMIN,
    ),
  );
  assert.equal(m.repairDate, "2026-12-24");
  assert.equal(m.outOfOrderReason, "leak");
  assert.ok(!("repairDate" in expectOk(run(FIXTURES.available, CMD.out_of_order, ADMIN))));
});

Deno.test("offers follow the state, not an offer field left on a taken machine", () => {
  // Only a free machine carries an offer; a stray field on any other state
  // neither protects it, nor can be passed on, nor lapses.
  for (const st of ["held", "arrived", "in_use", "done"] as const) {
    const stray: Machine = { ...FIXTURES[st], offer: { userId: "u-next", until: NOW + 50 } };
    assert.equal(offeredTo(stray, NOW), undefined, st);
    expectError(run(stray, CMD.pass, NEXT), "invalid_state", `${st}: pass`);
    assert.deepEqual(settle(stray, NOW + 1), { machine: stray }, `${st}: settle`);
    assert.notEqual(settle(stray, NOW + 50).event, "machine.offer_lapsed", st);
  }
  // The holder starts their held machine as if there were no stray offer.
  const strayHeld: Machine = { ...FIXTURES.held, offer: { userId: "u-next", until: NOW + 50 } };
  expectOk(run(strayHeld, CMD.start, OWNER), "start by the holder");
});

Deno.test("applySensor: the scheduler may report sensor facts too; refusals say why", () => {
  const r = applySensor(
    W,
    { type: "sensor_start", at: NOW, expectMinutes: 50 },
    SYSTEM,
    NOW,
    S,
    useId,
  );
  assert.equal(r.ok && r.event, "machine.started");
  const refused = (
    m: Machine,
    cmd: Parameters<typeof applySensor>[1],
    code: string,
    message: string,
  ) => assert.deepEqual(applySensor(m, cmd, SENSOR, NOW, S, useId), { ok: false, code, message });
  const broken: Machine = { ...W, state: "out_of_order", outOfOrderReason: "leak" };
  refused(
    broken,
    { type: "sensor_start", at: NOW, expectMinutes: 50 },
    "out_of_order",
    "This machine is out of order.",
  );
  const sensed: Machine = {
    ...W,
    state: "in_use",
    useId: "s1",
    startedAt: NOW - 100,
    endsAt: NOW + 400,
    sensed: true,
  };
  refused(
    sensed,
    { type: "sensor_start", at: NOW, expectMinutes: 50 },
    "invalid_state",
    "The sensor already follows this cycle.",
  );
  refused(W, { type: "sensor_end", at: NOW }, "invalid_state", "No cycle is running.");
  refused(W, { type: "sensor_lost" }, "invalid_state", "The sensor does not follow a cycle here.");
  // A `sensed` flag left on a machine that is not running follows the state: nothing to lose.
  refused(
    { ...W, state: "done", doneAt: NOW - 1, sensed: true },
    { type: "sensor_lost" },
    "invalid_state",
    "The sensor does not follow a cycle here.",
  );
});

Deno.test("sensor_start on a held machine (not yet arrived) is the holder's cycle", () => {
  const held: Machine = {
    ...W,
    state: "held",
    ownerId: "u-owner",
    ownerName: "Owner",
    useId: "h1",
    holdExpiresAt: NOW + 50,
  };
  const r = applySensor(
    held,
    { type: "sensor_start", at: NOW, expectMinutes: 50 },
    SENSOR,
    NOW,
    S,
    useId,
  );
  assert.deepEqual(r, {
    ok: true,
    event: "machine.started",
    machine: {
      ...W,
      state: "in_use",
      ownerId: "u-owner",
      ownerName: "Owner",
      useId: "h1",
      gen: 6,
      startedAt: NOW,
      endsAt: NOW + 500,
      sensed: true,
      updatedAt: NOW,
    },
  });
});

Deno.test("nudgeRefusal: laundry nobody registered is not nudged (anyone may clear it)", () => {
  const someone: Machine = {
    ...W,
    state: "done",
    useId: "s1",
    startedAt: 0,
    endsAt: 100,
    doneAt: 100,
  };
  assert.deepEqual(nudgeRefusal(someone, OTHER.id, NOW, S, undefined), {
    code: "invalid_state",
    message: "Nobody registered this laundry: anyone may clear it.",
  });
});
