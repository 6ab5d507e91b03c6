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
 * - {@linkcode performAction}: an action button (+10분, 수거 완료, 잡기) → the
 *   machine API call with the user's cookies, once per (notification,
 *   action), and the follow-up notification that says how it went;
 *   {@linkcode clickReport}: the click report (`POST /api/push/report`).
 * - {@linkcode cacheStrategy}: a request → how the worker answers it.
 * @module
 */
import { type Lang, type MessageKey, t } from "./i18n.ts";
import { NOTIFICATION_KINDS, type NotificationKind, type PushPayload } from "./types.ts";
import {
  actionsFor,
  EXTEND_MINUTES,
  jsonObject,
  type PushActionName,
  readDeclarative,
} from "./push/declarative.ts";

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
 * A push as the worker shows it: the old flat {@link PushPayload} fields plus
 * what a declarative message adds (all optional, absent from flat payloads).
 */
export interface ShownPayload extends PushPayload {
  /** The machine the notification is about (its actions act on it). */
  machineId?: string;
  /** The building (sent as `X-Building` with an action). */
  b?: string;
  /** The unread count to show on the app icon. */
  badge?: number;
  /** The transport it came by (`webpush`, `fcm`), for the click report. */
  ch?: string;
  /** The recipient's language (the text is in it; actions are labelled in it). */
  lang?: Lang;
}

/**
 * Reads a push message's data into a {@link ShownPayload}, or null when it is
 * not one (then show {@link buildNotification}'s generic notification).
 *
 * Accepts, newest first:
 * - a declarative Web Push message (`{web_push: 8030, notification, app_badge?,
 *   mutable?}`, lib/push/declarative.ts), as object or text, and its FCM form
 *   (string fields, possibly in the FCM web SDK's `{data: {...}}` envelope);
 * - the flat payload of earlier releases (`{id, kind, title, body, tag, url,
 *   silent, critical?, ts}`), its FCM data form (every field a string:
 *   `silent: "true"`, `ts: "1700000000000"`) and that in the SDK envelope.
 * `origin` lets an absolute `navigate` URL of our own origin through.
 */
export function parsePushData(raw: unknown, origin?: string): ShownPayload | null {
  const dm = readDeclarative(raw);
  if (dm) {
    const n = dm.notification as unknown as Record<string, unknown>;
    const title = str(n.title, MAX_TITLE);
    if (!title) return null;
    const d = (typeof n.data === "object" && n.data !== null ? n.data : {}) as Record<
      string,
      unknown
    >;
    const ts = Number(d.ts);
    const badge = Number(dm.app_badge ?? n.app_badge);
    const machineId = str(d.machineId, 40);
    const b = str(d.b, 40);
    const ch = str(d.ch, 16);
    return {
      id: str(d.id, 200),
      kind: typeof d.kind === "string" && KINDS.has(d.kind)
        ? d.kind as NotificationKind
        : kindOf(d.kind),
      title,
      body: str(n.body, MAX_BODY),
      tag: str(n.tag, 64),
      url: safeAppUrl(n.navigate, origin),
      silent: bool(n.silent),
      critical: bool(d.critical),
      ts: Number.isFinite(ts) && ts > 0 ? ts : 0,
      ...(/^[0-9a-z]{1,40}$/.test(machineId) ? { machineId } : {}),
      ...(/^[0-9a-z]{1,40}$/.test(b) ? { b } : {}),
      ...(Number.isInteger(badge) && badge >= 0 ? { badge } : {}),
      ...(ch ? { ch } : {}),
      ...(n.lang === "ko" || n.lang === "en" ? { lang: n.lang } : {}),
    };
  }
  let o = jsonObject(raw);
  if (!o) return null;
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

/**
 * A kind this build does not list (a newer server's): kept when it has
 * actions here (`waitlist.offer` on a build without it), else "notice".
 */
function kindOf(v: unknown): NotificationKind {
  return (typeof v === "string" && actionsFor(v).length ? v : "notice") as NotificationKind;
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
    /** Action buttons (Chrome/Edge show them; others ignore them). */
    actions?: { action: PushActionName; title: string }[];
    data: ClickData;
  };
}

/** `notification.data` of a notification the worker showed. */
export interface ClickData {
  url: string;
  id: string;
  kind: string;
  machineId?: string;
  b?: string;
  ch?: string;
  /** The unread count the push carried (the app badge set with it). */
  badge?: number;
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
 * `silent`: browsers reject that pair), the kind's action buttons (labelled
 * in the recipient's language) when it names a machine, and
 * `data: {url, id, kind, machineId?, b?, ch?, badge?}` for the click. A null
 * payload (malformed push) still yields a notification: a generic one that
 * opens the inbox.
 */
export function buildNotification(p: ShownPayload | null, ctx: BuildContext): NotificationSpec {
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
  const lang = p.lang ?? ctx.lang;
  const actions = p.machineId ? actionsFor(p.kind) : [];
  return {
    title: p.title,
    options: {
      body: p.body,
      icon: NOTIFICATION_ICON,
      badge: NOTIFICATION_BADGE,
      ...(tag ? { tag } : {}),
      lang,
      silent,
      requireInteraction: p.critical === true,
      renotify: !!tag && !silent && ctx.tagShowing === true,
      ...(p.ts ? { timestamp: p.ts } : {}),
      ...(actions.length
        ? { actions: actions.map((a) => ({ action: a, title: t(lang, ACTION_LABEL[a]) })) }
        : {}),
      data: {
        url: p.url || "/",
        id: p.id,
        kind: p.kind,
        ...(p.machineId ? { machineId: p.machineId } : {}),
        ...(p.b ? { b: p.b } : {}),
        ...(p.ch ? { ch: p.ch } : {}),
        ...(p.badge !== undefined ? { badge: p.badge } : {}),
      },
    },
  };
}

const ACTION_LABEL: Record<PushActionName, MessageKey> = {
  extend: "push.action.extend",
  collect: "push.action.collect",
  hold: "push.action.hold",
};

const ACTION_DONE: Record<PushActionName, MessageKey> = {
  extend: "push.done.extend",
  collect: "push.done.collect",
  hold: "push.done.hold",
};

// ───────────────────────────── actions ─────────────────────────────

/** The machine API request an action button makes (same origin, the user's cookies). */
export interface ActionRequest {
  path: string;
  init: {
    method: "POST";
    credentials: "same-origin";
    headers: Record<string, string>;
    body: string;
  };
}

/**
 * The request for action `action` on a notification, or null when that
 * notification has no such action (a forged or stale click does nothing).
 * `Idempotency-Key: n:<notification id>:<action>` makes the server answer a
 * repeat with the first answer instead of applying it twice; `X-Building`
 * names the building the notification is about.
 */
export function actionRequest(action: string, data: Partial<ClickData>): ActionRequest | null {
  const id = typeof data.id === "string" ? data.id : "";
  const m = typeof data.machineId === "string" ? data.machineId : "";
  if (!id || !/^[0-9a-z]{4,32}$/.test(m)) return null;
  if (!actionsFor(String(data.kind)).includes(action as PushActionName)) return null;
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "idempotency-key": idempotencyKey(id, action),
  };
  if (typeof data.b === "string" && /^[0-9a-z]{1,32}$/.test(data.b)) headers["x-building"] = data.b;
  return {
    path: `/api/machines/${m}/${action}`,
    init: {
      method: "POST",
      credentials: "same-origin",
      headers,
      body: JSON.stringify(action === "extend" ? { minutes: EXTEND_MINUTES } : {}),
    },
  };
}

/** The `Idempotency-Key` of an action on a notification (at most 200 characters). */
export function idempotencyKey(id: string, action: string): string {
  return `n:${id}:${action}`.slice(0, 200);
}

/** The worker's meta-cache key that marks an action on a notification handled. */
export function handledKey(id: string, action: string): string {
  return `/__ll/acted/${encodeURIComponent(id)}/${encodeURIComponent(action)}`;
}

/** How an action went: done, or refused with the API's error code. */
export type ActionOutcome = { ok: true } | { ok: false; code: string };

/**
 * The follow-up notification after an action: what happened, in the user's
 * language (an error code is translated, never shown raw), replacing the
 * original (same tag) so the buttons cannot be pressed again.
 */
export function outcomeNotification(
  lang: Lang,
  action: PushActionName,
  outcome: ActionOutcome,
  original: { title: string; tag?: string; data: Partial<ClickData> },
): NotificationSpec {
  let body: string;
  let title: string;
  if (outcome.ok) {
    title = t(lang, ACTION_DONE[action], { n: EXTEND_MINUTES });
    body = original.title;
  } else {
    title = t(lang, "push.failed");
    const key = `err.${outcome.code}` as MessageKey;
    const text = t(lang, key);
    body = outcome.code === "offline"
      ? t(lang, "push.offline")
      : text === key
      ? t(lang, "error.generic")
      : text;
  }
  return {
    title,
    options: {
      body,
      icon: NOTIFICATION_ICON,
      badge: NOTIFICATION_BADGE,
      ...(original.tag ? { tag: original.tag } : {}),
      lang,
      silent: true,
      requireInteraction: false,
      renotify: false,
      data: {
        url: typeof original.data.url === "string" ? original.data.url : "/",
        id: "",
        kind: "action",
      },
    },
  };
}

/** What {@link performAction} uses of the worker (injected, so it runs under `deno test`). */
export interface ActionDeps {
  /** `fetch` of a same-origin path. */
  fetch(
    path: string,
    init: ActionRequest["init"],
  ): Promise<{ ok: boolean; json(): Promise<unknown> }>;
  /** Whether the meta cache has a key; put/delete it. */
  has(key: string): Promise<boolean>;
  put(key: string): Promise<void>;
  remove(key: string): Promise<void>;
  /** Show a notification. */
  show(n: NotificationSpec): Promise<void>;
}

/**
 * Perform an action button's click once: a click already handled (the
 * browser delivered it twice, or the user pressed it on a copy) does
 * nothing and returns "repeat"; an action the notification does not have
 * returns "invalid". Otherwise it is marked handled first, the machine API is
 * called (a network failure unmarks it, so pressing again can work), and the
 * follow-up notification is shown. The server's `Idempotency-Key` check is the
 * second guard: a repeat that gets past the mark is answered, not applied.
 */
export async function performAction(
  action: string,
  original: { title: string; tag?: string; data: Partial<ClickData> },
  lang: Lang,
  deps: ActionDeps,
): Promise<"done" | "refused" | "repeat" | "invalid" | "offline"> {
  const req = actionRequest(action, original.data);
  if (!req) return "invalid";
  const key = handledKey(original.data.id!, action);
  // Two deliveries at once both find no mark yet: the first claims the key
  // synchronously, before anything is awaited.
  if (inFlight.has(key)) return "repeat";
  inFlight.add(key);
  try {
    if (await deps.has(key)) return "repeat";
    await deps.put(key);
    return await act(req, key, action as PushActionName, original, lang, deps);
  } finally {
    inFlight.delete(key);
  }
}

/** Actions being performed in this worker now (see {@link performAction}). */
const inFlight = new Set<string>();

async function act(
  req: ActionRequest,
  key: string,
  action: PushActionName,
  original: { title: string; tag?: string; data: Partial<ClickData> },
  lang: Lang,
  deps: ActionDeps,
): Promise<"done" | "refused" | "offline"> {
  let outcome: ActionOutcome;
  try {
    const res = await deps.fetch(req.path, req.init);
    const body = await res.json().catch(() => null) as { error?: { code?: unknown } } | null;
    outcome = res.ok
      ? { ok: true }
      : { ok: false, code: typeof body?.error?.code === "string" ? body.error.code : "internal" };
  } catch {
    await deps.remove(key);
    await deps.show(outcomeNotification(lang, action, { ok: false, code: "offline" }, original));
    return "offline";
  }
  await deps.show(outcomeNotification(lang, action, outcome, original));
  return outcome.ok ? "done" : "refused";
}

/**
 * The body of the click report (`POST /api/push/report`): which notification,
 * `click` or the action pressed, this browser's device id and the transport.
 * Null for a notification without an id (the generic one, a follow-up).
 */
export function clickReport(
  data: Partial<ClickData> | null | undefined,
  action: string,
  deviceId: string | null,
): Record<string, string> | null {
  if (!data || typeof data.id !== "string" || !data.id) return null;
  return {
    id: data.id,
    event: action ? "action" : "click",
    ...(action ? { action } : {}),
    ...(deviceId ? { deviceId } : {}),
    channel: data.ch === "fcm" ? "fcm" : "webpush",
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
