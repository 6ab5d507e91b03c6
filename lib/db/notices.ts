/**
 * Nudges, admin notices, delivery statistics, alarms and server
 * config: the parts of notification bookkeeping the store owns.
 * @module
 */
import { retryCommit, tryCommit } from "../commit.ts";
import { settle } from "../lifecycle.ts";
import { K } from "../keys.ts";
import { due as dueNow, type NotificationSpec } from "../notify/plan.ts";
import { StoreError } from "../store_error.ts";
import { nudgeOp } from "../usage_store.ts";
import type { DeliveryStats, Machine, Notice } from "../types.ts";
import { InboxStore } from "./inbox.ts";
import { type PushAlarmRecord, STAT_FIELDS } from "./records.ts";

/** Nudges, notices, statistics, alarms, config. */
export abstract class NoticeStore extends InboxStore {
  // ───────────────────────────── nudges ─────────────────────────────

  /**
   * Record a nudge if the cooldown allows it, and owe the owner the
   * notification, in one atomic commit. `refuse` gets the machine (settled
   * to now) and the last nudge time, and returns a refusal or null.
   */
  async nudge<R>(
    bid: string,
    machineId: string,
    senderId: string,
    refuse: (m: Machine, lastAt: number | undefined) => R | null,
    spec: (m: Machine) => NotificationSpec,
  ): Promise<R | null> {
    const key = K.nudge(machineId, senderId);
    return await retryCommit(async () => {
      const now = Date.now();
      const [mEntry, entry] = await this.kv.getMany<[Machine, { at: number }]>([
        K.machine(bid, machineId),
        key,
      ]);
      if (!mEntry.value) throw new StoreError("not_found", "No such machine.");
      const m = settle(mEntry.value, now).machine;
      const refusal = refuse(m, entry.value?.at);
      if (refusal) return { refusal };
      const op = this.kv.atomic().check(entry).set(key, { at: now }, {
        expireIn: 24 * 3600_000,
      });
      this.addDue(op, [dueNow({ t: "notify", userId: m.ownerId!, b: bid, n: spec(m) }, now)], now);
      nudgeOp(op, bid, machineId, senderId, now); // busy hours: nudges per machine
      return await tryCommit(op) ? { refusal: null } : null;
    }).then((r) => r.refusal);
  }

  // ───────────────────────────── notices ─────────────────────────────

  /** Store a new notice and owe its sending at `sendAt`, in one commit. */
  async createNotice(n: Notice): Promise<void> {
    const key = K.notice(n.buildingId, n.id);
    const op = this.kv.atomic().check({ key, versionstamp: null }).set(key, n);
    this.addDue(op, [dueNow({ t: "notice", b: n.buildingId, noticeId: n.id }, n.sendAt)]);
    if (!(await op.commit()).ok) throw new StoreError("notice_exists", "That notice exists.");
  }

  /** One notice of building `bid`. */
  async getNotice(bid: string, id: string): Promise<Notice | null> {
    return (await this.kv.get<Notice>(K.notice(bid, id))).value;
  }

  /** A building's notices, newest first. */
  async listNotices(bid: string, limit = 100): Promise<Notice[]> {
    const out: Notice[] = [];
    for await (const e of this.kv.list<Notice>({ prefix: K.notices(bid) })) out.push(e.value);
    return out.sort((a, b) => b.createdAt - a.createdAt).slice(0, limit);
  }

  /**
   * Move a notice from one status to another atomically; returns the updated
   * notice, or null when it was not in `from` (already sent, cancelled…).
   */
  async transitionNotice(
    bid: string,
    id: string,
    from: Notice["status"][],
    to: Notice["status"],
    patch: Partial<Notice> = {},
  ): Promise<Notice | null> {
    const out = await retryCommit(async () => {
      const entry = await this.kv.get<Notice>(K.notice(bid, id));
      if (!entry.value || !from.includes(entry.value.status)) return { n: null };
      const n = { ...entry.value, ...patch, status: to };
      return await tryCommit(this.kv.atomic().check(entry).set(entry.key, n)) ? { n } : null;
    });
    return out.n;
  }

  // ───────────────────────────── statistics ─────────────────────────────

  /** Add to delivery counters of several scopes (e.g. a notice and its building). */
  async countDelivery(
    scopes: string[],
    delta: Partial<Record<(typeof STAT_FIELDS)[number], number>>,
  ): Promise<void> {
    const op = this.kv.atomic();
    for (const scope of scopes) {
      for (const [field, n] of Object.entries(delta)) {
        if (n) op.sum(K.stat(scope, field), BigInt(n));
      }
    }
    await op.commit();
  }

  /** Delivery counters of one scope. */
  async getStats(scope: string): Promise<DeliveryStats> {
    const keys = STAT_FIELDS.map((f) => K.stat(scope, f));
    const entries = await this.kv.getMany<Deno.KvU64[]>(keys);
    const out = {} as DeliveryStats;
    STAT_FIELDS.forEach((f, i) => (out[f] = Number(entries[i].value?.value ?? 0n)));
    return out;
  }

  /**
   * The last "our push setup is wrong" alarm (a push service answered 401/403
   * to our VAPID or FCM credentials) within a week, or null.
   */
  async pushAlarm(now = Date.now()): Promise<PushAlarmRecord | null> {
    const a = (await this.kv.get<PushAlarmRecord>(K.alarm("push"))).value;
    return a && now - a.at < 7 * 86_400_000 ? a : null;
  }

  // ───────────────────────────── config ─────────────────────────────

  /** A server-side config value (e.g. generated VAPID keys). */
  async getConfig<T>(name: string): Promise<T | null> {
    return (await this.kv.get<T>(K.config(name))).value;
  }

  /** Set a config value only if absent; returns the value in force. */
  async initConfig<T>(name: string, value: T): Promise<T> {
    const res = await this.kv.atomic().check({ key: K.config(name), versionstamp: null })
      .set(K.config(name), value).commit();
    return res.ok ? value : (await this.getConfig<T>(name))!;
  }
}
