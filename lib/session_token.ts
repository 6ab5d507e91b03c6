/**
 * Signed session tokens: `<userId>.<issued>.<secret>.<mac>`, where `issued`
 * is the issue time (ms, base 36) and `mac` an HMAC-SHA-256 (base64url,
 * first 32 characters: 192 bits) of the first three parts under the store's
 * session key (`K.sessionKey()`, made on first start; see `Core.init`).
 *
 * The session is still stored in KV under the SHA-256 of the whole token,
 * and every HTTP request checks it there. The signature lets a WebSocket
 * handshake know, without a KV read, that this server issued the token, to
 * whom and when; whether it was revoked since is then a question about the
 * user record (`sessionsNotBefore`, `revokedSessions`), which each instance
 * caches and the control feed keeps right (lib/session_gate.ts).
 * @module
 */
import { newToken } from "./ids.ts";
import { nodeCrypto } from "./node_crypto.ts";

/** Length of the MAC part (base64url characters of the HMAC-SHA-256). */
const MAC_CHARS = 32;

/** What a valid signed token says. */
export interface SessionClaims {
  userId: string;
  /** When the session was issued (ms since the epoch; the session's `createdAt`). */
  issuedAt: number;
}

async function mac(key: Uint8Array, payload: string): Promise<string> {
  const { createHmac } = await nodeCrypto();
  return createHmac("sha256", key).update(payload).digest("base64url").slice(0, MAC_CHARS);
}

/** A new signed token for `userId`, issued at `issuedAt`. */
export async function signSessionToken(
  key: Uint8Array,
  userId: string,
  issuedAt: number,
): Promise<string> {
  const payload = `${userId}.${issuedAt.toString(36)}.${newToken()}`;
  return `${payload}.${await mac(key, payload)}`;
}

/**
 * The claims of a token signed with `key` that has not expired at `now`
 * (issued within `ttlMs`, and not in the future beyond a minute of clock
 * skew between instances), or null: not this format (an older
 * `<userId>.<secret>` token), a bad signature, expired.
 */
export async function verifySessionToken(
  key: Uint8Array,
  token: string,
  now: number,
  ttlMs: number,
): Promise<SessionClaims | null> {
  const parts = token.split(".");
  if (parts.length !== 4 || parts[3].length !== MAC_CHARS) return null;
  // The MAC covers the rest: what passes it, this server wrote.
  const [userId, issued, secret, given] = parts;
  const expected = await mac(key, `${userId}.${issued}.${secret}`);
  const { timingSafeEqual } = await nodeCrypto();
  const enc = new TextEncoder();
  if (!timingSafeEqual(enc.encode(expected), enc.encode(given))) return null;
  const issuedAt = parseInt(issued, 36);
  if (issuedAt + ttlMs <= now || issuedAt > now + 60_000) return null;
  return { userId, issuedAt };
}
