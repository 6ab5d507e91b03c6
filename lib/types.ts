/**
 * Shared domain types for LaundryLive (and the one list of notification
 * kinds). No I/O, no imports, so every module (server, islands, service
 * worker) may use them.
 * @module
 */

/** The kinds of machine in a laundry room. */
export type MachineKind = "washer" | "dryer";

/** Every state a machine can be in (SPEC section 2). */
export type MachineState =
  | "available"
  | "held"
  | "arrived"
  | "in_use"
  | "done"
  | "out_of_order";

/** A washer or dryer, as stored in KV and sent to clients. */
export interface Machine {
  id: string;
  /** The building whose board shows it. */
  buildingId: string;
  name: string;
  kind: MachineKind;
  /** The laundry room (one of its building's {@link Building.rooms}). */
  room: string;
  /** Sort order on the board. */
  order: number;
  state: MachineState;
  /** The resident holding or using the machine (absent when available/out_of_order). */
  ownerId?: string;
  /** Owner's display name, denormalised for the board. Never shown for nudges. */
  ownerName?: string;
  /** Id of the current hold/use; reminders carry it to detect staleness. */
  useId?: string;
  /** Bumped on every change of the current use's timing (extend, finish, …). */
  gen: number;
  /** Epoch ms when a hold expires (state held/arrived). */
  holdExpiresAt?: number;
  /** Epoch ms when the cycle started (state in_use/done). */
  startedAt?: number;
  /** Epoch ms when the cycle ends / ended (state in_use/done). */
  endsAt?: number;
  /** Epoch ms when the machine became done (state done). */
  doneAt?: number;
  /**
   * A live sensor follows the current cycle (state in_use): its end comes
   * from the sensor, not from the timer (`endsAt` is then an estimate).
   */
  sensed?: boolean;
  /** Admin's reason (state out_of_order). */
  outOfOrderReason?: string;
  /** Expected repair day, "YYYY-MM-DD" in the building's time zone (state out_of_order). */
  repairDate?: string;
  /**
   * An exclusive offer of this free machine to the next in its waitlist
   * (state available): only `userId` may take it until `until` (epoch ms).
   */
  offer?: { userId: string; until: number };
  /** Who let this free machine go (passed or lapsed an offer) since it was last used. */
  passed?: string[];
  updatedAt: number;
}

/**
 * Roles a user can have: a resident of one building; a building admin (of
 * the buildings in {@link User.adminOf}); the operator, who runs the
 * deployment and administers every building.
 */
export type Role = "resident" | "admin" | "operator";

/** A building (tenant): one board, its laundry rooms, its residents and admins. */
export interface Building {
  id: string;
  name: string;
  /** IANA time zone, e.g. "Asia/Seoul". */
  timeZone: string;
  /** Laundry room names in board order (e.g. "1층 세탁실", "B동 지하"). */
  rooms: string[];
  createdAt: number;
}

/** A user account (passwordHash is never sent to clients). */
export interface User {
  id: string;
  /** The building the user belongs to (their board, their notices). */
  buildingId: string;
  loginId: string;
  name: string;
  room: string;
  role: Role;
  /** Buildings a building admin administers (role "admin"). */
  adminOf?: string[];
  disabled: boolean;
  passwordHash: string;
  createdAt: number;
  /**
   * Sessions issued before this time (ms) are revoked: every session of the
   * user ended at once (account disabled, password reset).
   */
  sessionsNotBefore?: number;
  /**
   * Sessions ended one at a time (sign-out) that have not expired yet: the
   * session's id (SHA-256 of its token) and when it would have expired.
   */
  revokedSessions?: { id: string; exp: number }[];
}

/** The user as sent to clients. */
export type PublicUser = Omit<User, "passwordHash" | "sessionsNotBefore" | "revokedSessions">;

/** Every notification kind, in the SPEC table's order (plus `test`). */
export const NOTIFICATION_KINDS = [
  "use.ending_soon",
  "use.done",
  "use.overdue",
  "pickup.nudge",
  "hold.expiring",
  "hold.expired",
  "machine.free",
  "waitlist.offer",
  "waitlist.withdrawn",
  "machine.repaired",
  "notice",
  "test",
] as const;

/** Notification kinds (SPEC section 3 table). */
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** Push urgency (RFC 8030 section 5.3). */
export type Urgency = "very-low" | "low" | "normal" | "high";

/** A registered push device (SPEC section 3, "Devices and tokens"). */
export interface Device {
  deviceId: string;
  userId: string;
  kind: "webpush" | "fcm";
  /** Web Push subscription (kind webpush). */
  endpoint?: string;
  keys?: { p256dh: string; auth: string };
  /** FCM registration token (kind fcm). */
  token?: string;
  label: string;
  createdAt: number;
  lastSeenAt: number;
  lastSuccessAt?: number;
  lastFailureAt?: number;
  lastError?: string;
  /** The last failure needs attention: "alarm" (401/403: our setup) or "rejected" (400/413). */
  lastOutcome?: "alarm" | "rejected";
  failures: number;
}

/**
 * What the service worker receives in a push (JSON, kept under 3 KB).
 * `tag` collapses notifications about the same machine.
 */
export interface PushPayload {
  id: string;
  kind: NotificationKind;
  title: string;
  body: string;
  tag: string;
  url: string;
  silent: boolean;
  /** Critical notices ask the SW for requireInteraction. */
  critical?: boolean;
  ts: number;
}

/** Transport options for one push message. */
export interface PushOptions {
  ttlSeconds: number;
  urgency: Urgency;
  /** Collapse key: RFC 8030 Topic (max 32 URL-safe base64 chars). */
  topic?: string;
}

/**
 * The outcome of one delivery attempt to one device.
 * - `ok`: accepted by the push service.
 * - `gone`: 404/410 or FCM UNREGISTERED: delete the device.
 * - `retry`: 429/5xx/network: try again after `retryAfterMs`.
 * - `alarm`: 403/401 or credential mismatch: our setup is wrong; never delete.
 * - `rejected`: other 4xx (payload too big, bad request): do not retry.
 */
export type SendResult =
  | { status: "ok"; httpStatus: number }
  | { status: "gone"; httpStatus?: number; detail: string }
  | { status: "retry"; httpStatus?: number; retryAfterMs: number; detail: string }
  | { status: "alarm"; httpStatus?: number; detail: string }
  | { status: "rejected"; httpStatus?: number; detail: string };

/** Quiet hours in the user's local time zone. */
export interface QuietHours {
  enabled: boolean;
  /** "HH:MM", local time. */
  start: string;
  end: string;
  /** What happens to non-critical pushes during quiet hours. */
  mode: "silent" | "hold";
}

/** Per-user notification preferences. */
export interface Preferences {
  lang: "ko" | "en";
  /** IANA time zone for quiet hours, e.g. "Asia/Seoul". */
  timeZone: string;
  /** Whether each kind may be pushed (in-app/inbox always happen). */
  push: Partial<Record<NotificationKind, boolean>>;
  /** Lead time of `use.ending_soon`, minutes. */
  endingSoonMinutes: number;
  quiet: QuietHours;
}

/** One notification in a user's inbox. */
export interface InboxItem {
  id: string;
  kind: NotificationKind;
  title: string;
  body: string;
  url: string;
  tag: string;
  machineId?: string;
  noticeId?: string;
  critical?: boolean;
  createdAt: number;
  readAt?: number;
}

/** What a resident can report about a machine. */
export const FAULT_CATEGORIES = [
  "wont_start",
  "leak",
  "door",
  "noise",
  "payment",
  "other",
] as const;

/** A category of {@link FAULT_CATEGORIES}. */
export type FaultCategory = (typeof FAULT_CATEGORIES)[number];

/** A resident's report of a problem with a machine (one open report per resident and machine). */
export interface FaultReport {
  machineId: string;
  userId: string;
  /** Reporter's display name and room, for the admin. */
  name: string;
  room: string;
  category: FaultCategory;
  note: string;
  createdAt: number;
}

/** Who an admin notice goes to. */
export type NoticeTarget =
  | { type: "all" }
  | { type: "room"; room: string }
  | { type: "laundry"; laundry: string }
  | { type: "machine"; machineId: string };

/** Delivery counters of a notice (or of everything). */
export interface DeliveryStats {
  recipients: number;
  inApp: number;
  pushed: number;
  failed: number;
  pruned: number;
  held: number;
}

/** An admin announcement. */
export interface Notice {
  id: string;
  /** The building it is announced in. */
  buildingId: string;
  title: string;
  body: string;
  target: NoticeTarget;
  /** Epoch ms it goes out (now or later). */
  sendAt: number;
  sound: boolean;
  critical: boolean;
  status: "scheduled" | "sending" | "sent" | "cancelled";
  createdBy: string;
  createdAt: number;
  sentAt?: number;
  cancelledAt?: number;
  /** While sending: the last recipient (user id) whose notification is owed. */
  cursor?: string;
}
