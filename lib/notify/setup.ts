/**
 * Builds the notification stack for a server: VAPID keys (environment, else
 * generated once and kept in KV), the Web Push and (lazily) FCM senders, the
 * notifier, the service and its queue listener.
 * @module
 */
import type { Config } from "../config.ts";
import type { AppContext } from "../context.ts";
import type { Store } from "../db.ts";
import { FcmSender, type FcmSenderOptions } from "../push/fcm_sender.ts";
import { generateVapidKeys, type VapidKeys, WebPushSender } from "../push/webpush_sender.ts";
import { Notifier } from "./notifier.ts";
import { NotificationService, type QueueMessage } from "./service.ts";

/** The default VAPID subject; a warning is logged while it is in force. */
export const DEFAULT_VAPID_SUBJECT = "mailto:webpush-admin@example.com";

/** VAPID keys from the environment, else from KV (generated on first start). */
export async function loadVapidKeys(store: Store, config: Config): Promise<VapidKeys> {
  if (config.vapidPublicKey && config.vapidPrivateKey) {
    return { publicKey: config.vapidPublicKey, privateKey: config.vapidPrivateKey };
  }
  const stored = await store.getConfig<VapidKeys>("vapid");
  return stored ?? await store.initConfig("vapid", generateVapidKeys());
}

/** Options tests use to point FCM at a local fake server. */
export interface NotifySetupOptions {
  fcm?: Partial<FcmSenderOptions>;
  /** Listen on the KV queue (one listener per KV handle). */
  listen?: boolean;
}

/** Is the message one of ours? (Queue values are untyped.) */
function isQueueMessage(v: unknown): v is QueueMessage {
  return typeof v === "object" && v !== null && typeof (v as { t?: unknown }).t === "string";
}

/** Create the notifier and service, attach them to the board, start the queue listener. */
export async function setupNotifications(
  ctx: AppContext,
  opts: NotifySetupOptions = {},
): Promise<{ notifier: Notifier; service: NotificationService; vapidPublicKey: string }> {
  const { store, config } = ctx;
  const keys = await loadVapidKeys(store, config);
  const subject = config.vapidSubject ?? DEFAULT_VAPID_SUBJECT;
  if (!config.vapidSubject) {
    console.warn(
      `warning: VAPID_SUBJECT is not set; using ${DEFAULT_VAPID_SUBJECT}. ` +
        "Set it to a mailto: or https: contact you own (Apple rejects invalid subjects).",
    );
  }
  const webpush = new WebPushSender({ ...keys, subject });
  const fcmConfigured = !!config.firebaseServiceAccount || !!opts.fcm;
  const fcmFactory = fcmConfigured
    ? () => FcmSender.create({ serviceAccount: config.firebaseServiceAccount, ...opts.fcm })
    : null;
  const enqueue = async (msg: QueueMessage, delayMs: number) => {
    await store.kv.enqueue(msg, { delay: Math.max(0, Math.round(delayMs)) });
  };
  const inflight = new Set<Promise<void>>();
  const notifier = new Notifier(store, ctx.hub, config, webpush, fcmFactory, enqueue);
  const service = new NotificationService(store, ctx.board, notifier, config, enqueue);
  service.attach();
  if (opts.listen ?? config.background) {
    store.kv.listenQueue(async (msg: unknown) => {
      if (!isQueueMessage(msg)) return;
      const work = service.handle(msg);
      inflight.add(work);
      try {
        await work;
      } finally {
        inflight.delete(work);
      }
    });
  }
  // Let the server finish running handlers before it closes the KV handle.
  ctx.onClose.push(async () => {
    await Promise.allSettled([...inflight]);
  });
  ctx.notifier = notifier;
  ctx.notifications = service;
  ctx.vapidPublicKey = keys.publicKey;
  return { notifier, service, vapidPublicKey: keys.publicKey };
}
