/**
 * Rate limits at the HTTP level, in-process (`app.request` with the client
 * address `Deno.serve` would pass): failed logins per account and per
 * address, test pushes per user.
 * @module
 */
import assert from "node:assert/strict";
import { createTestApp } from "./support/app_kit.ts";

Deno.test("rate limits: failed logins lock an account after 5, an address after 30; others stay open", async () => {
  await using kit = await createTestApp({ TRUST_PROXY: "1" }, { pages: false });
  await kit.resident("alice");
  await kit.resident("bob");
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
  const locked = await login("alice", "resident-pass-123");
  assert.equal(locked.status, 429, locked.text);
  assert.equal(locked.json.error.code, "rate_limited");
  const retry = Number(locked.headers.get("retry-after"));
  assert.ok(retry > 14 * 60 && retry <= 15 * 60, `Retry-After ${retry}`);
  // The lock is per account (even from another address) …
  assert.equal((await login("alice", "resident-pass-123", "198.51.100.2")).status, 429);
  // … bob is not locked, and a success clears bob's own failures.
  for (let i = 0; i < 4; i++) assert.equal((await login("bob", "wrong")).status, 401);
  assert.equal((await login("bob", "resident-pass-123")).status, 200);
  for (let i = 0; i < 4; i++) assert.equal((await login("bob", "wrong")).status, 401);
  assert.equal((await login("bob", "resident-pass-123")).status, 200, "bob's count was reset");

  // 30 failures from one address (over many accounts, none locked on its own) lock the address.
  const ip = "203.0.113.7";
  for (let i = 0; i < 30; i++) {
    assert.equal((await login(`nobody${i % 10}`, "wrong", ip)).status, 401, `attempt ${i + 1}`);
  }
  const byIp = await login("bob", "resident-pass-123", ip);
  assert.equal(byIp.status, 429, byIp.text);
  assert.ok(Number(byIp.headers.get("retry-after")) > 0);
  assert.equal((await login("bob", "resident-pass-123", "203.0.113.8")).status, 200);
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
