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

/** Build the email fallback from the configuration (requires `config.smtpUrl`). */
export function setupEmail(store: Store, config: Config): EmailSetup {
  if (!config.smtpUrl) throw new Error("setupEmail: SMTP_URL is not set");
  const transport = new SmtpTransport(
    config.smtpUrl,
    config.mailFrom ?? defaultFrom(config.publicUrl),
  );
  const channel = new EmailChannel(store, transport, {
    retryBaseMs: config.mailRetryBaseMs,
    publicUrl: config.publicUrl,
  });
  const accounts = new EmailAccounts(store, transport, config.publicUrl);
  return { transport, channel, accounts };
}
