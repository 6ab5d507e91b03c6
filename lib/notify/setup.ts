/**
 * Builds the notification stack for a server: VAPID keys (environment, else
 * generated once and kept in KV), the Web Push and (lazily) FCM senders, the
 * notifier, the service, and the due-index worker with its alarm clocks
 * (timer + `kv.watch`, and a delayed KV queue message where queues work).
 * @module
 */
import { LEGACY_BUILDING } from "../migrate.ts";
import type { Config } from "../config.ts";
import type { AppContext } from "../context.ts";
import type { Store } from "../db/mod.ts";
import { DueWorker, isWakeMessage } from "../outbox.ts";
import { due } from "./plan.ts";
import { FcmSender, type FcmSenderOptions } from "../push/fcm_sender.ts";
import { generateVapidKeys, type VapidKeys, WebPushSender } from "../push/webpush_sender.ts";
import { Notifier } from "./notifier.ts";
import { NotificationService } from "./service.ts";

/** The default VAPID subject; a warning is logged while it is in force. */
export const DEFAULT_VAPID_SUBJECT = "mailto:webpush-admin@example.com";

/** VAPID keys from the environment, else from KV (generated on first start). */
export async function loadVapidKeys(store: Store, config: Config): Promise<VapidKeys> {
  if (config.vapidPublicKey && config.vapidPrivateKey) {
    return { publicKey: config.vapidPublicKey, privateKey: config.vapidPrivateKey };
  }
  const stored = await store.getConfig<VapidKeys>("vapid");
  return stored ?? await store.initConfig("vapid", await generateVapidKeys());
}

/** Options tests use to point FCM at a local fake server. */
export interface NotifySetupOptions {
  fcm?: Partial<FcmSenderOptions>;
  /** Run the due-index worker (default true; tests that step it by hand turn it off). */
  worker?: boolean;
}

/**
 * Whether this KV handle has queues: `KV_QUEUES=off` says no; otherwise try
 * one enqueue (the current Deno Deploy and KV Connect refuse it).
 */
export async function detectQueues(kv: Deno.Kv, config: Config): Promise<boolean> {
  if (config.kvQueues === "off") return false;
  try {
    await kv.enqueue({ t: "wake" });
    return true;
  } catch {
    return false;
  }
}

/**
 * A queue message of the previous release (reminder `tick`s and scheduled
 * `notice`s were queue messages then, of the one building that release
 * had): turned into due records of that building, so an upgrade loses none
 * of them.
 */
export function legacyJob(msg: unknown): ReturnType<typeof due> | null {
  if (typeof msg !== "object" || msg === null) return null;
  const m = msg as { t?: string; machineId?: string; useId?: string; id?: string };
  if (m.t === "tick" && typeof m.machineId === "string") {
    return due(
      { t: "tick", b: LEGACY_BUILDING, machineId: m.machineId, useId: m.useId },
      Date.now(),
    );
  }
  if (m.t === "notice" && typeof m.id === "string") {
    return due({ t: "notice", b: LEGACY_BUILDING, noticeId: m.id }, Date.now());
  }
  return null;
}

/** Create the notifier, service and due-index worker; start the worker. */
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
  const webpush = new WebPushSender({ ...keys, subject, timeoutMs: config.pushTimeoutMs });
  const fcmConfigured = !!config.firebaseServiceAccount || !!opts.fcm;
  const fcmFactory = fcmConfigured
    ? () => FcmSender.create({ serviceAccount: config.firebaseServiceAccount, ...opts.fcm })
    : null;
  const notifier = new Notifier(store, ctx.hub, config, webpush, fcmFactory);
  if (config.smtpUrl) {
    // nodemailer is loaded only where email is configured.
    const { setupEmail } = await import("../mail/setup.ts");
    const mail = setupEmail(store, config);
    notifier.email = mail.channel;
    ctx.emailAccounts = mail.accounts;
    ctx.onClose.push(() => Promise.resolve(mail.transport.close()));
  }
  const service = new NotificationService(store, notifier, config);
  const worker = new DueWorker(store.kv, {
    instance: ctx.hub.instance,
    handle: (entry, w) => service.handle(entry, w),
    // Outside effects: a push and an email are leased while they are sent.
    leased: (job) => job.t === "push" || job.t === "email",
    leaseMs: Math.max(config.pushLeaseMs, config.pushTimeoutMs * 2),
    concurrency: config.pushConcurrency,
  });
  if (opts.worker !== false) {
    store.queues = await detectQueues(store.kv, config);
    if (store.queues) {
      store.kv.listenQueue(async (msg: unknown) => {
        if (isWakeMessage(msg)) return worker.poke();
        const legacy = legacyJob(msg);
        if (legacy) {
          const op = store.kv.atomic();
          store.addDue(op, [legacy]);
          await op.commit();
        }
      });
    }
    worker.start();
    ctx.onClose.push(() => worker.stop());
  }
  ctx.notifier = notifier;
  ctx.notifications = service;
  ctx.worker = worker;
  ctx.vapidPublicKey = keys.publicKey;
  return { notifier, service, vapidPublicKey: keys.publicKey };
}
