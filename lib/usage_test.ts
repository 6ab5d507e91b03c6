import assert from "node:assert/strict";
import {
  type Actor,
  apply,
  applySensor,
  type Command,
  DEFAULT_SETTINGS,
  newMachine,
  settle,
} from "./lifecycle.ts";
import type { Machine } from "./types.ts";
import {
  busyLevel,
  busyMatrix,
  DAY_MS,
  funnel,
  heatStep,
  liveUses,
  localClock,
  machineMetrics,
  roomHeatmaps,
  type UsageRecord,
  usageWrites,
  validZone,
} from "./usage.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;
const alice: Actor = { id: "alice", name: "Alice", role: "resident" };
const boss: Actor = { id: "boss", name: "Boss", role: "admin" };
const plug: Actor = { id: "sensor", name: "sensor", role: "sensor" };
let ids = 0;
const nextId = () => `u${++ids}`;

/** Run a command the way the store does: settle to `now`, then apply. */
function run(m: Machine, cmd: Command, now: number, actor = alice): Machine {
  const out = apply(settle(m, now).machine, cmd, actor, now, DEFAULT_SETTINGS, nextId);
  if (!out.ok) throw new Error(`${cmd.type}: ${out.code}`);
  return out.machine;
}

const T0 = Date.parse("2026-12-02T03:00:00Z");
const fresh = () => newMachine("w1", "b1", "세탁기 1", "washer", "1층", 1, T0 - HOUR);

Deno.test("usageWrites: a finished cycle is recorded when it ends, again when collected", () => {
  const running = run(fresh(), { type: "start", minutes: 40 }, T0);
  assert.deepEqual(usageWrites(fresh(), running, T0), [], "a start writes nothing");
  const extended = run(running, { type: "extend", minutes: 5 }, T0 + 10 * MIN);
  assert.deepEqual(usageWrites(running, extended, T0 + 10 * MIN), [], "nor an extension");
  const done = run(extended, { type: "finish" }, T0 + 30 * MIN);
  const [ended] = usageWrites(extended, done, T0 + 30 * MIN);
  assert.deepEqual(ended, {
    machineId: "w1",
    name: "세탁기 1",
    room: "1층",
    kind: "washer",
    useId: running.useId,
    startedAt: T0,
    endedAt: T0 + 30 * MIN,
  });
  const renamed = { ...done, name: "세탁기 A" };
  assert.deepEqual(usageWrites(done, renamed, T0 + 31 * MIN), [], "a rename of a done machine");
  const cleared = run(done, { type: "collect" }, T0 + 42 * MIN);
  assert.deepEqual(usageWrites(done, cleared, T0 + 42 * MIN), [
    { ...ended, collectedAt: T0 + 42 * MIN },
  ]);
});

Deno.test("usageWrites: a timed end is recorded at the timer's end, even when settled late", () => {
  const running = run(fresh(), { type: "start", minutes: 40 }, T0);
  const late = T0 + 55 * MIN;
  const ticked = settle(running, late).machine;
  assert.equal(ticked.state, "done");
  assert.equal(usageWrites(running, ticked, late)[0].endedAt, T0 + 40 * MIN);
  // Collected in the same commit that settles the end: both moments at once.
  const collected = run(running, { type: "collect" }, late);
  const [r] = usageWrites(running, collected, late);
  assert.equal(r.endedAt, T0 + 40 * MIN);
  assert.equal(r.collectedAt, late);
});

Deno.test("usageWrites: holds and releases write nothing; out of order mid-cycle ends the use", () => {
  const held = run(fresh(), { type: "hold" }, T0);
  assert.deepEqual(usageWrites(fresh(), held, T0), []);
  assert.deepEqual(usageWrites(held, run(held, { type: "release" }, T0 + MIN), T0 + MIN), []);
  const started = run(held, { type: "start", minutes: 30 }, T0 + 2 * MIN);
  assert.deepEqual(usageWrites(held, started, T0 + 2 * MIN), []);
  const broken = run(started, { type: "out_of_order", reason: "leak" }, T0 + 12 * MIN, boss);
  const [r] = usageWrites(started, broken, T0 + 12 * MIN);
  assert.equal(r.startedAt, T0 + 2 * MIN);
  assert.equal(r.endedAt, T0 + 12 * MIN);
  assert.equal(r.collectedAt, T0 + 12 * MIN, "nothing was left waiting");
  assert.deepEqual(usageWrites(null, fresh(), T0), [], "a new machine");
  assert.deepEqual(usageWrites(fresh(), null, T0), [], "a free machine removed");
});

Deno.test("usageWrites: sensor facts (real end; the next cycle clears a done one)", () => {
  const sense = (m: Machine, cmd: Parameters<typeof applySensor>[1], now: number) => {
    const out = applySensor(settle(m, now).machine, cmd, plug, now, DEFAULT_SETTINGS, nextId);
    if (!out.ok) throw new Error(out.code);
    return out.machine;
  };
  const walkUp = sense(fresh(), { type: "sensor_start", at: T0 - 2 * MIN, expectMinutes: 30 }, T0);
  assert.deepEqual(usageWrites(fresh(), walkUp, T0), []);
  // The plug says it ended long after the estimate: the use ends when it really did.
  const end = sense(walkUp, { type: "sensor_end", at: T0 + 50 * MIN }, T0 + 53 * MIN);
  const [r] = usageWrites(walkUp, end, T0 + 53 * MIN);
  assert.equal(r.startedAt, T0 - 2 * MIN);
  assert.equal(r.endedAt, T0 + 50 * MIN);
  const again = sense(
    end,
    { type: "sensor_start", at: T0 + 70 * MIN, expectMinutes: 30 },
    T0 + 71 * MIN,
  );
  const [prev] = usageWrites(end, again, T0 + 71 * MIN);
  assert.equal(prev.useId, walkUp.useId, "the previous use is the one recorded");
  assert.equal(prev.collectedAt, T0 + 71 * MIN);
});

Deno.test("liveUses: running and not-yet-recorded done cycles, settled to now", () => {
  const running = run(fresh(), { type: "start", minutes: 60 }, T0);
  const other = { ...run(fresh(), { type: "start", minutes: 20 }, T0), id: "w2" };
  const now = T0 + 30 * MIN;
  const live = liveUses([running, other], [], now);
  assert.deepEqual(live.map((u) => [u.machineId, u.endedAt]), [
    ["w1", now],
    ["w2", T0 + 20 * MIN],
  ]);
  const recorded = usageWrites(other, settle(other, now).machine, now);
  assert.equal(liveUses([running, other], recorded, now).length, 1, "recorded once only");
});

Deno.test("localClock: Monday-first weekdays, 0–23 hours; an unknown zone is Seoul", () => {
  assert.deepEqual(localClock("Asia/Seoul")(Date.parse("2026-11-30T15:00:00Z")), {
    day: 1, // Tuesday 00:00 in Seoul
    hour: 0,
  });
  assert.deepEqual(localClock("America/New_York")(Date.parse("2026-11-30T15:00:00Z")), {
    day: 0,
    hour: 10,
  });
  assert.equal(validZone("Mars/Olympus"), "Asia/Seoul");
  assert.equal(validZone(undefined), "Asia/Seoul");
  assert.deepEqual(localClock("Mars/Olympus")(Date.parse("2026-11-30T15:00:00Z")), {
    day: 1,
    hour: 0,
  });
});

/** A span of one machine in room "R". */
const span = (from: string, to: string, machineId = "w1") => ({
  machineId,
  room: "R",
  startedAt: Date.parse(from),
  endedAt: Date.parse(to),
});
const sum = (m: number[][]) => m.flat().reduce((a, b) => a + b, 0);

Deno.test("busyMatrix: empty data observes every hour of 4 weeks and finds no use", () => {
  const now = Date.parse("2026-12-02T12:00:00Z");
  const { avg, observed } = busyMatrix([], "Asia/Seoul", now);
  assert.equal(sum(avg), 0);
  assert.equal(Math.round(sum(observed)), 28 * 24);
  assert.ok(observed.flat().every((h) => h === 4), "each weekday-hour 4 times (Seoul: no DST)");
});

Deno.test("busyMatrix (Seoul): a cycle over midnight is split between two days", () => {
  const now = Date.parse("2026-12-02T12:00:00Z"); // Wednesday 21:00 KST
  // Monday 23:30 → Tuesday 00:30 KST.
  const { avg } = busyMatrix(
    [span("2026-11-30T14:30:00Z", "2026-11-30T15:30:00Z")],
    "Asia/Seoul",
    now,
  );
  assert.equal(avg[0][23], 0.5 / 4, "Monday 23h: half an hour over four Mondays");
  assert.equal(avg[1][0], 0.5 / 4, "Tuesday 0h");
  assert.equal(sum(avg), 1 / 4);
});

Deno.test("busyMatrix (Seoul): every Wednesday 19–21 on two machines; the window's edge", () => {
  const now = Date.parse("2026-12-02T12:00:00Z"); // Wednesday 21:00 KST; the window opened then
  const spans = [];
  for (let w = 0; w < 4; w++) {
    const start = now - w * 7 * DAY_MS - 2 * HOUR; // Wednesday 19:00 KST
    spans.push({ machineId: "w1", room: "R", startedAt: start, endedAt: start + 2 * HOUR });
    spans.push({ machineId: "w2", room: "R", startedAt: start, endedAt: start + HOUR });
  }
  // A cycle that started before the window counts only inside it (Wednesday 21h, 4 weeks ago).
  spans.push({
    machineId: "w3",
    room: "R",
    startedAt: now - 29 * DAY_MS,
    endedAt: now - 28 * DAY_MS + HOUR,
  });
  const { avg, observed } = busyMatrix(spans, "Asia/Seoul", now);
  assert.equal(avg[2][19], 2, "both machines every Wednesday at 19h");
  assert.equal(avg[2][20], 1);
  assert.equal(avg[2][21], 1 / 4);
  assert.equal(observed[2][21], 4);
  assert.equal(sum(avg), 3.25);
});

Deno.test("busyMatrix (New York): the repeated fall-back hour counts twice, the skipped one never", () => {
  const fall = busyMatrix(
    [span("2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z")], // 01:00 EDT → 01:00 EST → 02:00 EST
    "America/New_York",
    Date.parse("2026-11-20T17:00:00Z"),
  );
  assert.equal(fall.observed[6][1], 5, "four Sundays, one with two 1 o'clocks");
  assert.equal(fall.observed[6][2], 4);
  assert.equal(fall.avg[6][1], 2 / 5);
  assert.equal(sum(fall.avg), 2 / 5);
  const spring = busyMatrix(
    [span("2026-03-08T06:30:00Z", "2026-03-08T07:30:00Z")], // 01:30 EST → 03:30 EDT
    "America/New_York",
    Date.parse("2026-03-20T16:00:00Z"),
  );
  assert.equal(spring.observed[6][2], 3, "one Sunday had no 2 o'clock");
  assert.equal(spring.avg[6][1], 0.5 / 4);
  assert.equal(spring.avg[6][2], 0);
  assert.equal(spring.avg[6][3], 0.5 / 4);
});

/** Busy minutes per cell the slow way: the local hour of every minute. */
function bruteForce(spans: ReturnType<typeof span>[], zone: string, now: number, days: number) {
  const clock = localClock(zone);
  const busy = Array.from({ length: 7 }, () => new Array(24).fill(0));
  const seen = Array.from({ length: 7 }, () => new Array(24).fill(0));
  for (let t = now - days * DAY_MS; t < now; t += MIN) {
    const c = clock(t);
    seen[c.day][c.hour]++;
    busy[c.day][c.hour] += spans.filter((s) => s.startedAt <= t && t < s.endedAt).length;
  }
  return busy.map((row, d) => row.map((b, h) => seen[d][h] ? b / seen[d][h] : 0));
}

Deno.test("busyMatrix agrees with a minute-by-minute count in zones with odd offsets and DST", () => {
  const cases: [string, string][] = [
    ["Asia/Kolkata", "2026-12-02T12:00:00Z"], // +05:30
    ["Asia/Kathmandu", "2026-12-02T12:00:00Z"], // +05:45
    ["Australia/Lord_Howe", "2026-04-06T12:00:00Z"], // a 30-minute DST change on 5 April
    ["America/New_York", "2026-11-02T12:00:00Z"],
    ["Europe/London", "2026-03-30T12:00:00Z"],
  ];
  let seed = 7;
  const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (const [zone, at] of cases) {
    const now = Date.parse(at);
    const spans = Array.from({ length: 12 }, () => {
      const start = now - Math.floor(rand() * 3 * DAY_MS / MIN) * MIN;
      const end = start + Math.floor(rand() * 200) * MIN;
      return { machineId: "w1", room: "R", startedAt: start, endedAt: end };
    });
    const fast = busyMatrix(spans, zone, now, 3).avg;
    const slow = bruteForce(spans, zone, now, 3);
    for (let d = 0; d < 7; d++) {
      for (let h = 0; h < 24; h++) {
        assert.ok(Math.abs(fast[d][h] - slow[d][h]) < 1e-9, `${zone} ${d} ${h}`);
      }
    }
  }
});

Deno.test("busyLevel and heatStep: relative to the peak, with a floor of machines running", () => {
  assert.equal(busyLevel(0, 0, 4), "none");
  assert.equal(busyLevel(0.99, 3, 4), "quiet", "under a third of the peak");
  assert.equal(busyLevel(0.5, 0.5, 4), "quiet", "the peak, but an eighth of the machines");
  assert.equal(busyLevel(1.5, 2, 4), "moderate");
  assert.equal(busyLevel(2, 2, 4), "busy");
  assert.equal(busyLevel(1.6, 2, 4), "busy");
  assert.equal(busyLevel(1.2, 1.2, 4), "moderate", "the peak, but under 40 % running");
  assert.equal(busyLevel(0.8, 0.8, 0), "busy", "a room whose machines were removed");
  assert.deepEqual([0, 0.1, 0.25, 0.26, 0.5, 0.9, 1].map((v) => heatStep(v, 1)), [
    0,
    1,
    1,
    2,
    2,
    4,
    4,
  ]);
  assert.equal(heatStep(1, 0), 0);
});

/** A usage record of machine `id` in room `room`, from `start` for `minutes`. */
function rec(
  id: string,
  start: number,
  minutes: number,
  extra: Partial<UsageRecord> = {},
): UsageRecord {
  return {
    machineId: id,
    name: id.toUpperCase(),
    room: "1층",
    kind: "washer",
    useId: nextId(),
    startedAt: start,
    endedAt: start + minutes * MIN,
    ...extra,
  };
}

Deno.test("roomHeatmaps: the building's rooms first, a removed machine's room, the live cycle, now", () => {
  const now = Date.parse("2026-12-02T12:30:00Z"); // Wednesday 21:30 KST
  const w1 = fresh();
  const b1 = { ...fresh(), id: "b1", room: "B동" };
  const running = run(w1, { type: "start", minutes: 60 }, now - 30 * MIN);
  const records: UsageRecord[] = [];
  for (let w = 1; w <= 3; w++) {
    records.push(rec("w1", now - w * 7 * DAY_MS - 30 * MIN, 60)); // Wednesdays 21:00–22:00
    records.push(rec("gone", now - w * 7 * DAY_MS - 10 * HOUR, 60, { room: "옛 세탁실" }));
  }
  const maps = roomHeatmaps(records, [running, b1], ["B동", "1층"], "Asia/Seoul", now);
  assert.deepEqual(maps.map((m) => m.room), ["B동", "1층", "옛 세탁실"]);
  const [b, one, old] = maps;
  assert.equal(b.max, 0);
  assert.equal(b.now.level, "none");
  assert.equal(b.peak, null);
  assert.equal(one.machines, 1);
  assert.deepEqual(one.peak, { day: 2, hour: 21 });
  // Wednesday 21h: three past hours of use and this half hour, over four hours seen (the
  // window opened at 21:30 four weeks ago, and it is 21:30 now).
  assert.equal(one.avg[2][21], 3.5 / 4);
  assert.deepEqual({ ...one.now, avg: undefined }, {
    day: 2,
    hour: 21,
    avg: undefined,
    level: "busy",
  });
  assert.equal(old.machines, 0);
  assert.deepEqual(old.peak, { day: 2, hour: 11 });
});

Deno.test("machineMetrics: utilisation, cycles, waiting, nudges; removed machines by name", () => {
  const now = Date.parse("2026-12-02T12:00:00Z");
  const days = 7;
  const w1 = fresh();
  const w2 = { ...fresh(), id: "w2", name: "세탁기 2", order: 2 };
  // w2 is done now, waiting 25 minutes (its record has no collectedAt).
  const w2Running = run(w2, { type: "start", minutes: 40 }, now - 55 * MIN);
  const w2Done = run(w2Running, { type: "finish" }, now - 25 * MIN);
  const [doneRec] = usageWrites(w2Running, w2Done, now - 25 * MIN);
  const records = [
    rec("w1", now - 2 * DAY_MS, 60, { collectedAt: now - 2 * DAY_MS + 70 * MIN }),
    rec("w1", now - DAY_MS, 30, { collectedAt: now - DAY_MS + 30 * MIN }),
    // Started before the window: 20 of its minutes are in it; it ended in it (a cycle).
    rec("w1", now - days * DAY_MS - 20 * MIN, 40, { collectedAt: now - days * DAY_MS + 20 * MIN }),
    doneRec,
    // Long gone before the window.
    rec("w1", now - 20 * DAY_MS, 60, { collectedAt: now - 20 * DAY_MS + 60 * MIN }),
    // A machine removed since: it stays, by name, after the board's machines.
    rec("old", now - 3 * DAY_MS, 45, {
      collectedAt: now - 3 * DAY_MS + 45 * MIN,
      name: "옛 건조기",
    }),
  ];
  const running = {
    ...run(
      { ...fresh(), id: "w3", name: "세탁기 3", order: 3 },
      { type: "start", minutes: 60 },
      now - 15 * MIN,
    ),
  };
  const nudges = [
    { machineId: "w2", at: now - 5 * MIN },
    { machineId: "w2", at: now - 4 * MIN },
    { machineId: "w1", at: now - 8 * DAY_MS },
    { machineId: "nope", at: now - MIN },
  ];
  const rows = machineMetrics(records, [w1, w2Done, running], nudges, now, days);
  assert.deepEqual(rows.map((r) => [r.machineId, r.removed]), [
    ["w1", false],
    ["w2", false],
    ["w3", false],
    ["old", true],
  ]);
  const [r1, r2, r3, old] = rows;
  assert.equal(r1.uses, 3);
  assert.equal(r1.inUseMinutes, 60 + 30 + 20);
  assert.equal(r1.avgCycleMinutes, (60 + 30 + 40) / 3);
  assert.equal(r1.uncollectedMinutes, 10 + 0 + 0);
  assert.equal(r1.nudges, 0, "the nudge before the window");
  assert.ok(Math.abs(r1.utilisation - 110 / (7 * 24 * 60)) < 1e-12);
  assert.equal(r2.uses, 1);
  assert.equal(r2.avgCycleMinutes, 30);
  assert.equal(r2.uncollectedMinutes, 25, "still waiting: up to now");
  assert.equal(r2.nudges, 2);
  assert.equal(r3.uses, 0, "a running cycle is no finished use");
  assert.equal(r3.inUseMinutes, 15);
  assert.equal(r3.avgCycleMinutes, null);
  assert.equal(old.name, "옛 건조기");
  assert.equal(old.uses, 1);
  assert.deepEqual(machineMetrics([], [], [], now), [], "nothing at all");
});

Deno.test("funnel: whatever fields exist, overall first, channels sent → delivered → clicked → acted", () => {
  const groups = funnel({
    failed: 1,
    pushed: 5,
    recipients: 9,
    inApp: 3,
    pruned: 0,
    held: 2,
    "webpush:clicked": 2,
    "webpush:sent": 5,
    "webpush:acted": 1,
    "webpush:delivered": 4,
    "webpush:gone": 1,
    "email:sent": 2,
    "email:bounced": 1,
    "fcm:weird": -3,
    odd: Number.NaN,
    big: 7n,
  });
  assert.deepEqual(
    groups.map((g) => [g.channel, g.steps.map((s) => `${s.outcome}=${s.value}`).join(",")]),
    [
      [null, "recipients=9,inApp=3,pushed=5,held=2,failed=1,pruned=0,big=7"],
      ["email", "sent=2,bounced=1"],
      ["webpush", "sent=5,delivered=4,clicked=2,acted=1,gone=1"],
    ],
  );
  assert.equal(groups[2].steps[0].field, "webpush:sent");
  assert.deepEqual(funnel({}), []);
});
