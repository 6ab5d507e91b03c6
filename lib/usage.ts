/**
 * Busy hours and machine usage, as pure functions. The board's event log is
 * trimmed after a day, so every use that ends leaves a compact
 * {@link UsageRecord} (written by `lib/db/machines.ts` `commitMachine` in the
 * same commit as the machine change that ends or clears the use; see
 * {@link usageWrites}), and every nudge a {@link NudgeRecord}. From those, the
 * live machines, a time zone and `now`, this module computes:
 *
 * - {@link busyMatrix}: a weekday × hour matrix of the average number of
 *   machines in use, in the building's local time (DST-correct: time is cut
 *   into 15-minute UTC slots, each inside one local hour in every zone);
 * - {@link roomHeatmaps}: that matrix per laundry room, with the level of the
 *   current hour ("지금은 한산해요 / 보통이에요 / 붐벼요", {@link busyLevel});
 * - {@link machineMetrics}: per machine, the share of time in use, the
 *   average cycle, minutes done but uncollected, nudges sent (removed
 *   machines keep the name their records carry);
 * - {@link funnel}: the delivery counters, grouped and ordered for a funnel.
 *
 * No I/O here; `lib/usage_store.ts` reads and writes the records.
 * @module
 */
import { settle } from "./lifecycle.ts";
import type { Machine, MachineKind } from "./types.ts";

/** One minute, in ms (usage is reported in real minutes). */
const MIN = 60_000;
/** One day, in ms. */
export const DAY_MS = 86_400_000;
/** How long usage and nudge records are kept (the heatmap needs 4 weeks; a week to spare). */
export const USAGE_RETENTION_MS = 35 * DAY_MS;
/** The default window of the heatmap and the admin metrics: 4 weeks. */
export const USAGE_WINDOW_DAYS = 28;
/** Slot length of {@link busyMatrix}: every zone's offset is a multiple of it. */
const SLOT_MS = 15 * MIN;
/** The default time zone of a building without one. */
const FALLBACK_TIME_ZONE = "Asia/Seoul";

/**
 * One use of a machine that ended, kept for busy hours
 * (`["usage", bid, startedAt, useId]`): written when the cycle ends, and
 * again (with `collectedAt`) when the machine is cleared.
 */
export interface UsageRecord {
  machineId: string;
  /** The machine's name then: a removed machine keeps its label. */
  name: string;
  room: string;
  kind: MachineKind;
  useId: string;
  /** Epoch ms the cycle started. */
  startedAt: number;
  /** Epoch ms the cycle ended (done), never before `startedAt`. */
  endedAt: number;
  /** Epoch ms the machine was cleared (laundry collected, or the next cycle); absent while done. */
  collectedAt?: number;
}

/** A nudge sent about a machine (`["usage_nudges", bid, at, id]`). */
export interface NudgeRecord {
  machineId: string;
  at: number;
}

/** A stretch of time one machine was in use (a record, or a live cycle). */
export type Span = Pick<UsageRecord, "machineId" | "room" | "startedAt" | "endedAt">;

function busy(m: Machine | null): m is Machine & { useId: string; startedAt: number } {
  return !!m && (m.state === "in_use" || m.state === "done") && m.useId !== undefined &&
    m.startedAt !== undefined;
}

function recordOf(m: Machine & { useId: string; startedAt: number }, endedAt: number) {
  return {
    machineId: m.id,
    name: m.name,
    room: m.room,
    kind: m.kind,
    useId: m.useId,
    startedAt: m.startedAt,
    endedAt: Math.max(m.startedAt, endedAt),
  };
}

/**
 * The usage records a machine change writes (none, or one): `before` is the
 * machine as stored (not settled), `after` what is committed (null when
 * removed). A use that becomes done (finished, timed out, the sensor saw the
 * end) is recorded with its end; a use that leaves the machine (collected,
 * the next cycle started, out of order) is recorded again with
 * `collectedAt` (a cycle cut short while running: collected at its end).
 */
export function usageWrites(
  before: Machine | null,
  after: Machine | null,
  now: number,
): UsageRecord[] {
  if (!busy(before)) return [];
  const timedOut = before.state === "in_use" && !before.sensed && before.endsAt !== undefined &&
    before.endsAt <= now;
  const same = busy(after) && after.useId === before.useId;
  if (same) {
    if (after.state !== "done" || before.state === "done") return [];
    return [recordOf(before, Math.min(after.doneAt ?? after.endsAt ?? now, now))];
  }
  if (before.state === "done" || timedOut) {
    const end = before.state === "done" ? before.doneAt ?? before.endsAt ?? now : before.endsAt!;
    const r = recordOf(before, Math.min(end, now));
    return [{ ...r, collectedAt: Math.max(now, r.endedAt) }];
  }
  const r = recordOf(before, now);
  return [{ ...r, collectedAt: r.endedAt }];
}

/**
 * The current uses of the live machines that no record holds yet: a running
 * cycle spans from its start to `now`; a done one (whose record the tick has
 * not written yet) to its end. Machines are settled to `now` first.
 */
export function liveUses(
  machines: Machine[],
  records: UsageRecord[],
  now: number,
): UsageRecord[] {
  const known = new Set(records.map((r) => r.useId));
  const out: UsageRecord[] = [];
  for (const raw of machines) {
    const m = settle(raw, now).machine;
    if (!busy(m) || known.has(m.useId)) continue;
    out.push(recordOf(m, m.state === "done" ? Math.min(m.doneAt ?? now, now) : now));
  }
  return out;
}

/** A weekday (0 = Monday … 6 = Sunday) and hour (0–23) of local time. */
export interface LocalHour {
  day: number;
  hour: number;
}

const WEEKDAY: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

/** A valid IANA time zone: `timeZone`, or Asia/Seoul when it is unknown. */
export function validZone(timeZone: string | undefined): string {
  if (!timeZone) return FALLBACK_TIME_ZONE;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return timeZone;
  } catch {
    return FALLBACK_TIME_ZONE;
  }
}

/** The local weekday and hour of an instant in `timeZone` (Asia/Seoul if unknown). */
export function localClock(timeZone: string): (t: number) => LocalHour {
  const clock = minuteClock(timeZone);
  return (t) => {
    const { day, hour } = clock(t);
    return { day, hour };
  };
}

/** Local weekday, hour and minute of an instant. */
function minuteClock(timeZone: string): (t: number) => LocalHour & { minute: number } {
  const fmt = new Intl.DateTimeFormat("en-US", {
    timeZone: validZone(timeZone),
    weekday: "short",
    hour: "numeric",
    minute: "numeric",
    hourCycle: "h23",
  });
  return (t) => {
    let day = 0, hour = 0, minute = 0;
    for (const p of fmt.formatToParts(t)) {
      if (p.type === "weekday") day = WEEKDAY[p.value] ?? 0;
      else if (p.type === "hour") hour = Number(p.value) % 24;
      else if (p.type === "minute") minute = Number(p.value);
    }
    return { day, hour, minute };
  };
}

/** A 7 × 24 matrix (weekday × hour) of zeros. */
export function emptyMatrix(): number[][] {
  return Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
}

/** What {@link busyMatrix} returns. */
export interface BusyMatrix {
  /** Average number of machines in use in each local weekday × hour, over the window. */
  avg: number[][];
  /** Hours of the window that fell in each cell (4 for a full 4-week window; DST days differ). */
  observed: number[][];
}

/** The window cut into 15-minute UTC slots, each with its local cell. */
interface Slots {
  from: number;
  first: number;
  count: number;
  cells: LocalHour[];
  seenMs: number[][];
}

let lastSlots: { key: string; slots: Slots } | null = null;

/**
 * The slots of the `days` before `now` and the local weekday × hour of each.
 * The clock is read once per UTC hour; when the next hour's reading is not
 * the previous one plus 60 minutes (an offset change), each slot of that
 * hour is read on its own. The last result is kept (every room of a page
 * shares it).
 */
function slotsOf(timeZone: string, now: number, days: number): Slots {
  const key = `${timeZone}|${now}|${days}`;
  if (lastSlots?.key === key) return lastSlots.slots;
  const from = now - days * DAY_MS;
  const first = Math.floor(from / SLOT_MS) * SLOT_MS;
  const count = Math.max(0, Math.ceil((now - first) / SLOT_MS));
  const clock = minuteClock(timeZone);
  const cells: LocalHour[] = [];
  const seenMs = emptyMatrix();
  const HOUR = 60 * MIN;
  let at = clock(Math.floor(first / HOUR) * HOUR);
  for (let i = 0; i < count;) {
    const hourStart = Math.floor((first + i * SLOT_MS) / HOUR) * HOUR;
    const next = clock(hourStart + HOUR);
    const steady = minutesOf(next) - minutesOf(at) === 60 ||
      minutesOf(next) - minutesOf(at) === 60 - 7 * 24 * 60;
    for (; i < count && first + i * SLOT_MS < hourStart + HOUR; i++) {
      const start = first + i * SLOT_MS;
      let c: LocalHour;
      if (steady) {
        const m = minutesOf(at) + (start - hourStart) / MIN;
        const wrapped = ((m % WEEK_MIN) + WEEK_MIN) % WEEK_MIN;
        c = { day: Math.floor(wrapped / 1440), hour: Math.floor((wrapped % 1440) / 60) };
      } else c = clock(start);
      cells.push(c);
      seenMs[c.day][c.hour] += Math.min(start + SLOT_MS, now) - Math.max(start, from);
    }
    at = next;
  }
  const slots = { from, first, count, cells, seenMs };
  lastSlots = { key, slots };
  return slots;
}

const WEEK_MIN = 7 * 24 * 60;

/** Minutes since local Monday 00:00. */
function minutesOf(c: LocalHour & { minute: number }): number {
  return c.day * 1440 + c.hour * 60 + c.minute;
}

/**
 * The weekday × hour matrix of machines in use over the `days` before `now`,
 * in local time of `timeZone`: each span adds the time it overlaps each cell,
 * and each cell is divided by how long the window spent in it. Spans spanning
 * midnight or several hours are cut at local hour boundaries; a repeated
 * (DST fall-back) hour counts twice as long, a skipped one not at all.
 */
export function busyMatrix(
  spans: Span[],
  timeZone: string,
  now: number,
  days = USAGE_WINDOW_DAYS,
): BusyMatrix {
  const { from, first, count, cells, seenMs } = slotsOf(timeZone, now, days);
  const busyMs = emptyMatrix();
  for (const s of spans) {
    const a = Math.max(s.startedAt, from);
    const b = Math.min(s.endedAt, now);
    if (b <= a) continue;
    for (let i = Math.floor((a - first) / SLOT_MS); i * SLOT_MS + first < b && i < count; i++) {
      const start = first + i * SLOT_MS;
      const c = cells[i];
      busyMs[c.day][c.hour] += Math.min(b, start + SLOT_MS) - Math.max(a, start);
    }
  }
  const avg = emptyMatrix();
  const observed = emptyMatrix();
  for (let d = 0; d < 7; d++) {
    for (let h = 0; h < 24; h++) {
      observed[d][h] = seenMs[d][h] / (60 * MIN);
      avg[d][h] = seenMs[d][h] > 0 ? busyMs[d][h] / seenMs[d][h] : 0;
    }
  }
  return { avg, observed };
}

/** How busy an hour is, relative to the room's busiest hour. */
export type BusyLevel = "none" | "quiet" | "moderate" | "busy";

/**
 * The level of an hour whose average is `value` machines in use, in a room
 * whose busiest hour averages `max`, with `machines` machines: "none" when
 * the room has no use at all; "quiet" below a third of the peak or when
 * under 15 % of the machines run; "busy" from two thirds of the peak with at
 * least 40 % of the machines running; "moderate" in between.
 */
export function busyLevel(value: number, max: number, machines: number): BusyLevel {
  if (!(max > 0)) return "none";
  const rel = value / max;
  const share = value / Math.max(1, machines);
  if (rel < 1 / 3 || share < 0.15) return "quiet";
  if (rel >= 2 / 3 && share >= 0.4) return "busy";
  return "moderate";
}

/** The colour step (0–4) of a heatmap cell: 0 for no use, then quarters of the peak. */
export function heatStep(value: number, max: number): number {
  if (!(max > 0) || !(value > 0)) return 0;
  return Math.min(4, Math.max(1, Math.ceil((value / max) * 4)));
}

/** One laundry room's heatmap. */
export interface RoomHeatmap {
  room: string;
  /** Machines in the room now. */
  machines: number;
  /** Average machines in use per weekday × hour (see {@link busyMatrix}). */
  avg: number[][];
  /** The busiest cell's average. */
  max: number;
  /** The busiest cell (the first of equals), or null when there was no use. */
  peak: LocalHour | null;
  /** The current local hour, its average and level. */
  now: LocalHour & { avg: number; level: BusyLevel };
}

/**
 * One heatmap per laundry room over the `days` before `now`: the rooms in
 * `rooms` order (the building's), then any other room a machine or record
 * names (a removed machine's room). `records` and `machines` are the
 * building's; the live machines' current uses count too.
 */
export function roomHeatmaps(
  records: UsageRecord[],
  machines: Machine[],
  rooms: string[],
  timeZone: string,
  now: number,
  days = USAGE_WINDOW_DAYS,
): RoomHeatmap[] {
  const all = [...records, ...liveUses(machines, records, now)];
  const names = [...rooms];
  for (const r of [...machines.map((m) => m.room), ...all.map((u) => u.room)]) {
    if (!names.includes(r)) names.push(r);
  }
  const here = localClock(timeZone)(now);
  return names.map((room) => {
    const { avg } = busyMatrix(all.filter((u) => u.room === room), timeZone, now, days);
    let max = 0;
    let peak: LocalHour | null = null;
    for (let d = 0; d < 7; d++) {
      for (let h = 0; h < 24; h++) {
        if (avg[d][h] > max) [max, peak] = [avg[d][h], { day: d, hour: h }];
      }
    }
    const count = machines.filter((m) => m.room === room).length;
    const v = avg[here.day][here.hour];
    return {
      room,
      machines: count,
      avg,
      max,
      peak,
      now: { ...here, avg: v, level: busyLevel(v, max, count) },
    };
  });
}

/** Usage of one machine over a window. */
export interface MachineUsage {
  machineId: string;
  name: string;
  room: string;
  kind: MachineKind;
  /** No longer on the board (known from its records only). */
  removed: boolean;
  /** Cycles that ended in the window. */
  uses: number;
  /** Minutes in use within the window (running cycles up to now). */
  inUseMinutes: number;
  /** Share of the window in use, 0–1. */
  utilisation: number;
  /** Average length of the cycles that ended in the window, minutes; null without any. */
  avgCycleMinutes: number | null;
  /** Minutes machines sat done but not yet cleared, within the window (still waiting: up to now). */
  uncollectedMinutes: number;
  /** Nudges sent about it in the window. */
  nudges: number;
}

function overlap(a: number, b: number, from: number, to: number): number {
  return Math.max(0, Math.min(b, to) - Math.max(a, from));
}

/**
 * Per-machine usage over the `days` before `now`: the machines on the board
 * in their order, then removed machines that have records (by name). A
 * record without `collectedAt` whose machine is still done with that use is
 * waiting up to now; otherwise (its machine moved on unseen) it waited 0.
 */
export function machineMetrics(
  records: UsageRecord[],
  machines: Machine[],
  nudges: NudgeRecord[],
  now: number,
  days = USAGE_WINDOW_DAYS,
): MachineUsage[] {
  const from = now - days * DAY_MS;
  const window = now - from;
  const settled = machines.map((m) => settle(m, now).machine);
  const live = liveUses(machines, records, now);
  const rows = new Map<string, MachineUsage>();
  const row = (r: { machineId: string; name: string; room: string; kind: MachineKind }) => {
    let out = rows.get(r.machineId);
    if (!out) {
      out = {
        machineId: r.machineId,
        name: r.name,
        room: r.room,
        kind: r.kind,
        removed: !machines.some((m) => m.id === r.machineId),
        uses: 0,
        inUseMinutes: 0,
        utilisation: 0,
        avgCycleMinutes: null,
        uncollectedMinutes: 0,
        nudges: 0,
      };
      rows.set(r.machineId, out);
    }
    return out;
  };
  for (const m of settled) row({ machineId: m.id, name: m.name, room: m.room, kind: m.kind });
  const cycleMs = new Map<string, number>();
  const running = new Set(live.filter((u) => u.endedAt >= now).map((u) => u.useId));
  for (const u of [...records, ...live]) {
    const inWindow = overlap(u.startedAt, u.endedAt, from, now);
    const m = settled.find((x) => x.id === u.machineId);
    const waitingNow = m?.state === "done" && m.useId === u.useId;
    const cleared = u.collectedAt ?? (waitingNow ? now : u.endedAt);
    const waited = overlap(u.endedAt, cleared, from, now);
    if (inWindow === 0 && waited === 0) continue;
    const r = row(u);
    r.inUseMinutes += inWindow / MIN;
    r.uncollectedMinutes += waited / MIN;
    if (!running.has(u.useId) && u.endedAt >= from && u.endedAt <= now) {
      r.uses++;
      cycleMs.set(u.machineId, (cycleMs.get(u.machineId) ?? 0) + (u.endedAt - u.startedAt));
    }
  }
  for (const n of nudges) {
    const r = rows.get(n.machineId);
    if (r && n.at >= from && n.at <= now) r.nudges++;
  }
  for (const r of rows.values()) {
    r.utilisation = window > 0 ? Math.min(1, (r.inUseMinutes * MIN) / window) : 0;
    r.avgCycleMinutes = r.uses > 0 ? (cycleMs.get(r.machineId) ?? 0) / r.uses / MIN : null;
  }
  const order = new Map(machines.map((m, i) => [m.id, i]));
  return [...rows.values()].sort((a, b) =>
    (order.get(a.machineId) ?? Infinity) - (order.get(b.machineId) ?? Infinity) ||
    a.name.localeCompare(b.name)
  );
}

/** One step of a delivery funnel: a counter field and its value. */
export interface FunnelStep {
  /** The counter's field, as stored (`pushed`, `webpush:sent`, …). */
  field: string;
  /** The outcome part of the field (`pushed`, `sent`, …). */
  outcome: string;
  value: number;
}

/** The steps of one channel (null: the building's overall counters). */
export interface FunnelGroup {
  channel: string | null;
  steps: FunnelStep[];
}

/** Order of the overall counters. */
const OVERALL_ORDER = ["recipients", "inApp", "pushed", "held", "failed", "pruned"];
/** Order of a channel's outcomes: the funnel first, then anything else (alphabetically). */
const FUNNEL_ORDER = ["sent", "delivered", "clicked", "acted"];

function ranked(order: string[]) {
  return (a: FunnelStep, b: FunnelStep) => {
    const ia = order.indexOf(a.outcome), ib = order.indexOf(b.outcome);
    return (ia < 0 ? order.length : ia) - (ib < 0 ? order.length : ib) ||
      a.outcome.localeCompare(b.outcome);
  };
}

/**
 * Delivery counters grouped for a funnel, whatever fields exist: the overall
 * ones (no `:`) first, in {@link OVERALL_ORDER}; then one group per channel
 * of the `<channel>:<outcome>` fields (channels alphabetically), its steps
 * ordered sent → delivered → clicked → acted, then the rest. Non-numeric and
 * negative values are left out.
 */
export function funnel(stats: Record<string, unknown>): FunnelGroup[] {
  const overall: FunnelStep[] = [];
  const channels = new Map<string, FunnelStep[]>();
  for (const [field, raw] of Object.entries(stats)) {
    const value = typeof raw === "bigint" ? Number(raw) : raw;
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) continue;
    const i = field.indexOf(":");
    if (i < 0) {
      overall.push({ field, outcome: field, value });
      continue;
    }
    const channel = field.slice(0, i);
    const list = channels.get(channel) ?? [];
    list.push({ field, outcome: field.slice(i + 1), value });
    channels.set(channel, list);
  }
  const groups: FunnelGroup[] = [];
  if (overall.length) groups.push({ channel: null, steps: overall.sort(ranked(OVERALL_ORDER)) });
  for (const channel of [...channels.keys()].sort()) {
    groups.push({ channel, steps: channels.get(channel)!.sort(ranked(FUNNEL_ORDER)) });
  }
  return groups;
}
