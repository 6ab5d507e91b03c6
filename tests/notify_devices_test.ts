/**
 * The push device registry (SPEC section 3 "Devices and tokens" and section 5):
 * endpoint allow-list and key validation, upsert by deviceId and endpoint,
 * deletion, logout with a deviceId, and `POST /api/push/test`'s per-device
 * report against the real push peer.
 * @module
 */
import assert from "node:assert/strict";
import { Client, resident } from "./support/harness.ts";
import { startWebPushTesting } from "./support/push_service.ts";
import {
  addWebPushDevice,
  assertApiError,
  assertPushCountStays,
  devices,
  type Json,
  makeSubscriptionKeys,
  newDeviceId,
  ok,
  payloads,
  putWebPush,
  startNotifyServer,
  vapidKey,
  waitForCount,
  waitForStat,
} from "./support/notify_kit.ts";

Deno.test("devices: endpoint allow-list and key validation", async () => {
  await using push = await startWebPushTesting();
  await using srv = await startNotifyServer({ PUSH_ENDPOINT_ALLOW: push.origin });
  const a = await resident(srv.url, "alice");
  const { keys } = makeSubscriptionKeys();
  const id = newDeviceId();
  const port = new URL(push.origin).port;

  // Not a known push service, or plain http outside the allow-list: 422.
  for (
    const endpoint of [
      "https://evil.example/push/abc",
      "https://fcm.googleapis.com.evil.example/fcm/send/abc",
      "http://fcm.googleapis.com/fcm/send/abc",
      `http://127.0.0.1:${Number(port) + 1}/notify/abc`,
      `http://localhost:${port}/notify/abc`,
      `https://127.0.0.1:${port}/notify/abc`,
      "http://169.254.169.254/latest/meta-data",
    ]
  ) {
    assertApiError(await putWebPush(a, id, { endpoint, keys }), 422, "endpoint_not_allowed");
  }
  // Bad keys: 400.
  const good = `${push.origin}/notify/whatever`;
  const badKeys: Json[] = [
    { p256dh: "not base64 !!", auth: keys.auth },
    { p256dh: keys.p256dh, auth: "a/b+c" },
    { p256dh: keys.p256dh },
    { p256dh: "AAAA", auth: keys.auth }, // base64url, but not a P-256 public key
    { p256dh: keys.p256dh, auth: "AAAA" }, // auth secrets are 16 bytes
    { p256dh: keys.p256dh.replace(/^B/, "A"), auth: keys.auth }, // not an uncompressed point
  ];
  for (const k of badKeys) {
    const r = await a.put(`/api/push/devices/${id}`, {
      kind: "webpush",
      subscription: { endpoint: good, keys: k },
    });
    assertApiError(r, 400);
  }
  // Other malformed bodies: 400, never 500.
  assertApiError(await putWebPush(a, "bad id!", { endpoint: good, keys }), 400, "bad_device_id");
  assertApiError(await a.put(`/api/push/devices/${id}`, { kind: "carrier-pigeon" }), 400);
  assertApiError(
    await a.put(`/api/push/devices/${id}`, { kind: "fcm", token: "fcm-token-0123456789abcdef" }),
    422,
    "fcm_not_configured",
  );
  // Nothing was stored; a known push service over https is fine.
  assert.deepEqual(await devices(a), []);
  const fcmWeb = "https://fcm.googleapis.com/fcm/send/dQw4w9WgXcQ:APA91bHun4MxP5egoKMwt2KZFBaFUH";
  const r = await putWebPush(a, id, { endpoint: fcmWeb, keys });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  assert.equal(r.json.device.service, "fcm.googleapis.com");
  ok(await a.del(`/api/push/devices/${id}`));
  assertApiError(await a.del(`/api/push/devices/${id}`), 404, "not_found");
  // Signed out: 401.
  const anon = new Client(srv.url);
  assertApiError(await anon.get("/api/push/config"), 401);
  assertApiError(await putWebPush(anon, id, { endpoint: good, keys }), 401);
});

Deno.test("devices: upsert touches the same endpoint, replaces a new one, and de-duplicates", async () => {
  await using push = await startWebPushTesting();
  await using srv = await startNotifyServer({ PUSH_ENDPOINT_ALLOW: push.origin });
  const a = await resident(srv.url, "alice");
  const key = await vapidKey(a);
  const id = newDeviceId();
  const s1 = await push.subscribe(key);
  const r1 = await putWebPush(a, id, s1, "Phone");
  assert.equal(r1.status, 201);
  assert.deepEqual([r1.json.created, r1.json.replaced], [true, false]);
  const d1 = r1.json.device;
  assert.equal(d1.label, "Phone");
  assert.equal("keys" in d1 || "endpoint" in d1, false);

  // The app re-sends the same subscription on open: 200, touched.
  await new Promise((res) => setTimeout(res, 5));
  const r2 = await putWebPush(a, id, s1);
  assert.equal(r2.status, 200);
  assert.deepEqual([r2.json.created, r2.json.replaced], [false, false]);
  assert.ok(r2.json.device.lastSeenAt > d1.lastSeenAt, "lastSeenAt touched");
  assert.equal(r2.json.device.createdAt, d1.createdAt);

  // pushsubscriptionchange: a new endpoint for the same device replaces it.
  const s2 = await push.subscribe(key);
  const r3 = await putWebPush(a, id, s2);
  assert.equal(r3.status, 200);
  assert.deepEqual([r3.json.created, r3.json.replaced], [false, true]);
  assert.equal((await devices(a)).length, 1);
  const t = ok(await a.post("/api/push/test", {}));
  assert.deepEqual(t.devices.map((d: Json) => [d.deviceId, d.status]), [[id, "ok"]]);
  const got = await waitForCount(push, s2.clientHash, 1);
  assert.equal(got[0].kind, "test");
  assert.equal((await payloads(push, s1.clientHash)).length, 0, "the old endpoint gets nothing");

  // The same endpoint under a new deviceId (site data cleared): one device, not two.
  const id2 = newDeviceId();
  const r4 = await putWebPush(a, id2, s2);
  assert.equal(r4.status, 201);
  const ds = await devices(a);
  assert.deepEqual(ds.map((d: Json) => d.deviceId), [id2]);
  ok(await a.post("/api/push/test", {}));
  await waitForCount(push, s2.clientHash, 2);
  await assertPushCountStays(push, s2.clientHash, 2, 500);
  await waitForStat(srv, "pushed", 2);
});

Deno.test("devices: POST /api/push/test reports per device (ok, gone) and delivers the test payload", async () => {
  await using push = await startWebPushTesting();
  await using srv = await startNotifyServer({ PUSH_ENDPOINT_ALLOW: push.origin });
  const a = await resident(srv.url, "alice");
  const phone = await addWebPushDevice(a, push);
  const laptop = await addWebPushDevice(a, push);
  await push.expire(laptop.sub.clientHash);

  const r = ok(await a.post("/api/push/test", {}));
  assert.equal(typeof r.id, "string");
  const byId = new Map(r.devices.map((d: Json) => [d.deviceId, d]));
  assert.equal(byId.size, 2);
  assert.equal((byId.get(phone.deviceId) as Json).status, "ok");
  assert.equal((byId.get(laptop.deviceId) as Json).status, "gone");
  assert.match((byId.get(laptop.deviceId) as Json).detail, /410/);
  const [p] = await waitForCount(push, phone.sub.clientHash, 1);
  assert.equal(p.kind, "test");
  assert.equal(p.id, r.id);
  assert.equal(p.title, "테스트 알림");
  assert.equal(p.url, "/settings");
  assert.deepEqual((await devices(a)).map((d: Json) => d.deviceId), [phone.deviceId]);
  assert.ok((await devices(a))[0].lastSuccessAt);
  // With no device left, the report is empty (not an error).
  ok(await a.del(`/api/push/devices/${phone.deviceId}`));
  assert.deepEqual(ok(await a.post("/api/push/test", {})).devices, []);
});

Deno.test("devices: logout with {deviceId} deletes that device only (and only the caller's)", async () => {
  await using push = await startWebPushTesting();
  await using srv = await startNotifyServer({ PUSH_ENDPOINT_ALLOW: push.origin });
  const a = await resident(srv.url, "alice");
  const b = await resident(srv.url, "bobby");
  const a1 = await addWebPushDevice(a, push);
  const a2 = await addWebPushDevice(a, push);
  const b1 = await addWebPushDevice(b, push);

  // Alice logs out on phone a1, naming Bob's device too (ignored: not hers).
  ok(await a.post("/api/auth/logout", { deviceId: b1.deviceId }));
  assert.deepEqual((await devices(b)).map((d: Json) => d.deviceId), [b1.deviceId]);
  assert.equal((await a.login("alice")).status, 200);
  assert.equal((await devices(a)).length, 2);

  ok(await a.post("/api/auth/logout", { deviceId: a1.deviceId }));
  assertApiError(await a.get("/api/push/devices"), 401);
  assert.equal((await a.login("alice")).status, 200);
  assert.deepEqual((await devices(a)).map((d: Json) => d.deviceId), [a2.deviceId]);
  // The logged-out device gets no more pushes.
  ok(await a.post("/api/push/test", {}));
  await waitForCount(push, a2.sub.clientHash, 1);
  assert.equal((await payloads(push, a1.sub.clientHash)).length, 0);
  await waitForStat(srv, "pushed", 1);
});
