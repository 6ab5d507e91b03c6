/**
 * At-least-once queue delivery must never show a notification twice (SPEC
 * section 3): with `LAUNDRY_FAULTS=queue-fail-once-after-send` every queue
 * handler throws once after doing its work, so Deno KV redelivers every kind
 * of message (reminder ticks, a scheduled notice, a push retry). The push
 * peers must still see each notification once and the inbox hold one entry
 * per notification id.
 * @module
 */
import assert from "node:assert/strict";
import { admin, resident, waitFor } from "./support/harness.ts";
import { startCapturePush } from "./support/capture_push.ts";
import { startWebPushTesting } from "./support/push_service.ts";
import type { QueueMessage } from "../lib/notify/service.ts";
import {
  act,
  addWebPushDevice,
  assertPushCountStays,
  inbox,
  type Json,
  machineOf,
  makeSubscriptionKeys,
  newDeviceId,
  ok,
  putWebPush,
  setPrefs,
  startNotifyServer,
  waitForCount,
  waitForStat,
} from "./support/notify_kit.ts";

Deno.test("redelivery: handlers failing once after sending cause no duplicate push or inbox entry", async () => {
  await using push = await startWebPushTesting();
  await using capture = await startCapturePush({
    responses: [{ status: 503, headers: { "Retry-After": "1" } }],
  });
  await using srv = await startNotifyServer({
    MINUTE_MS: "1000",
    PUSH_ENDPOINT_ALLOW: `${push.origin},${capture.origin}`,
    LAUNDRY_FAULTS: "queue-fail-once-after-send",
  });
  // Spy on the queue handler (the listener calls service.handle on this object).
  const service = srv.ctx.notifications!;
  const original = service.handle.bind(service);
  const calls = new Map<string, number>();
  const failed: QueueMessage[] = [];
  service.handle = async (msg: QueueMessage) => {
    const key = JSON.stringify(msg);
    calls.set(key, (calls.get(key) ?? 0) + 1);
    try {
      await original(msg);
    } catch (err) {
      failed.push(msg);
      throw err;
    }
  };

  const adm = await admin(srv.url);
  const a = await resident(srv.url, "alice", "201");
  const { sub } = await addWebPushDevice(a, push);
  const keys = makeSubscriptionKeys();
  ok(await putWebPush(a, newDeviceId(), { endpoint: capture.url("/push/a2"), keys: keys.keys }));
  await setPrefs(a, { endingSoonMinutes: 1 });

  // ending_soon after 1 s, done after 2 s; a notice scheduled 1.5 s ahead.
  const w = await machineOf(a, "washer");
  const s = await act(a, w.id, "start", { minutes: 2 });
  const notice = ok(
    await adm.post("/api/admin/announcements", {
      title: "Scheduled",
      body: "Goes out in a moment.",
      target: { type: "room", room: "201" },
      sendAt: new Date(Date.now() + 1500).toISOString(),
    }),
  ).notice;
  const ids = [
    `use.ending_soon:${s.useId}:${s.gen}`,
    `notice:${notice.id}`,
    `use.done:${s.useId}`,
  ];

  // Web-push-testing: the three, once each.
  const got = await waitForCount(push, sub.clientHash, 3, 10_000);
  assert.deepEqual(got.map((p: Json) => p.id).sort(), [...ids].sort());
  // Capture: 503 for the first (ending_soon), its push_retry, then the others.
  await capture.waitForRequests(4, 10_000);

  // Every message kind failed once and was redelivered.
  await waitFor(
    () =>
      ["tick", "notice", "push_retry"].every((t) => failed.some((m) => m.t === t)) &&
      failed.every((m) => (calls.get(JSON.stringify(m)) ?? 0) >= 2),
    8000,
    "tick, notice and push_retry failed once and were redelivered",
  );
  await waitForStat(srv, "pushed", 6);

  // Nothing more arrives, at either peer.
  await assertPushCountStays(push, sub.clientHash, 3, 1200);
  assert.equal(capture.requests.length, 4);
  const perId = new Map<string, number>();
  for (const r of capture.requests) {
    const id = JSON.parse(await keys.decrypt(r.body)).id;
    perId.set(id, (perId.get(id) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries(perId), {
    [ids[0]]: 2, // 503, then the retry
    [ids[1]]: 1,
    [ids[2]]: 1,
  });

  // One inbox entry per notification id, and one `notification` event each in the log.
  const items = await inbox(a);
  const itemIds = items.map((i: Json) => i.id);
  assert.equal(new Set(itemIds).size, itemIds.length, JSON.stringify(itemIds));
  assert.deepEqual(itemIds.filter((id: string) => ids.includes(id)).sort(), [...ids].sort());
  const sync = ok(await a.get("/api/sync"));
  assert.ok(sync.inboxReset, "no cursor given: a snapshot");
  const log = await srv.ctx.store.readUser(a.user.id, 0, 1000);
  const logged = log.filter((e) => e.type === "notification").map((e) => (e.data as Json).item.id);
  assert.deepEqual(logged.sort(), [...ids].sort(), "one notification event per id");
  const n = ok(await adm.get(`/api/admin/announcements/${notice.id}`));
  assert.equal(n.notice.status, "sent");
  assert.equal(n.stats.recipients, 1);
});
