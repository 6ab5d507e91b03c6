/**
 * FCM transport: sends one {@link PushPayload} to one FCM registration token
 * with `npm:firebase-admin` (HTTP v1 API) and maps the outcome to a
 * {@link SendResult}.
 *
 * firebase-admin is large (about 74 MB installed, ~60 ms to import), so it is
 * imported lazily by {@link FcmSender.create}, only when FCM is configured.
 *
 * Messages are FCM *data* messages for the web: the payload's fields travel as
 * strings in `webpush.data`, and our service worker shows the notification.
 * The notifier sends the declarative Web Push message in its string form
 * (`toFcmData` in lib/push/declarative.ts: `web_push`, `notification` as
 * JSON, `mutable`, `app_badge`); the flat {@link PushPayload} of earlier
 * releases is still accepted.
 *
 * @example
 * ```ts
 * import { FcmSender } from "./fcm_sender.ts";
 * const fcm = await FcmSender.create({ serviceAccount: Deno.env.get("FIREBASE_SERVICE_ACCOUNT") });
 * const result = await fcm.send(device.token!, payload, {
 *   ttlSeconds: 3600,
 *   urgency: "high",
 *   topic: "machine-w1",
 *   link: "https://laundry.example.org/machines/w1",
 * });
 * ```
 * @module
 */

import type { App, Credential, ServiceAccount } from "firebase-admin/app";
import type { Message, Messaging } from "firebase-admin/messaging";
import type { PushOptions, PushPayload, SendResult } from "../types.ts";
import { MAX_TTL_SECONDS, parseRetryAfter, sanitizeTopic } from "./webpush_sender.ts";

/** Options for {@link FcmSender.create}. Give `serviceAccount` or `credential`. */
export interface FcmSenderOptions {
  /**
   * A Firebase service account: the parsed JSON key, its JSON text (as in
   * `FIREBASE_SERVICE_ACCOUNT`), or a path to the key file.
   */
  serviceAccount?: object | string;
  /** Project id; defaults to the service account's `project_id`. */
  projectId?: string;
  /** A custom credential (tests, or tokens minted elsewhere). */
  credential?: {
    getAccessToken(): Promise<{ access_token: string; expires_in: number }>;
  };
  /** A `node:https` Agent for all Google requests (tests route it to a fake). */
  httpAgent?: unknown;
  /** Name of the firebase-admin app (default `laundrylive-fcm`, suffixed if taken). */
  appName?: string;
  /** `retryAfterMs` when a retryable error names none (default 10 000 ms). */
  defaultRetryAfterMs?: number;
}

/** What one FCM message carries: a flat payload, or a string map sent as is. */
export type FcmPayload = PushPayload | Record<string, string>;

/** Transport options for one FCM message. */
export type FcmSendOptions = PushOptions & {
  /** Page opened on click; sent as `webpush.fcmOptions.link` only if https. */
  link: string;
};

const GONE_CODES: ReadonlySet<string> = new Set([
  "messaging/registration-token-not-registered",
  "messaging/installation-id-not-registered",
]);

const RETRY_CODES: ReadonlySet<string> = new Set([
  "messaging/message-rate-exceeded",
  "messaging/device-message-rate-exceeded",
  "messaging/topics-message-rate-exceeded",
  "messaging/server-unavailable",
  "messaging/internal-error",
  "messaging/unavailable",
  "app/network-error",
  "app/network-timeout",
]);

const ALARM_CODES: ReadonlySet<string> = new Set([
  "messaging/mismatched-credential",
  "messaging/third-party-auth-error",
  "messaging/authentication-error",
  "messaging/invalid-package-name",
  "app/invalid-credential",
  "app/invalid-app-options",
  "app/no-app",
  "app/app-deleted",
  "app/project-id-required",
]);

const DETAIL_MAX_CHARS = 300;

function truncate(text: string): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > DETAIL_MAX_CHARS ? oneLine.slice(0, DETAIL_MAX_CHARS) + "…" : oneLine;
}

/**
 * Maps an error thrown by firebase-admin `messaging.send()` to a
 * {@link SendResult}:
 * - `gone`: `registration-token-not-registered` (FCM `UNREGISTERED`, 404),
 *   `installation-id-not-registered`;
 * - `retry`: rate limits, `server-unavailable`, `internal-error`,
 *   `unavailable`, network errors, and any other error with a 429/5xx status
 *   (`retryAfterMs` from `Retry-After`, else the default);
 * - `alarm`: credential and authentication problems (`mismatched-credential`,
 *   `third-party-auth-error`, `authentication-error`, `app/invalid-credential`
 *   …) and 401/403: our setup is wrong, the token is not at fault;
 * - `rejected`: everything else (`invalid-argument`, invalid payloads, …).
 *
 * @param err What `send()` threw.
 * @param defaultRetryAfterMs Delay for retryable errors without `Retry-After`.
 * @param nowMs Current time, for HTTP-date `Retry-After` values.
 * @returns The outcome.
 */
export function mapFcmError(
  err: unknown,
  defaultRetryAfterMs = 10_000,
  nowMs: number = Date.now(),
): SendResult {
  const e = (typeof err === "object" && err !== null ? err : {}) as {
    code?: unknown;
    message?: unknown;
    httpResponse?: { status?: unknown; headers?: Record<string, unknown> };
  };
  const code = typeof e.code === "string" ? e.code : "unknown";
  const message = typeof e.message === "string" ? e.message : String(err);
  const httpStatus = typeof e.httpResponse?.status === "number" ? e.httpResponse.status : undefined;
  const detail = truncate(`${code}: ${message}`);
  const status = httpStatus === undefined ? {} : { httpStatus };

  if (GONE_CODES.has(code)) return { status: "gone", ...status, detail };
  if (ALARM_CODES.has(code) || httpStatus === 401 || httpStatus === 403) {
    return { status: "alarm", ...status, detail };
  }
  if (
    RETRY_CODES.has(code) ||
    (httpStatus !== undefined && (httpStatus === 429 || httpStatus >= 500))
  ) {
    const header = e.httpResponse?.headers?.["retry-after"];
    const retryAfterMs = parseRetryAfter(typeof header === "string" ? header : null, nowMs) ??
      defaultRetryAfterMs;
    return { status: "retry", ...status, retryAfterMs, detail };
  }
  return { status: "rejected", ...status, detail };
}

/**
 * The payload as FCM data: every field as a string (booleans `"true"`/
 * `"false"`, numbers in decimal); absent optional fields are left out.
 *
 * @param payload The notification payload.
 * @returns A string map for `webpush.data`.
 */
export function payloadToData(payload: FcmPayload): Record<string, string> {
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(payload)) {
    if (value === undefined || value === null) continue;
    data[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return data;
}

/**
 * Builds the FCM HTTP v1 message for one token: a `webpush` block with
 * `Urgency`, `TTL` and `Topic` headers, the payload as `data` and
 * `fcmOptions.link` (https links only; FCM refuses others), and an `android`
 * block with priority `high` for urgency `high` (else `normal`), the same TTL
 * and the topic as collapse key.
 *
 * @param token The FCM registration token.
 * @param payload The notification payload.
 * @param opts TTL, urgency, topic and click link.
 * @returns The message for `messaging.send()`.
 */
export async function buildFcmMessage(
  token: string,
  payload: FcmPayload,
  opts: FcmSendOptions,
): Promise<Message> {
  const ttl = Math.min(MAX_TTL_SECONDS, Math.max(0, Math.floor(opts.ttlSeconds || 0)));
  const topic = await sanitizeTopic(opts.topic);
  const headers: Record<string, string> = { Urgency: opts.urgency, TTL: String(ttl) };
  if (topic) headers.Topic = topic;
  const link = typeof opts.link === "string" && opts.link.startsWith("https://")
    ? opts.link
    : undefined;
  return {
    token,
    webpush: {
      headers,
      data: payloadToData(payload),
      ...(link ? { fcmOptions: { link } } : {}),
    },
    android: {
      priority: opts.urgency === "high" ? "high" : "normal",
      ttl: ttl * 1000,
      ...(topic ? { collapseKey: topic } : {}),
    },
  };
}

function parseServiceAccount(value: object | string): object | string {
  if (typeof value !== "string") return value;
  const trimmed = value.trim();
  if (!trimmed.startsWith("{")) return trimmed; // a path to the key file
  try {
    return JSON.parse(trimmed);
  } catch {
    throw new TypeError("FIREBASE_SERVICE_ACCOUNT is not valid JSON");
  }
}

/**
 * Sends FCM messages through a dedicated, named firebase-admin app. Create it
 * with {@link FcmSender.create}; call {@link FcmSender.close} on shutdown.
 */
export class FcmSender {
  readonly #app: App;
  readonly #messaging: Messaging;
  readonly #deleteApp: (app: App) => Promise<void>;
  readonly #defaultRetryAfterMs: number;
  #closed = false;

  private constructor(
    app: App,
    messaging: Messaging,
    deleteApp: (app: App) => Promise<void>,
    defaultRetryAfterMs: number,
  ) {
    this.#app = app;
    this.#messaging = messaging;
    this.#deleteApp = deleteApp;
    this.#defaultRetryAfterMs = defaultRetryAfterMs;
  }

  /**
   * Loads firebase-admin and initialises a named app.
   *
   * @param options A service account or a credential, plus optional project
   *   id, https agent and app name.
   * @returns A ready sender.
   * @throws {TypeError} When neither a service account nor a credential is
   *   given, the service account JSON is invalid, or no project id is known.
   */
  static async create(options: FcmSenderOptions): Promise<FcmSender> {
    if (options.serviceAccount === undefined && options.credential === undefined) {
      throw new TypeError("FcmSender needs a serviceAccount or a credential");
    }
    const { cert, deleteApp, getApps, initializeApp } = await import("firebase-admin/app");
    const { getMessaging } = await import("firebase-admin/messaging");

    let credential: Credential;
    let projectId = options.projectId;
    if (options.credential !== undefined) {
      credential = options.credential;
    } else {
      const account = parseServiceAccount(options.serviceAccount!);
      if (typeof account === "object") {
        const id = (account as { project_id?: unknown; projectId?: unknown }).project_id ??
          (account as { projectId?: unknown }).projectId;
        if (typeof id === "string") projectId ??= id;
      }
      credential = cert(
        account as string | ServiceAccount,
        options.httpAgent as Parameters<typeof cert>[1],
      );
    }
    if (!projectId) {
      throw new TypeError("FcmSender needs a projectId (or a service account with project_id)");
    }

    const taken = new Set(getApps().map((app) => app.name));
    const base = options.appName ?? "laundrylive-fcm";
    let name = base;
    for (let i = 2; taken.has(name); i++) {
      if (options.appName !== undefined) {
        throw new TypeError(`firebase-admin app "${base}" already exists`);
      }
      name = `${base}-${i}`;
    }
    const app = initializeApp(
      {
        credential,
        projectId,
        ...(options.httpAgent ? { httpAgent: options.httpAgent as never } : {}),
      },
      name,
    );
    return new FcmSender(
      app,
      getMessaging(app),
      deleteApp,
      options.defaultRetryAfterMs ?? 10_000,
    );
  }

  /** The firebase-admin app name. */
  get appName(): string {
    return this.#app.name;
  }

  /**
   * Sends one data message to one registration token (see
   * {@link buildFcmMessage}). firebase-admin itself retries 503s a few times
   * (about 7 s) before this returns `retry`.
   *
   * @param token The FCM registration token.
   * @param payload The notification payload.
   * @param opts TTL, urgency, topic and click link.
   * @returns The outcome (see {@link mapFcmError}); never throws.
   */
  async send(token: string, payload: FcmPayload, opts: FcmSendOptions): Promise<SendResult> {
    if (this.#closed) return { status: "alarm", detail: "FCM sender is closed" };
    if (typeof token !== "string" || token === "") {
      return { status: "rejected", detail: "device has no FCM token" };
    }
    try {
      const message = await buildFcmMessage(token, payload, opts);
      await this.#messaging.send(message);
      return { status: "ok", httpStatus: 200 };
    } catch (err) {
      return mapFcmError(err, this.#defaultRetryAfterMs);
    }
  }

  /** Deletes the firebase-admin app (idempotent). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#deleteApp(this.#app);
  }
}
