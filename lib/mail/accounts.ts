/**
 * A resident's fallback address: asking for a verification link (rate
 * limited, the token stored only as its SHA-256, one live link per user,
 * expiring, single use), confirming it, opting in and out, removing it.
 * @module
 */
import { retryCommit, tryCommit } from "../commit.ts";
import type { Store } from "../db/mod.ts";
import type { Lang } from "../i18n.ts";
import { newToken, sha256Hex } from "../ids.ts";
import { K } from "../keys.ts";
import { absoluteUrl, verificationMail } from "./compose.ts";
import type { MailTransport } from "./transport.ts";
import { type EmailRecord, type EmailToken, TOKEN_TTL_MS, VERIFY_LIMITS } from "./records.ts";

/** A refusal the API answers with (`status`, `code`), never a 500. */
export class EmailError extends Error {
  /** Create a refusal. */
  constructor(
    readonly status: 404 | 409 | 410 | 422 | 429 | 503,
    readonly code: string,
    message: string,
    readonly retryAfterMs = 0,
  ) {
    super(message);
  }
}

/** The path a verification link opens (the settings page confirms it with a button). */
export function verifyPath(token: string): string {
  return `/settings?verify=${encodeURIComponent(token)}`;
}

/** Verification and opt-in of residents' addresses. */
export class EmailAccounts {
  /** Over the store and a transport; `publicUrl` (if set) is the origin of links. */
  constructor(
    readonly store: Store,
    readonly transport: MailTransport,
    readonly publicUrl?: string,
  ) {}

  /** A user's record, or null. */
  async get(userId: string): Promise<EmailRecord | null> {
    return (await this.store.kv.get<EmailRecord>(K.email(userId))).value;
  }

  /**
   * Send a verification link for `address` (its token replaces any earlier
   * one). Rate limited per user and per address. `origin` is the page's, used
   * when `PUBLIC_URL` is not set.
   */
  async request(userId: string, address: string, lang: Lang, origin: string): Promise<void> {
    address = address.trim();
    const addrKey = address.toLowerCase();
    for (
      const [key, limit, win] of [
        [`mailverify:u:${userId}`, VERIFY_LIMITS.perUser, VERIFY_LIMITS.userWindowMs],
        [`mailverify:a:${addrKey}`, VERIFY_LIMITS.perAddress, VERIFY_LIMITS.addressWindowMs],
      ] as const
    ) {
      const rl = await this.store.hitRate(key, limit, win);
      if (!rl.allowed) {
        throw new EmailError(429, "rate_limited", "Too many verification mails.", rl.retryAfterMs);
      }
    }
    const token = newToken();
    const hash = await sha256Hex(token);
    const base = this.publicUrl ?? origin;
    await retryCommit(async () => {
      const now = Date.now();
      const [recE, oldE] = await this.store.kv.getMany<[EmailRecord, string]>([
        K.email(userId),
        K.emailTokenOfUser(userId),
      ]);
      const expiresAt = now + TOKEN_TTL_MS;
      const rec: EmailRecord = recE.value ??
        {
          address: null,
          verifiedAt: null,
          enabled: false,
          bounces: 0,
          bouncing: false,
          origin: base,
        };
      const op = this.store.kv.atomic().check(recE).check(oldE);
      if (oldE.value) op.delete(K.emailToken(oldE.value));
      op.set(
        K.emailToken(hash),
        { userId, address, origin: base, expiresAt } satisfies EmailToken,
        {
          expireIn: TOKEN_TTL_MS,
        },
      )
        .set(K.emailTokenOfUser(userId), hash, { expireIn: TOKEN_TTL_MS })
        .set(K.email(userId), { ...rec, pending: { address, sentAt: now, expiresAt } });
      return await tryCommit(op) ? true : null;
    });
    const link = absoluteUrl(base, verifyPath(token));
    const result = await this.transport.send({
      to: address,
      lang,
      ...verificationMail(lang, link, TOKEN_TTL_MS / 3600_000),
    });
    if (result.status === "ok") return;
    // Not sent: the link is useless; forget it.
    await this.#dropToken(userId, hash);
    if (result.status === "bounce") {
      throw new EmailError(422, "email_rejected", `The mail server refused it: ${result.detail}`);
    }
    throw new EmailError(503, "mail_unavailable", `Mail could not be sent: ${result.detail}`);
  }

  async #dropToken(userId: string, hash: string): Promise<void> {
    await retryCommit(async () => {
      const [recE, byUser] = await this.store.kv.getMany<[EmailRecord, string]>([
        K.email(userId),
        K.emailTokenOfUser(userId),
      ]);
      const op = this.store.kv.atomic().check(recE).check(byUser).delete(K.emailToken(hash));
      if (byUser.value === hash) op.delete(byUser.key);
      if (recE.value) {
        if (recE.value.address === null) op.delete(recE.key);
        else op.set(recE.key, { ...recE.value, pending: undefined });
      }
      return await tryCommit(op) ? true : null;
    });
  }

  /**
   * Confirm a link of this user: the address becomes verified and opted in
   * (bounces reset), the token is used up, in one checked commit.
   */
  async confirm(userId: string, token: string): Promise<EmailRecord> {
    const hash = await sha256Hex(token);
    return await retryCommit(async () => {
      const now = Date.now();
      const [tokE, recE, byUser] = await this.store.kv.getMany<[EmailToken, EmailRecord, string]>([
        K.emailToken(hash),
        K.email(userId),
        K.emailTokenOfUser(userId),
      ]);
      const tok = tokE.value;
      if (!tok || tok.userId !== userId) {
        throw new EmailError(404, "email_token_invalid", "No such verification link.");
      }
      if (tok.expiresAt <= now) {
        throw new EmailError(410, "email_token_expired", "This verification link has expired.");
      }
      const rec: EmailRecord = {
        address: tok.address,
        verifiedAt: now,
        enabled: true,
        bounces: 0,
        bouncing: false,
        origin: this.publicUrl ?? tok.origin,
      };
      const op = this.store.kv.atomic().check(tokE).check(recE).check(byUser)
        .delete(tokE.key).set(recE.key, rec);
      if (byUser.value === hash) op.delete(byUser.key);
      return await tryCommit(op) ? rec : null;
    });
  }

  /** Opt in or out (a verified address only). */
  async setEnabled(userId: string, enabled: boolean): Promise<EmailRecord> {
    return await retryCommit(async () => {
      const e = await this.store.kv.get<EmailRecord>(K.email(userId));
      if (!e.value?.address) {
        throw new EmailError(409, "email_not_verified", "Verify an address first.");
      }
      const rec = { ...e.value, enabled };
      return await tryCommit(this.store.kv.atomic().check(e).set(e.key, rec)) ? rec : null;
    });
  }

  /** Forget the address and any pending link. */
  async remove(userId: string): Promise<void> {
    const byUser = await this.store.kv.get<string>(K.emailTokenOfUser(userId));
    const op = this.store.kv.atomic().delete(K.email(userId)).delete(byUser.key);
    if (byUser.value) op.delete(K.emailToken(byUser.value));
    await op.commit();
  }
}
