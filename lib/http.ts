/**
 * Small composable Hono middleware: JSON errors, security headers, CSRF
 * (Origin / Sec-Fetch-Site + JSON body), sessions, role checks, and zod body
 * validation. Handlers stay thin and call `lib/`.
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { z } from "zod";
import { type Store, StoreError } from "./db/mod.ts";
import type { User } from "./types.ts";
import { administers } from "./roles.ts";

/** Variables handlers can read with `c.get(...)`. */
export interface AppEnv {
  Variables: {
    user: User | null;
    sessionToken: string | null;
    /** The session's id (SHA-256 of its token, as stored), when signed in. */
    sessionId: string | null;
    lang: "ko" | "en";
    /** The building the request acts in (`lib/middleware/building.ts`); null when signed out. */
    buildingId: string | null;
  };
}

/** Name of the session cookie. */
export const SESSION_COOKIE = "ll_session";

/**
 * Optional details of an API error, for the client to place and word it:
 * `field` names the body field at fault (the form shows the message under
 * it), `retryAfterSec` says when trying again can succeed.
 */
export interface ErrorDetails {
  field?: string;
  retryAfterSec?: number;
}

/**
 * An error that becomes `{error: {code, message, field?, retryAfterSec?}}`
 * with its status. A `Retry-After` header also fills `retryAfterSec`.
 */
export class HttpError extends Error {
  /** Create an HTTP error. */
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly details: ErrorDetails = {},
  ) {
    super(message);
  }
}

/** The JSON error body of the API (`message` is English, for developers; clients translate `code`). */
export function errorBody(
  code: string,
  message: string,
  details: ErrorDetails = {},
): { error: { code: string; message: string } & ErrorDetails } {
  return { error: { code, message, ...details } };
}

/** HTTP statuses of store error codes other than 409 (a conflict with the current state). */
const STORE_STATUS: Record<string, number> = {
  not_found: 404,
  busy: 503,
  invalid_invite: 400,
  invalid_reset: 400,
  bad_minutes: 400,
  not_owner: 403,
  forbidden: 403,
};

/** The HTTP status a store error code answers with (409 unless listed). */
export function storeErrorStatus(code: string): number {
  return STORE_STATUS[code] ?? 409;
}

/** Turn any thrown error into the API's error shape; unexpected ones are 500 and logged. */
export function toErrorResponse(c: Context, err: unknown): Response {
  if (err instanceof HttpError) {
    const details = { ...err.details };
    const retry = Number(err.headers["Retry-After"]);
    if (details.retryAfterSec === undefined && Number.isFinite(retry) && retry > 0) {
      details.retryAfterSec = retry;
    }
    const headers = { ...err.headers };
    if (details.retryAfterSec !== undefined && !headers["Retry-After"]) {
      headers["Retry-After"] = String(details.retryAfterSec);
    }
    return c.json(errorBody(err.code, err.message, details), err.status as 400, headers);
  }
  if (err instanceof StoreError) {
    // A store refusal may carry its own retry time (e.g. "busy").
    const retry = (err as StoreError & ErrorDetails).retryAfterSec;
    const details = typeof retry === "number" && retry > 0 ? { retryAfterSec: retry } : {};
    return c.json(
      errorBody(err.code, err.message, details),
      storeErrorStatus(err.code) as 400,
      details.retryAfterSec ? { "Retry-After": String(details.retryAfterSec) } : {},
    );
  }
  console.error("unhandled error", c.req.method, c.req.path, err);
  return c.json(errorBody("internal", "Something went wrong on our side."), 500);
}

/** Content-Security-Policy for every page (no inline script). */
export function contentSecurityPolicy(host: string, extraConnect: string[] = []): string {
  const connect = ["'self'", `ws://${host}`, `wss://${host}`, ...extraConnect].join(" ");
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${connect}`,
    "manifest-src 'self'",
    "worker-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "object-src 'none'",
  ].join("; ");
}

/** Security headers on every response. */
export function securityHeaders(extraConnect: string[] = []): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    // A WebSocket handshake's 101 carries no document: none of these apply
    // to it, and a reconnect storm makes thousands at once.
    if (c.res.status === 101) return;
    const h = c.res.headers;
    // The URL is pinned by lib/middleware/public_origin.ts (PUBLIC_URL, X-Forwarded-Proto).
    const url = new URL(c.req.url);
    const host = url.host;
    h.set("Content-Security-Policy", contentSecurityPolicy(host, extraConnect));
    h.set("X-Content-Type-Options", "nosniff");
    h.set("Referrer-Policy", "strict-origin-when-cross-origin");
    h.set("X-Frame-Options", "DENY");
    h.set("Permissions-Policy", "camera=(), microphone=(), geolocation=()");
    h.set("Cross-Origin-Opener-Policy", "same-origin");
    if (url.protocol === "https:" || !isLocalhost(host)) {
      h.set("Strict-Transport-Security", "max-age=31536000");
    }
  };
}

/**
 * True for loopback hosts only (cookies may then be non-Secure, no HSTS):
 * `localhost`, `*.localhost`, `[::1]` and IPv4 literals in 127.0.0.0/8,
 * compared exactly (`127.0.0.1.nip.io` or `127.evil.example` are not).
 */
export function isLocalhost(host: string): boolean {
  const name = host.toLowerCase().replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
  return name === "localhost" || name.endsWith(".localhost") || name === "::1" ||
    /^127(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(name);
}

/**
 * Whether a request comes from our own origin: `Origin` equal to the request
 * origin (or one of `allowed`), else `Sec-Fetch-Site: same-origin`.
 */
export function isSameOrigin(req: Request, allowed: string[] = []): boolean {
  const self = new URL(req.url).origin;
  const origin = req.headers.get("origin");
  if (origin) return origin === self || allowed.includes(origin);
  return req.headers.get("sec-fetch-site") === "same-origin";
}

/**
 * CSRF defence without tokens (SPEC section 5): a state-changing request must
 * be same-origin and, when it has a body, JSON.
 */
export function csrf(allowed: string[] = []): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const m = c.req.method;
    if (m === "GET" || m === "HEAD" || m === "OPTIONS") return await next();
    if (!isSameOrigin(c.req.raw, allowed)) {
      throw new HttpError(403, "cross_origin", "Cross-origin requests are not allowed.");
    }
    const len = c.req.header("content-length");
    // No length (chunked, HTTP/2, in-process): look at the body itself. Deno gives even an
    // empty DELETE a body stream; bodyLimit has already capped what can be buffered here.
    const hasBody = len !== undefined ? len !== "0" : !!c.req.header("transfer-encoding") ||
      (c.req.raw.body !== null && (await c.req.arrayBuffer()).byteLength > 0);
    const ct = c.req.header("content-type") ?? "";
    if (hasBody && !isJsonContentType(ct)) {
      throw new HttpError(415, "unsupported_media_type", "Send the body as application/json.");
    }
    await next();
  };
}

/** Exactly `application/json`, optionally with parameters (`; charset=utf-8`). */
export function isJsonContentType(ct: string): boolean {
  return ct.split(";")[0].trim().toLowerCase() === "application/json";
}

/** Public static paths: served without looking up the session. */
export function isStaticPath(path: string): boolean {
  return path.startsWith("/_app/") || path.startsWith("/icons/") || path === "/sw.js" ||
    path === "/manifest.webmanifest";
}

/** The WebSocket endpoint's path (routes/ws.ts). */
export const SOCKET_PATH = "/ws";

/** Whether `path` is the WebSocket handshake's. */
export function isSocketPath(path: string): boolean {
  return path === SOCKET_PATH;
}

/** Options of {@link session}. */
export interface SessionOptions {
  /**
   * Checks signed sessions without reading KV (lib/session_gate.ts), for the
   * WebSocket handshake only, whose socket the control feed closes if its
   * session ends; every other request reads its session from KV.
   */
  gate?: { check(token: string): Promise<{ user: User; id: string } | null | undefined> };
}

/**
 * Run `mw` for every request but the WebSocket handshake, which has no body
 * and whose answer carries no text: body limit and language do nothing for
 * it, and a reconnect storm makes thousands at once.
 */
export function notForSocket(mw: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> {
  return (c, next) => isSocketPath(c.req.path) ? next() : mw(c, next);
}

/** Load the session user (if any) into `c.var.user`. */
export function session(store: Store, opts: SessionOptions = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (isStaticPath(c.req.path)) {
      c.set("user", null);
      c.set("sessionToken", null);
      c.set("sessionId", null);
      return await next();
    }
    const token = getCookie(c, SESSION_COOKIE) ?? null;
    const gated = token && opts.gate && isSocketPath(c.req.path)
      ? await opts.gate.check(token)
      : undefined;
    const s = gated !== undefined ? gated : token ? await store.getSession(token) : null;
    c.set("user", s?.user ?? null);
    c.set("sessionToken", s ? token : null);
    c.set("sessionId", s?.id ?? null);
    await next();
  };
}

/**
 * The UI language an `Accept-Language` header prefers (RFC 9110 §12.5.4):
 * the supported language (`ko`, `en`, by primary subtag; `*` stands for the
 * default) with the highest q-value, the earlier one on a tie; `q=0` means
 * "not this one". Korean when nothing supported is acceptable.
 */
export function negotiateLanguage(header: string | undefined): "ko" | "en" {
  let best: "ko" | "en" = "ko";
  let bestQ = 0;
  for (const part of (header ?? "").split(",")) {
    const [range, ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    const primary = range.split("-")[0];
    const lang = primary === "en" ? "en" : primary === "ko" || primary === "*" ? "ko" : null;
    if (!lang) continue;
    let q = 1;
    for (const p of params) {
      // qvalue = 0[.ddd] / 1[.000]; anything else makes the entry unacceptable.
      const m = /^q=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.exec(p);
      if (p.startsWith("q=")) q = m ? Number(m[1]) : 0;
    }
    if (q > bestQ) {
      best = lang;
      bestQ = q;
    }
  }
  return best;
}

/** Pick the UI language: `lang` cookie, else Accept-Language, else Korean. */
export function language(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const cookie = getCookie(c, "lang");
    const lang = cookie === "en" || cookie === "ko"
      ? cookie
      : negotiateLanguage(c.req.header("accept-language"));
    c.set("lang", lang);
    await next();
  };
}

/** The signed-in user, or a 401. */
export function requireUser(c: Context<AppEnv>): User {
  const u = c.get("user");
  if (!u) throw new HttpError(401, "unauthenticated", "Please sign in.");
  return u;
}

/**
 * The signed-in admin of the building the request acts in (or the
 * operator), or 401/403.
 */
export function requireAdmin(c: Context<AppEnv>): User {
  const u = requireUser(c);
  const bid = c.get("buildingId");
  if (!bid || !administers(u, bid)) throw new HttpError(403, "forbidden", "Admins only.");
  return u;
}

/** The signed-in operator, or 401/403. */
export function requireOperator(c: Context<AppEnv>): User {
  const u = requireUser(c);
  if (u.role !== "operator") throw new HttpError(403, "forbidden", "The operator only.");
  return u;
}

/** Largest JSON body accepted. */
export const MAX_BODY = 16 * 1024;

/** Read and validate a JSON body with a zod schema; 4xx with a clear message otherwise. */
export async function body<T extends z.ZodTypeAny>(c: Context, schema: T): Promise<z.infer<T>> {
  const text = await c.req.text();
  if (text.length > MAX_BODY) throw new HttpError(413, "too_large", "Request body too large.");
  let json: unknown = {};
  if (text.trim() !== "") {
    try {
      json = JSON.parse(text);
    } catch {
      throw new HttpError(400, "bad_json", "The request body is not valid JSON.");
    }
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue.path.length ? issue.path.join(".") : "body";
    const msg = issue.code === "unrecognized_keys"
      ? `Unknown field(s): ${issue.keys.join(", ")}.`
      : `${where}: ${issue.message}`;
    throw new HttpError(
      400,
      "invalid_body",
      msg,
      {},
      issue.path.length ? { field: String(issue.path[0]) } : {},
    );
  }
  return r.data;
}

/**
 * Client IP for rate limiting: Deno's remote address, or behind `hops` trusted
 * proxies (`TRUST_PROXY`) the right-most `X-Forwarded-For` entry they did not
 * add (each proxy appends the address it saw, so entries further left are
 * client-controlled). `true` means one proxy.
 */
export function clientIp(c: Context, hops: number | boolean): string {
  const n = hops === true ? 1 : hops === false ? 0 : hops;
  if (n > 0) {
    const xff = c.req.header("x-forwarded-for");
    const hopsSeen = (xff ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    if (hopsSeen.length) {
      const ip = hopsSeen[Math.max(0, hopsSeen.length - n)];
      if (/^[0-9A-Fa-f:.]{2,45}$/.test(ip)) return ip;
    }
  }
  // deno-lint-ignore no-explicit-any
  const info = (c.env as any)?.remoteAddr as Deno.NetAddr | undefined;
  return info?.hostname ?? "unknown";
}
