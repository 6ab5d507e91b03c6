/**
 * Notifications driven by the machine lifecycle (SPEC sections 2–3): pickup
 * nudges (grace, cooldown, anonymity), hold expiry warnings, and reminders
 * of a use that changed (finished early, extended) — all observed at the
 * real push peer (waitlist offers: tests/waitlist_test.ts). MINUTE_MS
 * shrinks every minute-based duration.
 * @module
 */
import assert from "node:assert/strict";
import { Client, resident } from "./support/harness.ts";
import { startWebPushTesting } from "./support/push_service.ts";
import {
  act,
  addWebPushDevice,
  assertApiError,
  assertPushCountStays,
  inbox,
  type Json,
  machineOf,
  machines,
  nudgeWhenAllowed,
  ok,
  payloads,
  setPrefs,
  startNotifyServer,
  waitForCount,
  waitForPayload,
  waitForStat,
} from "./support/notify_kit.ts";

Deno.test("nudge: too early → 409; after the grace the owner gets an anonymous pickup.nudge; cooldown → 429; own → refused", async () => {
  await using push = await startWebPushTesting();
  // One "minute" = 500 ms: grace 3 min = 1.5 s, cooldown 10 min = 5 s.
  await using srv = await startNotifyServer({ MINUTE_MS: "500", PUSH_ENDPOINT_ALLOW: push.origin });
  const a = await resident(srv.url, "owner-ann", "101");
  const b = new Client(srv.url);
  assert.equal((await b.register("nudger-bob", "Bobby Nudgeworth", "102")).status, 201);
  const c = await resident(srv.url, "nudger-cy", "103");
  const { sub } = await addWebPushDevice(a, push);
  const m = await machineOf(a, "washer");

  const free = await b.post(`/api/machines/${m.id}/nudge`, {});
  assertApiError(free, 409, "invalid_state"); // nothing to collect

  const s = await act(a, m.id, "start", { minutes: 1 });
  await waitForPayload(push, sub.clientHash, (p) => p.kind === "use.done", 5000);
  const early = await b.post(`/api/machines/${m.id}/nudge`, {});
  assert.ok(Date.now() < s.endsAt + 1500, "still inside the grace period");
  assertApiError(early, 409, "too_early");
  assertApiError(await a.post(`/api/machines/${m.id}/nudge`, {}), 409, "own_machine");

  const { res } = await nudgeWhenAllowed(b, m.id, 5000);
  assert.equal(res.status, 200, JSON.stringify(res.json));
  assert.ok(Date.now() >= s.endsAt + 1500, "accepted only after the grace period");

  const { payload, raw } = await waitForPayload(
    push,
    sub.clientHash,
    (p) => p.kind === "pickup.nudge",
    3000,
  );
  assert.equal(payload.tag, `m-${m.id}`);
  assert.equal(payload.url, `/?building=${m.buildingId}&m=${m.id}`);
  assert.equal(payload.title, `${m.name} 수거 요청`);
  const item = (await inbox(a)).find((i: Json) => i.kind === "pickup.nudge");
  assert.ok(item);
  for (const secret of [b.user.id, b.user.name, b.user.loginId, "Bobby", "nudger"]) {
    assert.ok(!raw.includes(secret), `push payload leaks the sender (${secret}): ${raw}`);
    assert.ok(
      !JSON.stringify(item).includes(secret),
      `inbox item leaks the sender (${secret}): ${JSON.stringify(item)}`,
    );
  }

  // Same sender again within the cooldown: refused. Another neighbour: fine.
  assertApiError(await b.post(`/api/machines/${m.id}/nudge`, {}), 429, "cooldown");
  ok(await c.post(`/api/machines/${m.id}/nudge`, {}));
  const all = await waitForCount(push, sub.clientHash, 3, 3000);
  assert.deepEqual(all.map((p: Json) => p.kind), ["use.done", "pickup.nudge", "pickup.nudge"]);
  assert.notEqual(all[1].id, all[2].id, "two nudges are two notifications");
  await assertPushCountStays(push, sub.clientHash, 3, 500);
  await waitForStat(srv, "pushed", 3);
});

Deno.test("hold: the holder gets hold.expiring, then hold.expired, and the machine is free again", async () => {
  await using push = await startWebPushTesting();
  // holdMinutes 10 × 300 ms = 3 s; the warning comes 2 "minutes" (600 ms) before.
  await using srv = await startNotifyServer({ MINUTE_MS: "300", PUSH_ENDPOINT_ALLOW: push.origin });
  const h = await resident(srv.url, "holder");
  const { sub } = await addWebPushDevice(h, push);
  const m = await machineOf(h, "washer");
  const held = await act(h, m.id, "hold");
  assert.ok(held.holdExpiresAt - Date.now() <= 3000);

  const got = await waitForCount(push, sub.clientHash, 2, 6000);
  assert.deepEqual(got.map((p: Json) => p.kind), ["hold.expiring", "hold.expired"]);
  const [expiring, expired] = got;
  assert.ok(expiring.ts >= held.holdExpiresAt - 600, "warned 2 minutes before, not earlier");
  assert.ok(expiring.ts < held.holdExpiresAt, "warned before the expiry");
  assert.ok(expired.ts >= held.holdExpiresAt, "expired at the expiry");
  for (const p of got) {
    assert.equal(p.tag, `m-${m.id}`);
    assert.equal(p.url, `/?building=${m.buildingId}&m=${m.id}`);
    assert.ok(p.title.includes(m.name));
  }
  const now = (await machines(h)).find((x: Json) => x.id === m.id);
  assert.equal(now.state, "available");
  assert.equal(now.ownerId, undefined);
  // The one-hold-per-kind slot was freed: holding another washer works.
  const other = await machineOf(h, "washer", 1);
  await act(h, other.id, "hold");
  await act(h, other.id, "release");
  await waitForStat(srv, "pushed", 2);
});

Deno.test("stale reminders: finishing early sends no use.done; extending moves ending_soon and done to the new end", async () => {
  await using push = await startWebPushTesting();
  await using srv = await startNotifyServer({ MINUTE_MS: "500", PUSH_ENDPOINT_ALLOW: push.origin });
  const a = await resident(srv.url, "alice");
  const { sub } = await addWebPushDevice(a, push);
  await setPrefs(a, { endingSoonMinutes: 1 });
  const w1 = await machineOf(a, "washer", 0);
  const w2 = await machineOf(a, "washer", 1);

  // Both: 2-minute cycles (1 s), "ending soon" 1 minute (500 ms) before the end.
  const s1 = await act(a, w1.id, "start", { minutes: 2 });
  const s2 = await act(a, w2.id, "start", { minutes: 2 });
  const f1 = await act(a, w1.id, "finish"); // early: its ticks are now stale
  const e2 = await act(a, w2.id, "extend", { minutes: 2 }); // new end: +2 s
  assert.ok(Date.now() < s1.endsAt - 500, "changed before anything was due");
  assert.equal(f1.state, "done");
  assert.equal(e2.endsAt, s2.endsAt + 1000);

  const { payload: done2 } = await waitForPayload(
    push,
    sub.clientHash,
    (p) => p.id === `use.done:${s2.useId}`,
    5000,
  );
  assert.ok(done2.ts >= e2.endsAt, "use.done follows the extended end");
  const got = await payloads(push, sub.clientHash);
  assert.deepEqual(got.map((p) => p.id), [
    `use.ending_soon:${s2.useId}:${e2.gen}`,
    `use.done:${s2.useId}`,
  ]);
  assert.ok(got[0].ts >= e2.endsAt - 500, "ending_soon follows the extended end");
  assert.ok(got[0].ts < e2.endsAt);
  // The original end of w1 and w2 passed long ago; nothing about w1 was sent.
  assert.ok(Date.now() > s1.endsAt + 500);
  await assertPushCountStays(push, sub.clientHash, 2, 300);
  const items = await inbox(a);
  assert.equal(items.filter((i: Json) => i.machineId === w1.id).length, 0, JSON.stringify(items));
  await waitForStat(srv, "pushed", 2);
});
