/**
 * The one place that builds Deno KV keys. Every module reads and writes KV
 * through these builders, so the layout is documented (and changed) here.
 *
 * | key                                        | value                                  |
 * |--------------------------------------------|----------------------------------------|
 * | ["meta", "epoch"]                          | store epoch (changes on reset)         |
 * | ["machines", id]                           | Machine                                |
 * | ["holds", userId, kind]                    | machineId held by the user             |
 * | ["log", scope, seq]                        | LogEvent (scope "board", "u:<userId>") |
 * | ["log", "ufeed", seq]                      | FeedEntry: a user event, for fan-out   |
 * | ["log_head", scope]                        | last seq written to that log           |
 * | ["log_floor", scope]                       | every seq ≤ floor has been trimmed     |
 * | ["users", id] / ["users_by_login", login]  | User / id                              |
 * | ["sessions", tokenHash]                    | Session                                |
 * | ["sessions_by_user", userId, hash]         | true (to revoke all on disable)        |
 * | ["invites", code]                          | Invite                                 |
 * | ["presence", userId, connId]               | Presence                               |
 * | ["rate", key]                              | RateWindow                             |
 * | ["prefs", userId]                          | Preferences                            |
 * | ["inbox", userId, notificationId]          | InboxItem (idempotency key too)        |
 * | ["devices", userId, deviceId]              | Device                                 |
 * | ["sent", notificationId, userId, deviceId] | SentMark: pushed once per device       |
 * | ["acked", userId, notificationId]          | {at}: an open page showed it           |
 * | ["watches", kind, userId]                  | {at}                                   |
 * | ["nudges", machineId, senderId]            | {at} (cooldown)                        |
 * | ["machine_users", machineId, userId]       | {at} (recent users, 24 h)              |
 * | ["notices", id]                            | Notice                                 |
 * | ["stats", scope, field]                    | Deno.KvU64 counter                     |
 * | ["config", name]                           | server secrets (VAPID keys)            |
 * | ["due", at, jobId]                         | DueRecord: the due-index (outbox)      |
 * | ["due_wake"]                               | {at}: bumped when a due record is added|
 * | ["lease", name, slot]                      | {by, at}: once-per-slot work (sweep)   |
 * | ["alarm", name]                            | Alarm: our setup is wrong (admins see) |
 * @module
 */

/** A KV key. */
export type Key = Deno.KvKey;

/** The scope of a user's own log. */
export function userScope(userId: string): string {
  return `u:${userId}`;
}

/** Scope of the building board's log. */
export const BOARD_SCOPE = "board";
/** Scope of the user-event feed every instance follows for fan-out. */
export const FEED_SCOPE = "ufeed";

/** Key builders, one per entity. */
export const K = {
  epoch: (): Key => ["meta", "epoch"],
  machine: (id: string): Key => ["machines", id],
  machines: (): Key => ["machines"],
  hold: (userId: string, kind: string): Key => ["holds", userId, kind],
  log: (scope: string, seq: number): Key => ["log", scope, seq],
  logs: (): Key => ["log"],
  logHead: (scope: string): Key => ["log_head", scope],
  logFloor: (scope: string): Key => ["log_floor", scope],
  user: (id: string): Key => ["users", id],
  users: (): Key => ["users"],
  userByLogin: (login: string): Key => ["users_by_login", login.toLowerCase()],
  session: (hash: string): Key => ["sessions", hash],
  sessionOfUser: (userId: string, hash: string): Key => ["sessions_by_user", userId, hash],
  sessionsOfUser: (userId: string): Key => ["sessions_by_user", userId],
  invite: (code: string): Key => ["invites", code],
  invites: (): Key => ["invites"],
  presence: (userId: string, connId: string): Key => ["presence", userId, connId],
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
  watch: (kind: string, userId: string): Key => ["watches", kind, userId],
  watches: (kind: string): Key => ["watches", kind],
  nudge: (machineId: string, senderId: string): Key => ["nudges", machineId, senderId],
  machineUser: (machineId: string, userId: string): Key => ["machine_users", machineId, userId],
  machineUsers: (machineId: string): Key => ["machine_users", machineId],
  notice: (id: string): Key => ["notices", id],
  notices: (): Key => ["notices"],
  stat: (scope: string, field: string): Key => ["stats", scope, field],
  config: (name: string): Key => ["config", name],
  due: (at: number, id: string): Key => ["due", at, id],
  dueAll: (): Key => ["due"],
  dueWake: (): Key => ["due_wake"],
  lease: (name: string, slot: number): Key => ["lease", name, slot],
  alarm: (name: string): Key => ["alarm", name],
} as const;
