import assert from "node:assert/strict";
import { type EmailRecord, emailView } from "./records.ts";

Deno.test("emailView: verified state, bounces, and a pending link only while it is valid", () => {
  assert.equal(emailView(null), null);
  const rec: EmailRecord = {
    address: "a@b.example",
    verifiedAt: 1,
    enabled: true,
    bounces: 2,
    bouncing: false,
    origin: "https://l.example",
    pending: { address: "new@b.example", sentAt: 0, expiresAt: 100 },
  };
  assert.deepEqual(emailView(rec, 50), {
    address: "a@b.example",
    verified: true,
    enabled: true,
    bounces: 2,
    bouncing: false,
    pending: "new@b.example",
  });
  assert.equal(emailView(rec, 100)!.pending, null, "expired");
  assert.equal(emailView({ ...rec, address: null }, 50)!.verified, false);
  assert.ok(!("origin" in emailView(rec, 50)!), "no internals");
});
