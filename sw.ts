/**
 * LaundryLive's service worker: offline app shell, push notifications,
 * notification clicks and subscription renewal.
 *
 * Built by lib/build.ts with esbuild as a classic script (IIFE) and served at
 * `/sw.js` (unhashed, `Cache-Control: no-cache`, `Service-Worker-Allowed: /`).
 * Every decision is a pure function in lib/sw_logic.ts (tested there); this
 * file only wires them to the worker's events.
 *
 * Caches (named after the build, old ones deleted on activate):
 * - `ll-app-<version>`: the build's `/_app/` files, icons and manifest,
 *   precached on install and served cache-first.
 * - `ll-pages`: the last good copy of each page (network first; the copy
 *   answers when offline, else a small offline page) and the last
 *   `GET /api/machines` snapshot. Pages are per user, so the app deletes
 *   this cache on logout.
 * - `ll-meta`: `/__ll/device` holds `{deviceId, kind}` written by the page
 *   (client/push.ts), because a worker has no localStorage; used by
 *   `pushsubscriptionchange` and the click report. `/__ll/acted/<id>/<action>`
 *   marks a notification's action button handled (a second delivery of the
 *   same click does nothing); `/__ll/badge` the app badge last set.
 * No other API call and never `/ws` goes through a cache.
 * @module
 */
/// <reference lib="webworker" />
import {
  buildNotification,
  cachedPageMayAnswer,
  cacheStrategy,
  type ClickData,
  clickReport,
  clickTarget,
  type NotificationSpec,
  offlinePage,
  pageCacheKey,
  parsePushData,
  performAction,
  precacheList,
  workerLang,
} from "./lib/sw_logic.ts";
import { base64UrlToBytes } from "./lib/base64url.ts";
import type { Lang } from "./lib/i18n.ts";

/** Build hash of the app files (lib/build.ts defines it): name caches after it. */
declare const __LL_VERSION__: string;
/** Every `/_app/` URL of this build (lib/build.ts defines it), for precaching. */
declare const __LL_ASSETS__: string[];

const sw = self as unknown as ServiceWorkerGlobalScope;

const APP_CACHE = `ll-app-${__LL_VERSION__}`;
const PAGE_CACHE = "ll-pages";
const META_CACHE = "ll-meta";
const DEVICE_KEY = "/__ll/device";
/** A navigation waits this long for the network before a cached copy answers. */
const PAGE_TIMEOUT_MS = 4000;

const LANG_KEY = "/__ll/lang";
const BADGE_KEY = "/__ll/badge";
/** The user's language as the last page said, kept across worker restarts. */
let savedLang: string | null | undefined;

async function lang(): Promise<Lang> {
  if (savedLang === undefined) {
    const res = await (await caches.open(META_CACHE)).match(LANG_KEY).catch(() => undefined);
    savedLang = res ? await res.text() : null;
  }
  return workerLang(sw.navigator?.language, savedLang);
}

/** Remember the language of a page the server sent. */
async function rememberLang(res: Response): Promise<void> {
  const l = res.headers.get("content-language");
  if ((l !== "ko" && l !== "en") || l === savedLang) return;
  savedLang = l;
  await (await caches.open(META_CACHE)).put(LANG_KEY, new Response(l)).catch(() => {});
}

sw.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(APP_CACHE);
    // One failing file must not block the install: cache what can be fetched.
    await Promise.all(
      precacheList(__LL_ASSETS__).map((url) => cache.add(url).catch(() => undefined)),
    );
    await sw.skipWaiting();
  })());
});

sw.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("ll-app-") && name !== APP_CACHE) await caches.delete(name);
    }
    await sw.clients.claim();
  })());
});

// ───────────────────────────── fetch ─────────────────────────────

sw.addEventListener("fetch", (event) => {
  const req = event.request;
  const strategy = cacheStrategy(
    { method: req.method, url: req.url, mode: req.mode },
    sw.location.origin,
  );
  switch (strategy) {
    case "asset":
      event.respondWith(cacheFirst(req));
      break;
    case "static":
      event.respondWith(staleWhileRevalidate(req));
      break;
    case "page":
      event.respondWith(page(req));
      break;
    case "snapshot":
      event.respondWith(snapshot(req));
      break;
    default:
      // "network": not ours; the browser fetches it as if there were no worker.
      break;
  }
});

async function cacheFirst(req: Request): Promise<Response> {
  const hit = await caches.match(req);
  if (hit) return hit;
  const res = await fetch(req);
  if (res.ok) {
    const copy = res.clone();
    caches.open(APP_CACHE).then((c) => c.put(req, copy)).catch(() => {});
  }
  return res;
}

async function staleWhileRevalidate(req: Request): Promise<Response> {
  const cache = await caches.open(APP_CACHE);
  const hit = await cache.match(req);
  const fresh = fetch(req).then((res) => {
    if (res.ok) cache.put(req, res.clone()).catch(() => {});
    return res;
  });
  if (hit) {
    fresh.catch(() => {});
    return hit;
  }
  return fresh;
}

/** Network first for pages; the last good copy when offline or very slow. */
async function page(req: Request): Promise<Response> {
  const cache = await caches.open(PAGE_CACHE);
  const key = pageCacheKey(req.url);
  const cached = cachedPageMayAnswer(req.url) ? await cache.match(key) : undefined;
  const network = fetch(req).then(async (res) => {
    // Keep real pages only: not redirects (to /login) or errors.
    if (res.ok && res.type === "basic" && !res.redirected) {
      await cache.put(key, res.clone()).catch(() => {});
    }
    if (res.ok && res.type === "basic") await rememberLang(res);
    return res;
  });
  try {
    if (!cached) return await network;
    let timer = 0;
    const slow = new Promise<null>((resolve) => {
      timer = Number(setTimeout(() => resolve(null), PAGE_TIMEOUT_MS));
    });
    const res = await Promise.race([network, slow]);
    clearTimeout(timer);
    if (res) return res;
    network.catch(() => {});
    return cached;
  } catch {
    if (cached) return cached;
    const style = __LL_ASSETS__.find((a) => /\/style-[^/]*\.css$/.test(a)) ?? null;
    const u = new URL(req.url);
    return new Response(
      offlinePage(await lang(), style, {
        path: u.pathname + u.search,
        reason: navigator.onLine === false ? "offline" : "unreachable",
      }),
      {
        status: 503,
        headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
      },
    );
  }
}

/** GET /api/machines: network first, the last snapshot when offline. */
async function snapshot(req: Request): Promise<Response> {
  const cache = await caches.open(PAGE_CACHE);
  try {
    const res = await fetch(req);
    if (res.ok) await cache.put(pageCacheKey(req.url), res.clone()).catch(() => {});
    return res;
  } catch (err) {
    const hit = await cache.match(pageCacheKey(req.url));
    if (!hit) throw err;
    const headers = new Headers(hit.headers);
    headers.set("x-ll-stale", "1");
    return new Response(hit.body, { status: hit.status, headers });
  }
}

// ───────────────────────────── push ─────────────────────────────

/** Set (or clear, at 0) the app icon's badge where the browser has one; remember it. */
async function setBadge(n: number): Promise<void> {
  const nav = sw.navigator as WorkerNavigator & {
    setAppBadge?: (n?: number) => Promise<void>;
    clearAppBadge?: () => Promise<void>;
  };
  try {
    if (n > 0) await nav.setAppBadge?.(n);
    else await nav.clearAppBadge?.();
  } catch { /* no badge here (Android, Firefox) or no permission */ }
  await (await caches.open(META_CACHE)).put(BADGE_KEY, new Response(String(n))).catch(() => {});
}

/** Show a notification, falling back to the plainest form if an option is refused. */
async function show(n: NotificationSpec): Promise<void> {
  try {
    await sw.registration.showNotification(n.title, n.options as NotificationOptions);
  } catch {
    await sw.registration.showNotification(n.title, {
      body: n.options.body,
      icon: n.options.icon,
      data: n.options.data,
    });
  }
}

sw.addEventListener("push", (event) => {
  // Always show something: iOS revokes the permission of a worker that doesn't.
  // A declarative message (lib/push/declarative.ts) is shown as it says, with
  // the kind's action buttons added; Safari shows it even without us.
  event.waitUntil((async () => {
    let raw: unknown = null;
    try {
      raw = event.data?.json();
    } catch {
      try {
        raw = event.data?.text() ?? null;
      } catch { /* no data */ }
    }
    const payload = parsePushData(raw, sw.location.origin);
    let tagShowing = false;
    if (payload?.tag) {
      try {
        tagShowing = (await sw.registration.getNotifications({ tag: payload.tag })).length > 0;
      } catch { /* getNotifications unsupported */ }
    }
    const n = buildNotification(payload, { lang: await lang(), tagShowing });
    await Promise.all([
      show(n),
      payload?.badge !== undefined ? setBadge(payload.badge) : undefined,
    ]);
  })());
});

/** Tell the server about a click or an action (counted once; the item becomes read). */
async function report(data: Partial<ClickData> | null, action: string): Promise<void> {
  const body = clickReport(data, action, (await storedDevice())?.deviceId ?? null);
  if (!body) return;
  try {
    const res = await fetch("/api/push/report", {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "content-type": "application/json",
        ...(data?.b ? { "x-building": data.b } : {}),
      },
      body: JSON.stringify(body),
    });
    if (res.ok) {
      const { unread } = await res.json() as { unread?: number };
      if (typeof unread === "number") await setBadge(unread);
    }
  } catch { /* offline: the click still did its job */ }
}

/** A click on the notification itself: focus or open the page it is about. */
async function open(url: string | undefined): Promise<void> {
  const windows = await sw.clients.matchAll({ type: "window", includeUncontrolled: true });
  const action = clickTarget(
    url,
    windows.map((w) => ({
      id: w.id,
      url: w.url,
      focused: w.focused,
      visibilityState: w.visibilityState,
    })),
    sw.location.origin,
  );
  if (action.type === "open") {
    await sw.clients.openWindow(action.url);
    return;
  }
  const win = windows.find((w) => w.id === action.id)!;
  const focused = await win.focus().catch(() => win);
  if (action.navigate) {
    await (focused ?? win).navigate(action.navigate).catch(() =>
      sw.clients.openWindow(action.navigate!)
    );
  }
}

/** A meta-cache flag (present or not). */
const flags = {
  async has(key: string) {
    return !!(await (await caches.open(META_CACHE)).match(key));
  },
  async put(key: string) {
    await (await caches.open(META_CACHE)).put(key, new Response("1"));
  },
  async remove(key: string) {
    await (await caches.open(META_CACHE)).delete(key);
  },
};

/**
 * A click: an action button (Chrome/Edge) runs its machine API call once and
 * shows how it went, without opening the app; a click on the notification
 * opens (or focuses) its page. Both are reported once. The work runs even
 * where `waitUntil` refuses it (a synthetic event in tests).
 */
sw.addEventListener("notificationclick", (event) => {
  const notification = event.notification;
  const data = (notification.data ?? null) as Partial<ClickData> | null;
  const action = event.action ?? "";
  notification.close();
  const work = (async () => {
    if (action && data) {
      const result = await performAction(
        action,
        {
          title: notification.title,
          tag: notification.tag || undefined,
          data,
        },
        notification.lang === "en" || notification.lang === "ko" ? notification.lang : await lang(),
        {
          fetch: (path, init) => fetch(path, init),
          ...flags,
          show,
        },
      );
      if (result === "done" || result === "refused") await report(data, action);
      if (result !== "invalid") return;
    }
    await Promise.all([open(data?.url), report(data, "")]);
  })();
  try {
    event.waitUntil(work);
  } catch { /* not dispatched by the browser: the work runs anyway */ }
});

// ─────────────────────── subscription renewal ───────────────────────

interface StoredDevice {
  deviceId: string;
  kind: "webpush" | "fcm";
}

async function storedDevice(): Promise<StoredDevice | null> {
  try {
    const res = await (await caches.open(META_CACHE)).match(DEVICE_KEY);
    return res ? await res.json() as StoredDevice : null;
  } catch {
    return null;
  }
}

/**
 * The push service replaced (or dropped) our subscription: subscribe again
 * with the server's VAPID key and tell the server under the same deviceId.
 * FCM devices renew their token the next time the app opens (the Firebase
 * SDK needs a page), so only Web Push devices are handled here.
 */
sw.addEventListener("pushsubscriptionchange", (event) => {
  const e = event as ExtendableEvent & { newSubscription?: PushSubscription | null };
  e.waitUntil((async () => {
    const device = await storedDevice();
    if (!device || device.kind !== "webpush") return;
    let sub = e.newSubscription ?? null;
    if (!sub) {
      const res = await fetch("/api/push/config", { credentials: "same-origin" });
      if (!res.ok) return;
      const { vapidPublicKey } = await res.json() as { vapidPublicKey: string | null };
      if (!vapidPublicKey) return;
      sub = await sw.registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: base64UrlToBytes(vapidPublicKey)!,
      });
    }
    const json = sub.toJSON();
    await fetch(`/api/push/devices/${encodeURIComponent(device.deviceId)}`, {
      method: "PUT",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        kind: "webpush",
        subscription: { endpoint: json.endpoint, keys: json.keys },
      }),
    });
  })());
});
