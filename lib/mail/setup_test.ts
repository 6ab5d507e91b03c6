import assert from "node:assert/strict";
import { loadConfig } from "../config.ts";
import { mailStepTimeoutMs } from "./setup.ts";

Deno.test("mailStepTimeoutMs: 3 steps fit in the outbox lease; 15 s at most, 250 ms at least", () => {
  assert.equal(
    mailStepTimeoutMs(loadConfig({})),
    7_500,
    "default lease 30 s (pushes' 10 s timeout × 2 = 20 s)",
  );
  assert.equal(mailStepTimeoutMs(loadConfig({ PUSH_LEASE_MS: "600000" })), 15_000);
  assert.equal(mailStepTimeoutMs(loadConfig({ PUSH_LEASE_MS: "100", PUSH_TIMEOUT_MS: "10" })), 250);
  for (const [lease, timeout] of [["3000", "1000"], ["30000", "10000"], ["120000", "10000"]]) {
    const c = loadConfig({ PUSH_LEASE_MS: lease, PUSH_TIMEOUT_MS: timeout });
    assert.ok(mailStepTimeoutMs(c) * 3 < Number(lease), lease);
  }
});

Deno.test("loadConfig: SMTP_URL must be smtp:// or smtps:// with a host; MAIL_FROM and the retry base are read", () => {
  const c = loadConfig({
    SMTP_URL: "smtps://u:p@mail.example.org:465",
    MAIL_FROM: "X <x@y.z>",
    MAIL_RETRY_BASE_MS: "5000",
  });
  assert.equal(c.smtpUrl, "smtps://u:p@mail.example.org:465");
  assert.equal(c.mailFrom, "X <x@y.z>");
  assert.equal(c.mailRetryBaseMs, 5000);
  assert.equal(loadConfig({}).smtpUrl, undefined);
  assert.equal(loadConfig({}).mailRetryBaseMs, 60_000);
  assert.throws(
    () => loadConfig({ SMTP_URL: "http://mail.example.org" }),
    /smtp:\/\/ or smtps:\/\//,
  );
  assert.throws(() => loadConfig({ SMTP_URL: "not a url" }), /Invalid SMTP_URL/);
});
