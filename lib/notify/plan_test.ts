import assert from "node:assert/strict";
import { DEFAULT_SETTINGS } from "../lifecycle.ts";
import type { Machine } from "../types.ts";
import {
  due,
  FREEING,
  jobId,
  machineSpec,
  machineUrl,
  offerNotice,
  ownerNotice,
  planMachineChange,
  type PlannedEvent,
  repairedSpec,
  tickAt,
  tickTimes,
  TIMING,
} from "./plan.ts";

const MIN = 60_000;
const S = DEFAULT_SETTINGS;
const base: Machine = {
  id: "w1",
  buildingId: "b1",
  name: "W1",
  kind: "washer",
  room: "r",
  order: 1,
  state: "available",
  gen: 1,
  updatedAt: 0,
};
const inUse: Machine = {
  ...base,
  state: "in_use",
  ownerId: "u1",
  useId: "use1",
  gen: 2,
  startedAt: 0,
  endsAt: 40 * MIN,
};
const done: Machine = { ...inUse, state: "done", doneAt: 40 * MIN };
const held: Machine = {
  ...base,
  state: "held",
  ownerId: "u2",
  useId: "h9",
  gen: 3,
  holdExpiresAt: 10 * MIN,
};
const ev = (type: string, machine?: Machine, data?: Record<string, unknown>): PlannedEvent => ({
  type,
  machine,
  data,
});

Deno.test("ownerNotice: a cycle that ends tells its owner, once per use", () => {
  const n = ownerNotice(ev("machine.done", done), inUse)!;
  assert.equal(n.userId, "u1");
  assert.deepEqual(n.spec, {
    id: "use.done:use1",
    kind: "use.done",
    url: "/?building=b1&m=w1",
    machineId: "w1",
    expiresAt: undefined,
    text: { key: { title: "n.done.title", body: "n.done.body" }, params: { machine: "W1" } },
  });
  assert.equal(ownerNotice(ev("machine.done", { ...done, ownerId: undefined }), null), null);
  assert.equal(ownerNotice(ev("machine.done", { ...done, useId: undefined }), null), null);
  assert.equal(ownerNotice(ev("machine.done"), null), null, "no machine, no notice");
});

Deno.test("ownerNotice: an expired hold tells the holder named in the event", () => {
  const n = ownerNotice(ev("machine.hold_expired", base, { ownerId: "u2", useId: "h9" }), null);
  assert.deepEqual([n?.userId, n?.spec.id, n?.spec.kind], [
    "u2",
    "hold.expired:h9",
    "hold.expired",
  ]);
  assert.deepEqual(n?.spec.text, {
    key: { title: "n.hold_expired.title", body: "n.hold_expired.body" },
    params: { machine: "W1" },
  });
  assert.equal(ownerNotice(ev("machine.hold_expired", base), null), null);
  assert.equal(ownerNotice(ev("machine.hold_expired", base, { ownerId: "u2" }), null), null);
  assert.equal(ownerNotice(ev("machine.hold_expired", base, { useId: "h9" }), null), null);
});

Deno.test("ownerNotice: a breakdown tells whoever was on the machine, nobody when it was free", () => {
  const broken = { ...base, state: "out_of_order" as const };
  const n = ownerNotice(ev("machine.out_of_order", broken), inUse)!;
  assert.deepEqual([n.userId, n.spec.id, n.spec.kind], ["u1", "out_of_order:use1", "notice"]);
  assert.deepEqual(n.spec.text, {
    key: { title: "n.out_of_order.title", body: "n.out_of_order.body" },
    params: { machine: "W1" },
  });
  assert.equal(ownerNotice(ev("machine.out_of_order", broken), base), null);
  assert.equal(ownerNotice(ev("machine.out_of_order", broken), null), null);
  assert.equal(
    ownerNotice(ev("machine.out_of_order", broken), { ...inUse, useId: undefined }),
    null,
  );
});

Deno.test("ownerNotice: other changes concern nobody", () => {
  for (const type of ["machine.held", "machine.started", "machine.collected", "machine.repaired"]) {
    assert.equal(ownerNotice(ev(type, done, { ownerId: "u1", useId: "x" }), inUse), null, type);
  }
});

Deno.test("jobId: deterministic per job, distinct across kinds and fields", () => {
  const spec = machineSpec(base, "n1", "use.done", "n.done.title", "n.done.body");
  const ids = [
    jobId({ t: "tick", b: "b1", machineId: "w1", useId: "u" }),
    jobId({ t: "tick", b: "b1", machineId: "w1" }),
    jobId({ t: "notify", userId: "a", b: "b1", n: spec }),
    jobId({ t: "notify", userId: "b", b: "b1", n: spec }),
    jobId({ t: "free", b: "b1", machineId: "w1", gen: 1 }),
    jobId({ t: "free", b: "b1", machineId: "w1", gen: 2 }),
    jobId({ t: "notice", b: "b1", noticeId: "x" }),
    jobId({ t: "trim", scope: "b:b1", upTo: 100 }),
    jobId({ t: "push", userId: "a", id: "n1", deviceId: "d1", silent: false, attempt: 1 }),
    jobId({ t: "push", userId: "b", id: "n1", deviceId: "d1", silent: false, attempt: 1 }),
    jobId({ t: "ack_check", userId: "a", id: "n1" }),
    jobId({ t: "held", userId: "a", id: "n1", silent: true }),
  ];
  assert.equal(new Set(ids).size, ids.length, ids.join(" "));
  assert.deepEqual(ids, [
    "tick:w1:u",
    "tick:w1:-",
    "notify:a:n1",
    "notify:b:n1",
    "free:w1:1",
    "free:w1:2",
    "notice:x",
    "trim:b:b1:100",
    "push:n1:a:d1",
    "push:n1:b:d1",
    "ack:a:n1",
    "held:a:n1",
  ]);
  // The attempt is not part of the id: a retry replaces, never duplicates.
  assert.equal(
    jobId({ t: "push", userId: "a", id: "n1", deviceId: "d1", silent: true, attempt: 3 }),
    "push:n1:a:d1",
  );
  const d = due({ t: "notice", b: "b1", noticeId: "x" }, 42);
  assert.deepEqual(d, { at: 42, id: "notice:x", job: { t: "notice", b: "b1", noticeId: "x" } });
});

Deno.test("machineSpec and machineUrl: the card link, params with the machine's name", () => {
  assert.equal(machineUrl("abc", "b7"), "/?building=b7&m=abc");
  const s = machineSpec(base, "id1", "use.overdue", "n.overdue.title", "n.overdue.body", {
    n: 10,
  }, 99);
  assert.deepEqual(s, {
    id: "id1",
    kind: "use.overdue",
    url: "/?building=b1&m=w1",
    machineId: "w1",
    expiresAt: 99,
    text: {
      key: { title: "n.overdue.title", body: "n.overdue.body" },
      params: { machine: "W1", n: 10 },
    },
  });
});

Deno.test("tickTimes: reminders and the state change, never before now, sorted, unique", () => {
  // in use, ends at 40: ending soon (lead 5) at 35, the end at 40, overdue at 50 and 70.
  assert.deepEqual(tickTimes(inUse, 5, S, 0), [35, 40, 50, 70].map((m) => m * MIN));
  // Past moments collapse onto now.
  assert.deepEqual(tickTimes(inUse, 5, S, 45 * MIN), [45, 50, 70].map((m) => m * MIN));
  // No ending soon when the lead is 0 or reaches back before the start.
  assert.deepEqual(tickTimes(inUse, 0, S, 0), [40, 50, 70].map((m) => m * MIN));
  assert.deepEqual(tickTimes(inUse, 40, S, 0), [40, 50, 70].map((m) => m * MIN));
  // A hold: warning 2 minutes before expiry, and the expiry itself.
  assert.deepEqual(tickTimes(held, 5, S, 0), [8 * MIN, 10 * MIN]);
  assert.deepEqual(tickTimes(done, 5, S, 41 * MIN), [50 * MIN, 70 * MIN]);
  assert.deepEqual(tickTimes(base, 5, S, 0), []);
});

Deno.test("planMachineChange: a start owes ticks at every moment of the use", () => {
  const jobs = planMachineChange({
    before: { ...held, state: "arrived" },
    after: inUse,
    events: [ev("machine.started", inUse)],
    leadMinutes: 5,
    now: 0,
    settings: S,
  });
  assert.deepEqual(
    jobs.map((j) => [j.at, j.id, j.job]),
    [35, 40, 50, 70].map((m) => [
      m * MIN,
      `tick:w1:use1:${m * MIN}`,
      { t: "tick", b: "b1", machineId: "w1", useId: "use1" },
    ]),
  );
});

Deno.test("planMachineChange: the end owes the owner's done notice now, and overdue ticks", () => {
  const now = 40 * MIN;
  const jobs = planMachineChange({
    before: inUse,
    after: done,
    events: [ev("machine.done", done)],
    leadMinutes: 5,
    now,
    settings: S,
  });
  assert.deepEqual(jobs.map((j) => [j.job.t, j.at]), [
    ["notify", now],
    ["tick", 50 * MIN],
    ["tick", 70 * MIN],
  ]);
  const n = jobs[0].job as { t: "notify"; userId: string; n: { id: string } };
  assert.deepEqual([n.userId, n.n.id, jobs[0].id], [
    "u1",
    "use.done:use1",
    "notify:u1:use.done:use1",
  ]);
});

Deno.test("planMachineChange: a machine that frees up owes an offer to watchers", () => {
  const free: Machine = { ...base, gen: 4 };
  for (const type of FREEING) {
    const jobs = planMachineChange({
      before: done,
      after: free,
      events: [ev(type, free)],
      leadMinutes: 5,
      now: 7,
      settings: S,
    });
    assert.deepEqual(
      jobs.filter((j) => j.job.t === "free").map((j) => [j.at, j.id, j.job]),
      [[7, "free:w1:4", { t: "free", b: "b1", machineId: "w1", gen: 4 }]],
      type,
    );
  }
  // Freeing events that leave it not available (e.g. then broken) owe no offer.
  const broken = { ...free, state: "out_of_order" as const };
  assert.deepEqual(
    planMachineChange({
      before: free,
      after: broken,
      events: [ev("machine.released", broken)],
      leadMinutes: 5,
      now: 7,
      settings: S,
    }),
    [],
  );
  // An update of an available machine (rename) is not an offer.
  assert.deepEqual(
    planMachineChange({
      before: free,
      after: free,
      events: [ev("machine.updated", free)],
      leadMinutes: 5,
      now: 7,
      settings: S,
    }),
    [],
  );
});

Deno.test("planMachineChange: a settled hold expiry plus a new hold by someone else", () => {
  // The expiry (time) and the next resident's hold (command) in one commit:
  // the old holder is told, the new hold gets its ticks, no offer (it is held).
  const expired: Machine = { ...base, gen: 4 };
  const next: Machine = { ...held, ownerId: "u3", useId: "h10", gen: 5, holdExpiresAt: 30 * MIN };
  const jobs = planMachineChange({
    before: held,
    after: next,
    events: [
      ev("machine.hold_expired", expired, { ownerId: "u2", useId: "h9" }),
      ev("machine.held", next),
    ],
    leadMinutes: 5,
    now: 20 * MIN,
    settings: S,
  });
  assert.deepEqual(jobs.map((j) => [j.job.t, j.at]), [
    ["notify", 20 * MIN],
    ["tick", 28 * MIN],
    ["tick", 30 * MIN],
  ]);
  assert.equal((jobs[0].job as { userId: string }).userId, "u2");
});

Deno.test("planMachineChange: each event is judged against the machine before it", () => {
  // done by time, then out of order by the admin: the owner hears of both;
  // the breakdown's notice names the use that was on the machine.
  const broken: Machine = { ...base, state: "out_of_order", gen: 3 };
  const jobs = planMachineChange({
    before: inUse,
    after: broken,
    events: [ev("machine.done", done), ev("machine.out_of_order", broken)],
    leadMinutes: 5,
    now: 41 * MIN,
    settings: S,
  });
  assert.deepEqual(
    jobs.map((j) => j.id),
    ["notify:u1:use.done:use1", "notify:u1:out_of_order:use1"],
  );
  // A removed machine owes nothing further.
  assert.deepEqual(
    planMachineChange({
      before: base,
      after: null,
      events: [ev("machine.removed")],
      leadMinutes: 5,
      now: 0,
      settings: S,
    }),
    [],
  );
});

Deno.test("TIMING and FREEING: the events that re-time a use and that free a machine", () => {
  assert.deepEqual([...TIMING].sort(), [
    "machine.arrived",
    "machine.done",
    "machine.extended",
    "machine.finished",
    "machine.held",
    "machine.offered",
    "machine.sensor_lost",
    "machine.started",
  ]);
  assert.deepEqual([...FREEING].sort(), [
    "machine.added",
    "machine.collected",
    "machine.hold_expired",
    "machine.offer_lapsed",
    "machine.offer_passed",
    "machine.released",
    "machine.repaired",
  ]);
});

Deno.test("planMachineChange: what does not re-time or free a use owes nothing", () => {
  // A rename of a machine in use: no ticks again (they were owed at the start).
  assert.deepEqual(
    planMachineChange({
      before: inUse,
      after: { ...inUse, name: "W1 (big)" },
      events: [ev("machine.updated", { ...inUse, name: "W1 (big)" })],
      leadMinutes: 5,
      now: 0,
      settings: S,
    }),
    [],
  );
  // One freeing event among others is enough for an offer.
  const free: Machine = { ...base, gen: 9 };
  const jobs = planMachineChange({
    before: held,
    after: free,
    events: [ev("machine.hold_expired", free, {}), ev("machine.updated", free)],
    leadMinutes: 5,
    now: 1,
    settings: S,
  });
  assert.deepEqual(jobs.map((j) => j.id), ["free:w1:9"]);
  // A machine removed in the same change owes no offer and no tick.
  assert.deepEqual(
    planMachineChange({
      before: base,
      after: null,
      events: [ev("machine.released", base), ev("machine.removed")],
      leadMinutes: 5,
      now: 1,
      settings: S,
    }),
    [],
  );
});

Deno.test("planMachineChange: the machine before each event is the previous event's", () => {
  // Released (nobody on it), then broken: the breakdown ends nobody's use.
  const free: Machine = { ...base, gen: 3 };
  const broken: Machine = { ...base, state: "out_of_order", gen: 4 };
  const jobs = planMachineChange({
    before: inUse,
    after: broken,
    events: [ev("machine.released", free), ev("machine.out_of_order", broken)],
    leadMinutes: 5,
    now: 1,
    settings: S,
  });
  assert.deepEqual(jobs, []);
});

Deno.test("tickAt: one record per machine, use and moment", () => {
  assert.deepEqual(tickAt(inUse, 42), {
    at: 42,
    id: "tick:w1:use1:42",
    job: { t: "tick", b: "b1", machineId: "w1", useId: "use1" },
  });
  assert.equal(tickAt(base, 7).id, "tick:w1:-:7");
});

Deno.test("planMachineChange: a cycle a sensor follows owes no tick at its estimated end; the timer takes over when the sensor is lost", () => {
  const sensed: Machine = { ...inUse, sensed: true, gen: 3 };
  // The sensor took over at minute 10: the ending-soon reminder stays, no tick at the end, no overdue.
  const taken = planMachineChange({
    before: inUse,
    after: sensed,
    events: [ev("machine.started", sensed)],
    leadMinutes: 5,
    now: 10 * MIN,
    settings: S,
  });
  assert.deepEqual(taken.map((j) => j.at), [35 * MIN]);
  // Lost at minute 20: ticks again at the ending-soon moment and the timer's end (and overdue steps).
  const back: Machine = { ...inUse, gen: 4 };
  const lost = planMachineChange({
    before: sensed,
    after: back,
    events: [ev("machine.sensor_lost", back)],
    leadMinutes: 5,
    now: 20 * MIN,
    settings: S,
  });
  assert.deepEqual(lost.map((j) => j.at), [35 * MIN, 40 * MIN, 50 * MIN, 70 * MIN]);
  assert.ok(lost.every((j) => j.job.t === "tick"));
  // A walk-up cycle by "someone" owes nothing: no owner, no timer.
  const someone: Machine = {
    ...base,
    state: "in_use",
    useId: "s1",
    gen: 2,
    startedAt: 0,
    endsAt: 50 * MIN,
    sensed: true,
  };
  assert.deepEqual(
    planMachineChange({
      before: base,
      after: someone,
      events: [ev("machine.started", someone)],
      leadMinutes: 5,
      now: 0,
      settings: S,
    }),
    [],
  );
  assert.equal(jobId({ t: "sensor", b: "b1", machineId: "w1" }), "sensor:b1:w1");
});

// ───────────────────────────── waitlist offers ─────────────────────────────

const offered: Machine = { ...base, gen: 4, offer: { userId: "u7", until: 5 * MIN } };

Deno.test("offerNotice: an offer tells its holder, lapsing with the offer", () => {
  const n = offerNotice(ev("machine.offered", offered), base);
  assert.deepEqual(n, {
    userId: "u7",
    spec: {
      id: "waitlist.offer:w1:4",
      kind: "waitlist.offer",
      url: "/?building=b1&m=w1",
      machineId: "w1",
      expiresAt: 5 * MIN,
      text: {
        key: { title: "n.offer.title", body: "n.offer.body" },
        params: { machine: "W1", kind: "@kind.washer" },
      },
    },
  });
});

Deno.test("offerNotice: the holder's own answer or the lapse tells nobody; anything else withdraws", () => {
  const after = { ...base, gen: 5 };
  assert.equal(offerNotice(ev("machine.offer_lapsed", after), offered), null);
  assert.equal(offerNotice(ev("machine.offer_passed", after), offered), null);
  // Accepted: the holder holds it (or started it walking up).
  assert.equal(offerNotice(ev("machine.held", { ...held, ownerId: "u7" }), offered), null);
  assert.equal(offerNotice(ev("machine.started", { ...inUse, ownerId: "u7" }), offered), null);
  // A rename keeps the offer.
  assert.equal(offerNotice(ev("machine.updated", { ...offered, name: "W9" }), offered), null);
  // An admin took it, a sensor saw a walk-up, it broke, or it was removed.
  for (
    const e of [
      ev("machine.held", { ...held, ownerId: "admin" }),
      ev("machine.started", { ...inUse, ownerId: undefined }),
      ev("machine.out_of_order", { ...base, state: "out_of_order" }),
      { type: "machine.removed" } as PlannedEvent,
    ]
  ) {
    const n = offerNotice(e, offered);
    assert.equal(n?.userId, "u7", e.type);
    assert.equal(n?.spec.id, "waitlist.withdrawn:w1:4", e.type);
    assert.equal(n?.spec.kind, "waitlist.withdrawn");
  }
  // Without an offer before, nothing to withdraw.
  assert.equal(offerNotice(ev("machine.held", held), base), null);
  assert.equal(offerNotice(ev("machine.held", held), null), null);
});

Deno.test("planMachineChange: an offer owes the holder's notice now and a tick when it lapses", () => {
  const jobs = planMachineChange({
    before: base,
    after: offered,
    events: [ev("machine.offered", offered)],
    leadMinutes: 5,
    now: 1000,
    settings: S,
  });
  assert.deepEqual(jobs.map((j) => [j.job.t, j.at]), [["notify", 1000], ["tick", 5 * MIN]]);
  // A lapse frees it for the next in line (a `free` job of the new generation).
  const lapsed: Machine = { ...base, gen: 5, passed: ["u7"] };
  const next = planMachineChange({
    before: offered,
    after: lapsed,
    events: [ev("machine.offer_lapsed", lapsed, { userId: "u7" })],
    leadMinutes: 5,
    now: 5 * MIN,
    settings: S,
  });
  assert.deepEqual(next.map((j) => j.job), [{
    t: "free",
    b: "b1",
    machineId: "w1",
    gen: 5,
  }]);
});

Deno.test("jobId: an email is one record per notification and resident", () => {
  assert.equal(jobId({ t: "email", userId: "a", id: "n1", attempt: 2 }), "email:n1:a");
});

Deno.test("offerNotice: a dryer's offer names its kind; an event without its machine offers nothing", () => {
  const dryer: Machine = { ...offered, kind: "dryer" };
  assert.deepEqual(
    offerNotice(ev("machine.offered", dryer), { ...base, kind: "dryer" })?.spec.text,
    {
      key: { title: "n.offer.title", body: "n.offer.body" },
      params: { machine: "W1", kind: "@kind.dryer" },
    },
  );
  assert.equal(offerNotice({ type: "machine.offered" }, base), null);
});

Deno.test("offerNotice: the withdrawal says so in words of its own, on the machine's card", () => {
  assert.deepEqual(
    offerNotice(ev("machine.out_of_order", { ...base, state: "out_of_order" }), offered),
    {
      userId: "u7",
      spec: {
        id: "waitlist.withdrawn:w1:4",
        kind: "waitlist.withdrawn",
        url: "/?building=b1&m=w1",
        machineId: "w1",
        expiresAt: undefined,
        text: {
          key: { title: "n.withdrawn.title", body: "n.withdrawn.body" },
          params: { machine: "W1" },
        },
      },
    },
  );
});

Deno.test("planMachineChange: removing an offered machine tells the holder, in the machine's building", () => {
  const jobs = planMachineChange({
    before: offered,
    after: null,
    events: [{ type: "machine.removed" }],
    leadMinutes: 5,
    now: 1000,
    settings: S,
  });
  assert.equal(jobs.length, 1);
  assert.equal(jobs[0].at, 1000);
  assert.equal(jobs[0].job.t, "notify");
  assert.ok(jobs[0].job.t === "notify");
  assert.equal(jobs[0].job.userId, "u7");
  assert.equal(jobs[0].job.b, "b1");
  assert.equal(jobs[0].job.n.kind, "waitlist.withdrawn");
});

Deno.test("repairedSpec: one notice per repair and reporter, on the machine's card", () => {
  assert.deepEqual(repairedSpec({ ...base, gen: 9 }, "u3"), {
    id: "machine.repaired:w1:9:u3",
    kind: "machine.repaired",
    url: "/?building=b1&m=w1",
    machineId: "w1",
    expiresAt: undefined,
    text: {
      key: { title: "n.repaired.title", body: "n.repaired.body" },
      params: { machine: "W1" },
    },
  });
});
