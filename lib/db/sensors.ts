/**
 * Machines' smart-plug sensors (issue 10). One record per machine,
 * `["sensors", bid, machineId]`, holds everything a reading needs: the hash
 * of the sensor's token (the token itself is shown once, at attach), the
 * detector's small state (`lib/sensor/detector.ts`), the machine's
 * thresholds and the sensor's rate window. So a reading that changes no fact
 * costs one KV read and one write (that record); a reading that gives a fact
 * also reads the machine and its board head and commits the machine, its
 * events and what they owe (`planMachineChange`: the owner's `use.done`,
 * reminder ticks) in that same atomic commit, through the same
 * {@link MachineStore.commitMachine} as every command.
 *
 * A token is `<bid>.<machineId>.<secret>`: it names the record to read, and
 * only its SHA-256 is stored. Silence ("no reading for N minutes") needs no
 * write per reading: one due record per sensor at a time (`{t:"sensor"}`),
 * written with the first reading after a check, comes due when the sensor
 * would be silent and either gives the fact or moves itself to the new
 * moment.
 * @module
 */
import { type Actor, applySensor, isHeldBy, type SensorCommand, settle } from "../lifecycle.ts";
import { retryCommit, tryCommit } from "../commit.ts";
import { newId, newToken, sha256Hex } from "../ids.ts";
import { boardScope, K } from "../keys.ts";
import { consume, type DueEntry } from "../outbox.ts";
import { type DueJob, type Job, jobId } from "../notify/plan.ts";
import {
  checkSilence,
  configFor,
  type DetectorConfig,
  type DetectorState,
  type Fact,
  initialState,
  setState,
  silentAt,
  step,
} from "../sensor/detector.ts";
import type { Machine, MachineKind } from "../types.ts";
import { holdRef, settledDraft } from "./machines.ts";
import { ReportStore } from "./reports.ts";
import { BUSY_BOARD, type Draft, type LogEvent } from "./records.ts";

/** What KV keeps per sensor. */
export interface SensorRecord {
  /** SHA-256 (hex) of the token. */
  tokenHash: string;
  /** The machine's kind (its default thresholds). */
  kind: MachineKind;
  /** The machine's own thresholds, over its kind's defaults. */
  config: Partial<DetectorConfig>;
  det: DetectorState;
  /** Readings counted in the current window (rate limit). */
  rate: { count: number; resetAt: number };
  /** When the outstanding silence check is due (absent: none). */
  checkAt?: number;
  createdAt: number;
  createdBy: string;
}

/** A sensor as admins see it (never the token or its hash). */
export interface SensorView {
  machineId: string;
  attachedAt: number;
  /** `waiting`: no reading yet; `ok`: reporting; `silent`: no reading for `silentMinutes`. */
  status: "waiting" | "ok" | "silent";
  /** What the detector believes: a cycle is running or not. */
  phase: "idle" | "running";
  lastReadingAt?: number;
  lastWatts?: number;
  /** The thresholds in force (kind defaults with the machine's own). */
  config: DetectorConfig;
}

/** One reading, as the webhook accepts it (time already resolved). */
export type SensorInput =
  | { watts: number; at: number }
  | { state: "running" | "idle"; at: number };

/** What a reading did. */
export type ReadingOutcome =
  | { ok: true; facts: Fact[]; ignored: boolean; events: LogEvent[]; machine?: Machine }
  | { ok: false; reason: "bad_token" | "not_found" | "rate_limited"; retryAfterSec?: number };

/** The actor of sensor facts. */
export const SENSOR_ACTOR: Actor = { id: "sensor", name: "sensor", role: "sensor" };

/** Readings per sensor per window (a Shelly script every 30 s sends 2 a minute). */
export const SENSOR_RATE = { limit: 30, windowMs: 60_000 };

const TOKEN_RE = /^([0-9a-z]{1,32})\.([0-9a-z]{4,32})\.([A-Za-z0-9_-]{43})$/;

/** The building and machine a token names, or null when it is not a sensor token. */
export function parseSensorToken(token: string): { bid: string; machineId: string } | null {
  const m = TOKEN_RE.exec(token);
  return m ? { bid: m[1], machineId: m[2] } : null;
}

/** Compare two hex digests without an early exit. */
function sameHash(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The silence check of a machine's sensor, due at `at`. */
export function sensorCheckJob(bid: string, machineId: string, at: number): DueJob {
  const job: Job = { t: "sensor", b: bid, machineId };
  return { at, id: `${jobId(job)}:${at}`, job };
}

/** The admin's view of a record at `now`. */
export function sensorView(
  machineId: string,
  rec: SensorRecord,
  now: number,
  minuteMs: number,
): SensorView {
  const config = configFor(rec.kind, rec.config);
  const due = silentAt(rec.det, config, minuteMs);
  const silent = rec.det.silent || (due !== null && now >= due);
  return {
    machineId,
    attachedAt: rec.createdAt,
    status: rec.det.lastAt === undefined ? "waiting" : silent ? "silent" : "ok",
    phase: rec.det.phase,
    ...(rec.det.lastAt !== undefined ? { lastReadingAt: rec.det.lastAt } : {}),
    ...(rec.det.lastWatts !== undefined ? { lastWatts: rec.det.lastWatts } : {}),
    config,
  };
}

/** Sensors of machines: attach, detach, readings, silence checks. */
export abstract class SensorStore extends ReportStore {
  /** The per-sensor rate limit (tests may lower it). */
  sensorRate: { limit: number; windowMs: number } = { ...SENSOR_RATE };

  /**
   * Attach a sensor to a machine of building `bid` (or replace its token):
   * returns the token, which is stored only as a hash. A replaced sensor
   * keeps what its detector knew; `config` replaces the machine's own
   * thresholds. Null when there is no such machine.
   */
  async attachSensor(
    bid: string,
    machineId: string,
    by: string,
    config: Partial<DetectorConfig> = {},
  ): Promise<{ token: string; sensor: SensorView } | null> {
    const token = `${bid}.${machineId}.${newToken()}`;
    const tokenHash = await sha256Hex(token);
    return await retryCommit(async () => {
      const [mEntry, entry] = await this.kv.getMany<[Machine, SensorRecord]>([
        K.machine(bid, machineId),
        K.sensor(bid, machineId),
      ]);
      if (!mEntry.value) return { none: true } as const;
      const now = Date.now();
      const rec: SensorRecord = {
        tokenHash,
        kind: mEntry.value.kind,
        config,
        det: entry.value?.det ?? initialState(),
        rate: { count: 0, resetAt: 0 },
        ...(entry.value?.checkAt !== undefined ? { checkAt: entry.value.checkAt } : {}),
        createdAt: now,
        createdBy: by,
      };
      const op = this.kv.atomic().check(mEntry).check(entry).set(entry.key, rec);
      return await tryCommit(op)
        ? { token, sensor: sensorView(machineId, rec, now, this.settings.minuteMs) }
        : null;
    }, BUSY_BOARD).then((r) => ("none" in r ? null : r));
  }

  /**
   * Replace a machine's own thresholds (the token and what the detector
   * knows stay). Null when the machine has no sensor.
   */
  async configureSensor(
    bid: string,
    machineId: string,
    config: Partial<DetectorConfig>,
  ): Promise<SensorView | null> {
    return await retryCommit(async () => {
      const entry = await this.kv.get<SensorRecord>(K.sensor(bid, machineId));
      if (!entry.value) return { none: true } as const;
      const rec: SensorRecord = { ...entry.value, config };
      // A sooner silence is found by the check already due (it moves itself); a later one too.
      const ok = await tryCommit(this.kv.atomic().check(entry).set(entry.key, rec));
      return ok ? { view: sensorView(machineId, rec, Date.now(), this.settings.minuteMs) } : null;
    }, BUSY_BOARD).then((r) => ("none" in r ? null : r.view));
  }

  /**
   * Detach (revoke) a machine's sensor. A cycle it followed goes back to its
   * timer (`machine.sensor_lost`), in the same commit. False when the machine
   * has no sensor.
   */
  async detachSensor(bid: string, machineId: string): Promise<{ events: LogEvent[] } | false> {
    return await retryCommit(async () => {
      const entry = await this.kv.get<SensorRecord>(K.sensor(bid, machineId));
      if (!entry.value) return false;
      const op = this.kv.atomic().check(entry).delete(entry.key);
      const events = await this.#applyFacts(op, bid, machineId, [{ type: "sensor_lost" }]);
      return events === null ? null : { events };
    }, BUSY_BOARD);
  }

  /** The sensors of building `bid` by machine id, as admins see them. */
  async listSensors(bid: string, now = Date.now()): Promise<Record<string, SensorView>> {
    const out: Record<string, SensorView> = {};
    for await (const e of this.kv.list<SensorRecord>({ prefix: K.sensors(bid) })) {
      const id = e.key[2] as string;
      out[id] = sensorView(id, e.value, now, this.settings.minuteMs);
    }
    return out;
  }

  /** The raw record of a machine's sensor (tests, diagnostics), or null. */
  async getSensor(bid: string, machineId: string): Promise<SensorRecord | null> {
    return (await this.kv.get<SensorRecord>(K.sensor(bid, machineId))).value;
  }

  /**
   * One reading from the sensor holding `token`, posted for `pathMachineId`.
   * A token that is no sensor's: `bad_token`; a sensor's token posted for
   * another machine (of its building or another): `not_found`; beyond the
   * rate limit: `rate_limited` (nothing written). Otherwise the detector
   * steps, and the record, with any facts applied to the machine, is
   * committed at once.
   */
  async sensorReading(
    token: string,
    pathMachineId: string,
    input: SensorInput,
  ): Promise<ReadingOutcome> {
    const named = parseSensorToken(token);
    if (!named) return { ok: false, reason: "bad_token" };
    const hash = await sha256Hex(token);
    const { bid, machineId } = named;
    return await retryCommit(async (): Promise<ReadingOutcome | null> => {
      const entry = await this.kv.get<SensorRecord>(K.sensor(bid, machineId));
      const rec = entry.value;
      if (!rec || !sameHash(rec.tokenHash, hash)) return { ok: false, reason: "bad_token" };
      if (machineId !== pathMachineId) return { ok: false, reason: "not_found" };
      const now = Date.now();
      const window = rec.rate.resetAt > now
        ? rec.rate
        : { count: 0, resetAt: now + this.sensorRate.windowMs };
      if (window.count >= this.sensorRate.limit) {
        return {
          ok: false,
          reason: "rate_limited",
          retryAfterSec: Math.max(1, Math.ceil((window.resetAt - now) / 1000)),
        };
      }
      const cfg = configFor(rec.kind, rec.config);
      const min = this.settings.minuteMs;
      const st = "watts" in input
        ? step(rec.det, { watts: input.watts, at: input.at }, cfg, min)
        : setState(rec.det, input.state, input.at);
      const next: SensorRecord = {
        ...rec,
        det: st.state,
        rate: { count: window.count + 1, resetAt: window.resetAt },
      };
      const op = this.kv.atomic().check(entry);
      // One silence check outstanding per sensor: scheduled by the first reading after one.
      const when = silentAt(next.det, cfg, min);
      if (next.checkAt === undefined && when !== null) {
        this.addDue(op, [sensorCheckJob(bid, machineId, when)], now);
        next.checkAt = when;
      }
      op.set(entry.key, next);
      const out = { ok: true as const, facts: st.facts, ignored: !!st.ignored };
      if (!st.facts.length) return await tryCommit(op) ? { ...out, events: [] } : null;
      const events = await this.#applyFacts(op, bid, machineId, factCommands(st.facts, cfg), now);
      if (events === null) return null;
      const machine = events.findLast((e) => e.machine)?.machine;
      return { ...out, events, ...(machine ? { machine } : {}) };
    }, BUSY_BOARD) as ReadingOutcome;
  }

  /**
   * A due silence check (consumed in the same commit): the fact "silent" if
   * no reading came for `silentMinutes` (a cycle the sensor followed goes
   * back to its timer), else the check moves to the new moment.
   */
  async sensorCheck(entry: DueEntry, bid: string, machineId: string): Promise<void> {
    await retryCommit(async () => {
      const rEntry = await this.kv.get<SensorRecord>(K.sensor(bid, machineId));
      const op = consume(this.kv.atomic(), entry);
      const rec = rEntry.value;
      if (!rec) return await this.finishDue(op, entry, true);
      const now = Date.now();
      const cfg = configFor(rec.kind, rec.config);
      const min = this.settings.minuteMs;
      const st = checkSilence(rec.det, now, cfg, min);
      const next: SensorRecord = { ...rec, det: st.state };
      const when = silentAt(next.det, cfg, min);
      if (when !== null && when > now) {
        this.addDue(op, [sensorCheckJob(bid, machineId, when)], now);
        next.checkAt = when;
      } else delete next.checkAt;
      op.check(rEntry).set(rEntry.key, next);
      if (!st.facts.length) return await this.finishDue(op, entry, true);
      const events = await this.#applyFacts(op, bid, machineId, factCommands(st.facts, cfg), now);
      if (events !== null) return true;
      return await this.dueGone(entry) ? true : null;
    }, BUSY_BOARD);
  }

  /**
   * Apply sensor commands to a machine inside `op` (which already carries
   * the sensor record's write) and commit: settle, each command in turn,
   * the holder's hold index, then the machine, its events and what they owe.
   * Commands that change nothing are skipped; the record is committed anyway.
   * Null when something changed underneath (retry).
   */
  async #applyFacts(
    op: Deno.AtomicOperation,
    bid: string,
    machineId: string,
    cmds: SensorCommand[],
    now = Date.now(),
  ): Promise<LogEvent[] | null> {
    const [mEntry, head] = await this.kv.getMany<[Machine, number]>([
      K.machine(bid, machineId),
      K.logHead(boardScope(bid)),
    ]);
    if (!mEntry.value) return await tryCommit(op) ? [] : null;
    const stored = mEntry.value;
    const settled = settle(stored, now);
    let m = settled.machine;
    const drafts: Draft[] = [];
    if (settled.event) drafts.push(settledDraft(stored, m, settled.event));
    for (const cmd of cmds) {
      const out = applySensor(m, cmd, SENSOR_ACTOR, now, this.settings, () => newId(12));
      if (!out.ok) continue;
      m = out.machine;
      drafts.push({ type: out.event, machine: m });
    }
    if (!drafts.length) return await tryCommit(op) ? [] : null;
    // The holder's hold index goes when the machine is no longer held by them.
    const holder = stored.state === "held" || stored.state === "arrived"
      ? stored.ownerId
      : undefined;
    if (holder && !isHeldBy(m, holder)) {
      const idx = await this.kv.get<string>(K.hold(holder, stored.kind));
      if (idx.value === holdRef(bid, machineId)) op.check(idx).delete(idx.key);
    }
    if (m.ownerId && m.state === "in_use" && drafts.some((d) => d.type === "machine.started")) {
      op.set(K.machineUser(m.id, m.ownerId), { at: now }, { expireIn: 24 * 3600_000 });
    }
    return await this.commitMachine(mEntry, m, drafts, op, { head, now });
  }
}

/** The lifecycle commands of detector facts. */
function factCommands(facts: Fact[], cfg: DetectorConfig): SensorCommand[] {
  return facts.map((f) =>
    f.type === "started"
      ? { type: "sensor_start", at: f.at, expectMinutes: cfg.expectMinutes }
      : f.type === "ended"
      ? { type: "sensor_end", at: f.at }
      : { type: "sensor_lost" }
  );
}
