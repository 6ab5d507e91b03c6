/**
 * Delivers notifications from the due-index (SPEC section 3). Each step is
 * one atomic commit that consumes its record and writes what comes next:
 *
 * 1. `notify` (one notification, one user): the inbox entry, a
 *    `notification` event on the user's log (and the user-event feed every
 *    instance follows, so open pages show a toast), delivery counters, and,
 *    as {@link route} decides, a `push` record per device (now), a `held`
 *    record (quiet hours) or an `ack_check` record (in-app only: push after
 *    all if no open page confirms it). An inbox entry that exists already
 *    makes it a no-op: exactly once per (notification, user).
 * 2. `push` (one item, one device, leased): sends, then in one commit marks
 *    the (notification, user, device) ledger, counts, and prunes (404/410/
 *    UNREGISTERED), reschedules (429/5xx, honouring Retry-After), or records
 *    an alarm (401/403: our setup is wrong) or a rejection (400/413).
 * @module
 */
import type { Config } from "../config.ts";
import { CommitBatcher, retryCommit, tryCommit } from "../commit.ts";
import type { PushAlarmRecord, SentMark, Store } from "../db/mod.ts";
import { BUSY_INBOX } from "../db/records.ts";
import { type Lang, type MessageKey, t } from "../i18n.ts";
import { K, statScope } from "../keys.ts";
import { consume, type DueEntry, reschedule } from "../outbox.ts";
import type { Hub } from "../realtime.ts";
import type { Device, InboxItem, Preferences, SendResult } from "../types.ts";
import type { FcmSender } from "../push/fcm_sender.ts";
import type { WebPushSender } from "../push/webpush_sender.ts";
import type { EmailChannel } from "../mail/channel.ts";
import { type DueJob, type Job, jobId, type NotificationSpec } from "./plan.ts";
import { deviceAfter, outcomeOf } from "./health.ts";
import { collapseTag, defaultPreferences, pushOptions, route } from "./policy.ts";
import { declarativeMessage, toFcmData } from "../push/declarative.ts";
import { countChannel } from "./delivery_stats.ts";

/** What a test push reports: its inbox id and each device's outcome. */
export interface TestPushReport {
  id: string;
  devices: DeviceOutcome[];
}

/** The outcome on one device. */
export interface DeviceOutcome {
  deviceId: string;
  kind: Device["kind"];
  label: string;
  result: SendResult | { status: "skipped" | "pending"; detail: string };
}

/** Attempts per device before a retryable failure counts as failed. */
export const MAX_PUSH_ATTEMPTS = 5;
/** Longest wait between push retries. */
export const MAX_RETRY_DELAY_MS = 10 * 60_000;

/**
 * When to try a push again after attempt `attempt` failed: exponential
 * backoff (2 × `baseMs`, 4 ×, …), but never before the push service's Retry-After, and
 * never later than {@link MAX_RETRY_DELAY_MS}.
 */
export function retryDelayMs(attempt: number, retryAfterMs: number, baseMs = 1000): number {
  const backoff = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** attempt);
  return Math.min(MAX_RETRY_DELAY_MS, Math.max(retryAfterMs, backoff));
}

/** Render a notification's text in a language. Params starting with "@" are catalogue keys. */
export function renderText(n: NotificationSpec, lang: Lang): { title: string; body: string } {
  if ("literal" in n.text) return n.text.literal;
  const params: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(n.text.params)) {
    params[k] = typeof v === "string" && v.startsWith("@") ? t(lang, v.slice(1) as MessageKey) : v;
  }
  return { title: t(lang, n.text.key.title, params), body: t(lang, n.text.key.body, params) };
}

/** The inbox item of a notification for one user. */
export function inboxItem(n: NotificationSpec, lang: Lang, now: number): InboxItem {
  const { title, body } = renderText(n, lang);
  return {
    id: n.id,
    kind: n.kind,
    title,
    body,
    url: n.url,
    tag: collapseTag(n.kind, n.machineId, n.noticeId),
    machineId: n.machineId,
    noticeId: n.noticeId,
    critical: n.critical,
    createdAt: now,
  };
}

/** The due records that push an item to each of a user's devices. */
function pushJobs(
  userId: string,
  b: string | undefined,
  id: string,
  devices: Device[],
  silent: boolean,
  at: number,
  expiresAt: number | undefined,
  unread: number,
): DueJob[] {
  return devices.map((d) => {
    const job: Job = {
      t: "push",
      userId,
      b,
      id,
      deviceId: d.deviceId,
      silent,
      attempt: 1,
      expiresAt,
      unread,
    };
    return { at, id: jobId(job), job };
  });
}

/** Delivery counters to add for one outcome. */
type Counts = Parameters<Store["countDelivery"]>[1];

/** The deployment-wide counters' scope (the operator's view). */
const ALL = "all";

/** Add delivery counters to a commit (scopes: "all", a building's and e.g. a notice id). */
function count(op: Deno.AtomicOperation, scopes: string[], delta: Counts): void {
  for (const scope of scopes) {
    for (const [field, n] of Object.entries(delta)) {
      if (n) op.sum(K.stat(scope, field), BigInt(n));
    }
  }
}

/** Sends notifications; one per process. */
export class Notifier {
  #fcm: Promise<FcmSender | null> | null = null;
  /** The email fallback (lib/mail/), when `SMTP_URL` is set: owed where pushes are. */
  email: EmailChannel | null = null;
  /** Alarm hook (defaults to console.error): our push setup is wrong. */
  onAlarm: (msg: string) => void = (msg) => console.error(`ALARM push: ${msg}`);
  /** Pushes' outcome commits, several in one atomic operation (one check each: the lease). */
  #outcomes: CommitBatcher;

  /** Wire the notifier to the store, hub and transports. */
  constructor(
    readonly store: Store,
    readonly hub: Hub,
    readonly config: Config,
    readonly webpush: WebPushSender,
    readonly fcmFactory: (() => Promise<FcmSender | null>) | null,
  ) {
    this.#outcomes = new CommitBatcher(store.kv);
  }

  /** Preferences in force for a user (stored, else defaults). */
  async preferences(userId: string): Promise<Preferences> {
    return (await this.store.getPreferences(userId)) ?? defaultPreferences();
  }

  /** Where the user is: this instance's sockets first, then KV (other instances). */
  async presence(userId: string): Promise<{ connected: boolean; visible: boolean }> {
    const local = this.hub.localPresence(userId);
    if (local.visible) return local;
    const remote = await this.store.getPresence(userId);
    return {
      connected: local.connected || remote.connected,
      visible: local.visible || remote.visible,
    };
  }

  /**
   * A `notify` record: inbox + event + counters + what the route owes, in one
   * commit that consumes the record. A notification already in the inbox
   * only consumes it.
   */
  async deliver(entry: DueEntry, job: Extract<Job, { t: "notify" }>): Promise<void> {
    const { userId, n, b } = job;
    const scopes = [ALL, statScope(b), ...(job.scopes ?? [])];
    const inboxKey = K.inboxItem(userId, n.id);
    await retryCommit(async () => {
      const now = Date.now();
      const [[inbox, prefsE, user, feed], presence, devices] = await Promise.all([
        this.store.kv.getMany<[InboxItem, Preferences, number, number]>([
          inboxKey,
          K.prefs(userId),
          ...this.store.userHeadKeys(userId, b),
        ]),
        this.presence(userId),
        this.store.listDevices(userId),
      ]);
      const op = consume(this.store.kv.atomic(), entry);
      if (inbox.value) return await this.#done(op, entry);
      const prefs = prefsE.value ?? defaultPreferences();
      const item = inboxItem(n, prefs.lang, now);
      op.check(inbox).set(inboxKey, item);
      this.store.appendUserOp(op, userId, b, [{ type: "notification", data: { item } }], {
        user,
        feed,
      }, now);
      const decision = route({ kind: n.kind, critical: n.critical, sound: n.sound }, prefs, {
        connected: presence.connected,
        visible: presence.visible,
      }, now);
      count(op, scopes, { recipients: 1, inApp: decision.inApp ? 1 : 0 });
      if (!decision.push) {
        // In-app only because a page looked visible: if that page does not
        // confirm it soon (the connection dropped silently), push after all.
        if (decision.reason === "visible") {
          this.store.addDue(op, [{
            at: now + this.config.ackTimeoutMs,
            id: jobId({ t: "ack_check", userId, id: n.id }),
            job: { t: "ack_check", userId, b, id: n.id },
          }], now);
        }
      } else if (decision.holdUntil !== undefined && decision.holdUntil > now) {
        const held: Job = { t: "held", userId, b, id: n.id, silent: decision.silent };
        this.store.addDue(op, [{ at: decision.holdUntil, id: jobId(held), job: held }], now);
        count(op, scopes, { held: 1 });
      } else {
        // The badge counts this item too (it is not in the inbox read above).
        const unread = devices.length ? await this.store.unreadCount(userId) + 1 : 0;
        this.store.addDue(
          op,
          pushJobs(userId, b, n.id, devices, decision.silent, now, n.expiresAt, unread),
          now,
        );
        await this.email?.owe(op, userId, b, n, devices, now);
      }
      return await tryCommit(op) ? true : await this.#goneOrRetry(entry);
    }, BUSY_INBOX);
  }

  /** An `ack_check` or `held` record: push the item now unless a page confirmed it. */
  async pushLater(entry: DueEntry, job: Extract<Job, { t: "ack_check" | "held" }>): Promise<void> {
    const { userId, id } = job;
    await retryCommit(async () => {
      const now = Date.now();
      const [[item, acked, prefsE], devices] = await Promise.all([
        this.store.kv.getMany<[InboxItem, unknown, Preferences]>([
          K.inboxItem(userId, id),
          K.acked(userId, id),
          K.prefs(userId),
        ]),
        this.store.listDevices(userId),
      ]);
      const op = consume(this.store.kv.atomic(), entry);
      if (!item.value || (job.t === "ack_check" && acked.value)) return await this.#done(op, entry);
      let silent = job.t === "held" ? job.silent : false;
      if (job.t === "ack_check") {
        const again = route(
          { kind: item.value.kind, critical: item.value.critical },
          prefsE.value ?? defaultPreferences(),
          { connected: false, visible: false },
          now,
        );
        if (!again.push) return await this.#done(op, entry);
        if (again.holdUntil !== undefined && again.holdUntil > now) {
          const held: Job = { t: "held", userId, b: job.b, id, silent: again.silent };
          this.store.addDue(op, [{ at: again.holdUntil, id: jobId(held), job: held }], now);
          return await this.#done(op, entry);
        }
        silent = again.silent;
      }
      const unread = devices.length ? await this.store.unreadCount(userId) : 0;
      this.store.addDue(
        op,
        pushJobs(userId, job.b, id, devices, silent, now, undefined, unread),
        now,
      );
      await this.email?.owe(op, userId, job.b, item.value, devices, now);
      return await this.#done(op, entry);
    });
  }

  /**
   * A leased `push` record: send once, then in one commit consume it and
   * record the outcome (ledger, counters, prune, retry, alarm).
   */
  async push(entry: DueEntry, job: Extract<Job, { t: "push" }>): Promise<void> {
    const { userId, id, deviceId } = job;
    const [sent, deviceE, itemE, prefsE] = await this.store.kv.getMany<
      [SentMark, Device, InboxItem, Preferences]
    >([
      K.sent(id, userId, deviceId),
      K.device(userId, deviceId),
      K.inboxItem(userId, id),
      K.prefs(userId),
    ]);
    const device = deviceE.value;
    const item = itemE.value;
    if (sent.value || !device || !item) {
      await tryCommit(consume(this.store.kv.atomic(), entry));
      return;
    }
    const scopes = [
      ALL,
      ...(job.b ? [statScope(job.b)] : []),
      ...(item.noticeId ? [item.noticeId] : []),
    ];
    const result = await this.sendTo(device, item, job.silent, job.expiresAt, {
      b: job.b,
      lang: (prefsE.value ?? defaultPreferences()).lang,
      unread: job.unread ?? await this.store.unreadCount(userId),
    });
    const now = Date.now();
    // The device's health goes in the same commit, checked against the device
    // read before the send (nothing to write for a success on a healthy device).
    const health = result.status === "gone" ? null : deviceAfter(device, outcomeOf(result), now);
    const alarm = result.status === "alarm" ? this.alarm(device, result, now) : null;
    if (!health) {
      // The common case (sent to a healthy device, or it is gone): one check
      // (the lease), committed together with other pushes' outcomes. False:
      // our lease was taken over (we were slower than it); nothing more.
      await this.#outcomes.commit((op) =>
        this.#outcome(entry, job, result, scopes, alarm, now, device.kind, op)
      );
      return;
    }
    const op = this.#outcome(entry, job, result, scopes, alarm, now, device.kind);
    op.check(deviceE).set(deviceE.key, health);
    if (await tryCommit(op)) return;
    // Our lease was taken over (we were slower than the lease): nothing more.
    if (result.status === "gone") return;
    if ((await this.store.kv.get(entry.key)).versionstamp !== entry.versionstamp) return;
    // The device changed meanwhile (re-registered): the outcome alone, then
    // the health on the device as it is now.
    if (!(await tryCommit(this.#outcome(entry, job, result, scopes, alarm, now, device.kind)))) {
      return;
    }
    await this.store.recordDeviceResult(userId, deviceId, outcomeOf(result));
  }

  /**
   * The commit of a push's outcome: ledger, counters (the totals and the
   * channel's `sent` on the first attempt, then `delivered`, `failed` or
   * `pruned`, see lib/notify/delivery_stats.ts), and prune, retry or alarm.
   */
  #outcome(
    entry: DueEntry,
    job: Extract<Job, { t: "push" }>,
    result: SendResult,
    scopes: string[],
    alarm: PushAlarmRecord | null,
    now: number,
    channel: Device["kind"],
    op: Deno.AtomicOperation = this.store.kv.atomic(),
  ): Deno.AtomicOperation {
    const { userId, id, deviceId } = job;
    const final = result.status !== "retry" || job.attempt >= MAX_PUSH_ATTEMPTS;
    if (job.attempt === 1) countChannel(op, scopes, channel, "sent", now);
    if (final) {
      const outcome = result.status === "ok"
        ? "delivered"
        : result.status === "gone"
        ? "pruned"
        : "failed";
      countChannel(op, scopes, channel, outcome, now);
    }
    const mark = (outcome: string) =>
      op.set(K.sent(id, userId, deviceId), { status: "sent", at: now, outcome } as SentMark, {
        expireIn: 7 * 86_400_000,
      });
    switch (result.status) {
      case "ok":
        consume(op, entry);
        mark("ok");
        count(op, scopes, { pushed: 1 });
        break;
      case "gone":
        consume(op, entry).delete(K.device(userId, deviceId));
        count(op, scopes, { pruned: 1 });
        break;
      case "retry":
        if (job.attempt < MAX_PUSH_ATTEMPTS) {
          const next: Job = { ...job, attempt: job.attempt + 1 };
          const delay = retryDelayMs(job.attempt, result.retryAfterMs, this.config.pushRetryBaseMs);
          reschedule(op, entry, now + delay, { job: next, lease: undefined });
        } else {
          consume(op, entry);
          count(op, scopes, { failed: 1 });
        }
        break;
      case "alarm":
        // Our credentials are wrong (e.g. Apple's BadJwtToken): never delete the device.
        consume(op, entry);
        mark("alarm");
        if (alarm) op.set(K.alarm("push"), alarm);
        count(op, scopes, { failed: 1 });
        break;
      case "rejected":
        consume(op, entry);
        mark("rejected");
        count(op, scopes, { failed: 1 });
        break;
    }
    return op;
  }

  /**
   * Raise the "our push setup is wrong" alarm (401/403 from a push service):
   * logged, and returned as the record admins are shown (`["alarm","push"]`).
   */
  alarm(
    device: Device,
    result: SendResult & { status: "alarm" },
    now = Date.now(),
  ): PushAlarmRecord {
    this.onAlarm(`${device.kind} ${result.httpStatus ?? ""} ${result.detail}`);
    return {
      at: now,
      httpStatus: result.httpStatus ?? null,
      detail: result.detail.slice(0, 300),
      kind: device.kind,
    };
  }

  /**
   * Send an inbox item to one device now (no ledger: callers keep their own),
   * as a declarative Web Push message (lib/push/declarative.ts): in the
   * recipient's language `ctx.lang`, with the app badge `ctx.unread` (read
   * from the store when not given) and building `ctx.b`.
   */
  async sendTo(
    device: Device,
    item: InboxItem,
    silent: boolean,
    expiresAt?: number,
    ctx: { b?: string; lang?: Lang; unread?: number } = {},
  ): Promise<SendResult> {
    const lang = ctx.lang ?? (await this.preferences(device.userId)).lang;
    const unread = ctx.unread ?? await this.store.unreadCount(device.userId);
    const message = declarativeMessage(item, {
      silent,
      lang,
      unread,
      b: ctx.b,
      channel: device.kind,
    });
    const opts = pushOptions(item.kind, item.tag, Date.now(), expiresAt, item.critical);
    try {
      const json = JSON.stringify(message);
      if (device.kind === "webpush") {
        if (!device.endpoint || !device.keys) {
          return { status: "rejected", detail: "device has no subscription" };
        }
        return await this.webpush.send(
          { endpoint: device.endpoint, keys: device.keys },
          json,
          opts,
        );
      }
      const fcm = await this.fcm();
      if (!fcm) return { status: "alarm", detail: "FCM device but FCM is not configured" };
      if (!device.token) return { status: "rejected", detail: "device has no token" };
      return await fcm.send(device.token, toFcmData(message), {
        ...opts,
        link: this.config.publicUrl ? this.config.publicUrl + message.notification.navigate : "",
      });
    } catch (err) {
      return { status: "retry", retryAfterMs: 5_000, detail: String(err) };
    }
  }

  /** Put a notification straight into a user's inbox (test pushes); shows it on open pages. */
  async toInbox(userId: string, bid: string, n: NotificationSpec): Promise<InboxItem> {
    const prefs = await this.preferences(userId);
    const item = inboxItem(n, prefs.lang, Date.now());
    await this.store.addToInbox(userId, bid, item);
    return item;
  }

  async #done(op: Deno.AtomicOperation, entry: DueEntry): Promise<true | null> {
    return await tryCommit(op) ? true : await this.#goneOrRetry(entry);
  }

  /** After a failed commit: true when the record was consumed elsewhere, null to retry. */
  async #goneOrRetry(entry: DueEntry): Promise<true | null> {
    const now = await this.store.kv.get(entry.key);
    return now.versionstamp !== entry.versionstamp ? true : null;
  }

  /** The FCM sender, created on first use (firebase-admin is large; load it lazily). */
  fcm(): Promise<FcmSender | null> {
    if (!this.fcmFactory) return Promise.resolve(null);
    this.#fcm ??= this.fcmFactory().catch((err) => {
      this.onAlarm(`FCM could not start: ${err}`);
      this.#fcm = null;
      return null;
    });
    return this.#fcm;
  }
}
