import assert from "node:assert/strict";
import type { Device } from "../types.ts";
import {
  classifySmtpError,
  emailWorthy,
  mailRetryDelayMs,
  MAX_MAIL_ATTEMPTS,
  noHealthyDevice,
  sendableAddress,
} from "./policy.ts";
import type { EmailRecord } from "./records.ts";

const NOW = 1_800_000_000_000;

function device(patch: Partial<Device> = {}): Device {
  return {
    deviceId: "d1",
    userId: "u1",
    kind: "webpush",
    endpoint: "https://push.example/x",
    label: "phone",
    createdAt: NOW - 1000,
    lastSeenAt: NOW - 1000,
    failures: 0,
    ...patch,
  } as Device;
}

Deno.test("emailWorthy: done, overdue, nudge and critical notices; not the rest", () => {
  for (const k of ["use.done", "use.overdue", "pickup.nudge"] as const) {
    assert.ok(emailWorthy({ kind: k }), k);
  }
  for (
    const k of [
      "use.ending_soon",
      "hold.expiring",
      "hold.expired",
      "machine.free",
      "machine.repaired",
      "notice",
      "test",
    ] as const
  ) {
    assert.ok(!emailWorthy({ kind: k }), k);
  }
  assert.ok(emailWorthy({ kind: "notice", critical: true }));
});

Deno.test("noHealthyDevice: none, only failing ones, or one healthy", () => {
  assert.ok(noHealthyDevice([], NOW));
  assert.ok(noHealthyDevice([device({ failures: 3 }), device({ lastOutcome: "alarm" })], NOW));
  assert.ok(
    !noHealthyDevice([device({ failures: 3 }), device()], NOW),
    "a new device counts as healthy",
  );
  assert.ok(!noHealthyDevice([device({ lastSuccessAt: NOW - 10 })], NOW));
});

Deno.test("sendableAddress: verified, opted in and not bouncing", () => {
  const rec: EmailRecord = {
    address: "a@b.example",
    verifiedAt: 1,
    enabled: true,
    bounces: 0,
    bouncing: false,
    origin: "https://l.example",
  };
  assert.equal(sendableAddress(rec), "a@b.example");
  assert.equal(sendableAddress(null), null);
  assert.equal(sendableAddress({ ...rec, enabled: false }), null);
  assert.equal(sendableAddress({ ...rec, bouncing: true }), null);
  assert.equal(
    sendableAddress({
      ...rec,
      address: null,
      pending: { address: "x@y", sentAt: 0, expiresAt: 9 },
    }),
    null,
  );
});

Deno.test("classifySmtpError: 5xx for the recipient is a bounce, 4xx and network errors are retried, auth is setup", () => {
  assert.deepEqual(
    classifySmtpError({
      code: "EENVELOPE",
      responseCode: 550,
      command: "RCPT TO",
      response: "550 No such user",
    }),
    {
      status: "bounce",
      detail: "550 No such user",
      code: 550,
    },
  );
  assert.equal(
    classifySmtpError({ code: "EMESSAGE", responseCode: 552, command: "DATA" }).status,
    "bounce",
  );
  assert.equal(
    classifySmtpError({ code: "EENVELOPE", responseCode: 451, command: "RCPT TO" }).status,
    "retry",
  );
  assert.equal(
    classifySmtpError({ code: "ECONNECTION", message: "connect ECONNREFUSED" }).status,
    "retry",
  );
  assert.equal(classifySmtpError({ code: "ETIMEDOUT" }).status, "retry");
  assert.equal(classifySmtpError({ code: "EAUTH", responseCode: 535 }).status, "setup");
  assert.equal(
    classifySmtpError({ code: "EENVELOPE", responseCode: 553, command: "MAIL FROM" }).status,
    "setup",
  );
});

Deno.test("mailRetryDelayMs: doubles from the base, at most an hour", () => {
  assert.deepEqual([1, 2, 3, 4].map((a) => mailRetryDelayMs(a, 60_000)), [
    60_000,
    120_000,
    240_000,
    480_000,
  ]);
  assert.equal(mailRetryDelayMs(MAX_MAIL_ATTEMPTS + 20, 60_000), 3600_000);
});
