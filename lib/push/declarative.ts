/**
 * Declarative Web Push (WebKit, Safari/iOS 18.4+; W3C Push API draft): every
 * push we send is one JSON message a browser can show *without* running our
 * service worker, and that our worker (every other browser, and Safari when
 * `mutable`) shows the same way:
 *
 * ```json
 * {"web_push": 8030,
 *  "notification": {"title", "navigate", "body", "lang", "dir", "silent", "tag",
 *                   "data": {PushData}, "app_badge"},
 *  "app_badge": 3,
 *  "mutable": true}
 * ```
 *
 * - `navigate`: the absolute path of the page the notification is about
 *   (`/?building=<building>&m=<machine>` opens its card with its buttons on
 *   its building's board, `/inbox?n=<notice>`).
 * - `app_badge`: the recipient's unread inbox count when it was sent, in the
 *   notification (as the WebKit announcement shows it) and at the top level
 *   (as the Push API draft places it).
 * - `mutable: true` only for kinds whose notification the worker improves:
 *   action buttons (Chrome/Edge), see {@link PUSH_ACTIONS}.
 * - `data` ({@link PushData}) is what the worker needs for the click, the
 *   actions and the click report.
 *
 * FCM carries the same message as strings ({@link toFcmData}); pure, no I/O,
 * so the service worker bundles it too.
 * @module
 */
import type { InboxItem, NotificationKind } from "../types.ts";

/** The magic number that marks a declarative push message (RFC 8030's number). */
export const WEB_PUSH_MAGIC = 8030;

/** Most UTF-8 bytes of a push message's JSON (SPEC: under 3 KB of plaintext). */
export const MAX_MESSAGE_BYTES = 3000;

/** What an action button does: the machine API call the service worker makes. */
export type PushActionName = "extend" | "collect" | "hold";

/**
 * The action buttons of each kind (Chrome/Edge show them; Safari and Firefox
 * open `navigate`, where the machine card has the same buttons). Typed by
 * string so a kind added elsewhere (`waitlist.offer`) needs only a row here.
 */
export const PUSH_ACTIONS: Readonly<Record<string, readonly PushActionName[]>> = {
  "use.ending_soon": ["extend", "collect"],
  "use.done": ["extend", "collect"],
  "pickup.nudge": ["collect"],
  "machine.free": ["hold"],
  "waitlist.offer": ["hold"],
};

/** Minutes the "+10분" action extends a cycle by. */
export const EXTEND_MINUTES = 10;

/** The actions of a notification kind (none for most). */
export function actionsFor(kind: string): readonly PushActionName[] {
  return Object.hasOwn(PUSH_ACTIONS, kind) ? PUSH_ACTIONS[kind] : [];
}

/** What `notification.data` carries for the service worker. */
export interface PushData {
  /** The notification (inbox item) id. */
  id: string;
  kind: NotificationKind;
  /** The building it is about (the worker's actions send it as `X-Building`). */
  b?: string;
  /** The machine it is about (actions act on it). */
  machineId?: string;
  noticeId?: string;
  /** Critical notices stay until dismissed (`requireInteraction`). */
  critical?: boolean;
  /** Epoch ms it was created. */
  ts: number;
  /** Transport it came by, for the click report (`webpush` or `fcm`). */
  ch: string;
}

/** The `notification` member of a declarative push message. */
export interface DeclarativeNotification {
  title: string;
  /** Absolute path (or URL) opened on click. Required by the format. */
  navigate: string;
  body: string;
  lang: string;
  dir: "ltr" | "rtl" | "auto";
  silent: boolean;
  /** Collapse tag (not implemented on iOS; the `Topic` header collapses there). */
  tag?: string;
  data: PushData;
  app_badge?: number;
}

/** A declarative Web Push message. */
export interface DeclarativeMessage {
  web_push: typeof WEB_PUSH_MAGIC;
  notification: DeclarativeNotification;
  app_badge?: number;
  mutable?: boolean;
}

/** What {@link declarativeMessage} needs besides the inbox item. */
export interface MessageContext {
  /** Routed silence (quiet hours, a silent notice). */
  silent: boolean;
  /** The recipient's language (the item's text is already in it). */
  lang: string;
  /** Unread inbox items (the app badge); omitted when unknown. */
  unread?: number;
  /** The building the notification is about. */
  b?: string;
  /** The transport: "webpush" or "fcm". */
  channel: string;
}

/**
 * The declarative message of an inbox item, its body (then title) cut short
 * with "…" so the JSON stays within {@link MAX_MESSAGE_BYTES}; the inbox keeps
 * the full text.
 */
export function declarativeMessage(item: InboxItem, ctx: MessageContext): DeclarativeMessage {
  const data: PushData = {
    id: item.id,
    kind: item.kind,
    ...(ctx.b ? { b: ctx.b } : {}),
    ...(item.machineId ? { machineId: item.machineId } : {}),
    ...(item.noticeId ? { noticeId: item.noticeId } : {}),
    ...(item.critical ? { critical: true } : {}),
    ts: item.createdAt,
    ch: ctx.channel,
  };
  const badge = ctx.unread !== undefined && ctx.unread >= 0 ? Math.floor(ctx.unread) : undefined;
  const msg: DeclarativeMessage = {
    web_push: WEB_PUSH_MAGIC,
    notification: {
      title: item.title,
      navigate: safePath(item.url),
      body: item.body,
      lang: ctx.lang,
      dir: "ltr",
      silent: ctx.silent,
      ...(item.tag ? { tag: item.tag } : {}),
      data,
      ...(badge !== undefined ? { app_badge: badge } : {}),
    },
    ...(badge !== undefined ? { app_badge: badge } : {}),
    ...(actionsFor(item.kind).length ? { mutable: true } : {}),
  };
  return fitMessage(msg);
}

/** An app path: kept when it is one ("/…", not "//…"), else "/". */
function safePath(url: string): string {
  return url.startsWith("/") && !url.startsWith("//") && !url.includes("\\") ? url : "/";
}

/** UTF-8 bytes of a value's JSON. */
export function jsonBytes(v: unknown): number {
  return new TextEncoder().encode(JSON.stringify(v)).length;
}

/**
 * The message with its body, then its title, cut at code point boundaries
 * (with "…") until its JSON fits in `max` bytes.
 */
export function fitMessage(m: DeclarativeMessage, max = MAX_MESSAGE_BYTES): DeclarativeMessage {
  let out = m;
  const fits = (x: DeclarativeMessage) => jsonBytes(x) <= max;
  for (const field of ["body", "title"] as const) {
    if (fits(out)) return out;
    const chars = Array.from(out.notification[field]);
    const cut = (n: number): DeclarativeMessage => ({
      ...out,
      notification: {
        ...out.notification,
        [field]: n > 0 ? chars.slice(0, n).join("") + "…" : "",
      },
    });
    let lo = 0;
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

/**
 * The message as an FCM data map (every value a string): `web_push: "8030"`,
 * `notification`: the notification's JSON, `mutable: "true"` when set and
 * `app_badge` in decimal. The service worker reads it back with
 * `parsePushData` (lib/sw_logic.ts).
 */
export function toFcmData(m: DeclarativeMessage): Record<string, string> {
  return {
    web_push: String(m.web_push),
    notification: JSON.stringify(m.notification),
    ...(m.mutable ? { mutable: "true" } : {}),
    ...(m.app_badge !== undefined ? { app_badge: String(m.app_badge) } : {}),
  };
}

/** A plain object, or the object a JSON text holds; null for anything else. */
export function jsonObject(v: unknown): Record<string, unknown> | null {
  if (typeof v === "string") {
    try {
      v = JSON.parse(v);
    } catch {
      return null;
    }
  }
  return typeof v === "object" && v !== null && !Array.isArray(v)
    ? v as Record<string, unknown>
    : null;
}

/**
 * The object a push carries (see {@link jsonObject}), unwrapped from the FCM
 * web SDK's `{data: {...}}` envelope when `field` is not on it but `data` is.
 */
export function pushObject(raw: unknown, field: string): Record<string, unknown> | null {
  const o = jsonObject(raw);
  if (!o) return null;
  return o[field] === undefined && typeof o.data === "object" && o.data !== null
    ? o.data as Record<string, unknown>
    : o;
}

/**
 * Reads a declarative message back from what a push carries: the message
 * itself, its JSON text, or the FCM form ({@link toFcmData}, possibly inside
 * the FCM web SDK's `{data: {...}}` envelope). Null when it is not one.
 */
export function readDeclarative(raw: unknown): DeclarativeMessage | null {
  const o = pushObject(raw, "web_push");
  if (!o || Number(o.web_push) !== WEB_PUSH_MAGIC) return null;
  const n = jsonObject(o.notification);
  if (!n) return null;
  const badge = o.app_badge === undefined ? undefined : Number(o.app_badge);
  return {
    web_push: WEB_PUSH_MAGIC,
    notification: n as unknown as DeclarativeNotification,
    ...(badge !== undefined && Number.isFinite(badge) ? { app_badge: badge } : {}),
    ...(o.mutable === true || o.mutable === "true" ? { mutable: true } : {}),
  };
}
