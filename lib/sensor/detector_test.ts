/**
 * Unit tests of the smart-plug detector on recorded-style power traces: a
 * reading every 30 s, as the Shelly script of docs/SENSORS.md sends them.
 * Expected start and end times are written out by hand from the traces.
 */
import assert from "node:assert/strict";
import {
  checkSilence,
  configFor,
  type DetectorConfig,
  type DetectorState,
  type Fact,
  initialState,
  KIND_DEFAULTS,
  type Reading,
  setState,
  silentAt,
  step,
} from "./detector.ts";

const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 2, 9, 0, 0);
/** Epoch ms of minute:second after T0. */
const at = (m: number, s = 0) => T0 + m * MIN + s * 1000;

/**
 * A trace from segments `[minutes, watts]`, one reading every 30 s, with
 * the watts of each segment (a function gets the reading's index in it, to
 * vary within a segment). Readings in `drop` (minute offsets) are missing.
 */
function trace(
  segments: [number, number | ((i: number) => number)][],
  drop: (t: number) => boolean = () => false,
): Reading[] {
  const out: Reading[] = [];
  let t = 0;
  for (const [minutes, w] of segments) {
    for (let i = 0; i < minutes * 2; i++) {
      const m = t + i / 2;
      if (!drop(m)) out.push({ at: at(0, m * 60), watts: typeof w === "function" ? w(i) : w });
    }
    t += minutes;
  }
  return out;
}

/** Feed a whole trace; every fact with the index of the reading that gave it. */
function run(
  readings: Reading[],
  cfg: DetectorConfig,
  state: DetectorState = initialState(),
): { facts: (Fact & { by: number })[]; state: DetectorState } {
  const facts: (Fact & { by: number })[] = [];
  let s = state;
  for (const r of readings) {
    const out = step(s, r, cfg, MIN);
    for (const f of out.facts) facts.push({ ...f, by: r.at });
    s = out.state;
  }
  return { facts, state: s };
}

const WASHER = KIND_DEFAULTS.washer;
const DRYER = KIND_DEFAULTS.dryer;

Deno.test("detector: defaults are the smart-plug rule, per kind", () => {
  assert.deepEqual(
    [WASHER.startWatts, WASHER.startMinutes, WASHER.stopWatts, WASHER.stopMinutes],
    [10, 1, 3, 2],
  );
  assert.equal(DRYER.stopMinutes, 5);
  assert.deepEqual(configFor("washer", { stopMinutes: 4 }), { ...WASHER, stopMinutes: 4 });
  assert.deepEqual(configFor("dryer"), DRYER);
});

Deno.test("detector: a wash with fill, heating, pauses under 2 minutes and a spin is one cycle", () => {
  const wash = trace([
    [3, 0.4], // standby, display off
    [2, 6], // filling: the valve and the display, under the start threshold
    [10, 2100], // heating
    [1.5, 1.8], // soak pause (1.5 min < 2)
    [12, (i) => (i % 2 ? 180 : 2.5)], // tumbling every other reading: pauses of 30 s
    [1, 1.2], // pause before rinse
    [8, 220], // rinse
    [1.5, 2.9], // drain pause
    [6, 480], // spin
    [5, 0.9], // done, display on
  ]);
  const { facts, state } = run(wash, WASHER);
  assert.deepEqual(facts, [
    // 10 W first crossed at 5:00 (heating); confirmed a minute later.
    { type: "started", at: at(5), by: at(6) },
    // Below 3 W from 45:00 for 2 minutes: the real end is 45:00, confirmed at 47:00.
    { type: "ended", at: at(45), by: at(47) },
  ]);
  assert.equal(state.phase, "idle");
  assert.equal(state.lastAt, at(49, 30));
});

Deno.test("detector: readings between the thresholds neither start nor end a cycle", () => {
  const { facts } = run(trace([[10, 6]]), WASHER);
  assert.deepEqual(facts, [], "6 W while idle is not a start");
  const running = run(trace([[3, 50], [10, 5], [3, 0]]), WASHER);
  assert.deepEqual(running.facts.map((f) => [f.type, f.at]), [
    ["started", at(0)],
    ["ended", at(13)], // 5 W kept it running; 0 W from 13:00
  ]);
});

Deno.test("detector: a spike shorter than startMinutes is no cycle (a door light, a test press)", () => {
  const { facts, state } = run(trace([[2, 0], [0.5, 300], [2, 0], [0.5, 25], [3, 1]]), WASHER);
  assert.deepEqual(facts, []);
  assert.equal(state.phase, "idle");
  assert.equal(state.pendingSince, undefined);
});

Deno.test("detector: a dryer's tumble gaps and anti-crease tumbles after the end", () => {
  const dry = trace([
    [1, 0.5],
    [20, (i) => (i % 6 === 5 ? 1.5 : 2300)], // heater and drum; the drum reverses (30 s at 1.5 W)
    [3, 1.6], // a 3-minute pause to reverse and cool (< 5 for a dryer)
    [25, 2250],
    [4, 1.1], // cool-down stop, 4 minutes: still < 5
    [5, 190], // cool-down tumble
    [6, 0.8], // done
    [0.5, 160], // anti-crease tumble, 30 s
    [4.5, 0.8],
    [0.5, 160], // and another
    [4.5, 0.8],
  ]);
  const { facts } = run(dry, DRYER);
  assert.deepEqual(facts, [
    { type: "started", at: at(1), by: at(2) },
    { type: "ended", at: at(58), by: at(63) },
  ]);
  // With the washer's 2 minutes the 3-minute pause would have ended it early: the setting matters.
  const early = run(dry, WASHER).facts.map((f) => [f.type, f.at]);
  assert.deepEqual(early[1], ["ended", at(21)]);
});

Deno.test("detector: a door opened mid-cycle (power drops for a minute) does not end it", () => {
  const wash = trace([
    [12, 450],
    [1, 0.7], // door opened: drum stops, display only
    [15, 450],
    [3, 0.7],
  ]);
  const { facts } = run(wash, WASHER);
  assert.deepEqual(facts.map((f) => [f.type, f.at]), [["started", at(0)], ["ended", at(28)]]);
  // Readings 12:00–13:30 are low: 1.5 minutes of evidence, still not the end.
  const two = run(trace([[12, 450], [2, 0.7], [15, 450], [3, 0.7]]), WASHER).facts;
  assert.deepEqual(two.map((f) => [f.type, f.at]), [["started", at(0)], ["ended", at(29)]]);
  // A door left open for 3 minutes is indistinguishable from the end: that is the setting.
  const longer = run(trace([[12, 450], [3, 0.7], [15, 450], [3, 0.7]]), WASHER).facts;
  assert.deepEqual(longer.map((f) => [f.type, f.at]), [
    ["started", at(0)],
    ["ended", at(12)],
    ["started", at(15)],
    ["ended", at(30)],
  ]);
});

Deno.test("detector: a plug that drops readings: a gap is not evidence of a pause", () => {
  // Readings lost 10:00–13:00 while the drum paused at 10:00 and resumed: with
  // sample-and-hold the 0 W reading at 10:00 and the next one at 13:00 would look like 3
  // minutes stopped; the gap breaks the pending end instead.
  const wash = trace(
    [[10, 400], [0.5, 0.5], [2.5, 400], [10, 400], [3, 0.5]],
    (m) => m > 10 && m < 13,
  );
  assert.ok(!wash.some((r) => r.at > at(10) && r.at < at(13)), "the trace has a hole");
  const { facts } = run(wash, WASHER);
  assert.deepEqual(facts.map((f) => [f.type, f.at]), [["started", at(0)], ["ended", at(23)]]);

  // A hole during the final stop: the end is confirmed by readings after it, from the
  // first reading after the hole (the earlier low reading is no longer evidence).
  const end = trace([[5, 300], [6, 0.4]], (m) => m > 5 && m < 8.5);
  const f2 = run(end, WASHER).facts;
  assert.deepEqual(f2.map((f) => [f.type, f.at]), [["started", at(0)], ["ended", at(8, 30)]]);

  // A start pending across a hole starts again after it.
  const start = trace([[0.5, 0], [0.5, 200], [5, 200]], (m) => m > 1 && m < 4);
  const f3 = run(start, WASHER).facts;
  assert.deepEqual(f3.map((f) => [f.type, f.at, f.by]), [["started", at(4), at(5)]]);
});

Deno.test("detector: stale and repeated readings change nothing", () => {
  const s0 = run(trace([[2, 100]]), WASHER).state;
  const same = step(s0, { at: s0.lastAt!, watts: 0 }, WASHER, MIN);
  assert.equal(same.ignored, true);
  assert.equal(same.state, s0);
  const older = step(s0, { at: s0.lastAt! - 1, watts: 0 }, WASHER, MIN);
  assert.equal(older.ignored, true);
  assert.deepEqual(older.facts, []);
});

Deno.test("detector: silence after silentMinutes, once; the next reading starts afresh", () => {
  const { state } = run(trace([[5, 300]]), WASHER);
  assert.equal(state.phase, "running");
  assert.equal(silentAt(state, WASHER, MIN), at(4, 30) + 10 * MIN);
  assert.deepEqual(checkSilence(state, at(14, 29), WASHER, MIN).facts, []);
  const quiet = checkSilence(state, at(14, 30), WASHER, MIN);
  assert.deepEqual(quiet.facts, [{ type: "silent", at: at(4, 30) }]);
  assert.equal(quiet.state.silent, true);
  assert.equal(silentAt(quiet.state, WASHER, MIN), null);
  assert.deepEqual(checkSilence(quiet.state, at(60), WASHER, MIN).facts, [], "said once");
  // Back: it needs a minute of running again before it says "started".
  const back = run(
    trace([[2, 300]]).map((r) => ({ ...r, at: r.at + 30 * MIN })),
    WASHER,
    quiet.state,
  );
  assert.deepEqual(back.facts.map((f) => [f.type, f.at]), [["started", at(30)]]);
  assert.equal(back.state.silent, false);
  // Never read: nothing to be silent about.
  assert.deepEqual(checkSilence(initialState(), at(999), WASHER, MIN).facts, []);
});

Deno.test("detector: explicit states apply at once and agree with the readings after them", () => {
  const on = setState(initialState(), "running", at(1));
  assert.deepEqual(on.facts, [{ type: "started", at: at(1) }]);
  assert.deepEqual(setState(on.state, "running", at(2)).facts, [], "running again is no fact");
  const off = setState(on.state, "idle", at(20));
  assert.deepEqual(off.facts, [{ type: "ended", at: at(20) }]);
  assert.equal(off.state.phase, "idle");
  assert.equal(off.state.startedAt, undefined);
  assert.equal(setState(off.state, "idle", at(19)).ignored, true);
  // After an explicit "running", power readings end it by the usual rule.
  const after = run(trace([[3, 0]]).map((r) => ({ ...r, at: r.at + 5 * MIN })), WASHER, on.state);
  assert.deepEqual(after.facts.map((f) => [f.type, f.at]), [["ended", at(5)]]);
});

Deno.test("detector: a fresh state; thresholds are inclusive for start, exclusive for stop; a gap of exactly gapMinutes is not a hole", () => {
  assert.deepEqual(initialState(), { phase: "idle", silent: false });
  assert.equal(silentAt(initialState(), WASHER, MIN), null, "never read: never silent");
  // Exactly 10 W runs; exactly 3 W is not stopped.
  const ten = run(trace([[2, 10]]), WASHER);
  assert.deepEqual(ten.facts.map((f) => [f.type, f.at]), [["started", at(0)]]);
  const three = run(trace([[5, 3]]), WASHER, ten.state);
  assert.deepEqual(three.facts, [], "3 W keeps it running");
  // Readings every 2 minutes exactly (the gap allowed): 0 W at 10:00 and 12:00 end it at 10:00.
  const sparse = run([{ at: at(10), watts: 0 }, { at: at(12), watts: 0 }], WASHER, ten.state);
  assert.deepEqual(sparse.facts, [{ type: "ended", at: at(10), by: at(12) }]);
  // One millisecond more is a hole: the end starts again at 12:00:00.001.
  const holed = run([{ at: at(10), watts: 0 }, { at: at(12) + 1, watts: 0 }], WASHER, ten.state);
  assert.deepEqual(holed.facts, []);
  assert.equal(holed.state.pendingSince, at(12) + 1);
  // The first reading ever is no gap, whatever its time.
  const first = step(initialState(), { at: 5, watts: 50 }, WASHER, MIN);
  assert.equal(first.state.pendingSince, 5);
});

Deno.test("detector: explicit states keep what they do not change and start afresh after a silence", () => {
  const running = run(trace([[2, 300]]), WASHER).state; // started at 0:00, last reading 1:30
  // Running again: no fact, the cycle's start and the last watts stay, a pending stop is dropped.
  const withPending = step(running, { at: at(2), watts: 0 }, WASHER, MIN).state;
  assert.equal(withPending.pendingSince, at(2));
  const again = setState(withPending, "running", at(3));
  assert.deepEqual(again, {
    state: { phase: "running", silent: false, startedAt: at(0), lastAt: at(3), lastWatts: 0 },
    facts: [],
  });
  // Idle while idle is no fact either (and not a start).
  const idle = setState(initialState(), "idle", at(1));
  assert.deepEqual(idle, { state: { phase: "idle", silent: false, lastAt: at(1) }, facts: [] });
  // The same time as the last reading is not newer.
  const same = setState(again.state, "idle", at(3));
  assert.deepEqual(same, { state: again.state, facts: [], ignored: true });
  // After a silence a running sensor is idle again: "running" is a new start.
  const quiet = checkSilence(running, at(30), WASHER, MIN).state;
  const back = setState(quiet, "running", at(31));
  assert.deepEqual(back.facts, [{ type: "started", at: at(31) }]);
  assert.deepEqual(back.state, {
    phase: "running",
    silent: false,
    startedAt: at(31),
    lastAt: at(31),
    lastWatts: 300,
  });
  // …and "idle" after a silence is no end (nothing was running as far as it knows).
  const backIdle = setState(quiet, "idle", at(31));
  assert.deepEqual(backIdle, {
    state: { phase: "idle", silent: false, lastAt: at(31), lastWatts: 300 },
    facts: [],
  });
});
