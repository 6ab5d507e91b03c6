/**
 * Rate limits at the HTTP level, in-process (`app.request` with the client
 * address `Deno.serve` would pass): failed logins per account and per
 * address (lib/login_limits.ts), test pushes per user.
 * @module
 */
import assert from "node:assert/strict";
import { createTestApp } from "./support/app_kit.ts";

Deno.test("rate limits: logins slow down per (account, address), never lock the owner out elsewhere; the address ceiling spares familiar residents", async () => {
  await using kit = await createTestApp({ TRUST_PROXY: "1", LOGIN_IP_LIMIT: "30" }, {
    pages: false,
  });
  await kit.resident("alice");
  await kit.resident("bob");
  await kit.resident("carol");
  const login = (loginId: string, password: string, ip = "198.51.100.1") =>
    kit.call("POST", "/api/auth/login", {
      body: { loginId, password },
      headers: { "x-forwarded-for": ip },
    });
  for (let i = 0; i < 5; i++) {
    const r = await login("alice", "wrong-password");
    assert.equal(r.status, 401, `attempt ${i + 1}: ${r.text}`);
    assert.equal(r.json.error.code, "bad_credentials");
  }
  // The sixth attempt from that address must wait (1 s, then 2 s, 4 s …), and is told so.
  const wait = await login("alice", "resident-pass-123");
  assert.equal(wait.status, 429, wait.text);
  assert.equal(wait.json.error.code, "rate_limited");
  const retry = Number(wait.headers.get("retry-after"));
  assert.ok(retry >= 1 && retry <= 2, `Retry-After ${retry}`);
  assert.equal(wait.json.error.retryAfterSec, retry);
  // … but alice herself, from another address, is not locked out by it.
  assert.equal((await login("alice", "resident-pass-123", "198.51.100.2")).status, 200);
  // A success clears bob's own count.
  for (let i = 0; i < 4; i++) assert.equal((await login("bob", "wrong")).status, 401);
  assert.equal((await login("bob", "resident-pass-123")).status, 200);
  for (let i = 0; i < 4; i++) assert.equal((await login("bob", "wrong")).status, 401);
  assert.equal((await login("bob", "resident-pass-123")).status, 200, "bob's count was reset");

  // Carol signs in from the building's NAT address; then someone there sprays 30 guesses.
  const ip = "203.0.113.7";
  assert.equal((await login("carol", "resident-pass-123", ip)).status, 200);
  for (let i = 0; i < 30; i++) {
    assert.equal((await login(`nobody${i % 10}`, "wrong", ip)).status, 401, `attempt ${i + 1}`);
  }
  // Accounts that never signed in from there wait for the window …
  const byIp = await login("bob", "resident-pass-123", ip);
  assert.equal(byIp.status, 429, byIp.text);
  assert.ok(Number(byIp.headers.get("retry-after")) > 14 * 60);
  assert.equal((await login("bob", "resident-pass-123", "203.0.113.8")).status, 200);
  // … while carol, familiar with that address, is not held by the ceiling.
  assert.equal((await login("carol", "resident-pass-123", ip)).status, 200);
});

Deno.test("rate limits: test pushes are limited to 10 a minute per user", async () => {
  await using kit = await createTestApp({}, { pages: false });
  const alice = await kit.resident("alice");
  const bob = await kit.resident("bob");
  for (let i = 0; i < 10; i++) {
    const r = await kit.call("POST", "/api/push/test", { cookie: alice.cookie, body: {} });
    assert.equal(r.status, 200, `${i + 1}: ${r.text}`);
  }
  const r = await kit.call("POST", "/api/push/test", { cookie: alice.cookie, body: {} });
  assert.equal(r.status, 429, r.text);
  assert.equal(r.json.error.code, "rate_limited");
  const other = await kit.call("POST", "/api/push/test", { cookie: bob.cookie, body: {} });
  assert.equal(other.status, 200, "another user is not limited by alice");
});
