/**
 * Wires the email fallback when `SMTP_URL` is set: one SMTP transport, the
 * outbox channel and the address verification. Imported lazily by
 * `lib/notify/setup.ts`, so nodemailer loads only where mail is configured.
 * @module
 */
import type { Config } from "../config.ts";
import type { Store } from "../db/mod.ts";
import { EmailAccounts } from "./accounts.ts";
import { EmailChannel } from "./channel.ts";
import { defaultFrom, SmtpTransport } from "./transport.ts";

/** The parts of the email fallback. */
export interface EmailSetup {
  transport: SmtpTransport;
  channel: EmailChannel;
  accounts: EmailAccounts;
}

/**
 * One SMTP step's timeout: at most 15 s, and small enough that a whole send
 * (3 steps' worth) ends within the outbox lease of a leased job (the same
 * lease as a push's, `lib/notify/setup.ts`), at least 250 ms.
 */
export function mailStepTimeoutMs(config: Config): number {
  const lease = Math.max(config.pushLeaseMs, config.pushTimeoutMs * 2);
  return Math.max(250, Math.min(15_000, Math.floor(lease / 4)));
}

/** Build the email fallback from the configuration (requires `config.smtpUrl`). */
export function setupEmail(store: Store, config: Config): EmailSetup {
  if (!config.smtpUrl) throw new Error("setupEmail: SMTP_URL is not set");
  const transport = new SmtpTransport(
    config.smtpUrl,
    config.mailFrom ?? defaultFrom(config.publicUrl),
    mailStepTimeoutMs(config),
  );
  const channel = new EmailChannel(store, transport, {
    retryBaseMs: config.mailRetryBaseMs,
    publicUrl: config.publicUrl,
  });
  const accounts = new EmailAccounts(store, transport, config.publicUrl);
  return { transport, channel, accounts };
}
