/**
 * Delivers one notification to one user, once (SPEC section 3):
 *
 * 1. the inbox entry and a `notification` event on the user's log are written
 *    in one atomic operation keyed by the notification id (a redelivered queue
 *    message finds it and adds nothing);
 * 2. the event goes to the user's open sockets (toast);
 * 3. {@link route} decides push / silent / hold from presence and preferences;
 * 4. each device is claimed in the `sent` ledger before sending, so a
 *    notification reaches a device at most once; outcomes prune (404/410/
 *    UNREGISTERED), retry later (429/5xx, honouring Retry-After), or alarm (403).
 * @module
 */
import type { Config } from "../config.ts";
import type { LogEvent, Store } from "../db.ts";
import type { Lang } from "../i18n.ts";
import type { Hub } from "../realtime.ts";
import type {
  Device,
  InboxItem,
  NotificationKind,
  Preferences,
  PushPayload,
  SendResult,
} from "../types.ts";
import type { FcmSender } from "../push/fcm_sender.ts";
import type { WebPushSender } from "../push/webpush_sender.ts";
import {
  collapseTag,
  defaultPreferences,
  pushOptions,
  route,
  type RouteDecision,
} from "./policy.ts";

/** A notification before it is addressed to a user. */
export interface NotificationDraft {
  /** Stable id: the same notification always has the same id (idempotency). */
  id: string;
  kind: NotificationKind;
  text: (lang: Lang) => { title: string; body: string };
  /** Path to open on click, e.g. `/#m-<id>`. */
  url: string;
  machineId?: string;
  noticeId?: string;
  critical?: boolean;
  sound?: boolean;
  /** The push is pointless after this time (caps TTL). */
  expiresAt?: number;
}

/** What happened to one notification for one user. */
export interface DeliveryReport {
  userId: string;
  id: string;
  duplicate: boolean;
  decision: RouteDecision;
  devices: DeviceOutcome[];
}

/** The outcome on one device. */
export interface DeviceOutcome {
  deviceId: string;
  kind: Device["kind"];
  label: string;
  result: SendResult | { status: "skipped"; detail: string };
}

/** Queue message kinds the notifier owns. */
export type NotifierMessage =
  | {
    t: "push_retry";
    userId: string;
    id: string;
    deviceId: string;
    silent: boolean;
    attempt: number;
  }
  | { t: "push_held"; userId: string; id: string; silent: boolean }
  | { t: "ack_check"; userId: string; id: string };

/** Most UTF-8 bytes of a push payload's JSON (SPEC: under 3 KB of plaintext). */
export const MAX_PAYLOAD_BYTES = 3000;

/**
 * The payload, with its body (then title) cut short with "…" so its JSON
 * fits in {@link MAX_PAYLOAD_BYTES}. The inbox keeps the full text.
 */
export function fitPayload(p: PushPayload, max = MAX_PAYLOAD_BYTES): PushPayload {
  const enc = new TextEncoder();
  const fits = (x: PushPayload) => enc.encode(JSON.stringify(x)).length <= max;
  let out = p;
  for (const field of ["body", "title"] as const) {
    if (fits(out)) return out;
    const chars = Array.from(out[field]); // code points: never split a pair
    const cut = (n: number) => ({ ...out, [field]: n > 0 ? chars.slice(0, n).join("") + "…" : "" });
    let lo = 0; // longest prefix known to fit (0 = empty)
    let hi = chars.length - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (fits(cut(mid))) lo = mid;
      else hi = mid - 1;
    }
    out = cut(lo);
  }
  return out;
}

/** Attempts per device before a retryable failure counts as failed. */
export const MAX_PUSH_ATTEMPTS = 5;
/** Longest wait between push retries. */
export const MAX_RETRY_DELAY_MS = 10 * 60_000;

/** Sends notifications; one per process. */
export class Notifier {
  #fcm: Promise<FcmSender | null> | null = null;
  /** Alarm hook (defaults to console.error): our push setup is wrong. */
  onAlarm: (msg: string) => void = (msg) => console.error(`ALARM push: ${msg}`);

  /** Wire the notifier to the store, hub and transports. */
  constructor(
    readonly store: Store,
    readonly hub: Hub,
    readonly config: Config,
    readonly webpush: WebPushSender,
    readonly fcmFactory: (() => Promise<FcmSender | null>) | null,
    readonly enqueue: (msg: NotifierMessage, delayMs: number) => Promise<void>,
  ) {}

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
   * Put a draft in the user's inbox in their language (once: a second call
   * with the same id returns the stored item and no event) and show it on
   * their open pages.
   */
  async toInbox(
    userId: string,
    draft: NotificationDraft,
    prefs?: Preferences,
    now = Date.now(),
  ): Promise<{ item: InboxItem; event: LogEvent | null }> {
    const { title, body } = draft.text((prefs ?? await this.preferences(userId)).lang);
    const item: InboxItem = {
      id: draft.id,
      kind: draft.kind,
      title,
      body,
      url: draft.url,
      tag: collapseTag(draft.kind, draft.machineId, draft.noticeId),
      machineId: draft.machineId,
      noticeId: draft.noticeId,
      critical: draft.critical,
      createdAt: now,
    };
    const event = await this.store.addToInbox(userId, item);
    if (event) this.hub.publish([event], userId);
    const stored = event ? item : (await this.store.getInboxItem(userId, draft.id)) ?? item;
    return { item: stored, event };
  }

  /**
   * Deliver a notification to a user: inbox + in-app event always, push as
   * routed. `statScopes` are counter scopes to add to (e.g. a notice id).
   */
  async notify(
    userId: string,
    draft: NotificationDraft,
    statScopes: string[] = [],
  ): Promise<DeliveryReport> {
    const now = Date.now();
    const prefs = await this.preferences(userId);
    const { item: stored, event } = await this.toInbox(userId, draft, prefs, now);
    const presence = await this.presence(userId);
    const decision = route(
      { kind: draft.kind, critical: draft.critical, sound: draft.sound },
      prefs,
      presence,
      now,
    );
    const scopes = ["all", ...statScopes];
    if (event) {
      await this.store.countDelivery(scopes, { recipients: 1, inApp: decision.inApp ? 1 : 0 });
    }
    const report: DeliveryReport = {
      userId,
      id: draft.id,
      duplicate: !event,
      decision,
      devices: [],
    };
    if (!decision.push) {
      // In-app only because a page looked visible: if that page does not
      // confirm it soon (the connection dropped silently), push after all.
      if (decision.reason === "visible" && event) {
        await this.enqueue({ t: "ack_check", userId, id: draft.id }, this.config.ackTimeoutMs);
      }
      return report;
    }
    if (decision.holdUntil !== undefined && decision.holdUntil > now) {
      if (event) {
        await this.enqueue(
          { t: "push_held", userId, id: draft.id, silent: decision.silent },
          decision.holdUntil - now,
        );
        await this.store.countDelivery(scopes, { held: 1 });
      }
      return report;
    }
    report.devices = await this.pushToDevices(
      userId,
      stored,
      decision.silent,
      draft.expiresAt,
      scopes,
    );
    return report;
  }

  /** Push an inbox item to every device of the user (each at most once). */
  async pushToDevices(
    userId: string,
    item: InboxItem,
    silent: boolean,
    expiresAt?: number,
    scopes: string[] = ["all"],
  ): Promise<DeviceOutcome[]> {
    const devices = await this.store.listDevices(userId);
    return await Promise.all(
      devices.map((d) => this.pushToDevice(d, item, silent, 1, expiresAt, scopes)),
    );
  }

  /** Push one item to one device, recording the outcome. */
  async pushToDevice(
    device: Device,
    item: InboxItem,
    silent: boolean,
    attempt: number,
    expiresAt?: number,
    scopes: string[] = ["all"],
  ): Promise<DeviceOutcome> {
    const base = { deviceId: device.deviceId, kind: device.kind, label: device.label };
    if (!(await this.store.claimSend(item.id, device.deviceId))) {
      return { ...base, result: { status: "skipped", detail: "already sent" } };
    }
    const payload: PushPayload = fitPayload({
      id: item.id,
      kind: item.kind,
      title: item.title,
      body: item.body,
      tag: item.tag,
      url: item.url,
      silent,
      critical: item.critical,
      ts: item.createdAt,
    });
    const opts = pushOptions(item.kind, item.tag, Date.now(), expiresAt, item.critical);
    let result: SendResult;
    try {
      result = await this.#send(device, payload, opts);
    } catch (err) {
      result = { status: "retry", retryAfterMs: 5_000, detail: String(err) };
    }
    await this.#record(device, item, silent, attempt, result, scopes);
    return { ...base, result };
  }

  async #send(
    device: Device,
    payload: PushPayload,
    opts: ReturnType<typeof pushOptions>,
  ): Promise<SendResult> {
    const json = JSON.stringify(payload);
    if (device.kind === "webpush") {
      if (!device.endpoint || !device.keys) {
        return { status: "rejected", detail: "device has no subscription" };
      }
      return await this.webpush.send({ endpoint: device.endpoint, keys: device.keys }, json, opts);
    }
    const fcm = await this.fcm();
    if (!fcm) return { status: "alarm", detail: "FCM device but FCM is not configured" };
    if (!device.token) return { status: "rejected", detail: "device has no token" };
    return await fcm.send(device.token, payload, { ...opts, link: payload.url });
  }

  async #record(
    device: Device,
    item: InboxItem,
    silent: boolean,
    attempt: number,
    result: SendResult,
    scopes: string[],
  ): Promise<void> {
    const { userId, deviceId } = device;
    switch (result.status) {
      case "ok":
        await this.store.finishSend(item.id, deviceId, true);
        await this.store.recordDeviceResult(userId, deviceId, true);
        await this.store.countDelivery(scopes, { pushed: 1 });
        return;
      case "gone":
        await this.store.finishSend(item.id, deviceId, false);
        await this.store.deleteDevice(userId, deviceId);
        await this.store.countDelivery(scopes, { pruned: 1 });
        return;
      case "retry":
        await this.store.finishSend(item.id, deviceId, false);
        await this.store.recordDeviceResult(userId, deviceId, false, result.detail);
        if (attempt < MAX_PUSH_ATTEMPTS) {
          const backoff = Math.min(MAX_RETRY_DELAY_MS, 1000 * 2 ** attempt);
          await this.enqueue(
            { t: "push_retry", userId, id: item.id, deviceId, silent, attempt: attempt + 1 },
            Math.min(MAX_RETRY_DELAY_MS, Math.max(result.retryAfterMs, backoff)),
          );
        } else {
          await this.store.countDelivery(scopes, { failed: 1 });
        }
        return;
      case "alarm":
        // Our credentials are wrong (e.g. Apple's BadJwtToken): never delete the device.
        this.onAlarm(`${device.kind} ${result.httpStatus ?? ""} ${result.detail}`);
        await this.store.finishSend(item.id, deviceId, true);
        await this.store.recordDeviceResult(userId, deviceId, false, result.detail);
        await this.store.countDelivery(scopes, { failed: 1 });
        return;
      case "rejected":
        await this.store.finishSend(item.id, deviceId, true);
        await this.store.recordDeviceResult(userId, deviceId, false, result.detail);
        await this.store.countDelivery(scopes, { failed: 1 });
        return;
    }
  }

  /** Handle a notifier queue message (retries and held pushes). */
  async handle(msg: NotifierMessage): Promise<void> {
    const item = await this.store.getInboxItem(msg.userId, msg.id);
    if (!item) return;
    const scopes = item.noticeId ? ["all", item.noticeId] : ["all"];
    if (msg.t === "push_held") {
      await this.pushToDevices(msg.userId, item, msg.silent, undefined, scopes);
      return;
    }
    if (msg.t === "ack_check") {
      if (await this.store.isAcked(msg.userId, msg.id)) return;
      const prefs = await this.preferences(msg.userId);
      const again = route(
        { kind: item.kind, critical: item.critical },
        prefs,
        { connected: false, visible: false },
        Date.now(),
      );
      if (again.push && again.holdUntil === undefined) {
        await this.pushToDevices(msg.userId, item, again.silent, undefined, scopes);
      }
      return;
    }
    const device = await this.store.getDevice(msg.userId, msg.deviceId);
    if (!device) return;
    await this.pushToDevice(device, item, msg.silent, msg.attempt, undefined, scopes);
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
