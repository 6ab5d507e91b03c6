/**
 * Declarative Web Push end to end, and the delivery report:
 * - every notification kind goes through the real notifier to
 *   web-push-testing (a mock push service that checks VAPID and decrypts),
 *   and what it decrypted is a declarative Web Push message of the right
 *   shape: `web_push: 8030`, `notification {title, navigate, body, lang,
 *   dir, silent, tag, data, app_badge}`, `app_badge` = unread count,
 *   `mutable` exactly for the kinds with action buttons, under 3 KB;
 * - the service worker's click/action report counts once per notification
 *   and device, per channel and per day, marks the item read, and the admin
 *   stats show it; refused pushes count as failed or pruned per channel;
 * - an action through the machine API with the worker's Idempotency-Key is
 *   applied once (the second delivery of the click gets the same answer).
 */
import assert from "node:assert/strict";
import { admin, resident } from "./support/harness.ts";
import { startWebPushTesting } from "./support/push_service.ts";
import { startCapturePush } from "./support/capture_push.ts";
import {
  act,
  addWebPushDevice,
  assertApiError,
  inbox,
  type Json,
  machineOf,
  newDeviceId,
  ok,
  putWebPush,
  sleep,
  startNotifyServer,
  waitForCount,
} from "./support/notify_kit.ts";
import { due, machineUrl, type NotificationSpec } from "../lib/notify/plan.ts";
import { NOTIFICATION_KINDS, type NotificationKind } from "../lib/types.ts";
import { actionsFor, jsonBytes, MAX_MESSAGE_BYTES } from "../lib/push/declarative.ts";
import { channelTotals, utcDay } from "../lib/notify/delivery_stats.ts";
import { actionRequest } from "../lib/sw_logic.ts";

/** One notification of `kind` about machine `machineId` (or a notice), with literal text. */
function spec(
  kind: NotificationKind,
  machine: { id: string; buildingId: string },
): NotificationSpec {
  const onMachine = kind !== "notice" && kind !== "test";
  const machineId = machine.id;
  return {
    id: `${kind}:decl1`,
    kind,
    text: { literal: { title: `${kind} 제목`, body: `${kind} 본문` } },
    url: onMachine
      ? machineUrl(machineId, machine.buildingId)
      : kind === "notice"
      ? "/inbox?n=ndecl1"
      : "/inbox",
    ...(onMachine ? { machineId } : {}),
    ...(kind === "notice" ? { noticeId: "ndecl1", sound: false } : {}),
  };
}

const MESSAGE_KEYS = new Set(["web_push", "notification", "app_badge", "mutable"]);
const NOTIFICATION_KEYS = new Set([
  "title",
  "navigate",
  "body",
  "lang",
  "dir",
  "silent",
  "tag",
  "data",
  "app_badge",
]);

Deno.test("declarative push: every kind reaches web-push-testing, decrypted, in the declarative shape", async () => {
  await using push = await startWebPushTesting();
  await using srv = await startNotifyServer({ PUSH_ENDPOINT_ALLOW: push.origin });
  const a = await resident(srv.url, "alice");
  const { sub, deviceId } = await addWebPushDevice(a, push);
  const m = await machineOf(a, "washer");
  const bid = a.user.buildingId;
  const now = Date.now();
  const op = srv.ctx.store.kv.atomic();
  srv.ctx.store.addDue(
    op,
    NOTIFICATION_KINDS.map((kind) =>
      due({ t: "notify", userId: a.user.id, b: bid, n: spec(kind, m) }, now)
    ),
    now,
  );
  assert.ok((await op.commit()).ok);
  const got = await waitForCount(push, sub.clientHash, NOTIFICATION_KINDS.length, 15_000);
  const raw = await push.notifications(sub.clientHash);
  assert.equal(got.length, NOTIFICATION_KINDS.length, "one push per kind");

  for (const kind of NOTIFICATION_KINDS) {
    const i = got.findIndex((p: Json) => p.message.notification.data.kind === kind);
    assert.ok(i >= 0, `a push of ${kind}`);
    const msg = got[i].message;
    const n = msg.notification;
    const s = spec(kind, m);
    assert.ok(new TextEncoder().encode(raw[i]).length < MAX_MESSAGE_BYTES, `${kind}: < 3 KB`);
    assert.equal(jsonBytes(msg), new TextEncoder().encode(raw[i]).length, "nothing else in it");
    for (const k of Object.keys(msg)) assert.ok(MESSAGE_KEYS.has(k), `${kind}: member ${k}`);
    for (const k of Object.keys(n)) assert.ok(NOTIFICATION_KEYS.has(k), `${kind}: member ${k}`);
    assert.equal(msg.web_push, 8030, kind);
    assert.equal(n.title, `${kind} 제목`);
    assert.equal(n.body, `${kind} 본문`);
    assert.equal(n.navigate, s.url, `${kind}: navigate`);
    assert.ok(n.navigate.startsWith("/") && !n.navigate.startsWith("//"), "an absolute path");
    assert.equal(n.lang, "ko");
    assert.equal(n.dir, "ltr");
    assert.equal(n.silent, kind === "notice", `${kind}: silent as routed (a silent notice)`);
    assert.equal(typeof n.tag, "string");
    assert.ok(n.tag.length > 0);
    assert.equal(n.data.id, s.id);
    assert.equal(n.data.b, bid);
    assert.equal(n.data.ch, "webpush");
    assert.equal(n.data.machineId, s.machineId, `${kind}: machineId`);
    assert.ok(Number.isInteger(msg.app_badge), `${kind}: app_badge ${msg.app_badge}`);
    assert.ok(msg.app_badge >= 1 && msg.app_badge <= NOTIFICATION_KINDS.length);
    assert.equal(n.app_badge, msg.app_badge);
    assert.equal(msg.mutable === true, actionsFor(kind).length > 0, `${kind}: mutable`);
    if (!msg.mutable) assert.equal("mutable" in msg, false);
    // What the worker makes of it (the same fields tests read).
    assert.equal(got[i].url, s.url);
    assert.equal(got[i].badge, msg.app_badge);
  }
  const tags = new Map(got.map((p: Json) => [p.kind, p.tag]));
  assert.equal(tags.get("use.done"), `m-${m.id}`, "collapses per machine");
  assert.equal(tags.get("machine.free"), "free");
  assert.equal(tags.get("notice"), "n-ndecl1");

  // ── The worker's report: a click, then an action; each counts once. ──
  const report = (body: Json) => a.post("/api/push/report", body);
  const doneId = spec("use.done", m).id;
  const soonId = spec("use.ending_soon", m).id;
  const unreadBefore = (await inbox(a)).filter((x: Json) => !x.readAt).length;
  assert.equal(unreadBefore, NOTIFICATION_KINDS.length);
  const r1 = ok(await report({ id: doneId, event: "click", deviceId }));
  assert.deepEqual(r1, { counted: true, unread: unreadBefore - 1 }, "read on click: the badge");
  assert.deepEqual(ok(await report({ id: doneId, event: "click", deviceId })), {
    counted: false,
    unread: unreadBefore - 1,
  });
  const r2 = ok(await report({ id: soonId, event: "action", action: "extend", deviceId }));
  assert.deepEqual(r2, { counted: true, unread: unreadBefore - 2 });
  assert.equal(
    ok(await report({ id: soonId, event: "action", action: "extend", deviceId })).counted,
    false,
    "a second delivery of the same action counts nothing",
  );
  // A notice's click counts for the notice too.
  ok(await report({ id: "notice:decl1", event: "click", deviceId }));
  // Refusals: unknown notification, malformed bodies.
  assertApiError(await report({ id: "nope", event: "click" }), 404, "not_found");
  assertApiError(await report({ id: doneId, event: "action" }), 400, "invalid_body");
  assertApiError(await report({ id: doneId, event: "click", action: "hold" }), 400);
  assertApiError(await report({ id: doneId, event: "click", channel: "sms" }), 400);

  const adm = await admin(srv.url);
  const stats = ok(await adm.get("/api/admin/stats"));
  const n = NOTIFICATION_KINDS.length;
  assert.deepEqual(stats.channels.webpush, {
    sent: n,
    delivered: n,
    clicked: 3,
    acted: 1,
    failed: 0,
    pruned: 0,
  });
  assert.deepEqual(stats.channels.fcm, {
    sent: 0,
    delivered: 0,
    clicked: 0,
    acted: 0,
    failed: 0,
    pruned: 0,
  });
  assert.equal(stats.days.length, 30);
  const today = stats.days.at(-1);
  assert.equal(today.day, utcDay(Date.now()));
  assert.equal(today.sent, n);
  assert.equal(today.delivered, n);
  assert.equal(today.clicked, 3);
  assert.equal(today.acted, 1);
  assert.ok(stats.days.slice(0, -1).every((d: Json) => d.sent === 0), "nothing on other days");
  assert.equal(stats.overall.pushed, n, "the older totals still count");
  const noticeTotals = await channelTotals(srv.ctx.store.kv, "ndecl1");
  assert.equal(noticeTotals.webpush.clicked, 1, "per notice");
  assert.equal(noticeTotals.webpush.delivered, 1);
});

Deno.test("delivery report: refused pushes count as failed or pruned on their channel", async () => {
  await using capture = await startCapturePush({ responses: [410], defaultResponse: 400 });
  await using srv = await startNotifyServer({ PUSH_ENDPOINT_ALLOW: capture.origin });
  const a = await resident(srv.url, "alice");
  const keys = {
    p256dh:
      "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
    auth: "tBHItJI5svbpez7KI4CCXg",
  };
  for (const path of ["/push/one", "/push/two"]) {
    assert.equal(
      (await putWebPush(a, newDeviceId(), { endpoint: capture.url(path), keys })).status,
      201,
    );
  }
  const m = await machineOf(a, "washer");
  const op = srv.ctx.store.kv.atomic();
  srv.ctx.store.addDue(op, [
    due(
      { t: "notify", userId: a.user.id, b: a.user.buildingId, n: spec("use.done", m) },
      Date.now(),
    ),
  ]);
  await op.commit();
  const adm = await admin(srv.url);
  const deadline = Date.now() + 8000;
  let web: Json;
  while (true) {
    web = ok(await adm.get("/api/admin/stats")).channels.webpush;
    if (web.failed + web.pruned >= 2 || Date.now() > deadline) break;
    await sleep(25);
  }
  assert.deepEqual(web, { sent: 2, delivered: 0, clicked: 0, acted: 0, failed: 1, pruned: 1 });
});

Deno.test("actions: the worker's request applies +10 min once; a second delivery replays the answer", async () => {
  await using srv = await startNotifyServer();
  const a = await resident(srv.url, "alice");
  const m = await machineOf(a, "washer");
  const started = await act(a, m.id, "start", { minutes: 30 });
  const req = actionRequest("extend", {
    id: "use.ending_soon:x:1",
    kind: "use.ending_soon",
    machineId: m.id,
    b: a.user.buildingId,
  })!;
  const send = () =>
    a.post(req.path, JSON.parse(req.init.body), {
      headers: {
        "idempotency-key": req.init.headers["idempotency-key"],
        "x-building": req.init.headers["x-building"],
      },
    });
  const first = await send();
  const second = await send();
  assert.equal(first.status, 200, JSON.stringify(first.json));
  assert.equal(second.status, 200);
  assert.equal(second.headers.get("idempotent-replayed"), "true");
  assert.equal(first.json.machine.endsAt, started.endsAt + 10 * 60_000, "+10 minutes");
  assert.deepEqual(second.json.machine, first.json.machine, "the same answer");
  const now = (await machineOf(a, "washer")).endsAt;
  assert.equal(now, started.endsAt + 10 * 60_000, "applied once, not twice");
  // The collect button on a running machine is refused, translated by the worker; a repeat too.
  const collect = actionRequest("collect", {
    id: "use.ending_soon:x:1",
    kind: "use.ending_soon",
    machineId: m.id,
  })!;
  const c1 = await a.post(collect.path, {}, {
    headers: { "idempotency-key": collect.init.headers["idempotency-key"] },
  });
  assert.equal(c1.status, 409);
  assert.equal(c1.json.error.code, "invalid_state");
});

Deno.test("app badge: every push carries the unread count with itself, the same on each device; reading resets it", async () => {
  await using push = await startWebPushTesting();
  await using srv = await startNotifyServer({ PUSH_ENDPOINT_ALLOW: push.origin });
  const a = await resident(srv.url, "alice");
  const phone = await addWebPushDevice(a, push);
  const laptop = await addWebPushDevice(a, push);
  const m = await machineOf(a, "washer");
  const bid = a.user.buildingId;
  /** Owe notification `n` now and return the badge each device's push carried. */
  const deliver = async (n: number) => {
    const now = Date.now();
    const op = srv.ctx.store.kv.atomic();
    const s = { ...spec("use.done", m), id: `use.done:badge${n}` };
    srv.ctx.store.addDue(op, [due({ t: "notify", userId: a.user.id, b: bid, n: s }, now)], now);
    assert.ok((await op.commit()).ok);
    const badges = [];
    for (const { sub } of [phone, laptop]) {
      const got = await waitForCount(push, sub.clientHash, n, 15_000);
      const mine = got.find((p: Json) => p.message.notification.data.id === s.id);
      assert.ok(mine, `push ${n} on each device`);
      badges.push(mine.message.app_badge);
    }
    return badges;
  };
  assert.deepEqual(await deliver(1), [1, 1]);
  assert.deepEqual(await deliver(2), [2, 2]);
  assert.deepEqual(await deliver(3), [3, 3]);
  ok(await a.post("/api/notifications/read", {}));
  assert.deepEqual(await deliver(4), [1, 1], "read items no longer count");
});
