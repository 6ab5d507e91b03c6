import assert from "node:assert/strict";
import { deviceHealth, publicDevice, STALE_SUCCESS_MS } from "./health.ts";
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
