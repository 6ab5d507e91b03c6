import assert from "node:assert/strict";
import { deviceHealth, publicDevice, STALE_SUCCESS_MS, UNHEALTHY_FAILURES } from "./health.ts";
import type { Device } from "../types.ts";

const d: Device = {
  deviceId: "d1",
  userId: "u",
  kind: "webpush",
  endpoint: "https://fcm.googleapis.com/fcm/send/abc",
  keys: { p256dh: "secret-p256dh", auth: "secret-auth" },
  label: "Phone",
  createdAt: 0,
  lastSeenAt: 0,
  failures: 0,
};

Deno.test("a new device is healthy; one that delivered is ok", () => {
  assert.deepEqual(deviceHealth(d, 1), { healthy: true, reason: "new" });
  assert.deepEqual(deviceHealth({ ...d, lastSuccessAt: 5 }, 10), { healthy: true, reason: "ok" });
});

Deno.test("three failures in a row, or failing long after the last success, is unhealthy", () => {
  assert.equal(deviceHealth({ ...d, failures: 3, lastFailureAt: 9 }, 10).reason, "failing");
  const stale = { ...d, lastSuccessAt: 0, lastFailureAt: STALE_SUCCESS_MS + 1, failures: 1 };
  assert.deepEqual(deviceHealth(stale, STALE_SUCCESS_MS + 2), { healthy: false, reason: "stale" });
  // A success after the failure heals it.
  assert.equal(
    deviceHealth({ ...stale, lastSuccessAt: STALE_SUCCESS_MS + 2 }, STALE_SUCCESS_MS + 3).healthy,
    true,
  );
});

Deno.test("publicDevice never exposes keys or the endpoint path", () => {
  const p = publicDevice(d, 1);
  const json = JSON.stringify(p);
  assert.equal(p.service, "fcm.googleapis.com");
  assert.ok(!json.includes("secret"));
  assert.ok(!json.includes("/fcm/send/abc"));
});

Deno.test("deviceHealth: two failures are not yet failing, three are", () => {
  const recent = { ...d, lastSuccessAt: 5, lastFailureAt: 9 };
  assert.deepEqual(deviceHealth({ ...recent, failures: 2 }, 10), { healthy: true, reason: "ok" });
  assert.deepEqual(deviceHealth({ ...recent, failures: 3 }, 10), {
    healthy: false,
    reason: "failing",
  });
  assert.equal(UNHEALTHY_FAILURES, 3);
  assert.equal(STALE_SUCCESS_MS, 7 * 24 * 3600_000);
});

Deno.test("deviceHealth: stale exactly when more than a week passed since the last good moment", () => {
  const failing = { ...d, lastSuccessAt: 1_000, lastFailureAt: 2_000, failures: 1 };
  assert.equal(deviceHealth(failing, 1_000 + STALE_SUCCESS_MS).reason, "ok", "exactly a week");
  assert.deepEqual(deviceHealth(failing, 1_000 + STALE_SUCCESS_MS + 1), {
    healthy: false,
    reason: "stale",
  });
  // Without a failure since, an old success is still fine.
  const quiet = { ...d, lastSuccessAt: 1_000, failures: 0 };
  assert.equal(deviceHealth(quiet, 1_000 + 10 * STALE_SUCCESS_MS).reason, "ok");
  // A failure at the same moment as the last success is not "since" it.
  const same = { ...d, lastSuccessAt: 1_000, lastFailureAt: 1_000, failures: 1 };
  assert.equal(deviceHealth(same, 1_000 + 10 * STALE_SUCCESS_MS).reason, "ok");
});

Deno.test("deviceHealth: a device that never delivered counts from its creation", () => {
  const never = { ...d, createdAt: 5_000, lastFailureAt: 6_000, failures: 1 };
  assert.deepEqual(deviceHealth(never, 5_000 + STALE_SUCCESS_MS), { healthy: true, reason: "new" });
  assert.deepEqual(deviceHealth(never, 5_000 + STALE_SUCCESS_MS + 1), {
    healthy: false,
    reason: "stale",
  });
  // Never failed either: new, however old.
  assert.deepEqual(deviceHealth({ ...d, createdAt: 5_000 }, 5_000 + 10 * STALE_SUCCESS_MS), {
    healthy: true,
    reason: "new",
  });
});

Deno.test("publicDevice: every public field, the service host, nulls for what never happened", () => {
  assert.deepEqual(publicDevice({ ...d, createdAt: 3, lastSeenAt: 4 }, 10), {
    deviceId: "d1",
    kind: "webpush",
    label: "Phone",
    service: "fcm.googleapis.com",
    createdAt: 3,
    lastSeenAt: 4,
    lastSuccessAt: null,
    lastFailureAt: null,
    lastError: null,
    failures: 0,
    health: { healthy: true, reason: "new" },
  });
  const used = {
    ...d,
    endpoint: "https://updates.push.services.mozilla.com:8443/wpush/v2/x",
    lastSuccessAt: 5,
    lastFailureAt: 6,
    lastError: "http_500",
    failures: 1,
  };
  const p = publicDevice(used, 10);
  assert.equal(p.service, "updates.push.services.mozilla.com:8443");
  assert.deepEqual([p.lastSuccessAt, p.lastFailureAt, p.lastError, p.failures], [
    5,
    6,
    "http_500",
    1,
  ]);
  assert.deepEqual(p.health, { healthy: true, reason: "ok" });
});

Deno.test("publicDevice: FCM devices and unparsable endpoints show the service as fcm", () => {
  const fcm: Device = {
    deviceId: "d2",
    userId: "u",
    kind: "fcm",
    token: "secret-token",
    endpoint: "https://example.test/not-used",
    label: "Android",
    createdAt: 0,
    lastSeenAt: 0,
    failures: 0,
  };
  const p = publicDevice(fcm, 1);
  assert.equal(p.service, "fcm");
  assert.equal(p.kind, "fcm");
  assert.ok(!JSON.stringify(p).includes("secret"));
  assert.equal(publicDevice({ ...d, endpoint: "not a url" }, 1).service, "fcm");
  assert.equal(publicDevice({ ...d, endpoint: undefined }, 1).service, "fcm");
});

Deno.test("deviceHealth: a refused credential or payload outranks every other reason", () => {
  // Even a device that delivered a moment ago and never failed.
  const fine = { ...d, lastSuccessAt: 9, failures: 0 };
  assert.deepEqual(deviceHealth({ ...fine, lastOutcome: "alarm" }, 10), {
    healthy: false,
    reason: "setup",
  });
  assert.deepEqual(deviceHealth({ ...fine, lastOutcome: "rejected" }, 10), {
    healthy: false,
    reason: "rejected",
  });
  // And over "failing": what to fix is the setup, not the phone.
  const failing = { ...d, failures: 5, lastFailureAt: 9 };
  assert.equal(deviceHealth({ ...failing, lastOutcome: "alarm" }, 10).reason, "setup");
  assert.equal(deviceHealth({ ...failing, lastOutcome: "rejected" }, 10).reason, "rejected");
  assert.equal(deviceHealth(failing, 10).reason, "failing");
});

Deno.test("deviceAfter: a success on a healthy, recently successful device writes nothing", async () => {
  const { deviceAfter, SUCCESS_REFRESH_MS } = await import("./health.ts");
  const d = {
    deviceId: "d",
    userId: "u",
    kind: "webpush" as const,
    label: "",
    createdAt: 0,
    lastSeenAt: 0,
    failures: 0,
  };
  const now = 10 * SUCCESS_REFRESH_MS;
  assert.equal(
    deviceAfter({ ...d, lastSuccessAt: now - SUCCESS_REFRESH_MS + 1 }, { ok: true }, now),
    null,
  );
  // An old success is refreshed; a first success is written.
  assert.equal(
    deviceAfter({ ...d, lastSuccessAt: now - SUCCESS_REFRESH_MS }, { ok: true }, now)
      ?.lastSuccessAt,
    now,
  );
  assert.equal(deviceAfter(d, { ok: true }, now)?.lastSuccessAt, now);
  // A success after failures clears them.
  const healed = deviceAfter(
    { ...d, failures: 2, lastError: "503", lastOutcome: "rejected", lastSuccessAt: now - 1 },
    { ok: true },
    now,
  )!;
  assert.deepEqual(
    [healed.failures, healed.lastError, healed.lastOutcome, healed.lastSuccessAt],
    [0, undefined, undefined, now],
  );
  const failed = deviceAfter(d, { ok: false, detail: "x".repeat(300), attention: "alarm" }, now)!;
  assert.deepEqual(
    [failed.failures, failed.lastError?.length, failed.lastOutcome, failed.lastFailureAt],
    [1, 200, "alarm", now],
  );
  assert.equal(deviceAfter(d, { ok: false, detail: "503" }, now)?.lastOutcome, undefined);
});

Deno.test("outcomeOf: what a push service's answer means for the device's health", async () => {
  const { outcomeOf } = await import("./health.ts");
  assert.deepEqual(outcomeOf({ status: "ok", httpStatus: 201 }), { ok: true });
  assert.deepEqual(outcomeOf({ status: "alarm", httpStatus: 403, detail: "d" }), {
    ok: false,
    detail: "d",
    attention: "alarm",
  });
  assert.deepEqual(outcomeOf({ status: "rejected", httpStatus: 413, detail: "r" }), {
    ok: false,
    detail: "r",
    attention: "rejected",
  });
  assert.deepEqual(outcomeOf({ status: "retry", retryAfterMs: 0, detail: "503" }), {
    ok: false,
    detail: "503",
    attention: undefined,
  });
});

Deno.test("deviceAfter: any one trace of trouble (failures, last error, last outcome) makes a success worth writing", async () => {
  const { deviceAfter } = await import("./health.ts");
  const now = 50_000_000;
  const healthy = {
    deviceId: "d",
    userId: "u",
    kind: "webpush" as const,
    label: "",
    createdAt: 0,
    lastSeenAt: 0,
    failures: 0,
    lastSuccessAt: now - 1,
  };
  assert.equal(deviceAfter(healthy, { ok: true }, now), null, "control: nothing to write");
  for (
    const trouble of [
      { failures: 1 },
      { lastError: "503" },
      { lastOutcome: "alarm" as const },
    ]
  ) {
    const after = deviceAfter({ ...healthy, ...trouble }, { ok: true }, now);
    assert.ok(after !== null, JSON.stringify(trouble));
    assert.deepEqual(
      [after.failures, after.lastError, after.lastOutcome, after.lastSuccessAt],
      [0, undefined, undefined, now],
      JSON.stringify(trouble),
    );
  }
});
