/**
 * Which time-driven reminders a machine's current use calls for, as pure
 * functions. The scheduler enqueues a KV message per reminder; when one fires
 * (or the cron sweep runs) the same function decides what is due now, so a
 * stale message (use finished early, extended, collected) does nothing and a
 * missed one is caught by the sweep.
 * @module
 */
import type { LifecycleSettings } from "../lifecycle.ts";
import type { Machine, NotificationKind } from "../types.ts";

/** Minutes after done for the two overdue reminders (SPEC table). */
export const OVERDUE_STEPS = [10, 30] as const;
/** Minutes before hold expiry for `hold.expiring`. */
export const HOLD_WARNING_MINUTES = 2;

/** One reminder of one use. `id` is stable: it makes delivery idempotent. */
export interface Reminder {
  id: string;
  kind: NotificationKind;
  machineId: string;
  useId: string;
  gen: number;
  /** When it is due (epoch ms). */
  at: number;
  /** Minutes, for the message text (lead, overdue minutes, minutes left on a hold). */
  minutes: number;
  /** After this the reminder is pointless (e.g. the cycle ended). */
  expiresAt?: number;
}

/**
 * All reminders the machine's current state calls for, due or not.
 * `leadMinutes` is the owner's "ending soon" preference.
 */
export function remindersFor(m: Machine, leadMinutes: number, s: LifecycleSettings): Reminder[] {
  if (!m.useId || !m.ownerId) return [];
  const base = { machineId: m.id, useId: m.useId, gen: m.gen };
  const min = s.minuteMs;
  const out: Reminder[] = [];
  if (m.state === "in_use" && m.endsAt !== undefined && m.startedAt !== undefined) {
    const at = m.endsAt - leadMinutes * min;
    if (leadMinutes > 0 && at > m.startedAt) {
      out.push({
        ...base,
        id: `use.ending_soon:${m.useId}:${m.gen}`,
        kind: "use.ending_soon",
        at,
        minutes: leadMinutes,
        expiresAt: m.endsAt,
      });
    }
  }
  // A cycle a sensor follows ends when the sensor says so: no overdue from its estimate.
  const doneAt = m.state === "done"
    ? m.doneAt
    : m.state === "in_use" && !m.sensed
    ? m.endsAt
    : undefined;
  if (doneAt !== undefined) {
    // The end itself is a state change (in_use → done), handled by settle.
    for (const step of OVERDUE_STEPS) {
      out.push({
        ...base,
        id: `use.overdue:${m.useId}:${doneAt}:${step}`,
        kind: "use.overdue",
        at: doneAt + step * min,
        minutes: step,
      });
    }
  }
  if ((m.state === "held" || m.state === "arrived") && m.holdExpiresAt !== undefined) {
    const at = m.holdExpiresAt - HOLD_WARNING_MINUTES * min;
    out.push({
      ...base,
      id: `hold.expiring:${m.useId}:${m.holdExpiresAt}`,
      kind: "hold.expiring",
      at,
      minutes: HOLD_WARNING_MINUTES,
      expiresAt: m.holdExpiresAt,
    });
  }
  return out;
}

/**
 * The reminders that are due at `now` and still meaningful: due, not past
 * their own expiry, and (for overdue) only the latest step, so a sweep after
 * a long outage does not fire both "10 minutes" and "30 minutes" at once.
 */
export function dueReminders(
  m: Machine,
  now: number,
  leadMinutes: number,
  s: LifecycleSettings,
): Reminder[] {
  const due = remindersFor(m, leadMinutes, s).filter((r) =>
    r.at <= now && (r.expiresAt === undefined || now < r.expiresAt)
  );
  const overdue = due.filter((r) => r.kind === "use.overdue");
  if (overdue.length > 1) {
    const latest = overdue[overdue.length - 1];
    return due.filter((r) => r.kind !== "use.overdue" || r === latest);
  }
  return due;
}

/** When a machine's state itself changes with time (hold expiry, cycle end), or null. */
export function nextStateChangeAt(m: Machine): number | null {
  if (m.state === "in_use" && !m.sensed && m.endsAt !== undefined) return m.endsAt;
  if ((m.state === "held" || m.state === "arrived") && m.holdExpiresAt !== undefined) {
    return m.holdExpiresAt;
  }
  if (m.state === "available" && m.offer) return m.offer.until;
  return null;
}
