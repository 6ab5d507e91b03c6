/**
 * The one place that builds Deno KV keys. Every module reads and writes KV
 * through these builders, so the layout is documented (and changed) here.
 * Everything a building owns carries its id (`bid`) in the key, so a building's
 * data is one prefix range and no request of one building can name another's.
 *
 * | key                                        | value                                  |
 * |--------------------------------------------|----------------------------------------|
 * | ["meta", "epoch"]                          | store epoch (changes on reset)         |
 * | ["meta", "migrated", name]                 | {at}: a one-time upgrade ran           |
 * | ["meta", "session_key"]                    | Uint8Array(32): signs session tokens   |
 * | ["buildings", bid]                         | Building                               |
 * | ["machines", bid, id]                      | Machine                                |
 * | ["holds", userId, kind]                    | machineId held by the user             |
 * | ["log", scope, seq]                        | LogEvent; scope "b:<bid>" (a board),   |
 * |                                            | "u:<userId>" (a user's own log) or     |
 * |                                            | "f:<bid>" (FeedEntry: the user events  |
 * |                                            | of a building's residents, for fan-out)|
 * |                                            | or "ctl" (close a user's sockets; a    |
 * |                                            | user record changed)                   |
 * | ["log_head", scope]                        | last seq written to that log           |
 * | ["log_floor", scope]                       | every seq ≤ floor has been trimmed     |
 * | ["users", id] / ["users_by_login", login]  | User / id                              |
 * | ["building_users", bid, userId]            | true: the building's members           |
 * | ["sessions", tokenHash]                    | Session                                |
 * | ["sessions_by_user", userId, hash]         | true (to revoke all on disable)        |
 * | ["invites", code]                          | Invite (names its building and role)   |
 * | ["building_invites", bid, code]            | true: the building's invite codes      |
 * | ["reset", codeHash] / ["reset_by_user", id]| password-reset code (lib/recovery.ts)  |
 * | ["presence", userId, instance]             | Presence: user's sockets on a hub      |
 * | ["rate", key]                              | RateWindow                             |
 * | ["prefs", userId]                          | Preferences                            |
 * | ["inbox", userId, notificationId]          | InboxItem (idempotency key too)        |
 * | ["devices", userId, deviceId]              | Device                                 |
 * | ["sent", notificationId, userId, deviceId] | SentMark: pushed once per device       |
 * | ["acked", userId, notificationId]          | {at}: an open page showed it           |
 * | ["waitlist", bid, room, kind, pos]          | {userId, at}: a queue, in order        |
 * |                                            | (pos: join time, user id)              |
 * | ["waiting", bid, userId, kind]             | WaitRef {room, pos, lapses}: the queue |
 * |                                            | a resident is in (one per kind)        |
 * | ["watches", bid, kind, userId]             | {at}: one-shot watches of an earlier   |
 * |                                            | release (migration `waitlist-1` only)  |
 * | ["nudges", machineId, senderId]            | {at} (cooldown)                        |
 * | ["machine_users", machineId, userId]       | {at} (recent users, 24 h)              |
 * | ["notices", bid, id]                       | Notice                                 |
 * | ["reports", bid, machineId, userId]        | FaultReport: open until the repair     |
 * | ["stats", scope, field]                    | Deno.KvU64; scope "all" (deployment),  |
 * |                                            | "b:<bid>" (a building), a notice id,   |
 * |                                            | or "ops"                               |
 * | ["stats_day", scope, day, field]           | Deno.KvU64: one UTC day ("YYYY-MM-DD") |
 * |                                            | of a building's or "all" counters      |
 * | ["idem", userId, key]                      | IdemRecord: an Idempotency-Key's first |
 * |                                            | answer (24 h; lib/middleware/          |
 * |                                            | idempotency.ts)                        |
 * | ["push_report", id, userId, device, event] | {at}: a click/action counted once (7 d)|
 * | ["config", name]                           | server secrets (VAPID keys)            |
 * | ["due", at, jobId]                         | DueRecord: the due-index (outbox)      |
 * | ["due_wake"]                               | {at}: bumped when a due record is added|
 * | ["lease", name, slot]                      | {by, at}: once-per-slot work (sweep)   |
 * | ["alarm", name]                            | Alarm: our setup is wrong (operator)   |
 * | ["sensors", bid, machineId]                | SensorRecord: token hash, detector     |
 * |                                            | state, rate window (lib/db/sensors.ts) |
 * | ["usage", bid, startedAt, useId]           | UsageRecord: one use that ended (busy  |
 * |                                            | hours, lib/usage.ts), written with the |
 * |                                            | machine change; expires after 35 days  |
 * | ["usage_nudges", bid, at, id]              | NudgeRecord {machineId, at}: a nudge   |
 * |                                            | sent (id: machine:sender); 35 days     |
 * | ["email", userId]                          | EmailRecord: the fallback address,     |
 * |                                            | verified, opted in, bounces (lib/mail/)|
 * | ["email_token", tokenHash]                 | EmailToken: a verification link, once  |
 * | ["email_token_by_user", userId]            | tokenHash: the one live link per user  |
 * | ["mailed", notificationId, userId]         | SentMark: emailed once per user        |
 * | ["login_limit", "pair", account, ip]       | PairWindow: sign-in attempts on one    |
 * |                                            | account from one address               |
 * | ["login_limit", "acct", account]           | CountWindow: attempts on an account    |
 * |                                            | from unfamiliar addresses              |
 * | ["login_limit", "ip", ip]                  | CountWindow: attempts from an address  |
 * |                                            | on accounts unfamiliar with it         |
 * | ["login_limit", "known", account, ip]      | true: the account signed in from there |
 * |                                            | (lib/login_limits.ts)                  |
 * @module
 */
/** A KV key. */
export type Key = Deno.KvKey;

/** The scope of a user's own log. */
export function userScope(userId: string): string {
  return `u:${userId}`;
}

/** Scope of a building board's log. */
export function boardScope(buildingId: string): string {
  return `b:${buildingId}`;
}

/** Scope of a building's user-event feed (every hub with its sockets follows it). */
export function feedScope(buildingId: string): string {
  return `f:${buildingId}`;
}

/** Scope of the control feed: close a user's sockets on every instance. */
export const CTL_SCOPE = "ctl";

/** The statistics scope of a building (its delivery counters). */
export function statScope(buildingId: string): string {
  return `b:${buildingId}`;
}

/** Key builders, one per entity. */
export const K = {
  epoch: (): Key => ["meta", "epoch"],
  sessionKey: (): Key => ["meta", "session_key"],
  building: (bid: string): Key => ["buildings", bid],
  buildings: (): Key => ["buildings"],
  migrated: (name: string): Key => ["meta", "migrated", name],
  machine: (bid: string, id: string): Key => ["machines", bid, id],
  machines: (bid: string): Key => ["machines", bid],
  machinesAll: (): Key => ["machines"],
  hold: (userId: string, kind: string): Key => ["holds", userId, kind],
  log: (scope: string, seq: number): Key => ["log", scope, seq],
  logs: (): Key => ["log"],
  logHead: (scope: string): Key => ["log_head", scope],
  logFloor: (scope: string): Key => ["log_floor", scope],
  user: (id: string): Key => ["users", id],
  users: (): Key => ["users"],
  buildingUser: (bid: string, userId: string): Key => ["building_users", bid, userId],
  buildingUsers: (bid: string): Key => ["building_users", bid],
  userByLogin: (login: string): Key => ["users_by_login", login.toLowerCase()],
  session: (hash: string): Key => ["sessions", hash],
  sessionOfUser: (userId: string, hash: string): Key => ["sessions_by_user", userId, hash],
  sessionsOfUser: (userId: string): Key => ["sessions_by_user", userId],
  invite: (code: string): Key => ["invites", code],
  invites: (): Key => ["invites"],
  buildingInvite: (bid: string, code: string): Key => ["building_invites", bid, code],
  buildingInvites: (bid: string): Key => ["building_invites", bid],
  reset: (hash: string): Key => ["reset", hash],
  resetOfUser: (userId: string): Key => ["reset_by_user", userId],
  presence: (userId: string, instance: string): Key => ["presence", userId, instance],
  presenceOf: (userId: string): Key => ["presence", userId],
  presenceAll: (): Key => ["presence"],
  rate: (key: string): Key => ["rate", key],
  prefs: (userId: string): Key => ["prefs", userId],
  inboxItem: (userId: string, id: string): Key => ["inbox", userId, id],
  inbox: (userId: string): Key => ["inbox", userId],
  inboxAll: (): Key => ["inbox"],
  device: (userId: string, deviceId: string): Key => ["devices", userId, deviceId],
  devices: (userId: string): Key => ["devices", userId],
  sent: (id: string, userId: string, deviceId: string): Key => ["sent", id, userId, deviceId],
  acked: (userId: string, id: string): Key => ["acked", userId, id],
  watch: (bid: string, kind: string, userId: string): Key => ["watches", bid, kind, userId],
  watches: (bid: string, kind: string): Key => ["watches", bid, kind],
  waitEntry: (bid: string, room: string, kind: string, pos: string): Key => [
    "waitlist",
    bid,
    room,
    kind,
    pos,
  ],
  waitlist: (bid: string, room: string, kind: string): Key => ["waitlist", bid, room, kind],
  waitlists: (bid: string): Key => ["waitlist", bid],
  waiting: (bid: string, userId: string, kind: string): Key => ["waiting", bid, userId, kind],
  nudge: (machineId: string, senderId: string): Key => ["nudges", machineId, senderId],
  machineUser: (machineId: string, userId: string): Key => ["machine_users", machineId, userId],
  machineUsers: (machineId: string): Key => ["machine_users", machineId],
  notice: (bid: string, id: string): Key => ["notices", bid, id],
  notices: (bid: string): Key => ["notices", bid],
  noticesAll: (): Key => ["notices"],
  report: (bid: string, machineId: string, userId: string): Key => [
    "reports",
    bid,
    machineId,
    userId,
  ],
  machineReports: (bid: string, machineId: string): Key => ["reports", bid, machineId],
  reports: (bid: string): Key => ["reports", bid],
  stat: (scope: string, field: string): Key => ["stats", scope, field],
  statDay: (scope: string, day: string, field: string): Key => ["stats_day", scope, day, field],
  statDays: (scope: string): Key => ["stats_day", scope],
  idem: (userId: string, key: string): Key => ["idem", userId, key],
  pushReport: (id: string, userId: string, deviceId: string, event: string): Key => [
    "push_report",
    id,
    userId,
    deviceId,
    event,
  ],
  config: (name: string): Key => ["config", name],
  due: (at: number, id: string): Key => ["due", at, id],
  dueAll: (): Key => ["due"],
  dueWake: (): Key => ["due_wake"],
  lease: (name: string, slot: number): Key => ["lease", name, slot],
  alarm: (name: string): Key => ["alarm", name],
  sensor: (bid: string, machineId: string): Key => ["sensors", bid, machineId],
  sensors: (bid: string): Key => ["sensors", bid],
  usage: (bid: string, startedAt: number, useId: string): Key => [
    "usage",
    bid,
    startedAt,
    useId,
  ],
  usages: (bid: string): Key => ["usage", bid],
  usageNudge: (bid: string, at: number, id: string): Key => ["usage_nudges", bid, at, id],
  usageNudges: (bid: string): Key => ["usage_nudges", bid],
  stats: (scope: string): Key => ["stats", scope],
  email: (userId: string): Key => ["email", userId],
  emailToken: (hash: string): Key => ["email_token", hash],
  emailTokenOfUser: (userId: string): Key => ["email_token_by_user", userId],
  mailed: (id: string, userId: string): Key => ["mailed", id, userId],
  loginPair: (account: string, ip: string): Key => ["login_limit", "pair", account, ip],
  loginAccount: (account: string): Key => ["login_limit", "acct", account],
  loginIp: (ip: string): Key => ["login_limit", "ip", ip],
  loginKnown: (account: string, ip: string): Key => ["login_limit", "known", account, ip],
} as const;
