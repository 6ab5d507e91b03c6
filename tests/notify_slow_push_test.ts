/**
 * One slow push service must not hold up anybody else (issue: "delivery that
 * one slow device cannot hold up"): pushes go out with bounded concurrency
 * and per-request timeouts, an admin's notice is answered once it is
 * recorded, and `POST /api/push/test` reports within a short bound.
 * @module
 */
import assert from "node:assert/strict";
import { admin, resident } from "./support/harness.ts";
import { startCapturePush } from "./support/capture_push.ts";
import { startWebPushTesting } from "./support/push_service.ts";
import {
  addWebPushDevice,
  makeSubscriptionKeys,
  newDeviceId,
  ok,
  payloads,
  putWebPush,
  sleep,
  startNotifyServer,
} from "./support/notify_kit.ts";

Deno.test("slow push: a hanging push service delays the other recipients of a notice by < 1 s", async () => {
  await using push = await startWebPushTesting();
  // Answers only after 4 s (the server gives up after 1.5 s and retries later).
  await using slow = await startCapturePush({ defaultResponse: { status: 201, delayMs: 4000 } });
  await using srv = await startNotifyServer({
    PUSH_ENDPOINT_ALLOW: `${push.origin},${slow.origin}`,
    PUSH_TIMEOUT_MS: "1500",
  });
  const adm = await admin(srv.url);
  const fast: { hash: string }[] = [];
  for (let i = 0; i < 6; i++) {
    const c = await resident(srv.url, `res${i}`, "301");
    if (i % 2 === 0) {
      const keys = makeSubscriptionKeys();
      ok(await putWebPush(c, newDeviceId(), { endpoint: slow.url(`/push/${i}`), keys: keys.keys }));
    } else {
      fast.push({ hash: (await addWebPushDevice(c, push)).sub.clientHash });
    }
  }
  const t0 = Date.now();
  const r = ok(
    await adm.post("/api/admin/announcements", {
      title: "물 공급 중단",
      body: "오후 2시부터 30분간 세탁실 물이 나오지 않아요.",
      target: { type: "room", room: "301" },
    }),
  );
  const answered = Date.now() - t0;
  assert.ok(answered < 1400, `the notice is answered once recorded (${answered} ms)`);
  const arrivals: number[] = [];
  for (const f of fast) {
    while (!(await payloads(push, f.hash)).some((p) => p.id === `notice:${r.notice.id}`)) {
      assert.ok(Date.now() - t0 < 5000, "a fast recipient waited for the slow ones");
      await sleep(10);
    }
    arrivals.push(Date.now() - t0);
  }
  // Below the 1.5 s give-up: the fast recipients never waited for the slow service.
  for (const a of arrivals) {
    assert.ok(a < 1400, `fast recipients before the slow one's timeout: ${arrivals}`);
  }
  await slow.waitForRequests(3, 4000);
});

Deno.test("slow push: POST /api/push/test answers within its bound, per device", async () => {
  await using push = await startWebPushTesting();
  await using slow = await startCapturePush({ defaultResponse: { status: 201, delayMs: 6000 } });
  await using srv = await startNotifyServer({
    PUSH_ENDPOINT_ALLOW: `${push.origin},${slow.origin}`,
    PUSH_TIMEOUT_MS: "5500",
  });
  const a = await resident(srv.url, "alice");
  const good = await addWebPushDevice(a, push);
  const keys = makeSubscriptionKeys();
  const slowId = newDeviceId();
  ok(await putWebPush(a, slowId, { endpoint: slow.url("/push/a"), keys: keys.keys }));
  const t0 = Date.now();
  const report = ok(await a.post("/api/push/test", {}));
  const took = Date.now() - t0;
  assert.ok(took < 5000, `answered within the bound (${took} ms), not after the slowest phone`);
  const byId = new Map(report.devices.map((d: { deviceId: string }) => [d.deviceId, d]));
  assert.equal((byId.get(good.deviceId) as { status: string }).status, "ok");
  assert.equal((byId.get(slowId) as { status: string }).status, "pending");
  assert.equal((await payloads(push, good.sub.clientHash)).length, 1);
});
