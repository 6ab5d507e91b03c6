/**
 * Push notifications in the browser: the service worker registration, this
 * browser's device id, permission and subscription (Web Push with our VAPID
 * key, or FCM when the server hands out a Firebase web config), keeping the
 * server's device list up to date, and logout.
 *
 * Rules (SPEC section 3, "Devices and tokens"):
 * - A device id is generated once per browser and kept in localStorage (and
 *   mirrored into the `ll-meta` cache for the service worker, which has no
 *   localStorage and needs it on `pushsubscriptionchange`).
 * - Permission is asked only from a user gesture ({@linkcode enablePush} is
 *   called from a click handler).
 * - `pushManager.subscribe()` may never settle (no route to the push
 *   service): it is given {@linkcode SUBSCRIBE_TIMEOUT_MS}, then the user is
 *   told (`bell.timeout`).
 * - On every app open, a granted and existing subscription is sent again
 *   (`PUT /api/push/devices/:deviceId`), so the server's copy heals itself.
 * - Off = unsubscribe here and `DELETE` the device; logout sends the device id
 *   so the server deletes its subscription.
 * @module
 */
import { api } from "./api.ts";
import type { PushAvailability } from "../lib/platform.ts";
import { availability, ENABLED_KEY, LOGOUT_EVENT } from "./env.ts";
import { base64UrlToBytes } from "../lib/base64url.ts";

export { availability, ENABLED_KEY, isStandalone } from "./env.ts";

/** localStorage: this browser's device id. */
export const DEVICE_KEY = "ll.deviceId";
/** sessionStorage: set once the subscription was re-sent in this app session. */
const SYNCED_KEY = "ll.pushSynced";
/** How long `pushManager.subscribe()` (or FCM's getToken) may take. */
export const SUBSCRIBE_TIMEOUT_MS = 10_000;
/** Cache and key the service worker reads the device from (see sw.ts). */
const META_CACHE = "ll-meta";
const META_DEVICE = "/__ll/device";

/** What the bell shows. */
export type PushState =
  | Exclude<PushAvailability, "ok">
  | "blocked"
  | "off"
  | "on";

/** Why switching on failed. */
export type EnableError = "denied" | "blocked" | "timeout" | "unsupported" | "error";

/** The result of {@linkcode enablePush}. */
export type EnableResult =
  | { ok: true; kind: "webpush" | "fcm"; fellBack?: boolean }
  | { ok: false; error: EnableError; detail?: string };

/** `GET /api/push/config`. */
interface PushConfig {
  vapidPublicKey: string | null;
  firebase: (Record<string, string> & { vapidKey?: string }) | null;
}

/** Rejects with an `Error("timeout")` when `p` takes longer than `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

function storage(): Storage | null {
  let s: Storage | null = null;
  try {
    s = globalThis.localStorage; // throws where storage is disabled
  } catch { /* no storage */ }
  return s;
}

/** Register `/sw.js` (every page calls this; browsers dedupe). */
export function registerServiceWorker(): void {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((err) => {
    console.warn("service worker registration failed:", err);
  });
}

/** This browser's device id (created on first use). */
export function deviceId(): string {
  const s = storage();
  let id = s?.getItem(DEVICE_KEY) ?? "";
  if (!/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    id = "d" + btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
      .replace(/=+$/, "");
    s?.setItem(DEVICE_KEY, id);
  }
  return id;
}

async function rememberForWorker(kind: "webpush" | "fcm" | null): Promise<void> {
  try {
    const cache = await caches.open(META_CACHE);
    if (kind) {
      await cache.put(
        META_DEVICE,
        new Response(JSON.stringify({ deviceId: deviceId(), kind }), {
          headers: { "content-type": "application/json" },
        }),
      );
    } else await cache.delete(META_DEVICE);
  } catch { /* no Cache Storage (private mode): renewal waits for the next app open */ }
}

function enabledKind(): "webpush" | "fcm" | null {
  try {
    const v = JSON.parse(storage()?.getItem(ENABLED_KEY) ?? "null");
    return v?.kind === "webpush" || v?.kind === "fcm" ? v.kind : null;
  } catch {
    return null;
  }
}

function setEnabled(kind: "webpush" | "fcm" | null): void {
  if (kind) storage()?.setItem(ENABLED_KEY, JSON.stringify({ kind }));
  else storage()?.removeItem(ENABLED_KEY);
}

async function registration(): Promise<ServiceWorkerRegistration> {
  registerServiceWorker();
  return await navigator.serviceWorker.ready;
}

async function existingSubscription(): Promise<PushSubscription | null> {
  if (!("serviceWorker" in navigator)) return null;
  const reg = await navigator.serviceWorker.getRegistration("/");
  return (await reg?.pushManager.getSubscription()) ?? null;
}

/** The state the bell shows now. */
export async function pushState(): Promise<PushState> {
  const a = availability();
  if (a !== "ok") return a;
  if (Notification.permission === "denied") return "blocked";
  if (Notification.permission !== "granted") return "off";
  const kind = enabledKind();
  if (!kind) return "off";
  if (kind === "fcm") return "on";
  try {
    return (await withTimeout(existingSubscription(), 3000)) ? "on" : "off";
  } catch {
    return "off";
  }
}

async function sendWebPush(sub: PushSubscription): Promise<void> {
  const json = sub.toJSON();
  await api("PUT", `/api/push/devices/${deviceId()}`, {
    kind: "webpush",
    subscription: { endpoint: json.endpoint ?? sub.endpoint, keys: json.keys },
  });
}

async function subscribeWebPush(config: PushConfig, ms: number): Promise<PushSubscription> {
  if (!config.vapidPublicKey) throw new Error("no VAPID key");
  const reg = await withTimeout(registration(), ms);
  const existing = await reg.pushManager.getSubscription();
  if (existing) return existing;
  return await withTimeout(
    reg.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: base64UrlToBytes(config.vapidPublicKey)!,
    }),
    ms,
  );
}

async function subscribeFcm(config: PushConfig, ms: number): Promise<string> {
  const reg = await withTimeout(registration(), ms);
  // The Firebase SDK is a lazily loaded chunk: only browsers of FCM-configured servers fetch it.
  const { fcmToken } = await import("./fcm.ts");
  return await withTimeout(fcmToken(config.firebase!, reg), ms);
}

/**
 * Switch push on for this browser. Call it from a click handler: it asks
 * for permission (only here), subscribes (FCM when configured, else Web
 * Push), and registers the device with the server.
 */
export async function enablePush(): Promise<EnableResult> {
  if (availability() !== "ok") return { ok: false, error: "unsupported" };
  if (Notification.permission === "denied") return { ok: false, error: "blocked" };
  let permission: NotificationPermission = Notification.permission;
  if (permission !== "granted") {
    permission = await Notification.requestPermission();
    if (permission !== "granted") {
      return { ok: false, error: permission === "denied" ? "blocked" : "denied" };
    }
  }
  const ms = SUBSCRIBE_TIMEOUT_MS;
  try {
    const config = await api<PushConfig>("GET", "/api/push/config");
    let fellBack = false;
    if (config.firebase) {
      try {
        const token = await subscribeFcm(config, ms);
        await api("PUT", `/api/push/devices/${deviceId()}`, { kind: "fcm", token });
        setEnabled("fcm");
        await rememberForWorker("fcm");
        return { ok: true, kind: "fcm" };
      } catch (err) {
        console.warn("FCM registration failed; using Web Push:", err);
        fellBack = true;
      }
    }
    const sub = await subscribeWebPush(config, ms);
    await sendWebPush(sub);
    setEnabled("webpush");
    await rememberForWorker("webpush");
    sessionStorage.setItem(SYNCED_KEY, "1");
    return { ok: true, kind: "webpush", fellBack };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return { ok: false, error: msg === "timeout" ? "timeout" : "error", detail: msg };
  }
}

/** Switch push off for this browser: unsubscribe and delete the device on the server. */
export async function disablePush(): Promise<void> {
  const kind = enabledKind();
  setEnabled(null);
  await rememberForWorker(null);
  try {
    if (kind === "fcm") {
      const config = await api<PushConfig>("GET", "/api/push/config");
      if (config.firebase) {
        const { fcmDelete } = await import("./fcm.ts");
        await withTimeout(fcmDelete(config.firebase), 5000);
      }
    }
    const sub = await withTimeout(existingSubscription(), 3000);
    await sub?.unsubscribe();
  } catch { /* the server copy is removed below either way */ }
  await api("DELETE", `/api/push/devices/${deviceId()}`).catch(() => {});
}

/**
 * On app open: if push is on here, send the current subscription again
 * (once per app session), so a server that lost or pruned it gets it back,
 * and an endpoint the browser rotated is replaced. A subscription the
 * browser dropped is renewed silently (permission is already granted).
 */
export async function resyncPush(force = false): Promise<PushState> {
  const state = await pushState();
  let kind = enabledKind();
  if (availability() !== "ok" || Notification.permission !== "granted") return state;
  if (kind === null) {
    // Permission granted and a subscription exists, but this browser forgot it was on
    // (storage cleared): it is on; tell the server again.
    const sub = await withTimeout(existingSubscription(), 3000).catch(() => null);
    if (!sub) return state;
    kind = "webpush";
    setEnabled(kind);
  }
  if (!force && sessionStorage.getItem(SYNCED_KEY)) return state;
  try {
    const config = await api<PushConfig>("GET", "/api/push/config");
    if (kind === "fcm" && config.firebase) {
      const token = await subscribeFcm(config, SUBSCRIBE_TIMEOUT_MS);
      await api("PUT", `/api/push/devices/${deviceId()}`, { kind: "fcm", token });
    } else {
      const sub = await subscribeWebPush(config, SUBSCRIBE_TIMEOUT_MS);
      await sendWebPush(sub);
      if (kind !== "webpush") setEnabled("webpush");
    }
    await rememberForWorker(enabledKind());
    sessionStorage.setItem(SYNCED_KEY, "1");
    return "on";
  } catch (err) {
    console.warn("push re-sync failed:", err);
    return await pushState();
  }
}

/**
 * Log out: the server deletes this browser's device (SPEC: logout deletes
 * that device's subscription) and the session; this browser unsubscribes
 * and forgets the signed-in user's cached pages and board snapshot.
 */
export async function logout(): Promise<void> {
  dispatchEvent(new Event(LOGOUT_EVENT));
  const id = storage()?.getItem(DEVICE_KEY);
  await api("POST", "/api/auth/logout", id ? { deviceId: id } : {}).catch(() => {});
  setEnabled(null);
  try {
    sessionStorage.removeItem(SYNCED_KEY);
    storage()?.removeItem("ll.board");
    await rememberForWorker(null);
    await caches.delete("ll-pages");
    const sub = await withTimeout(existingSubscription(), 3000);
    await sub?.unsubscribe();
  } catch { /* best effort */ }
  location.assign("/login");
}
