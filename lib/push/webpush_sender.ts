/**
 * Web Push transport (RFC 8030 + RFC 8291 aes128gcm + RFC 8292 VAPID).
 *
 * Encryption comes from `npm:web-push` (`generateRequestDetails`, with no
 * VAPID details; imported on the first send, off the start-up path); the
 * VAPID `Authorization` header (ES256 JWT, `node:crypto`) is added here from a cache
 * keyed by push-service origin (one JWT per origin, reused until 10 minutes
 * before it expires), and the request is sent with the global `fetch`, not
 * `sendNotification` (which goes through `node:https`).
 *
 * This module knows nothing about users or routing: it turns one
 * (subscription, payload, options) into one {@link SendResult}.
 *
 * @example
 * ```ts
 * import { WebPushSender } from "./webpush_sender.ts";
 * const sender = new WebPushSender({ publicKey, privateKey, subject: "mailto:ops@example.org" });
 * const result = await sender.send(device, JSON.stringify(payload), {
 *   ttlSeconds: 3600,
 *   urgency: "high",
 *   topic: "machine-w1",
 * });
 * if (result.status === "gone") await deleteDevice(device);
 * ```
 * @module
 */

import type { Device, PushOptions, SendResult } from "../types.ts";
import { base64UrlToBytes } from "../base64url.ts";
import { nodeCrypto } from "../node_crypto.ts";

/** The part of `npm:web-push@3.6.7` used here (the package ships no types). */
interface WebPushLib {
  generateRequestDetails(
    subscription: { endpoint: string; keys: { p256dh: string; auth: string } },
    payload: string,
    options: Record<string, unknown>,
  ): { headers: Record<string, string | number>; body: Uint8Array | null };
}

let lib: WebPushLib | null = null;

/**
 * `npm:web-push`, imported on the first send: loading it and its node-compat
 * dependencies cost ~100 ms of CPU, which kept it on every server's start-up
 * path (bench "Page weight and start"). Keys and VAPID JWTs are made here
 * with `node:crypto`; only the RFC 8291 encryption comes from web-push.
 */
async function webPush(): Promise<WebPushLib> {
  return lib ??= (await import("web-push")).default as unknown as WebPushLib;
}

/**
 * The RFC 8292 `Authorization` value for `audience`: `vapid t=<ES256 JWT
 * {aud, exp, sub}>, k=<public key>` (what web-push's `getVapidHeaders` makes
 * for aes128gcm), signed with `node:crypto`.
 */
async function vapidHeader(
  audience: string,
  subject: string,
  publicKey: string,
  privateKey: string,
  exp: number,
): Promise<string> {
  const { createPrivateKey, sign } = await nodeCrypto();
  // As web-push checks it: push services refuse a JWT valid for more than 24 h.
  if (!Number.isSafeInteger(exp) || exp < 0 || exp > Math.floor(Date.now() / 1000) + 24 * 3600) {
    throw new RangeError(`VAPID exp ${exp} is not within 24 h from now`);
  }
  const pub = base64UrlToBytes(publicKey)!;
  const key = createPrivateKey({
    key: {
      kty: "EC",
      crv: "P-256",
      d: privateKey,
      x: toBase64Url(pub.subarray(1, 33)),
      y: toBase64Url(pub.subarray(33, 65)),
    },
    format: "jwk",
  });
  const part = (o: unknown) => toBase64Url(new TextEncoder().encode(JSON.stringify(o)));
  const unsigned = `${part({ typ: "JWT", alg: "ES256" })}.${
    part({ aud: audience, exp, sub: subject })
  }`;
  const sig = sign("sha256", new TextEncoder().encode(unsigned), {
    key,
    dsaEncoding: "ieee-p1363",
  });
  return `vapid t=${unsigned}.${toBase64Url(sig)}, k=${publicKey}`;
}

/** Lifetime of a VAPID JWT we mint (RFC 8292 allows at most 24 h). */
export const VAPID_JWT_LIFETIME_SECONDS = 12 * 60 * 60;
/** A cached VAPID JWT is replaced this long before it expires. */
export const VAPID_JWT_REFRESH_MARGIN_SECONDS = 10 * 60;
/** Largest TTL push services accept (4 weeks); larger values are clamped. */
export const MAX_TTL_SECONDS = 28 * 24 * 60 * 60;
/** Largest request body push services must accept (RFC 8030 section 7.2). */
export const MAX_ENCRYPTED_BODY_BYTES = 4096;
/** How much of a push service's response body is kept in `detail`. */
export const DETAIL_MAX_CHARS = 300;

const TOPIC_RE = /^[A-Za-z0-9_-]{1,32}$/;
const URGENCIES: ReadonlySet<string> = new Set(["very-low", "low", "normal", "high"]);

/** A VAPID key pair, both halves URL-safe base64 without padding. */
export interface VapidKeys {
  /** Uncompressed P-256 public key (65 bytes), the `applicationServerKey`. */
  publicKey: string;
  /** P-256 private scalar (32 bytes). Keep it secret. */
  privateKey: string;
}

/**
 * Generates a fresh VAPID key pair (P-256) with Web Crypto (a first start
 * makes one; it loads no `node:` module).
 *
 * @returns The key pair, URL-safe base64 encoded.
 */
export async function generateVapidKeys(): Promise<VapidKeys> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
  ]);
  const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  const x = base64UrlToBytes(jwk.x!)!;
  const y = base64UrlToBytes(jwk.y!)!;
  const d = base64UrlToBytes(jwk.d!)!;
  const pub = new Uint8Array(65);
  pub[0] = 4; // uncompressed point: 0x04 || x || y
  pub.set(x, 1 + 32 - x.length);
  pub.set(y, 33 + 32 - y.length);
  const priv = new Uint8Array(32);
  priv.set(d, 32 - d.length); // a short scalar is left-padded to 32 bytes
  return { publicKey: toBase64Url(pub), privateKey: toBase64Url(priv) };
}

/**
 * Checks a VAPID `sub` claim: it must be a `mailto:` address
 * (`mailto:ops@example.org`) or an `https:` URL. Apple rejects other values
 * (and `https://localhost`) with `BadJwtToken`.
 *
 * @param subject The configured subject (for example `VAPID_SUBJECT`).
 * @returns The subject, trimmed.
 * @throws {TypeError} When the subject is not an acceptable contact.
 */
export function validateSubject(subject: string): string {
  const value = typeof subject === "string" ? subject.trim() : "";
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url?.protocol === "mailto:" && /^mailto:[^@\s/?#]+@[^@\s/?#]+\.[^@\s/?#]+$/.test(value)) {
    return value;
  }
  if (url?.protocol === "https:" && url.hostname !== "" && url.username === "") return value;
  throw new TypeError(
    `VAPID subject must be a mailto: address or an https: URL, got ${JSON.stringify(subject)}`,
  );
}

function assertVapidKeys(publicKey: string, privateKey: string): void {
  const pub = base64UrlToBytes(publicKey);
  if (pub === null || pub.length !== 65 || pub[0] !== 0x04) {
    throw new TypeError("VAPID public key must be 65 bytes (uncompressed P-256), base64url");
  }
  const priv = base64UrlToBytes(privateKey);
  if (priv === null || priv.length !== 32) {
    throw new TypeError("VAPID private key must be 32 bytes, base64url");
  }
}

function toBase64Url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * Makes a valid RFC 8030 `Topic` (at most 32 characters of the URL-safe
 * base64 alphabet). A valid topic is kept as is; any other non-empty string is
 * replaced by the first 32 characters of its SHA-256 in base64url, so the same
 * input always collapses onto the same topic.
 *
 * @param topic The wanted collapse key (for example `machine-w1`).
 * @returns The header value, or `undefined` for no `Topic` header.
 */
export async function sanitizeTopic(topic: string | undefined): Promise<string | undefined> {
  if (topic === undefined || topic === "") return undefined;
  if (TOPIC_RE.test(topic)) return topic;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(topic));
  return toBase64Url(new Uint8Array(digest)).slice(0, 32);
}

/**
 * Parses a `Retry-After` value: delay-seconds or an HTTP-date.
 *
 * @param value The header value (`null` when absent).
 * @param nowMs The current time, for HTTP-dates.
 * @returns Milliseconds to wait (never negative), or `undefined` when absent
 *   or unparsable.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** A Web Push subscription: a {@link Device} of kind `webpush` fits. */
export type WebPushTarget = Pick<Device, "endpoint" | "keys">;

/** Options for {@link WebPushSender}. */
export interface WebPushSenderOptions {
  /** VAPID public key (base64url, 65 bytes). */
  publicKey: string;
  /** VAPID private key (base64url, 32 bytes). */
  privateKey: string;
  /** VAPID contact: `mailto:` or `https:` (see {@link validateSubject}). */
  subject: string;
  /** The fetch used to talk to push services (default: global `fetch`). */
  fetch?: typeof fetch;
  /** Clock in epoch ms (default `Date.now`), for the JWT cache and HTTP-dates. */
  now?: () => number;
  /** Per-request timeout; a timeout gives `retry` (default 15 000 ms). */
  timeoutMs?: number;
  /** `retryAfterMs` when a 429/5xx/network failure names none (default 10 000 ms). */
  defaultRetryAfterMs?: number;
}

interface CachedVapid {
  header: string;
  /** JWT `exp`, epoch seconds. */
  exp: number;
}

function truncate(text: string): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > DETAIL_MAX_CHARS ? oneLine.slice(0, DETAIL_MAX_CHARS) + "…" : oneLine;
}

function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/**
 * Sends Web Push messages with VAPID, one subscription at a time. Never
 * throws from {@link WebPushSender.send}: every outcome is a
 * {@link SendResult}.
 */
export class WebPushSender {
  readonly #publicKey: string;
  readonly #privateKey: string;
  readonly #subject: string;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #defaultRetryAfterMs: number;
  readonly #vapidCache = new Map<string, CachedVapid>();

  /**
   * Creates a sender for one VAPID identity.
   *
   * @param options VAPID keys and subject, plus optional fetch/clock overrides.
   * @throws {TypeError} When the keys or subject are malformed.
   */
  constructor(options: WebPushSenderOptions) {
    assertVapidKeys(options.publicKey, options.privateKey);
    this.#subject = validateSubject(options.subject);
    this.#publicKey = options.publicKey;
    this.#privateKey = options.privateKey;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#now = options.now ?? Date.now;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
    this.#defaultRetryAfterMs = options.defaultRetryAfterMs ?? 10_000;
  }

  /** The VAPID public key (the browser's `applicationServerKey`). */
  get publicKey(): string {
    return this.#publicKey;
  }

  /**
   * The `Authorization: vapid t=…, k=…` value for a push-service origin,
   * minted once and reused until {@link VAPID_JWT_REFRESH_MARGIN_SECONDS}
   * before its expiry.
   *
   * @param origin The push service origin, e.g. `https://fcm.googleapis.com`.
   * @returns The header value.
   */
  async vapidAuthorization(origin: string): Promise<string> {
    const nowSec = Math.floor(this.#now() / 1000);
    const cached = this.#vapidCache.get(origin);
    if (cached && nowSec < cached.exp - VAPID_JWT_REFRESH_MARGIN_SECONDS) return cached.header;
    const exp = nowSec + VAPID_JWT_LIFETIME_SECONDS;
    const Authorization = await vapidHeader(
      origin,
      this.#subject,
      this.#publicKey,
      this.#privateKey,
      exp,
    );
    if (this.#vapidCache.size >= 1000) this.#vapidCache.clear();
    this.#vapidCache.set(origin, { header: Authorization, exp });
    return Authorization;
  }

  /**
   * Encrypts `payload` for the subscription and POSTs it to its endpoint.
   *
   * Headers: `TTL` (clamped to 0…4 weeks), `Urgency`, `Topic` (see
   * {@link sanitizeTopic}), `Content-Encoding: aes128gcm` and the VAPID
   * `Authorization`. Redirects are not followed.
   *
   * Outcome: 2xx `ok`; 404/410 `gone`; 408/429/5xx, timeouts and network
   * errors `retry` (with `retryAfterMs` from `Retry-After`, else the default);
   * 401/403 `alarm` (our VAPID setup is wrong, e.g. Apple `BadJwtToken`; the
   * cached JWT for that origin is dropped); anything else, including bad keys
   * and payloads over 4 KB once encrypted, `rejected`. `detail` carries the
   * (truncated) response body.
   *
   * @param device The subscription (endpoint and keys).
   * @param payload The plaintext, normally the JSON of a `PushPayload`.
   * @param opts TTL, urgency and optional collapse topic.
   * @returns The outcome; never throws.
   */
  async send(device: WebPushTarget, payload: string, opts: PushOptions): Promise<SendResult> {
    const { endpoint, keys } = device;
    if (!endpoint || !keys?.p256dh || !keys?.auth) {
      return { status: "rejected", detail: "device has no web push subscription" };
    }
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      return { status: "rejected", detail: "endpoint is not a URL" };
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      return { status: "rejected", detail: `unsupported endpoint scheme ${url.protocol}` };
    }
    if (!Number.isFinite(opts.ttlSeconds)) {
      return { status: "rejected", detail: `invalid TTL ${opts.ttlSeconds}` };
    }
    const ttl = Math.min(MAX_TTL_SECONDS, Math.max(0, Math.floor(opts.ttlSeconds)));
    const urgency = URGENCIES.has(opts.urgency) ? opts.urgency : "normal";
    const topic = await sanitizeTopic(opts.topic);

    let body: Uint8Array;
    const headers = new Headers();
    try {
      const details = (await webPush()).generateRequestDetails(
        // The real endpoint is not needed for encryption; a neutral one keeps
        // web-push from applying its legacy GCM special cases.
        { endpoint: "https://push.invalid/", keys: { p256dh: keys.p256dh, auth: keys.auth } },
        payload,
        {
          TTL: ttl,
          urgency,
          ...(topic ? { topic } : {}),
          contentEncoding: "aes128gcm",
          vapidDetails: null,
        },
      );
      for (const [name, value] of Object.entries(details.headers)) {
        const lower = name.toLowerCase();
        if (lower === "content-length" || lower === "authorization") continue;
        headers.set(name, String(value));
      }
      body = details.body ?? new Uint8Array();
    } catch (err) {
      return { status: "rejected", detail: `cannot encrypt: ${describeError(err)}` };
    }
    try {
      headers.set("Authorization", await this.vapidAuthorization(url.origin));
    } catch (err) {
      // Keys and subject were checked in the constructor: this is our setup.
      return { status: "alarm", detail: `cannot sign VAPID JWT: ${describeError(err)}` };
    }
    if (body.byteLength > MAX_ENCRYPTED_BODY_BYTES) {
      return {
        status: "rejected",
        detail:
          `payload too large: ${body.byteLength} bytes encrypted, max ${MAX_ENCRYPTED_BODY_BYTES}`,
      };
    }

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(endpoint, {
        method: "POST",
        headers,
        body: body as Uint8Array<ArrayBuffer>,
        redirect: "manual",
        signal: controller.signal,
      });
      text = await response.text();
    } catch (err) {
      const detail = controller.signal.aborted
        ? `timeout after ${this.#timeoutMs} ms`
        : `network error: ${describeError(err)}`;
      return { status: "retry", retryAfterMs: this.#defaultRetryAfterMs, detail: truncate(detail) };
    } finally {
      clearTimeout(timer);
    }
    return this.#mapResponse(url.origin, response, text);
  }

  #mapResponse(origin: string, response: Response, text: string): SendResult {
    const httpStatus = response.status;
    const detail = truncate(`${httpStatus} ${response.statusText} ${text}`);
    if (httpStatus >= 200 && httpStatus < 300) return { status: "ok", httpStatus };
    if (httpStatus === 404 || httpStatus === 410) return { status: "gone", httpStatus, detail };
    if (httpStatus === 408 || httpStatus === 429 || httpStatus >= 500) {
      const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), this.#now()) ??
        this.#defaultRetryAfterMs;
      return { status: "retry", httpStatus, retryAfterMs, detail };
    }
    if (httpStatus === 401 || httpStatus === 403) {
      this.#vapidCache.delete(origin);
      return { status: "alarm", httpStatus, detail };
    }
    return { status: "rejected", httpStatus, detail };
  }
}
