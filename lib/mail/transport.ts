/**
 * Hands mail to the SMTP server of `SMTP_URL` through the maintained npm
 * `nodemailer` (works under Deno), and says what the server answered as a
 * {@link MailResult}. Loaded only when `SMTP_URL` is set.
 * @module
 */
// @ts-types="@types/nodemailer"
import nodemailer from "nodemailer";
import { classifySmtpError, type MailResult, type SmtpErrorLike } from "./policy.ts";
import type { MailContent } from "./compose.ts";

/** One mail to send. */
export interface OutgoingMail extends MailContent {
  to: string;
  /** A stable Message-ID (the same notification twice is recognisably one mail). */
  messageId?: string;
  lang?: string;
}

/** Something that sends mail (the SMTP transport; tests use the same one against a real peer). */
export interface MailTransport {
  send(mail: OutgoingMail): Promise<MailResult>;
  close(): void;
}

/** The From used when `MAIL_FROM` is not set: no-reply at the public host. */
export function defaultFrom(publicUrl: string | undefined): string {
  let host = "localhost";
  try {
    if (publicUrl) host = new URL(publicUrl).hostname;
  } catch { /* validated by loadConfig */ }
  return `LaundryLive <no-reply@${host}>`;
}

/** Sends through one SMTP server (pooled connection, timeouts). */
export class SmtpTransport implements MailTransport {
  readonly #t: {
    sendMail(m: nodemailer.SendMailOptions): Promise<{ rejected?: unknown[]; response?: string }>;
    close(): void;
  };
  readonly #from: string;
  readonly #totalMs: number;

  /**
   * `url`: `smtp://user:pass@host:port` (STARTTLS when offered) or `smtps://…`
   * (TLS). `timeoutMs` bounds each step (connect, greeting, socket silence ×2);
   * the whole send answers "retry" after 3 × `timeoutMs` (callers keep it
   * under a job's lease, so a slow server cannot make two workers send).
   */
  constructor(url: string, from: string, timeoutMs = 15_000) {
    this.#from = from;
    this.#totalMs = timeoutMs * 3;
    // An options object (a second argument would be message defaults): the URL's
    // host, port, TLS and login, plus timeouts and a small pool of connections
    // reused across mails (one TLS handshake per connection, not per mail).
    this.#t = nodemailer.createTransport({
      url,
      pool: true,
      maxConnections: 4,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs * 2,
    });
  }

  /** Send one mail; never throws. */
  async send(mail: OutgoingMail): Promise<MailResult> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<MailResult>((resolve) => {
      timer = setTimeout(
        () => resolve({ status: "retry", detail: `no answer within ${this.#totalMs} ms` }),
        this.#totalMs,
      );
    });
    try {
      return await Promise.race([this.#send(mail), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #send(mail: OutgoingMail): Promise<MailResult> {
    try {
      const info = await this.#t.sendMail({
        from: this.#from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: mail.messageId,
        headers: {
          ...(mail.lang ? { "Content-Language": mail.lang } : {}),
          "Auto-Submitted": "auto-generated",
        },
      });
      if (info.rejected?.length) {
        return { status: "bounce", detail: String(info.response ?? "rejected"), code: 550 };
      }
      return { status: "ok" };
    } catch (err) {
      return classifySmtpError(err as SmtpErrorLike);
    }
  }

  /** Close pooled connections. */
  close(): void {
    this.#t.close();
  }
}
