import assert from "node:assert/strict";
import { loadConfig } from "./config.ts";

Deno.test("config: TRUST_PROXY is a hop count (true/1 → 1), off by default", () => {
  assert.equal(loadConfig({}).proxyHops, 0);
  assert.equal(loadConfig({}).trustProxy, false);
  assert.equal(loadConfig({ TRUST_PROXY: "true" }).proxyHops, 1);
  assert.equal(loadConfig({ TRUST_PROXY: "1" }).proxyHops, 1);
  assert.equal(loadConfig({ TRUST_PROXY: "2" }).proxyHops, 2);
  assert.equal(loadConfig({ TRUST_PROXY: "2" }).trustProxy, true);
  assert.equal(loadConfig({ TRUST_PROXY: "0" }).trustProxy, false);
  assert.throws(() => loadConfig({ TRUST_PROXY: "yes please" }), /TRUST_PROXY/);
});

Deno.test("config: PUBLIC_URL is reduced to its origin; anything but http(s) is refused", () => {
  assert.equal(loadConfig({}).publicUrl, undefined);
  assert.equal(
    loadConfig({ PUBLIC_URL: "https://Laundry.Example.org/path?x" }).publicUrl,
    "https://laundry.example.org",
  );
  assert.throws(() => loadConfig({ PUBLIC_URL: "laundry.example.org" }), /PUBLIC_URL/);
  assert.throws(() => loadConfig({ PUBLIC_URL: "ftp://laundry.example.org" }), /PUBLIC_URL/);
});

Deno.test("config: body and login limits have defaults and can be tuned", () => {
  const d = loadConfig({});
  assert.equal(d.bodyLimitBytes, 16 * 1024);
  assert.deepEqual(d.login, {
    freeAttempts: 5,
    delayBaseMs: 1000,
    delayMaxMs: 15 * 60_000,
    accountLimit: 50,
    ipLimit: 100,
    windowMs: 15 * 60_000,
  });
  const t = loadConfig({ LOGIN_IP_LIMIT: "300", BODY_LIMIT_BYTES: "8192" });
  assert.equal(t.login.ipLimit, 300);
  assert.equal(t.bodyLimitBytes, 8192);
});
