/**
 * base64url (RFC 4648 section 5) decoding, shared by the server, the client
 * and the service worker (VAPID keys, subscription keys).
 * @module
 */

/** The bytes of a base64url string (padding optional), or null when it is not base64url. */
export function base64UrlToBytes(value: string): Uint8Array<ArrayBuffer> | null {
  const s = value.replace(/=+$/, "");
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return null;
  try {
    const b64 = s.replaceAll("-", "+").replaceAll("_", "/");
    const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}
