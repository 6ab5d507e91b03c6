/**
 * Inboxes and devices: what a user was told and where their pushes go.
 * @module
 */
import { retryCommit, tryCommit } from "../commit.ts";
import { parseCursor } from "../cursor.ts";
import { K } from "../keys.ts";
import { type DeliveryOutcome, deviceAfter } from "../notify/health.ts";
import type { Device, InboxItem } from "../types.ts";
import { WaitlistStore } from "./waitlist.ts";
import { BUSY_INBOX, type LogEvent } from "./records.ts";

/** Items marked read per commit (each a full inbox item: well within a commit's 800 KiB). */
const READ_BATCH = 200;
/** Reads of the inbox {@link InboxStore.inboxAt} makes at most while it keeps changing. */
const SNAPSHOT_ATTEMPTS = 4;

/** Inbox items and push devices of users. */
export abstract class InboxStore extends WaitlistStore {
  // ───────────────────────────── inbox ─────────────────────────────

  /**
   * Put a notification in the user's inbox and append a `notification` event
   * to their log (and building `bid`'s feed), once: returns null when that
   * notification id is already there.
   */
  async addToInbox(userId: string, bid: string, item: InboxItem): Promise<LogEvent | null> {
    const key = K.inboxItem(userId, item.id);
    return await retryCommit(async () => {
      const [existing, user, feed] = await this.kv.getMany<[InboxItem, number, number]>([
        key,
        ...this.userHeadKeys(userId, bid),
      ]);
      if (existing.value) return { event: null };
      const op = this.kv.atomic().check(existing).set(key, item);
      const [event] = this.appendUserOp(op, userId, bid, [{
        type: "notification",
        data: { item },
      }], { user, feed });
      return await tryCommit(op) ? { event } : null;
    }, BUSY_INBOX).then((r) => r.event);
  }

  /** A user's inbox, newest first (at most `limit`). */
  async listInbox(userId: string, limit = 100): Promise<InboxItem[]> {
    const out: InboxItem[] = [];
    for await (const e of this.kv.list<InboxItem>({ prefix: K.inbox(userId) })) out.push(e.value);
    return out.sort((a, b) => b.createdAt - a.createdAt).slice(0, limit);
  }

  /** How many of a user's inbox items are unread. */
  async unreadCount(userId: string): Promise<number> {
    let n = 0;
    for await (const e of this.kv.list<InboxItem>({ prefix: K.inbox(userId) })) {
      if (!e.value.readAt) n++;
    }
    return n;
  }

  /** One inbox item. */
  async getInboxItem(userId: string, id: string): Promise<InboxItem | null> {
    return (await this.kv.get<InboxItem>(K.inboxItem(userId, id))).value;
  }

  /**
   * A user's inbox (newest first, at most `limit`) with the cursor of
   * building `bid` it is current at: every inbox change appends to the
   * user's log in its own commit, so the list is read between two reads of
   * that log's head and read again (a few times at most) when a change fell
   * in between. A client adds to its unread count exactly the changes after
   * the cursor's user seq.
   */
  async inboxAt(
    userId: string,
    bid: string,
    limit = 10_000,
  ): Promise<{ items: InboxItem[]; cursor: string }> {
    const [head] = this.userHeadKeys(userId, bid);
    let cursor = await this.currentCursor(userId, bid);
    for (let n = 1;; n++) {
      const items = await this.listInbox(userId, limit);
      const after = (await this.kv.get<number>(head)).value ?? 0;
      if (after === parseCursor(cursor)?.user || n >= SNAPSHOT_ATTEMPTS) return { items, cursor };
      cursor = await this.currentCursor(userId, bid);
    }
  }

  /**
   * Mark items (or all, when `ids` is undefined) read. Each batch of items
   * is one commit with its `inbox.read` event, checked against the user's
   * log head: a concurrent inbox change (which always appends to that log)
   * makes it read the inbox again, so an item is never announced read twice.
   */
  async markRead(
    userId: string,
    bid: string,
    ids?: string[],
  ): Promise<{ updated: number; events: LogEvent[] }> {
    const want = ids ? new Set(ids) : null;
    let updated = 0;
    const events: LogEvent[] = [];
    while (true) {
      const done = await retryCommit(async () => {
        const now = Date.now();
        const [user, feed] = await this.kv.getMany<[number, number]>(
          this.userHeadKeys(userId, bid),
        );
        const batch = (await this.listInbox(userId, 10_000))
          .filter((i) => !i.readAt && (!want || want.has(i.id)))
          .slice(0, READ_BATCH);
        if (!batch.length) return { n: 0, events: [] };
        const op = this.kv.atomic();
        for (const item of batch) op.set(K.inboxItem(userId, item.id), { ...item, readAt: now });
        const read = this.appendUserOp(
          op,
          userId,
          bid,
          [{
            type: "inbox.read",
            data: { ids: batch.map((i) => i.id), at: now },
          }],
          { user, feed },
          now,
        );
        return await tryCommit(op) ? { n: batch.length, events: read } : null;
      }, BUSY_INBOX);
      if (!done.n) return { updated, events };
      updated += done.n;
      events.push(...done.events);
    }
  }

  /**
   * Record that an open page showed these notifications (in-app delivery
   * confirmed): one atomic write for the whole list. The caller passes only
   * ids it delivered to that page.
   */
  async ackNotifications(userId: string, ids: string[]): Promise<void> {
    if (!ids.length) return;
    const op = this.kv.atomic();
    for (const id of ids) {
      op.set(K.acked(userId, id), { at: Date.now() }, { expireIn: 86_400_000 });
    }
    await op.commit();
  }

  // ───────────────────────────── devices ─────────────────────────────

  /** A user's devices. */
  async listDevices(userId: string): Promise<Device[]> {
    const out: Device[] = [];
    for await (const e of this.kv.list<Device>({ prefix: K.devices(userId) })) out.push(e.value);
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  /** One device. */
  async getDevice(userId: string, deviceId: string): Promise<Device | null> {
    return (await this.kv.get<Device>(K.device(userId, deviceId))).value;
  }

  /**
   * Register or refresh a device (SPEC: upsert by deviceId and endpoint; a new
   * endpoint replaces the old one, the same one just touches lastSeenAt). Any
   * other device of this user with the same endpoint/token is removed.
   */
  async upsertDevice(
    userId: string,
    deviceId: string,
    input: Pick<Device, "kind" | "endpoint" | "keys" | "token"> & { label?: string },
  ): Promise<{ device: Device; created: boolean; replaced: boolean }> {
    const now = Date.now();
    const key = K.device(userId, deviceId);
    return await retryCommit(async () => {
      const entry = await this.kv.get<Device>(key);
      const old = entry.value;
      const sameTarget = old && old.kind === input.kind && old.endpoint === input.endpoint &&
        old.token === input.token && old.keys?.auth === input.keys?.auth &&
        old.keys?.p256dh === input.keys?.p256dh;
      const device: Device = sameTarget
        ? { ...old, lastSeenAt: now, label: input.label ?? old.label }
        : {
          deviceId,
          userId,
          kind: input.kind,
          endpoint: input.endpoint,
          keys: input.keys,
          token: input.token,
          label: input.label ?? old?.label ?? "",
          createdAt: old?.createdAt ?? now,
          lastSeenAt: now,
          failures: 0,
        };
      const op = this.kv.atomic().check(entry).set(key, device);
      for (const other of await this.listDevices(userId)) {
        if (other.deviceId === deviceId) continue;
        const dup = (input.endpoint && other.endpoint === input.endpoint) ||
          (input.token && other.token === input.token);
        if (dup) op.delete(K.device(userId, other.deviceId));
      }
      return await tryCommit(op) ? { device, created: !old, replaced: !!old && !sameTarget } : null;
    });
  }

  /** Delete a device; true when it existed. */
  async deleteDevice(userId: string, deviceId: string): Promise<boolean> {
    const entry = await this.kv.get(K.device(userId, deviceId));
    if (!entry.value) return false;
    await this.kv.delete(entry.key);
    return true;
  }

  /**
   * Record a delivery outcome on a device (if it still exists), as
   * {@link deviceAfter} says (nothing for a success on a healthy device).
   */
  async recordDeviceResult(
    userId: string,
    deviceId: string,
    outcome: DeliveryOutcome,
  ): Promise<void> {
    await retryCommit(async () => {
      const entry = await this.kv.get<Device>(K.device(userId, deviceId));
      if (!entry.value) return true;
      const d = deviceAfter(entry.value, outcome, Date.now());
      if (!d) return true;
      return await tryCommit(this.kv.atomic().check(entry).set(entry.key, d)) ? true : null;
    }, { attempts: 10 }).catch(() => {});
  }
}
