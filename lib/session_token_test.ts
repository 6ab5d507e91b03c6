import assert from "node:assert/strict";
import { signSessionToken, verifySessionToken } from "./session_token.ts";
import { MAX_TOKEN_LENGTH } from "./db/users.ts";

const KEY = new Uint8Array(32).fill(7);
const OTHER = new Uint8Array(32).fill(8);
const TTL = 30 * 24 * 3600_000;
const T = 1_790_000_000_000;

Deno.test("session token: a signed token names its user and issue time, and fits the cookie limit", async () => {
  const token = await signSessionToken(KEY, "u1234567890a", T);
  const parts = token.split(".");
  assert.equal(parts.length, 4);
  assert.equal(parts[0], "u1234567890a");
  assert.equal(parts[1], T.toString(36));
  assert.equal(parts[3].length, 32);
  assert.ok(token.length <= MAX_TOKEN_LENGTH, `${token.length} characters`);
  assert.deepEqual(await verifySessionToken(KEY, token, T + 1000, TTL), {
    userId: "u1234567890a",
    issuedAt: T,
  });
  // Two tokens of one user at one time differ (their secrets do).
  assert.notEqual(await signSessionToken(KEY, "u1234567890a", T), token);
});

Deno.test("session token: any changed part, or another key, is refused", async () => {
  const token = await signSessionToken(KEY, "alice", T);
  const [user, issued, secret, mac] = token.split(".");
  const flip = (s: string) => (s[0] === "A" ? "B" : "A") + s.slice(1);
  for (
    const bad of [
      [flip(user), issued, secret, mac],
      ["bob", issued, secret, mac],
      [user, (T - 1).toString(36), secret, mac],
      [user, issued, flip(secret), mac],
      [user, issued, secret, flip(mac)],
      [user, issued, secret, mac.slice(0, -1)],
      [user, issued, secret, mac + "A"],
    ]
  ) {
    assert.equal(await verifySessionToken(KEY, bad.join("."), T, TTL), null, bad.join("."));
  }
  assert.equal(await verifySessionToken(OTHER, token, T, TTL), null, "another store's key");
});

Deno.test("session token: expired at issue + TTL, not before; a minute of clock skew allowed", async () => {
  const token = await signSessionToken(KEY, "alice", T);
  assert.notEqual(await verifySessionToken(KEY, token, T + TTL - 1, TTL), null);
  assert.equal(await verifySessionToken(KEY, token, T + TTL, TTL), null, "expired");
  // Issued by an instance whose clock runs ahead.
  assert.notEqual(await verifySessionToken(KEY, token, T - 60_000, TTL), null);
  assert.equal(await verifySessionToken(KEY, token, T - 60_001, TTL), null, "from the future");
});

Deno.test("session token: other shapes are not signed tokens", async () => {
  for (
    const s of [
      "",
      "alice.c2VjcmV0",
      "alice.x.y",
      "alice.x.y.z.w",
      `.${T.toString(36)}.secret.${"A".repeat(32)}`,
      `alice.${T.toString(36).toUpperCase()}.secret.${"A".repeat(32)}`,
      `alice.${"1".repeat(13)}.secret.${"A".repeat(32)}`,
      `alice.${T.toString(36)}..${"A".repeat(32)}`,
    ]
  ) {
    assert.equal(await verifySessionToken(KEY, s, T, TTL), null, s);
  }
});
