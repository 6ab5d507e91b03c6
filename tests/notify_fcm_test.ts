/**
 * FCM end to end: an FCM device gets its reminders through firebase-admin's
 * real HTTP v1 request, over TLS to a fake FCM server (test CA), and an
 * UNREGISTERED token prunes the device (SPEC section 3).
 * @module
 */
import assert from "node:assert/strict";
import { admin, resident, waitFor } from "./support/harness.ts";
import { fakeFcmAppOptions, startFakeFcm } from "./support/fake_fcm.ts";
import { parsePushData } from "../lib/sw_logic.ts";
import {
  act,
  devices,
  inbox,
  type Json,
  machineOf,
  newDeviceId,
  ok,
  overallStats,
  startNotifyServer,
} from "./support/notify_kit.ts";

const TOKEN_A = "fcm-token-alice-0123456789:APA91bAlice";
const TOKEN_B = "fcm-token-bob-0123456789:APA91bBob_stale";

Deno.test("fcm: an FCM device receives use.done via firebase-admin; an UNREGISTERED token is pruned", async () => {
  await using fake = await startFakeFcm();
  await using srv = await startNotifyServer(
    { MINUTE_MS: "1000" },
    { fcm: fakeFcmAppOptions(fake) },
  );
  const adm = await admin(srv.url);
  const a = await resident(srv.url, "alice");
  const b = await resident(srv.url, "bob");
  const devA = newDeviceId();
  const r = await a.put(`/api/push/devices/${devA}`, {
    kind: "fcm",
    token: TOKEN_A,
    label: "Pixel",
  });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  assert.equal(r.json.device.kind, "fcm");
  assert.equal(r.json.device.service, "fcm");
  ok(await b.put(`/api/push/devices/${newDeviceId()}`, { kind: "fcm", token: TOKEN_B }));
  fake.unregister(TOKEN_B); // bob uninstalled the app

  const wa = await machineOf(a, "washer", 0);
  const wb = await machineOf(b, "washer", 1);
  const sa = await act(a, wa.id, "start", { minutes: 1 });
  await act(b, wb.id, "start", { minutes: 1 });

  const msg = await waitFor(
    () => fake.messages.find((x) => x.token === TOKEN_A)!,
    8000,
    "FCM message for alice",
  );
  assert.equal(msg.project, fake.projectId);
  assert.equal(msg.host, "fcm.googleapis.com", "firebase-admin talked to the real host name");
  assert.equal(msg.authorization, `Bearer ${fake.accessToken}`);
  const m = msg.message as Json;
  assert.equal(m.token, TOKEN_A);
  assert.equal(m.webpush.headers.Urgency, "high");
  assert.equal(m.webpush.headers.TTL, "3600");
  assert.equal(m.webpush.headers.Topic, `m-${wa.id}`);
  // The declarative Web Push message in FCM's string form (lib/push/declarative.ts).
  const data = m.webpush.data;
  for (const v of Object.values(data)) assert.equal(typeof v, "string", "FCM data are strings");
  assert.equal(data.web_push, "8030");
  assert.equal(data.mutable, "true", "use.done has action buttons");
  assert.equal(data.app_badge, "1", "one unread notification");
  const n = JSON.parse(data.notification);
  assert.equal(n.data.kind, "use.done");
  assert.equal(n.data.id, `use.done:${sa.useId}`);
  assert.equal(n.data.machineId, wa.id);
  assert.equal(n.data.ch, "fcm");
  assert.equal(n.title, `${wa.name} 완료!`);
  assert.equal(n.tag, `m-${wa.id}`);
  assert.equal(n.navigate, `/?building=${wa.buildingId}&m=${wa.id}`);
  assert.equal(n.silent, false);
  assert.equal(n.lang, "ko");
  // The service worker reads it as it reads a Web Push message.
  const shown = parsePushData({ data, from: "1", fcmMessageId: "x" })!;
  assert.equal(shown.machineId, wa.id);
  assert.equal(shown.ch, "fcm");
  assert.equal(shown.badge, 1);
  assert.equal(m.android.priority, "high");
  assert.equal(m.android.collapse_key ?? m.android.collapseKey, `m-${wa.id}`);

  const da = await waitFor(
    async () => {
      const ds = await devices(a);
      return ds[0]?.lastSuccessAt ? ds[0] : null;
    },
    3000,
    "alice's success recorded",
  );
  assert.equal(da.deviceId, devA);
  assert.equal(da.failures, 0);

  // Bob's token is UNREGISTERED: the device is deleted, the inbox still has the reminder.
  await waitFor(async () => (await devices(b)).length === 0, 8000, "bob's device pruned");
  assert.ok(fake.messages.some((x) => x.token === TOKEN_B), "FCM was asked once");
  assert.ok((await inbox(b)).some((i: Json) => i.kind === "use.done"));
  const stats = await overallStats(adm);
  assert.equal(stats.pruned, 1);
  assert.equal(stats.pushed, 1);
  assert.equal(fake.messages.filter((x) => x.token === TOKEN_A).length, 1);
});
