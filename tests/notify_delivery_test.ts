/**
 * Delivery behaviour that earlier tests could not catch (issue: "tests that
 * catch real bugs"): Retry-After longer than the backoff, giving up after
 * the last attempt, 404 pruning, English notifications end to end, and a
 * notice whose dispatcher died half way.
 * @module
 */
import assert from "node:assert/strict";
import { admin, resident } from "./support/harness.ts";
import { type ScriptedResponse, startCapturePush } from "./support/capture_push.ts";
import { startWebPushTesting } from "./support/push_service.ts";
import { MAX_PUSH_ATTEMPTS } from "../lib/notify/notifier.ts";
import { due } from "../lib/notify/plan.ts";
import {
  act,
  addWebPushDevice,
  decodePush,
  devices,
  type Json,
  machineOf,
  makeSubscriptionKeys,
  newDeviceId,
  ok,
  overallStats,
  putWebPush,
  setPrefs,
  sleep,
  startNotifyServer,
  waitForPayload,
  waitForStat,
} from "./support/notify_kit.ts";

/**
 * A resident ("alice") whose one device is on a capture push service that
 * answers `response`, on a full server with 1-second minutes and no
 * "ending soon" reminder; `start()` starts a 1-minute cycle on a washer.
 */
async function captureScene(response: ScriptedResponse, env: Record<string, string> = {}) {
  const capture = await startCapturePush({ defaultResponse: response });
  const srv = await startNotifyServer({
    MINUTE_MS: "1000",
    PUSH_ENDPOINT_ALLOW: capture.origin,
    ...env,
  });
  const a = await resident(srv.url, "alice");
  const keys = makeSubscriptionKeys();
  ok(await putWebPush(a, newDeviceId(), { endpoint: capture.url("/push/a"), keys: keys.keys }));
  await setPrefs(a, { endingSoonMinutes: 0 });
  return {
    capture,
    srv,
    a,
    keys,
    start: async () => await act(a, (await machineOf(a, "washer")).id, "start", { minutes: 1 }),
    async [Symbol.asyncDispose]() {
      await srv.close();
      await capture.close();
    },
  };
}

Deno.test("push retry: a Retry-After longer than the backoff is honoured", async () => {
  // Backoff for the first retry is 2 s; the push service asks for 3 s.
  await using capture = await startCapturePush({
    responses: [{ status: 503, headers: { "Retry-After": "3" } }, 201],
  });
  await using srv = await startNotifyServer({
    MINUTE_MS: "1000",
    PUSH_ENDPOINT_ALLOW: capture.origin,
  });
  const a = await resident(srv.url, "alice");
  const keys = makeSubscriptionKeys();
  ok(await putWebPush(a, newDeviceId(), { endpoint: capture.url("/push/a"), keys: keys.keys }));
  const w = await machineOf(a, "washer");
  await setPrefs(a, { endingSoonMinutes: 0 });
  await act(a, w.id, "start", { minutes: 1 });
  const [first, second] = await capture.waitForRequests(2, 10_000);
  const gap = second.receivedAt - first.receivedAt;
  assert.ok(gap >= 2900, `retried ${gap} ms later: Retry-After (3 s) wins over the 2 s backoff`);
  assert.ok(gap < 5000, `but not much later (${gap} ms)`);
  assert.equal(decodePush(await keys.decrypt(second.body)).kind, "use.done");
  await waitForStat(srv, "pushed", 1);
});

Deno.test("push retry: gives up after the last attempt, counted as failed, never sent again", async () => {
  await using scene = await captureScene(
    { status: 503, headers: { "Retry-After": "0" } },
    { PUSH_RETRY_BASE_MS: "20" },
  );
  const { capture, srv, a } = scene;
  const adm = await admin(srv.url);
  await scene.start();
  await capture.waitForRequests(MAX_PUSH_ATTEMPTS, 10_000);
  await waitForStat(srv, "failed", 1);
  await sleep(800);
  assert.equal(capture.requests.length, MAX_PUSH_ATTEMPTS, "no attempt after the last");
  const ds = await devices(a);
  assert.equal(ds.length, 1, "a 503 never deletes the device");
  assert.equal(ds[0].failures, MAX_PUSH_ATTEMPTS);
  const stats = await overallStats(adm);
  assert.equal(stats.failed, 1);
  assert.equal(stats.pushed, 0);
});

Deno.test("push: a 404 prunes the device and counts it; the inbox keeps the notification", async () => {
  await using scene = await captureScene(404);
  const { capture, srv, a } = scene;
  const s = await scene.start();
  await waitForStat(srv, "pruned", 1);
  assert.deepEqual(await devices(a), []);
  const items = ok(await a.get("/api/notifications")).items;
  assert.ok(items.some((i: Json) => i.id === `use.done:${s.useId}`));
  assert.equal(capture.requests.length, 1);
});

Deno.test("English: a resident who chose English gets English pushes and inbox entries", async () => {
  await using push = await startWebPushTesting();
  await using srv = await startNotifyServer({
    MINUTE_MS: "1000",
    PUSH_ENDPOINT_ALLOW: push.origin,
  });
  const en = await resident(srv.url, "emma");
  const ko = await resident(srv.url, "jiho");
  const enDev = await addWebPushDevice(en, push);
  const koDev = await addWebPushDevice(ko, push);
  await setPrefs(en, { lang: "en", endingSoonMinutes: 0 });
  await setPrefs(ko, { lang: "ko", endingSoonMinutes: 0 });
  await act(en, (await machineOf(en, "washer", 0)).id, "start", { minutes: 1 });
  await act(ko, (await machineOf(ko, "washer", 1)).id, "start", { minutes: 1 });
  const { payload: pe } = await waitForPayload(
    push,
    enDev.sub.clientHash,
    (p) => p.kind === "use.done",
  );
  const { payload: pk } = await waitForPayload(
    push,
    koDev.sub.clientHash,
    (p) => p.kind === "use.done",
  );
  const hangul = /[\uac00-\ud7a3]/;
  assert.ok(!hangul.test(pe.title.replace(/세탁기 \d/, "")), `English title: ${pe.title}`);
  assert.ok(hangul.test(pk.title), `Korean title: ${pk.title}`);
  // The declarative message names its language (Safari shows it without the worker).
  assert.equal(pe.message.notification.lang, "en");
  assert.equal(pk.message.notification.lang, "ko");
  const item = ok(await en.get("/api/notifications")).items[0];
  assert.equal(item.title, pe.title, "the inbox says the same, in English");
});

Deno.test("notice: a dispatcher that died half way resumes after its last recipient, once each", async () => {
  await using push = await startWebPushTesting();
  await using srv = await startNotifyServer({ PUSH_ENDPOINT_ALLOW: push.origin });
  const adm = await admin(srv.url);
  const rs = [];
  for (let i = 0; i < 5; i++) rs.push(await resident(srv.url, `res${i}`, "401"));
  // The state a dispatcher leaves when it dies after its first batch: the
  // notice is "sending" with a cursor, the first recipients' notifications
  // are owed, and the notice's own record is still in the due-index.
  const store = srv.ctx.store;
  const ids = rs.map((r) => r.user.id).sort();
  const bid = adm.user.buildingId;
  const notice = {
    id: "noticehalfway",
    buildingId: bid,
    title: "Half way",
    body: "Resumed.",
    target: { type: "room" as const, room: "401" },
    sendAt: Date.now(),
    sound: true,
    critical: false,
    status: "sending" as const,
    createdBy: adm.user.id,
    createdAt: Date.now(),
    cursor: ids[1],
  };
  const spec = {
    id: `notice:${notice.id}`,
    kind: "notice" as const,
    url: `/inbox?n=${notice.id}`,
    noticeId: notice.id,
    text: { literal: { title: notice.title, body: notice.body } },
  };
  const op = store.kv.atomic().set(["notices", bid, notice.id], notice);
  store.addDue(op, [
    due({ t: "notify", userId: ids[0], b: bid, n: spec, scopes: [notice.id] }, Date.now()),
    due({ t: "notify", userId: ids[1], b: bid, n: spec, scopes: [notice.id] }, Date.now()),
    due({ t: "notice", b: bid, noticeId: notice.id }, Date.now()),
  ]);
  await op.commit();
  const deadline = Date.now() + 5000;
  let detail: Json;
  while (
    (detail = ok(await adm.get(`/api/admin/announcements/${notice.id}`))).stats.recipients < 5
  ) {
    assert.ok(Date.now() < deadline, JSON.stringify(detail));
    await sleep(20);
  }
  assert.equal(detail.notice.status, "sent");
  await sleep(300);
  assert.equal(ok(await adm.get(`/api/admin/announcements/${notice.id}`)).stats.recipients, 5);
  for (const r of rs) {
    const items = ok(await r.get("/api/notifications")).items.filter((i: Json) => i.id === spec.id);
    assert.equal(items.length, 1, `once for ${r.user.loginId}`);
  }
});

Deno.test("push: a 413 (payload refused) is not retried and shows the device as rejected", async () => {
  await using scene = await captureScene(413);
  const { capture, srv, a } = scene;
  await scene.start();
  await waitForStat(srv, "failed", 1);
  await sleep(500);
  assert.equal(capture.requests.length, 1, "not retried");
  const [d] = await devices(a);
  assert.deepEqual(d.health, { healthy: false, reason: "rejected" });
  assert.match(d.lastError, /413/);
});
