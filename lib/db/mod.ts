/**
 * Typed access to everything LaundryLive keeps in Deno KV, one module per
 * entity, stacked into one {@link Store}:
 *
 * | module          | owns                                                      |
 * |-----------------|-----------------------------------------------------------|
 * | `core.ts`       | KV handle, settings, epoch, due-index hook                |
 * | `log.ts`        | board / user logs, feeds, cursors, resume, trims          |
 * | `users.ts`      | users, sessions, invites, preferences, presence, rates    |
 * | `buildings.ts`  | buildings and their admins                                |
 * | `machines.ts`   | machines and lifecycle commands (one checked commit each) |
 * | `waitlist.ts`   | waitlists per laundry room and kind (offers: lifecycle)    |
 * | `inbox.ts`      | inboxes and push devices                                  |
 * | `notices.ts`    | nudges, notices, statistics, alarms, config               |
 * | `reports.ts`    | residents' fault reports                                  |
 * | `sensors.ts`    | machines' smart-plug sensors: tokens, detector, facts     |
 *
 * The key layout is documented in `lib/keys.ts`, the only place that builds
 * keys; `lib/commit.ts` is the one retry helper for checked commits. Errors
 * are {@link StoreError}s with a code; the HTTP layer maps codes to statuses.
 * @module
 */
import { SensorStore } from "./sensors.ts";

export * from "./records.ts";
export { getAll, type NewUser, publicUser } from "./users.ts";
export { holdRef, parseHoldRef } from "./machines.ts";
export { type SensorRecord, type SensorView } from "./sensors.ts";
export { INBOX_KEEP, TRIM_EVERY } from "./log.ts";
export { REPORTS_PER_MACHINE } from "./reports.ts";
export { LAPSE_LIMIT, WAITLIST_MAX, type WaitlistView } from "./waitlist.ts";
export { StoreError } from "../store_error.ts";

/** Typed access to everything LaundryLive keeps in Deno KV. */
export class Store extends SensorStore {}
