/**
 * Notification policy as pure functions (SPEC section 3): per-kind transport
 * defaults, preference defaults, quiet hours, and the routing decision
 * (in-app only, push, silent, or held until morning). No I/O.
 * @module
 */
import {
  NOTIFICATION_KINDS,
  type NotificationKind,
  type Preferences,
  type PushOptions,
  type Urgency,
} from "../types.ts";

/** Transport defaults per kind (the SPEC table). `ttl: "until_end"` is computed per message. */
export const KIND_DEFAULTS: Record<NotificationKind, { urgency: Urgency; ttlSeconds: number }> = {
  "use.ending_soon": { urgency: "high", ttlSeconds: 5 * 60 },
  "use.done": { urgency: "high", ttlSeconds: 3600 },
  "use.overdue": { urgency: "high", ttlSeconds: 3600 },
  "pickup.nudge": { urgency: "high", ttlSeconds: 30 * 60 },
  "hold.expiring": { urgency: "normal", ttlSeconds: 10 * 60 },
  "hold.expired": { urgency: "normal", ttlSeconds: 10 * 60 },
  "machine.free": { urgency: "normal", ttlSeconds: 15 * 60 },
  "waitlist.offer": { urgency: "high", ttlSeconds: 5 * 60 },
  "waitlist.withdrawn": { urgency: "normal", ttlSeconds: 15 * 60 },
  "machine.repaired": { urgency: "normal", ttlSeconds: 24 * 3600 },
  "notice": { urgency: "normal", ttlSeconds: 24 * 3600 },
  "test": { urgency: "high", ttlSeconds: 5 * 60 },
};

/**
 * Kinds a user can switch push on/off for, in settings order. `machine.free`
 * (the one-shot watch of an earlier release) is no longer sent: waitlist
 * offers replaced it, so it has no switch (a saved choice for it is kept).
 */
export const CONFIGURABLE_KINDS: NotificationKind[] = NOTIFICATION_KINDS.filter((k) =>
  k !== "test" && k !== "machine.free"
);

/**
 * The user's own cycle reminders and the turn they queued for: never held
 * by quiet hours (SPEC section 3; an offer held until morning would lapse).
 */
export const OWN_CYCLE_KINDS: ReadonlySet<NotificationKind> = new Set([
  "use.ending_soon",
  "use.done",
  "use.overdue",
  "waitlist.offer",
]);

/** Preferences of a user who never changed them. */
export function defaultPreferences(lang: "ko" | "en" = "ko"): Preferences {
  return {
    lang,
    timeZone: "Asia/Seoul",
    push: {},
    endingSoonMinutes: 5,
    quiet: { enabled: false, start: "23:00", end: "07:00", mode: "silent" },
  };
}

/** Minutes since local midnight of `now` in `timeZone`. */
export function localMinutes(now: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone,
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(now));
  const h = Number(parts.find((p) => p.type === "hour")?.value ?? 0);
  const m = Number(parts.find((p) => p.type === "minute")?.value ?? 0);
  return h * 60 + m;
}

function hm(s: string): number {
  const [h, m] = s.split(":").map(Number);
  return h * 60 + m;
}

/**
 * If `now` is inside the quiet hours, the epoch ms at which they end;
 * otherwise null. Handles windows that wrap past midnight.
 */
export function quietUntil(prefs: Preferences, now: number): number | null {
  const q = prefs.quiet;
  if (!q.enabled) return null;
  const start = hm(q.start);
  const end = hm(q.end);
  if (start === end) return null;
  const cur = localMinutes(now, prefs.timeZone);
  const inside = start < end ? cur >= start && cur < end : cur >= start || cur < end;
  if (!inside) return null;
  const minutesLeft = (end - cur + 1440) % 1440;
  // Round to the start of the local minute, then add what is left.
  const startOfMinute = now - (now % 60_000);
  return startOfMinute + minutesLeft * 60_000;
}

/** What the router knows about the user right now. */
export interface PresenceState {
  connected: boolean;
  visible: boolean;
}

/** Facts about one notification that affect routing. */
export interface RouteInput {
  kind: NotificationKind;
  /** Admin marked it critical (ignores quiet hours and per-kind opt-out). */
  critical?: boolean;
  /** Admin chose silent (no sound). */
  sound?: boolean;
}

/** The routing decision for one notification and one user. */
export interface RouteDecision {
  /** Send an in-app event (toast) over the user's open sockets. */
  inApp: boolean;
  /** Push to the user's devices. */
  push: boolean;
  /** Push silently (no sound / vibration). */
  silent: boolean;
  /** Hold the push until this time (quiet hours, mode "hold"). */
  holdUntil?: number;
  /** Why, for logs and statistics. */
  reason: string;
}

/**
 * Decide how to deliver a notification (SPEC section 3 "Routing"):
 * visible page → in-app only; otherwise push (plus in-app if connected);
 * quiet hours make non-exempt pushes silent or hold them.
 * The inbox entry is written in every case by the caller.
 */
export function route(
  n: RouteInput,
  prefs: Preferences,
  presence: PresenceState,
  now: number,
): RouteDecision {
  if (presence.visible) {
    return { inApp: true, push: false, silent: false, reason: "visible" };
  }
  const inApp = presence.connected;
  const critical = n.critical === true;
  if (!critical && n.kind !== "test" && prefs.push[n.kind] === false) {
    return { inApp, push: false, silent: false, reason: "opted_out" };
  }
  let silent = n.sound === false;
  const exempt = critical || OWN_CYCLE_KINDS.has(n.kind) || n.kind === "test";
  const until = exempt ? null : quietUntil(prefs, now);
  if (until !== null) {
    if (prefs.quiet.mode === "hold") {
      return { inApp, push: true, silent, holdUntil: until, reason: "quiet_hold" };
    }
    silent = true;
    return { inApp, push: true, silent, reason: "quiet_silent" };
  }
  return { inApp, push: true, silent, reason: inApp ? "hidden" : "offline" };
}

/**
 * Push transport options for a kind. `expiresAt` (e.g. the cycle end for
 * `use.ending_soon`) caps the TTL so a stale "5 minutes left" is dropped.
 */
export function pushOptions(
  kind: NotificationKind,
  topic: string,
  now: number,
  expiresAt?: number,
  critical = false,
): PushOptions {
  const d = KIND_DEFAULTS[kind];
  let ttl = d.ttlSeconds;
  if (expiresAt !== undefined) {
    ttl = Math.max(0, Math.min(ttl, Math.floor((expiresAt - now) / 1000)));
  }
  return { ttlSeconds: ttl, urgency: critical ? "high" : d.urgency, topic };
}

/**
 * The collapse key of a notification: notifications about the same machine
 * share it, so "5 minutes left" is replaced by "done".
 */
export function collapseTag(kind: NotificationKind, machineId?: string, noticeId?: string): string {
  if (machineId && kind !== "machine.free") return `m-${machineId}`;
  if (kind === "machine.free") return "free";
  if (noticeId) return `n-${noticeId}`;
  return kind.replace(/\./g, "-");
}
