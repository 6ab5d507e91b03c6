/**
 * What a change owes, as plain data (SPEC section 3, "Scheduling and
 * delivery"). Pure functions of state and time: the store calls
 * {@link planMachineChange} inside a command and writes the jobs it returns
 * in the same atomic commit as the state change, so nothing a change owes
 * depends on code that runs after the commit.
 *
 * A job is a record of the due-index (`lib/outbox.ts`) keyed by when it is
 * due. Machine jobs name the use they belong to; when one comes due and the
 * use has changed (finished early, extended, collected) it does nothing.
 * @module
 */
import type { MessageKey } from "../i18n.ts";
import type { LifecycleSettings } from "../lifecycle.ts";
import type { Machine, NotificationKind } from "../types.ts";
import { nextStateChangeAt, remindersFor } from "./reminders.ts";

/** Text of a notification: catalogue keys rendered in the recipient's language, or literal. */
export type NotificationText =
  | { key: { title: MessageKey; body: MessageKey }; params: Record<string, string | number> }
  | { literal: { title: string; body: string } };

/** A notification before it is addressed to a user (serialisable: it lives in KV). */
export interface NotificationSpec {
  /** Stable id: the same notification always has the same id (idempotency). */
  id: string;
  kind: NotificationKind;
  text: NotificationText;
  /** Path to open on click. */
  url: string;
  machineId?: string;
  noticeId?: string;
  critical?: boolean;
  sound?: boolean;
  /** The push is pointless after this time (caps TTL). */
  expiresAt?: number;
}

/** Every job the due-index holds. */
export type Job =
  /** Settle a machine and send the reminders due for its current use. */
  | { t: "tick"; b: string; machineId: string; useId?: string }
  /** Deliver one notification to one user: inbox + event + route + push jobs. */
  | { t: "notify"; userId: string; b: string; n: NotificationSpec; scopes?: string[] }
  /** A machine became free (or its offer lapsed or was passed): offer it to the next in its waitlist. */
  | { t: "free"; b: string; machineId: string; gen: number }
  /** Send an admin notice: expand its recipients into notify jobs. */
  | { t: "notice"; b: string; noticeId: string }
  /** Push one inbox item to one device (leased while it is sent). */
  | {
    t: "push";
    userId: string;
    /** The building the notification is about (its counters); absent in older records. */
    b?: string;
    id: string;
    deviceId: string;
    silent: boolean;
    attempt: number;
    expiresAt?: number;
    /**
     * The user's unread count when the push was owed (the app badge it
     * carries), counted once per notification rather than once per device;
     * absent in older records, which count at send time.
     */
    unread?: number;
  }
  /** An in-app-only delivery no open page confirmed: push it after all. */
  | { t: "ack_check"; userId: string; b?: string; id: string }
  /** A push held by quiet hours: send it now. */
  | { t: "held"; userId: string; b?: string; id: string; silent: boolean }
  /** Events of a log up to `upTo` have aged out: delete them (and trim an inbox). */
  | { t: "trim"; scope: string; upTo: number }
  /** Email one inbox item to a user whose devices cannot take it (leased; lib/mail/channel.ts). */
  | { t: "email"; userId: string; b?: string; id: string; attempt: number }
  /** Has a machine's sensor gone silent? (`lib/db/sensors.ts`; one record per sensor at a time) */
  | { t: "sensor"; b: string; machineId: string };

/** A job with the time it is due and its id (unique per due time). */
export interface DueJob {
  at: number;
  id: string;
  job: Job;
}

/** The id of a job: deterministic, so writing the same job twice is one record. */
export function jobId(job: Job): string {
  switch (job.t) {
    case "tick":
      return `tick:${job.machineId}:${job.useId ?? "-"}`;
    case "notify":
      return `notify:${job.userId}:${job.n.id}`;
    case "free":
      return `free:${job.machineId}:${job.gen}`;
    case "notice":
      return `notice:${job.noticeId}`;
    case "push":
      return `push:${job.id}:${job.userId}:${job.deviceId}`;
    case "ack_check":
      return `ack:${job.userId}:${job.id}`;
    case "held":
      return `held:${job.userId}:${job.id}`;
    case "trim":
      return `trim:${job.scope}:${job.upTo}`;
    case "sensor":
      return `sensor:${job.b}:${job.machineId}`;
    case "email":
      return `email:${job.id}:${job.userId}`;
  }
}

/** A due job from a job and a time. */
export function due(job: Job, at: number): DueJob {
  return { at, id: jobId(job), job };
}

/** Machine events after which the machine is free for someone else. */
export const FREEING: ReadonlySet<string> = new Set([
  "machine.collected",
  "machine.released",
  "machine.hold_expired",
  "machine.repaired",
  "machine.added",
  "machine.offer_lapsed",
  "machine.offer_passed",
]);

/** Machine events that start or re-time a use (schedule ticks). */
export const TIMING: ReadonlySet<string> = new Set([
  "machine.held",
  "machine.arrived",
  "machine.started",
  "machine.extended",
  "machine.finished",
  "machine.done",
  "machine.sensor_lost",
  "machine.offered",
]);

/**
 * The path a machine notification opens: its building's board with the
 * machine's card in view (`/?building=<bid>&m=<id>`; its QR label encodes
 * the same, lib/qr.ts), so that someone who may act in several buildings
 * lands on the right board.
 */
export function machineUrl(machineId: string, buildingId: string): string {
  return `/?${new URLSearchParams({ building: buildingId, m: machineId })}`;
}

/** A notification about machine `m` with catalogue keys. */
export function machineSpec(
  m: Machine,
  id: string,
  kind: NotificationKind,
  title: MessageKey,
  body: MessageKey,
  params: Record<string, string | number> = {},
  expiresAt?: number,
): NotificationSpec {
  return {
    id,
    kind,
    url: machineUrl(m.id, m.buildingId),
    machineId: m.id,
    expiresAt,
    text: { key: { title, body }, params: { machine: m.name, ...params } },
  };
}

/** One event of a change, as the planner needs it. */
export interface PlannedEvent {
  type: string;
  machine?: Machine;
  data?: Record<string, unknown>;
}

/**
 * The state changes that concern the machine's (former) owner: their cycle
 * ended, their hold expired, or a breakdown ended their use. Null otherwise.
 */
export function ownerNotice(
  e: PlannedEvent,
  before: Machine | null,
): { userId: string; spec: NotificationSpec } | null {
  const m = e.machine;
  if (!m) return null;
  if (e.type === "machine.done" && m.ownerId && m.useId) {
    return {
      userId: m.ownerId,
      spec: machineSpec(m, `use.done:${m.useId}`, "use.done", "n.done.title", "n.done.body"),
    };
  }
  if (e.type === "machine.out_of_order" && before?.ownerId && before.useId) {
    return {
      userId: before.ownerId,
      spec: machineSpec(
        m,
        `out_of_order:${before.useId}`,
        "notice",
        "n.out_of_order.title",
        "n.out_of_order.body",
      ),
    };
  }
  // An expired hold clears the machine; the event names whose hold it was.
  const held = e.data as { ownerId?: string; useId?: string } | undefined;
  if (e.type === "machine.hold_expired" && held?.ownerId && held.useId) {
    return {
      userId: held.ownerId,
      spec: machineSpec(
        m,
        `hold.expired:${held.useId}`,
        "hold.expired",
        "n.hold_expired.title",
        "n.hold_expired.body",
      ),
    };
  }
  return null;
}

/**
 * The waitlist's notices of one event: the offer to its holder (it lapses
 * with the offer), or, when something other than the holder's own answer
 * or its lapse ended an offer (an admin took the machine, a sensor saw a
 * walk-up start, it broke or was removed), word to the holder that it was
 * withdrawn (they keep their place in line).
 */
export function offerNotice(
  e: PlannedEvent,
  before: Machine | null,
): { userId: string; spec: NotificationSpec } | null {
  const m = e.machine;
  if (e.type === "machine.offered" && m?.offer) {
    return {
      userId: m.offer.userId,
      spec: machineSpec(
        m,
        `waitlist.offer:${m.id}:${m.gen}`,
        "waitlist.offer",
        "n.offer.title",
        "n.offer.body",
        { kind: m.kind === "washer" ? "@kind.washer" : "@kind.dryer" },
        m.offer.until,
      ),
    };
  }
  const offer = before?.state === "available" ? before.offer : undefined;
  if (
    !offer || e.type === "machine.offer_lapsed" || e.type === "machine.offer_passed" ||
    (m && m.offer?.userId === offer.userId) || m?.ownerId === offer.userId
  ) return null;
  return {
    userId: offer.userId,
    spec: machineSpec(
      before!,
      `waitlist.withdrawn:${before!.id}:${before!.gen}`,
      "waitlist.withdrawn",
      "n.withdrawn.title",
      "n.withdrawn.body",
    ),
  };
}

/** What {@link planMachineChange} needs to know. */
export interface ChangeInput {
  /** The machine before the change (after nothing: as stored), or null when added. */
  before: Machine | null;
  /** The machine after the change, or null when removed. */
  after: Machine | null;
  /** The events the change appends, in order. */
  events: PlannedEvent[];
  /** The owner's "ending soon" lead time in minutes (their preference). */
  leadMinutes: number;
  now: number;
  settings: LifecycleSettings;
}

/**
 * Every job one committed machine change owes: the owner's notices (done,
 * hold expired, out of order) due now, a tick at every future moment the
 * new use has something due, and an offer to the next in line when it freed up.
 */
export function planMachineChange(c: ChangeInput): DueJob[] {
  const out: DueJob[] = [];
  let before = c.before;
  for (const e of c.events) {
    for (const notice of [ownerNotice(e, before), offerNotice(e, before)]) {
      if (!notice) continue;
      const b = (e.machine ?? before)!.buildingId;
      out.push(due({ t: "notify", userId: notice.userId, b, n: notice.spec }, c.now));
    }
    before = e.machine ?? before;
  }
  const m = c.after;
  if (!m) return out;
  const types = c.events.map((e) => e.type);
  if (types.some((t) => TIMING.has(t))) {
    for (const at of tickTimes(m, c.leadMinutes, c.settings, c.now)) out.push(tickAt(m, at));
  }
  if (types.some((t) => FREEING.has(t)) && m.state === "available") {
    out.push(due({ t: "free", b: m.buildingId, machineId: m.id, gen: m.gen }, c.now));
  }
  return out;
}

/**
 * The notice to a resident who reported a machine that is now repaired, or
 * (`queued`) who waits in line for a machine of its room and kind.
 */
export function repairedSpec(m: Machine, userId: string, queued = false): NotificationSpec {
  return machineSpec(
    m,
    `machine.repaired:${m.id}:${m.gen}:${userId}`,
    "machine.repaired",
    "n.repaired.title",
    queued ? "n.repaired.queued_body" : "n.repaired.body",
  );
}

/** A tick of machine `m`'s current use at `at` (one record per machine, use and moment). */
export function tickAt(m: Machine, at: number): DueJob {
  const job: Job = { t: "tick", b: m.buildingId, machineId: m.id, useId: m.useId };
  return { at, id: `${jobId(job)}:${at}`, job };
}

/**
 * The moments a machine's current use has something due: every reminder
 * and the next time-driven state change, not before `now`.
 */
export function tickTimes(
  m: Machine,
  leadMinutes: number,
  s: LifecycleSettings,
  now: number,
): number[] {
  const times = new Set<number>();
  for (const r of remindersFor(m, leadMinutes, s)) times.add(Math.max(r.at, now));
  const change = nextStateChangeAt(m);
  if (change !== null) times.add(Math.max(change, now));
  return [...times].sort((a, b) => a - b);
}
