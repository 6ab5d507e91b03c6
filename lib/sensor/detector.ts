/**
 * The smart-plug detector (issue 10, sensors), as pure functions: power
 * readings `{watts, at}` in, facts out (a cycle started, a cycle ended, the
 * sensor went silent). No I/O: the store keeps one small
 * {@link DetectorState} per machine in KV, calls {@link step} for a reading
 * and {@link checkSilence} when a silence check comes due, and commits only
 * when a fact results (plus the state itself).
 *
 * The rule, with hysteresis and debounce (defaults as smart-plug setups use
 * them: "running above ~10 W for a minute, done below ~3 W for two minutes"):
 *
 * - idle → running when every reading for `startMinutes` is at or above
 *   `startWatts`; the cycle started at the first of them;
 * - running → idle when every reading for `stopMinutes` is below
 *   `stopWatts`; the cycle ended at the first of them (the real end, not
 *   when it was confirmed). Readings between the two thresholds keep a
 *   running machine running (a wash pausing at 5 W is not done);
 * - readings are expected periodically (a Shelly script or a Home Assistant
 *   time trigger every 30 s, see docs/SENSORS.md). A gap longer than
 *   `gapMinutes` (dropped readings) is not evidence: a pending change starts
 *   again at the reading after the gap;
 * - no reading for `silentMinutes` is the fact "silent"; the next reading
 *   starts afresh (idle, nothing pending) and confirms a cycle again if the
 *   machine is running.
 *
 * All durations are "minutes" of `minuteMs` (60 000 in production), like
 * every other duration of the app.
 * @module
 */
import type { MachineKind } from "../types.ts";

/** Thresholds and debounce of one machine. */
export interface DetectorConfig {
  /** A reading at or above this many watts counts as running. */
  startWatts: number;
  /** Running for this long (minutes) starts a cycle. */
  startMinutes: number;
  /** A reading below this many watts counts as stopped. */
  stopWatts: number;
  /** Stopped for this long (minutes) ends a cycle. */
  stopMinutes: number;
  /** A longer gap between two readings (minutes) breaks a pending change. */
  gapMinutes: number;
  /** No reading for this long (minutes) is the fact "silent". */
  silentMinutes: number;
  /** The estimated length of a cycle the sensor started (minutes), for the board's countdown. */
  expectMinutes: number;
}

/** Defaults per machine kind (a dryer pauses its drum for longer than a washer). */
export const KIND_DEFAULTS: Readonly<Record<MachineKind, Readonly<DetectorConfig>>> = {
  washer: {
    startWatts: 10,
    startMinutes: 1,
    stopWatts: 3,
    stopMinutes: 2,
    gapMinutes: 2,
    silentMinutes: 10,
    expectMinutes: 50,
  },
  dryer: {
    startWatts: 10,
    startMinutes: 1,
    stopWatts: 3,
    stopMinutes: 5,
    gapMinutes: 2,
    silentMinutes: 10,
    expectMinutes: 70,
  },
};

/** The config of a machine of `kind` with its own overrides. */
export function configFor(kind: MachineKind, own: Partial<DetectorConfig> = {}): DetectorConfig {
  return { ...KIND_DEFAULTS[kind], ...own };
}

/** What the detector remembers about one machine (small: it lives in KV). */
export interface DetectorState {
  phase: "idle" | "running";
  /** The first reading of a change not yet confirmed (start while idle, stop while running). */
  pendingSince?: number;
  /** When the current cycle started (phase running). */
  startedAt?: number;
  /** The last reading. */
  lastAt?: number;
  lastWatts?: number;
  /** No reading for `silentMinutes` (the fact was given). */
  silent: boolean;
}

/** A fresh state: idle, nothing seen. */
export function initialState(): DetectorState {
  return { phase: "idle", silent: false };
}

/** One power reading. */
export interface Reading {
  watts: number;
  /** Epoch ms of the measurement. */
  at: number;
}

/** What the detector concludes. `at` is when it happened (a start or end), or the last reading (silent). */
export type Fact =
  | { type: "started"; at: number }
  | { type: "ended"; at: number }
  | { type: "silent"; at: number };

/** The result of one step. */
export interface Step {
  state: DetectorState;
  facts: Fact[];
  /** The reading was not newer than the last one: nothing changed. */
  ignored?: boolean;
}

/** Feed one power reading. */
export function step(
  state: DetectorState,
  r: Reading,
  cfg: DetectorConfig,
  minuteMs: number,
): Step {
  if (r.at <= (state.lastAt ?? -Infinity)) return { state, facts: [], ignored: true };
  const facts: Fact[] = [];
  // Missing readings are no evidence (a pending change starts again after them).
  const gap = r.at - (state.lastAt ?? r.at) > cfg.gapMinutes * minuteMs;
  // After a silence nothing before it is evidence either: start afresh.
  const s: DetectorState = state.silent
    ? { phase: "idle", silent: false, lastAt: r.at, lastWatts: r.watts }
    : { ...state, lastAt: r.at, lastWatts: r.watts };
  if (s.phase === "idle") {
    if (r.watts >= cfg.startWatts) {
      if (s.pendingSince === undefined || gap) s.pendingSince = r.at;
      if (r.at - s.pendingSince >= cfg.startMinutes * minuteMs) {
        facts.push({ type: "started", at: s.pendingSince });
        s.phase = "running";
        s.startedAt = s.pendingSince;
        delete s.pendingSince;
      }
    } else delete s.pendingSince;
  } else {
    if (r.watts < cfg.stopWatts) {
      if (s.pendingSince === undefined || gap) s.pendingSince = r.at;
      if (r.at - s.pendingSince >= cfg.stopMinutes * minuteMs) {
        facts.push({ type: "ended", at: s.pendingSince });
        s.phase = "idle";
        delete s.startedAt;
        delete s.pendingSince;
      }
    } else delete s.pendingSince;
  }
  return { state: s, facts };
}

/**
 * An explicit state from the sensor (`{state: "running"|"idle"}`): applies
 * at once, without debounce. A state equal to the current phase is no fact.
 */
export function setState(
  state: DetectorState,
  to: "running" | "idle",
  at: number,
): Step {
  if (at <= (state.lastAt ?? -Infinity)) return { state, facts: [], ignored: true };
  // After a silence the detector starts afresh (idle); a pending change is moot either way.
  const { pendingSince: _, startedAt, ...rest } = state;
  const phase = state.silent ? "idle" : state.phase;
  const base = { ...rest, silent: false, lastAt: at };
  if (to === "running" && phase === "idle") {
    return {
      state: { ...base, phase: "running", startedAt: at },
      facts: [{ type: "started", at }],
    };
  }
  if (to === "idle" && phase === "running") {
    return { state: { ...base, phase: "idle" }, facts: [{ type: "ended", at }] };
  }
  return {
    state: phase === "running" ? { ...base, phase, startedAt } : { ...base, phase },
    facts: [],
  };
}

/** Whether the sensor has been silent for `silentMinutes` at `now`: the fact "silent" once. */
export function checkSilence(
  state: DetectorState,
  now: number,
  cfg: DetectorConfig,
  minuteMs: number,
): Step {
  if (state.silent || state.lastAt === undefined) return { state, facts: [] };
  if (now - state.lastAt < cfg.silentMinutes * minuteMs) return { state, facts: [] };
  const { pendingSince: _, ...rest } = state;
  return { state: { ...rest, silent: true }, facts: [{ type: "silent", at: state.lastAt }] };
}

/** When the sensor would go silent if no reading comes (null when it is already silent or never read). */
export function silentAt(
  state: DetectorState,
  cfg: DetectorConfig,
  minuteMs: number,
): number | null {
  if (state.silent || state.lastAt === undefined) return null;
  return state.lastAt + cfg.silentMinutes * minuteMs;
}
