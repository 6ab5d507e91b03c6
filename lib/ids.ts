/**
 * Random identifiers and tokens.
 * @module
 */
import { nodeCrypto, nodeCryptoIfLoaded } from "./node_crypto.ts";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

/** A random id of `len` base32 characters (default 16 ≈ 80 bits). */
export function newId(len = 16): string {
  const bytes = crypto.getRandomValues(new Uint8Array(len));
  let s = "";
  for (const b of bytes) s += ALPHABET[b & 31];
  return s;
}

/** A random secret token, base64url, 32 bytes. */
export function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

/**
 * A new session token: `<userId>.<secret>`. The user's id in front lets a
 * request read the session and its user in one round trip; the secret (and
 * the hash of the whole token, under which the session is stored) is what
 * proves it.
 */
export function newSessionToken(userId: string): string {
  return `${userId}.${newToken()}`;
}

/**
 * SHA-256 of a string, hex. Used to store session tokens by hash only, so it
 * runs on every request with a session cookie (twice per WebSocket
 * handshake). Hashed synchronously with `node:crypto`: `crypto.subtle.digest`
 * goes through a thread pool and cost ~300 µs of main-thread time per call
 * in a 10,000-socket reconnect storm (bench "storm"), this ~15 µs.
 * `node:crypto` is imported on the first call, not at start (lib/node_crypto.ts).
 */
export function sha256Hex(s: string): Promise<string> {
  const loaded = nodeCryptoIfLoaded();
  if (loaded) return Promise.resolve(loaded.createHash("sha256").update(s).digest("hex"));
  return nodeCrypto().then((m) => m.createHash("sha256").update(s).digest("hex"));
}

/** A human-friendly invite code like `WASH-7K3Q-9MPA`. */
export function newInviteCode(): string {
  const up = newId(8).toUpperCase();
  return `WASH-${up.slice(0, 4)}-${up.slice(4)}`;
}
