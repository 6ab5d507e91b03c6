/**
 * When a notification goes by email, and what an SMTP answer means, as pure
 * functions. No I/O.
 * @module
 */
import { deviceHealth } from "../notify/health.ts";
import type { Device, NotificationKind } from "../types.ts";
import type { EmailRecord } from "./records.ts";

/** Kinds worth an email when no push device can take them (plus critical notices). */
export const EMAIL_KINDS: ReadonlySet<NotificationKind> = new Set([
  "use.done",
  "use.overdue",
  "pickup.nudge",
]);

/** Whether a notification matters enough to be emailed. */
export function emailWorthy(n: { kind: NotificationKind; critical?: boolean }): boolean {
  return EMAIL_KINDS.has(n.kind) || n.critical === true;
}

/** Whether none of a user's devices is healthy (no devices at all included). */
export function noHealthyDevice(devices: Device[], now: number): boolean {
  return !devices.some((d) => deviceHealth(d, now).healthy);
}

/** The address to email, or null: verified, opted in, not bouncing. */
export function sendableAddress(rec: EmailRecord | null): string | null {
  return rec && rec.address && rec.enabled && !rec.bouncing ? rec.address : null;
}

/** What one attempt to hand a mail to the SMTP server came to. */
export type MailResult =
  | { status: "ok" }
  /** Temporary (4xx, connection, timeout): try again later. */
  | { status: "retry"; detail: string }
  /** The server refused the recipient or the message for good (5xx): a bounce. */
  | { status: "bounce"; detail: string; code: number }
  /** Our side is wrong (authentication, the sender refused): not the resident's fault. */
  | { status: "setup"; detail: string };

/** The fields of a nodemailer error this reads. */
export interface SmtpErrorLike {
  code?: string;
  responseCode?: number;
  command?: string;
  response?: string;
  message?: string;
}

/**
 * Classify a failed send: 4xx and network errors are temporary; a 5xx for
 * the recipient or the message (RCPT TO, DATA) is a bounce; a failed login
 * or a 5xx for our sender (MAIL FROM) is our setup.
 */
export function classifySmtpError(err: SmtpErrorLike): MailResult {
  const detail = String(err.response ?? err.message ?? err.code ?? "error").slice(0, 200);
  const rc = typeof err.responseCode === "number" ? err.responseCode : 0;
  if (err.code === "EAUTH" || rc === 530 || rc === 535) return { status: "setup", detail };
  if (rc >= 500 && rc < 600) {
    if (/^MAIL FROM/i.test(err.command ?? "")) return { status: "setup", detail };
    return { status: "bounce", detail, code: rc };
  }
  return { status: "retry", detail };
}

/** Attempts of one email before a temporary failure counts as failed. */
export const MAX_MAIL_ATTEMPTS = 6;

/** When to try an email again after attempt `attempt` failed: base, 2 × base, … at most an hour. */
export function mailRetryDelayMs(attempt: number, baseMs: number): number {
  return Math.min(3600_000, baseMs * 2 ** Math.max(0, attempt - 1));
}
