/**
 * Web Push end to end (SPEC section 3): the server pushes to a REAL mock push
 * service (web-push-testing checks the VAPID JWT and decrypts the aes128gcm
 * body, as a browser's push service and the browser would), and to a capture
 * server with scripted answers (503 + Retry-After, 403) whose headers we read
 * and whose bodies we decrypt with keys made in the test.
 * @module
 */
import assert from "node:assert/strict";
import { admin, resident, waitFor } from "./support/harness.ts";
import { startCapturePush } from "./support/capture_push.ts";
import { startWebPushTesting } from "./support/push_service.ts";
import {
  act,
  addWebPushDevice,
  assertPushCountStays,
  decodePush,
  devices,
  inbox,
  type Json,
  machineOf,
  makeSubscriptionKeys,
  newDeviceId,
  ok,
  overallStats,
  parseVapid,
  putWebPush,
  reportAndRepair,
  setPrefs,
  sleep,
  startNotifyServer,
  TEST_VAPID_SUBJECT,
  vapidKey,
  waitForPayload,
} from "./support/notify_kit.ts";

Deno.test("web push: a resident's subscription receives the decrypted use.done after a 1-minute cycle", async () => {
  await using push = await startWebPushTesting();
  await using srv = await startNotifyServer({
    MINUTE_MS: "1000",
    PUSH_ENDPOINT_ALLOW: push.origin,
  });
  const a = await resident(srv.url, "alice");
  const { sub, deviceId } = await addWebPushDevice(a, push);
  const m = await machineOf(a, "washer");
  const started = await act(a, m.id, "start", { minutes: 1 });
  assert.equal(started.endsAt - started.startedAt, 1000, "MINUTE_MS=1000: a 1-minute cycle is 1 s");

  const { payload, all } = await waitForPayload(
    push,
    sub.clientHash,
    (p) => p.kind === "use.done",
    6000,
  );
  assert.ok(Date.now() >= started.endsAt, "not before the end of the cycle");
  assert.equal(all.length, 1, JSON.stringify(all));
  assert.equal(payload.id, `use.done:${started.useId}`);
  assert.equal(payload.kind, "use.done");
  assert.equal(payload.title, `${m.name} 완료!`); // Korean by default
  assert.equal(typeof payload.body, "string");
  assert.ok(payload.body.length > 0);
  assert.equal(payload.tag, `m-${m.id}`);
  assert.equal(payload.url, `/?building=${m.buildingId}&m=${m.id}`);
  assert.equal(payload.silent, false);
  assert.ok(payload.ts >= started.endsAt, "created when the cycle ended");

  // The same notification is in the inbox, and the device recorded the success.
  const items = await inbox(a);
  assert.deepEqual(items.map((i: Json) => i.id), [payload.id]);
  assert.equal(items[0].title, payload.title);
  const d = await waitFor(
    async () => {
      const ds = await devices(a);
      return ds[0]?.lastSuccessAt ? ds[0] : null;
    },
    3000,
    "lastSuccessAt recorded",
  );
  assert.equal(d.deviceId, deviceId);
  assert.equal(d.failures, 0);
  assert.equal(d.health.healthy, true);
  assert.equal(d.service, new URL(push.origin).host);
  assert.equal("keys" in d || "endpoint" in d, false, "keys are never shown to clients");
  // No second copy (the next reminder, overdue, is 10 "minutes" = 10 s away).
  await assertPushCountStays(push, sub.clientHash, 1, 800);
});

Deno.test("web push: an expired subscription (410) is pruned and counted; nothing is lost from the inbox", async () => {
  await using push = await startWebPushTesting();
  await using srv = await startNotifyServer({
    MINUTE_MS: "1000",
    PUSH_ENDPOINT_ALLOW: push.origin,
  });
  const adm = await admin(srv.url);
  const a = await resident(srv.url, "alice");
  const { sub } = await addWebPushDevice(a, push);
  const m = await machineOf(a, "washer");

  // First cycle: delivered.
  await act(a, m.id, "start", { minutes: 1 });
  await waitForPayload(push, sub.clientHash, (p) => p.kind === "use.done", 6000);
  await waitFor(async () => (await devices(a))[0]?.lastSuccessAt, 3000, "success recorded");
  const before = await overallStats(adm);

  // The browser unsubscribed: the push service now answers 410 Gone.
  await push.expire(sub.clientHash);
  await act(a, m.id, "collect");
  const second = await act(a, m.id, "start", { minutes: 1 });
  await waitFor(async () => (await devices(a)).length === 0, 6000, "device pruned");
  const after = await overallStats(adm);
  assert.equal(after.pruned, before.pruned + 1, JSON.stringify({ before, after }));
  assert.equal(after.pushed, before.pushed, "the 410 is not counted as pushed");
  // The expired subscription got nothing more, but the inbox has the notification.
  assert.equal((await push.notifications(sub.clientHash)).length, 1);
  const items = await inbox(a);
  assert.ok(items.some((i: Json) => i.id === `use.done:${second.useId}`), JSON.stringify(items));
});

Deno.test("web push: a 503 with Retry-After is retried, then delivered; the device records success", async () => {
  await using capture = await startCapturePush({
    responses: [{ status: 503, headers: { "Retry-After": "1" }, body: "busy" }, 201],
  });
  await using srv = await startNotifyServer({
    MINUTE_MS: "1000",
    PUSH_ENDPOINT_ALLOW: capture.origin,
  });
  const adm = await admin(srv.url);
  const a = await resident(srv.url, "alice");
  const keys = makeSubscriptionKeys();
  const deviceId = newDeviceId();
  const put = await putWebPush(a, deviceId, {
    endpoint: capture.url("/push/sub-1"),
    keys: keys.keys,
  });
  assert.equal(put.status, 201, JSON.stringify(put.json));
  const m = await machineOf(a, "washer");
  const started = await act(a, m.id, "start", { minutes: 1 });

  const reqs = await capture.waitForRequests(2, 10_000);
  const [first, second] = reqs;
  assert.equal(first.path, "/push/sub-1");
  assert.equal(second.path, "/push/sub-1");
  assert.ok(
    second.receivedAt - first.receivedAt >= 1000,
    `Retry-After: 1 honoured (gap ${second.receivedAt - first.receivedAt} ms)`,
  );
  const p1 = decodePush(await keys.decrypt(first.body));
  const p2 = decodePush(await keys.decrypt(second.body));
  assert.equal(p2.kind, "use.done");
  assert.equal(p2.id, `use.done:${started.useId}`);
  assert.equal(p1.id, p2.id, "the retry carries the same notification");

  const d = await waitFor(
    async () => {
      const ds = await devices(a);
      return ds[0]?.lastSuccessAt ? ds[0] : null;
    },
    3000,
    "success recorded after the retry",
  );
  assert.equal(d.deviceId, deviceId, "the device was kept");
  assert.equal(d.failures, 0, "the success resets the failure count");
  assert.ok(d.lastFailureAt !== null && d.lastFailureAt <= d.lastSuccessAt, JSON.stringify(d));
  assert.equal(d.health.healthy, true);
  await waitFor(async () => (await overallStats(adm)).pushed === 1, 2000, "pushed counted");
  const stats = await overallStats(adm);
  assert.equal(stats.failed, 0);
  assert.equal(stats.pruned, 0);
  await sleep(1000);
  assert.equal(capture.requests.length, 2, "no further attempt after the 201");
});

Deno.test("web push: TTL, Urgency, Topic, Content-Encoding and VAPID headers for use.ending_soon and machine.repaired", async () => {
  await using capture = await startCapturePush();
  await using srv = await startNotifyServer({
    MINUTE_MS: "1000",
    PUSH_ENDPOINT_ALLOW: capture.origin,
  });
  const a = await resident(srv.url, "alice");
  const b = await resident(srv.url, "bob");
  const vapid = await vapidKey(a);
  const keys = makeSubscriptionKeys();
  ok(await putWebPush(a, newDeviceId(), { endpoint: capture.url("/push/a"), keys: keys.keys }));
  await setPrefs(a, { endingSoonMinutes: 4 });

  // A 5-minute cycle with a 4-minute lead: "ending soon" after 1 s, end after 5 s.
  const w = await machineOf(a, "washer");
  const started = await act(a, w.id, "start", { minutes: 5 });
  const [soon] = await capture.waitForRequests(1, 6000);
  const left = (started.endsAt - soon.receivedAt) / 1000;
  const ttl = Number(soon.headers["ttl"]);
  assert.ok(Number.isInteger(ttl), `TTL is an integer: ${soon.headers["ttl"]}`);
  assert.ok(ttl <= Math.ceil(left), `TTL ${ttl} ≤ time until the end (${left} s)`);
  assert.ok(ttl >= Math.floor(left) - 1, `TTL ${ttl} is the time left (${left} s), not 0`);
  assert.equal(soon.headers["urgency"], "high");
  assert.equal(soon.headers["topic"], `m-${w.id}`);
  assert.equal(soon.headers["content-encoding"], "aes128gcm");
  const v = parseVapid(soon.headers["authorization"]);
  assert.equal(v.alg, "ES256");
  assert.equal(v.k, vapid, "k= is the VAPID public key the browser subscribed with");
  assert.equal(v.claims.aud, capture.origin, "aud is the push service's origin");
  assert.equal(v.claims.sub, TEST_VAPID_SUBJECT);
  assert.ok(v.claims.exp > Date.now() / 1000 && v.claims.exp <= Date.now() / 1000 + 86_400);
  const sp = decodePush(await keys.decrypt(soon.body));
  assert.equal(sp.kind, "use.ending_soon");
  assert.equal(sp.tag, `m-${w.id}`, "payload tag = Topic (collapse)");
  assert.equal(sp.id, `use.ending_soon:${started.useId}:${started.gen}`);

  // Finish early (no use.done later), then a dryer alice reported is repaired.
  await act(a, w.id, "finish");
  const d = await machineOf(b, "dryer");
  await reportAndRepair(a, await admin(srv.url), d.id);
  const reqs = await capture.waitForRequests(2, 5000);
  const fixed = reqs[1];
  assert.equal(fixed.headers["ttl"], "86400");
  assert.equal(fixed.headers["urgency"], "normal");
  assert.equal(fixed.headers["topic"], `m-${d.id}`);
  assert.equal(fixed.headers["content-encoding"], "aes128gcm");
  assert.equal(parseVapid(fixed.headers["authorization"]).k, vapid);
  const fp = decodePush(await keys.decrypt(fixed.body));
  assert.equal(fp.kind, "machine.repaired");
  assert.equal(fp.tag, `m-${d.id}`);
  assert.equal(fp.url, `/?building=${d.buildingId}&m=${d.id}`);
  await sleep(500);
  assert.equal(capture.requests.length, 2, JSON.stringify(capture.requests.map((r) => r.path)));
});

Deno.test("web push: a 403 raises an alarm, keeps the device, records failures; unhealthy after 3", async () => {
  await using capture = await startCapturePush({
    defaultResponse: { status: 403, body: '{"reason":"BadJwtToken"}' },
  });
  await using srv = await startNotifyServer({
    MINUTE_MS: "1000",
    PUSH_ENDPOINT_ALLOW: capture.origin,
  });
  const alarms: string[] = [];
  srv.ctx.notifier!.onAlarm = (msg) => alarms.push(msg);
  const adm = await admin(srv.url);
  const a = await resident(srv.url, "alice");
  const keys = makeSubscriptionKeys();
  const deviceId = newDeviceId();
  ok(await putWebPush(a, deviceId, { endpoint: capture.url("/push/apple"), keys: keys.keys }));

  // 1st failure: the use.done of a cycle.
  const m = await machineOf(a, "washer");
  await act(a, m.id, "start", { minutes: 1 });
  const d1 = await waitFor(
    async () => {
      const ds = await devices(a);
      return ds[0]?.failures === 1 ? ds[0] : null;
    },
    6000,
    "first failure recorded",
  );
  assert.equal(d1.deviceId, deviceId, "never deleted on 403");
  assert.match(d1.lastError, /403/);
  // A 403 means our setup is wrong: the owner sees it at once, and why.
  assert.deepEqual(d1.health, { healthy: false, reason: "setup" });
  assert.equal(alarms.length, 1);
  assert.match(alarms[0], /403/);
  // Admins are shown it (our setup is wrong); residents cannot read it.
  const shown = ok(await adm.get("/api/admin/stats")).pushAlarm;
  assert.equal(shown.httpStatus, 403);
  assert.equal(shown.kind, "webpush");
  assert.match(shown.detail, /BadJwtToken|403/);
  assert.equal((await a.get("/api/admin/stats")).status, 403);

  // 2nd and 3rd: test sends report the alarm per device.
  for (let i = 2; i <= 3; i++) {
    const r = ok(await a.post("/api/push/test", {}));
    assert.equal(r.devices.length, 1);
    assert.equal(r.devices[0].deviceId, deviceId);
    assert.equal(r.devices[0].status, "alarm");
  }
  const ds = await devices(a);
  assert.equal(ds.length, 1, "still registered");
  assert.equal(ds[0].failures, 3);
  assert.deepEqual(ds[0].health, { healthy: false, reason: "setup" });
  assert.equal(ds[0].lastSuccessAt, null);
  assert.equal(alarms.length, 3);
  const stats = await overallStats(adm);
  assert.equal(stats.pruned, 0);
  assert.equal(stats.failed, 3);
  // An alarm is not retried (our setup is wrong; retrying cannot help).
  await sleep(1200);
  assert.equal(capture.requests.length, 3);
});
