/**
 * Configuration from the environment (SPEC section 6). Every value has an
 * embedded default so `deno task start` needs nothing.
 * @module
 */

import { parseAllowList } from "./push/endpoint_policy.ts";
import type { LoginLimitSettings } from "./login_limits.ts";

/** Everything configurable. */
export interface Config {
  port: number;
  hostname: string;
  /** KV path; undefined = Deno's default (managed KV on Deno Deploy). */
  kvPath?: string;
  adminLogin: string;
  /** Undefined: generated on first start and printed once. */
  adminPassword?: string;
  inviteCode?: string;
  vapidPublicKey?: string;
  vapidPrivateKey?: string;
  vapidSubject?: string;
  firebaseServiceAccount?: string;
  firebaseWebConfig?: string;
  /** Extra allowed push endpoint origins (tests, self-hosted push services). */
  pushEndpointAllow: string[];
  /** Extra origins allowed for CSRF/WebSocket Origin checks. */
  allowedOrigins: string[];
  /** Trust X-Forwarded-For / X-Forwarded-Proto (behind a known proxy). */
  trustProxy: boolean;
  /**
   * How many reverse proxies in front of the app append to X-Forwarded-For
   * (`TRUST_PROXY=1`/`true` → 1, `TRUST_PROXY=2` → 2; 0 when off). The client
   * is the right-most address that none of them added.
   */
  proxyHops: number;
  /**
   * The public origin (`PUBLIC_URL`, e.g. `https://laundry.example.org`). When
   * set it replaces the request's Host and scheme for cookies, HSTS, the CSP
   * and the Origin checks.
   */
  publicUrl?: string;
  /** Largest request body in bytes (`BODY_LIMIT_BYTES`). */
  bodyLimitBytes: number;
  /** Login attempt limits (`LOGIN_*`; see lib/login_limits.ts and docs/SECURITY.md). */
  login: LoginLimitSettings;
  /** Length of one "minute" in ms (60 000; tests and demos shrink it). */
  minuteMs: number;
  /** How many minutes a waitlist offer holds a free machine (`OFFER_MINUTES`, 1–30). */
  offerMinutes: number;
  /** Event log retention. */
  retentionMs: number;
  /** WebSocket heartbeat. */
  pingMs: number;
  timeoutMs: number;
  /**
   * A notification shown only in-app (visible page) falls back to push if the
   * page does not confirm it within this time (a dropped connection).
   */
  ackTimeoutMs: number;
  /** Register Deno.cron (off for in-process test servers). */
  background: boolean;
  /** Seed a demo building on an empty store. */
  seed: boolean;
  /** "off" forces the queue-less path (no KV queue messages as alarm clocks). */
  kvQueues: "auto" | "off";
  /** Per-request timeout of one push. */
  pushTimeoutMs: number;
  /** Lease of a push job while it is sent (a worker that dies is taken over after it). */
  pushLeaseMs: number;
  /** Pushes in flight at once per instance. */
  pushConcurrency: number;
  /** Base of the push retry backoff (attempt n waits base × 2^n, at least Retry-After). */
  pushRetryBaseMs: number;
  /** Workers serving one port (`deno task start`; default 1). */
  workers: number;
  /** This worker's name (`/healthz`): "main", or "w1"… in a pool. */
  workerName: string;
  /**
   * The SMTP server of the email fallback (`SMTP_URL`, `smtp://user:pass@host:587`
   * or `smtps://…:465`); unset: no email option anywhere (lib/mail/).
   */
  smtpUrl?: string;
  /** The From of notification mail (`MAIL_FROM`, e.g. `LaundryLive <no-reply@example.org>`). */
  mailFrom?: string;
  /** Base of the email retry backoff (`MAIL_RETRY_BASE_MS`, 60 s: 1, 2, 4… minutes). */
  mailRetryBaseMs: number;
}

function num(v: string | undefined, def: number): number {
  if (v === undefined || v === "") return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`Invalid number in environment: ${v}`);
  return n;
}

function list(v: string | undefined): string[] {
  return (v ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

function proxyHops(v: string | undefined): number {
  if (v === undefined || v === "" || v === "0" || v === "false") return 0;
  if (v === "true") return 1;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 10) throw new Error(`Invalid TRUST_PROXY: ${v}`);
  return n;
}

function publicUrl(v: string | undefined): string | undefined {
  if (!v) return undefined;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new Error(`Invalid PUBLIC_URL: ${v}`);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") {
    throw new Error(`PUBLIC_URL must be http(s): ${v}`);
  }
  return u.origin;
}

function smtpUrl(v: string | undefined): string | undefined {
  if (!v) return undefined;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new Error("Invalid SMTP_URL (expected smtp://user:pass@host:port or smtps://…)");
  }
  if (u.protocol !== "smtp:" && u.protocol !== "smtps:") {
    throw new Error("SMTP_URL must start with smtp:// or smtps://");
  }
  if (!u.hostname) throw new Error("SMTP_URL names no host");
  return v;
}

/** Read the configuration from an environment map (default: `Deno.env`). */
export function loadConfig(env: Record<string, string | undefined> = Deno.env.toObject()): Config {
  return {
    port: num(env.PORT, 8000),
    hostname: env.HOSTNAME_BIND ?? "0.0.0.0",
    kvPath: env.KV_PATH || undefined,
    adminLogin: env.ADMIN_LOGIN || "admin",
    adminPassword: env.ADMIN_PASSWORD || undefined,
    inviteCode: env.INVITE_CODE || undefined,
    vapidPublicKey: env.VAPID_PUBLIC_KEY || undefined,
    vapidPrivateKey: env.VAPID_PRIVATE_KEY || undefined,
    vapidSubject: env.VAPID_SUBJECT || undefined,
    firebaseServiceAccount: env.FIREBASE_SERVICE_ACCOUNT || undefined,
    firebaseWebConfig: env.FIREBASE_WEB_CONFIG || undefined,
    pushEndpointAllow: parseAllowList(env.PUSH_ENDPOINT_ALLOW),
    allowedOrigins: list(env.ALLOWED_ORIGINS),
    trustProxy: proxyHops(env.TRUST_PROXY) > 0,
    proxyHops: proxyHops(env.TRUST_PROXY),
    publicUrl: publicUrl(env.PUBLIC_URL),
    bodyLimitBytes: num(env.BODY_LIMIT_BYTES, 16 * 1024),
    login: {
      freeAttempts: num(env.LOGIN_FREE_ATTEMPTS, 5),
      delayBaseMs: num(env.LOGIN_DELAY_BASE_MS, 1000),
      delayMaxMs: num(env.LOGIN_DELAY_MAX_MS, 15 * 60_000),
      accountLimit: num(env.LOGIN_ACCOUNT_LIMIT, 50),
      ipLimit: num(env.LOGIN_IP_LIMIT, 100),
      windowMs: num(env.LOGIN_WINDOW_MS, 15 * 60_000),
    },
    minuteMs: num(env.MINUTE_MS, 60_000),
    offerMinutes: Math.min(30, Math.max(1, Math.round(num(env.OFFER_MINUTES, 5)))),
    retentionMs: num(env.EVENT_RETENTION_MS, 24 * 3600_000),
    pingMs: num(env.WS_PING_MS, 25_000),
    timeoutMs: num(env.WS_TIMEOUT_MS, 60_000),
    ackTimeoutMs: num(env.ACK_TIMEOUT_MS, 10_000),
    background: env.BACKGROUND !== "0",
    seed: env.SEED !== "0",
    kvQueues: env.KV_QUEUES === "off" || env.KV_QUEUES === "0" ? "off" : "auto",
    pushTimeoutMs: num(env.PUSH_TIMEOUT_MS, 10_000),
    pushLeaseMs: num(env.PUSH_LEASE_MS, 30_000),
    pushConcurrency: Math.max(1, num(env.PUSH_CONCURRENCY, 16)),
    pushRetryBaseMs: num(env.PUSH_RETRY_BASE_MS, 1000),
    workers: Math.max(1, Math.floor(num(env.WORKERS, 1))),
    workerName: env.WORKER_NAME || "main",
    smtpUrl: smtpUrl(env.SMTP_URL),
    mailFrom: env.MAIL_FROM || undefined,
    mailRetryBaseMs: num(env.MAIL_RETRY_BASE_MS, 60_000),
  };
}
