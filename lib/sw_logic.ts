/**
 * The service worker's decisions as pure functions (no `self`, no caches, no
 * I/O), so they run under `deno test` (lib/sw_logic_test.ts): headless
 * Chromium cannot click a notification, and a synthetic `notificationclick`
 * cannot call `clients.openWindow`. `sw.ts` only wires these to events.
 *
 * - {@linkcode parsePushData} / {@linkcode buildNotification}: a push
 *   message (our JSON {@link PushPayload}, or an FCM data message whose
 *   fields are all strings) → `showNotification(title, options)`, with a
 *   generic notification for anything malformed (iOS revokes the permission
 *   of a worker that receives a push and shows nothing).
 * - {@linkcode clickTarget}: a click → which open window to focus (and
 *   navigate), or which URL to open.
 * - {@linkcode cacheStrategy}: a request → how the worker answers it.
 * @module
 */
import { type Lang, t } from "./i18n.ts";
import { NOTIFICATION_KINDS, type NotificationKind, type PushPayload } from "./types.ts";

/** Icon of every notification (also the manifest's 192 px icon). */
export const NOTIFICATION_ICON = "/icons/icon-192.png";
/** Monochrome badge shown in Android's status bar. */
export const NOTIFICATION_BADGE = "/icons/badge-96.png";
/** Longest title / body shown (payloads are capped at 3 KB anyway). */
const MAX_TITLE = 120;
const MAX_BODY = 500;

const KINDS: ReadonlySet<string> = new Set<NotificationKind>(NOTIFICATION_KINDS);

/** A string → boolean as FCM data sends it ("true"/"false"), or a real boolean. */
function bool(v: unknown): boolean {
  return v === true || v === "true" || v === "1";
}

function str(v: unknown, max: number): string {
  return typeof v === "string" ? v.trim().slice(0, max) : "";
}

/**
 * The app URL a notification may open: a same-origin path ("/?m=w1",
 * "/inbox"), never another site. Absolute URLs on `origin` are reduced to
 * their path; anything else becomes "/".
 */
export function safeAppUrl(raw: unknown, origin?: string): string {
  if (typeof raw !== "string" || raw === "") return "/";
  if (raw.startsWith("/") && !raw.startsWith("//") && !raw.includes("\\")) return raw;
  if (origin) {
    try {
      const u = new URL(raw);
      if (u.origin === origin) return u.pathname + u.search + u.hash;
    } catch { /* not a URL */ }
  }
  return "/";
}

/**
 * Reads a push message's data into a {@link PushPayload}, or null when it is
 * not one (then show {@link buildNotification}'s generic notification).
 *
 * Accepts our JSON payload (`PushMessageData.json()`), the same object as
 * text, an FCM data message (every field a string: `silent: "true"`,
 * `ts: "1700000000000"`; see `payloadToData` in lib/push/fcm_sender.ts), and
 * the envelope the FCM web SDK delivers (`{data: {...}, from, fcmMessageId}`).
 */
export function parsePushData(raw: unknown): PushPayload | null {
  let v: unknown = raw;
  if (typeof v === "string") {
    try {
      v = JSON.parse(v);
    } catch {
      return null;
    }
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return null;
  let o = v as Record<string, unknown>;
  if (typeof o.title !== "string" && typeof o.data === "object" && o.data !== null) {
    o = o.data as Record<string, unknown>;
  }
  const title = str(o.title, MAX_TITLE);
  if (!title) return null;
  const kind = typeof o.kind === "string" && KINDS.has(o.kind)
    ? o.kind as NotificationKind
    : "notice";
  const ts = Number(o.ts);
  return {
    id: str(o.id, 200),
    kind,
    title,
    body: str(o.body, MAX_BODY),
    tag: str(o.tag, 64),
    url: safeAppUrl(o.url),
    silent: bool(o.silent),
    critical: bool(o.critical),
    ts: Number.isFinite(ts) && ts > 0 ? ts : 0,
  };
}

/** What `registration.showNotification(title, options)` gets. */
export interface NotificationSpec {
  title: string;
  options: {
    body: string;
    icon: string;
    badge: string;
    tag?: string;
    lang: Lang;
    silent: boolean;
    requireInteraction: boolean;
    renotify: boolean;
    timestamp?: number;
    data: { url: string; id: string; kind: string };
  };
}

/** Context of {@linkcode buildNotification}. */
export interface BuildContext {
  /** Language of the generic fallback text. */
  lang: Lang;
  /**
   * A notification with this payload's tag is still showing: the new one
   * replaces it and should alert again (`renotify`).
   */
  tagShowing?: boolean;
}

/**
 * The notification for a push: title and body from the payload, our icon
 * and badge, the collapse `tag`, `silent` as routed (quiet hours, silent
 * notices), `requireInteraction` for critical notices, `renotify` when it
 * replaces a showing notification with the same tag (never together with
 * `silent`: browsers reject that pair), and `data: {url, id, kind}` for the
 * click. A null payload (malformed push) still yields a notification: a
 * generic one that opens the inbox.
 */
export function buildNotification(p: PushPayload | null, ctx: BuildContext): NotificationSpec {
  if (!p) {
    return {
      title: t(ctx.lang, "push.generic_title"),
      options: {
        body: t(ctx.lang, "push.generic_body"),
        icon: NOTIFICATION_ICON,
        badge: NOTIFICATION_BADGE,
        tag: "generic",
        lang: ctx.lang,
        silent: false,
        requireInteraction: false,
        renotify: false,
        data: { url: "/inbox", id: "", kind: "notice" },
      },
    };
  }
  const tag = p.tag || undefined;
  const silent = p.silent === true;
  return {
    title: p.title,
    options: {
      body: p.body,
      icon: NOTIFICATION_ICON,
      badge: NOTIFICATION_BADGE,
      ...(tag ? { tag } : {}),
      lang: ctx.lang,
      silent,
      requireInteraction: p.critical === true,
      renotify: !!tag && !silent && ctx.tagShowing === true,
      ...(p.ts ? { timestamp: p.ts } : {}),
      data: { url: p.url || "/", id: p.id, kind: p.kind },
    },
  };
}

/** An open window of the app, as `clients.matchAll({type: "window"})` lists it. */
export interface WindowInfo {
  id: string;
  url: string;
  focused?: boolean;
  visibilityState?: string;
}

/** What to do on a notification click. */
export type ClickAction =
  | { type: "focus"; id: string; navigate: string | null }
  | { type: "open"; url: string };

/**
 * Decide what a click on a notification does: focus the app window already
 * showing `url` (no navigation); else focus the best other window of the app
 * (focused, then visible, then the first) and navigate it to `url`; else
 * open `url` in a new window. Windows of other origins are ignored. The
 * returned URLs are absolute on `origin`.
 */
export function clickTarget(rawUrl: unknown, windows: WindowInfo[], origin: string): ClickAction {
  const url = new URL(safeAppUrl(rawUrl, origin), origin).href;
  const mine = windows.filter((w) => {
    try {
      return new URL(w.url).origin === origin;
    } catch {
      return false;
    }
  });
  const exact = mine.find((w) => w.url === url);
  if (exact) return { type: "focus", id: exact.id, navigate: null };
  const best = mine.find((w) => w.focused) ??
    mine.find((w) => w.visibilityState === "visible") ??
    mine[0];
  if (best) return { type: "focus", id: best.id, navigate: url };
  return { type: "open", url };
}

/** How the worker answers a request. */
export type Strategy =
  /** Not ours to touch: let the browser go to the network. */
  | "network"
  /** A page: network first, keep the last good copy, fall back to it offline. */
  | "page"
  /** The board snapshot (GET /api/machines): network first, last copy offline. */
  | "snapshot"
  /** Content-hashed app files: cache first (they never change). */
  | "asset"
  /** Icons and the manifest: cache, refreshed in the background. */
  | "static";

/** The request facts {@linkcode cacheStrategy} looks at. */
export interface RequestInfo {
  method: string;
  url: string;
  /** `Request.mode`: "navigate" for page loads. */
  mode?: string;
}

/**
 * How to answer a request. Only same-origin GETs are cached. Never cached:
 * any API call except the board snapshot, the WebSocket, `/sw.js`, language
 * switches and anything not listed.
 */
export function cacheStrategy(req: RequestInfo, origin: string): Strategy {
  if (req.method !== "GET") return "network";
  let u: URL;
  try {
    u = new URL(req.url);
  } catch {
    return "network";
  }
  if (u.origin !== origin) return "network";
  const p = u.pathname;
  if (p === "/api/machines") return "snapshot";
  if (p.startsWith("/api/") || p === "/ws" || p === "/sw.js" || p.startsWith("/lang/")) {
    return "network";
  }
  if (p.startsWith("/_app/")) return "asset";
  if (p.startsWith("/icons/") || p === "/manifest.webmanifest") return "static";
  if (req.mode === "navigate") return "page";
  return "network";
}

/** Pages kept for offline use, keyed without their query (`/?m=w1` → `/`). */
export function pageCacheKey(url: string): string {
  const u = new URL(url);
  return u.origin + u.pathname;
}

/**
 * Whether a cached page may stand in for this navigation when the network is
 * slow or gone. Not for a request that chooses a building (`?building=`):
 * the cached copy (keyed without the query) may be another building's board.
 */
export function cachedPageMayAnswer(url: string): boolean {
  return !new URL(url).searchParams.has("building");
}

/** Files the worker installs with: the build's app files, icons and manifest. */
export function precacheList(assets: string[]): string[] {
  const extra = [
    "/manifest.webmanifest",
    "/icons/icon.svg",
    NOTIFICATION_ICON,
    NOTIFICATION_BADGE,
  ];
  // The Firebase SDK chunk is fetched (and then cached) only where FCM is used.
  return [...assets.filter((a) => !/\/fcm-[^/]*\.js$/.test(a)), ...extra];
}

/**
 * The page shown for a navigation when the network fails and nothing is
 * cached: styled, translated, with the app's header, saying whether the
 * phone is offline or only the server is unreachable; "다시 시도" reloads the
 * page that was asked for (`path`), and the page retries by itself every few
 * seconds (a meta refresh: CSP allows no inline script), so it goes away soon
 * after the connection is back.
 */
export function offlinePage(
  lang: Lang,
  style: string | null,
  opts: { path?: string; reason?: "offline" | "unreachable" } = {},
): string {
  const esc = (s: string) =>
    s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
  const path = opts.path && opts.path.startsWith("/") && !opts.path.startsWith("//")
    ? opts.path
    : "/";
  const unreachable = opts.reason === "unreachable";
  const title = t(lang, unreachable ? "offline.unreachable_title" : "offline.title");
  const body = t(lang, unreachable ? "offline.unreachable_body" : "offline.body");
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta http-equiv="refresh" content="${OFFLINE_RETRY_SEC}">` +
    `<title>${esc(title)} · ${esc(t(lang, "app.name"))}</title>` +
    (style ? `<link rel="stylesheet" href="${esc(style)}">` : "") +
    `</head><body><header class="topbar"><a class="brand" href="/">` +
    `<img src="/icons/icon.svg" alt="" width="28" height="28"><span>${
      esc(t(lang, "app.name"))
    }</span></a></header>` +
    `<main id="main" class="offline-page" data-reason="${
      unreachable ? "unreachable" : "offline"
    }">` +
    `<h1>${esc(title)}</h1><p>${esc(body)}</p>` +
    `<p class="muted">${esc(t(lang, "offline.auto_retry", { n: OFFLINE_RETRY_SEC }))}</p>` +
    `<p><a class="button primary" href="${esc(path)}">${esc(t(lang, "offline.retry"))}</a></p>` +
    (path !== "/" ? `<p><a href="/">${esc(t(lang, "offline.to_board"))}</a></p>` : "") +
    `</main></body></html>`;
}

/** Seconds between the offline page's own retries. */
export const OFFLINE_RETRY_SEC = 5;

/**
 * The language for worker-made text (the offline page, a generic push): the
 * language of the last page the server sent (its `Content-Language`, which
 * is the user's saved preference), else `navigator.language`.
 */
export function workerLang(language: string | undefined, saved?: string | null): Lang {
  if (saved === "ko" || saved === "en") return saved;
  return (language ?? "").toLowerCase().startsWith("en") ? "en" : "ko";
}
