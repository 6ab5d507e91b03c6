/**
 * Random identifiers and tokens.
 * @module
 */

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

/** SHA-256 of a string, hex. Used to store session tokens by hash only. */
export async function sha256Hex(s: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A human-friendly invite code like `WASH-7K3Q-9MPA`. */
export function newInviteCode(): string {
  const up = newId(8).toUpperCase();
  return `WASH-${up.slice(0, 4)}-${up.slice(4)}`;
}
