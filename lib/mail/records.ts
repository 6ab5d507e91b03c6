/**
 * What the email fallback keeps in KV (keys in `lib/keys.ts`: `["email", userId]`,
 * `["email_token", hash]`, `["email_token_by_user", userId]`, `["mailed", id, userId]`)
 * and what a resident's page is shown of it.
 * @module
 */

/** A resident's fallback address: verified, opted in, and how it has bounced. */
export interface EmailRecord {
  /** The verified address, or null while only a verification is pending. */
  address: string | null;
  verifiedAt: number | null;
  /** Opted in: notifications that matter go here when no push device is healthy. */
  enabled: boolean;
  /** Permanent rejections (5xx at SMTP time) since it was verified. */
  bounces: number;
  /** Set after {@link BOUNCE_LIMIT} bounces: nothing more is sent until re-verified. */
  bouncing: boolean;
  lastBounce?: { at: number; detail: string };
  /** The origin links in mail point to (`PUBLIC_URL`, else the one the link was asked from). */
  origin: string;
  /** A verification link sent and not used yet. */
  pending?: { address: string; sentAt: number; expiresAt: number };
}

/** A verification link's record, stored under the SHA-256 of its token. */
export interface EmailToken {
  userId: string;
  address: string;
  origin: string;
  expiresAt: number;
}

/** Bounces after which an address is marked bouncing. */
export const BOUNCE_LIMIT = 3;
/** How long a verification link works. */
export const TOKEN_TTL_MS = 24 * 3600_000;
/** Verification mails per user per hour, and per address per day. */
export const VERIFY_LIMITS = {
  perUser: 3,
  userWindowMs: 3600_000,
  perAddress: 5,
  addressWindowMs: 86_400_000,
};

/** What `GET /api/email` and the settings page show of a record. */
export interface EmailView {
  address: string | null;
  verified: boolean;
  enabled: boolean;
  bounces: number;
  bouncing: boolean;
  pending: string | null;
}

/** The public view of a record (never the token). */
export function emailView(rec: EmailRecord | null, now = Date.now()): EmailView | null {
  if (!rec) return null;
  const pending = rec.pending && rec.pending.expiresAt > now ? rec.pending.address : null;
  return {
    address: rec.address,
    verified: rec.address !== null,
    enabled: rec.enabled,
    bounces: rec.bounces,
    bouncing: rec.bouncing,
    pending,
  };
}
