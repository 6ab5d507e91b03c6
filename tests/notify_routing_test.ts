/**
 * Routing per notification and per user (SPEC section 3): a visible page gets
 * the in-app event only; a hidden page gets the event and the push; no page
 * means push only. Quiet hours make non-critical pushes silent or hold them,
 * but never the user's own cycle reminders or critical notices.
 * @module
 */
import assert from "node:assert/strict";
import { type DueRecord, reschedule } from "../lib/outbox.ts";
import { quietUntil } from "../lib/notify/policy.ts";
import { admin, openSocket, resident, type TestSocket, waitFor } from "./support/harness.ts";
import { startWebPushTesting } from "./support/push_service.ts";
import {
  act,
  addWebPushDevice,
  assertPushCountStays,
  inbox,
  type Json,
  localHHMM,
  machineOf,
  nudgeWhenAllowed,
  ok,
  overallStats,
  payloads,
  reportAndRepair,
  setPrefs,
  startNotifyServer,
  waitForPayload,
  waitForStat,
} from "./support/notify_kit.ts";

/** Report visibility and wait until the server has processed it (ping → pong after it). */
async function setVisible(ws: TestSocket, visible: boolean): Promise<void> {
  const t = Math.floor(Math.random() * 1e9);
  ws.send({ type: "visibility", visible });
  ws.send({ type: "ping", t });
  await ws.next((m) => m.type === "pong" && m.t === t, 3000);
}

function isNotification(kind: string, id?: string): (m: Json) => boolean {
  return (m) =>
    m.type === "event" && m.event.type === "notification" && m.event.data?.item?.kind === kind &&
    (id === undefined || m.event.data.item.id === id);
}

Deno.test("routing: visible page → in-app only; hidden page → in-app and push; no page → push", async () => {
  await using push = await startWebPushTesting();
  await using srv = await startNotifyServer({
    MINUTE_MS: "1000",
    PUSH_ENDPOINT_ALLOW: push.origin,
  });
  const a = await resident(srv.url, "alice");
  const uid = a.user.id;
  const { sub } = await addWebPushDevice(a, push);
  const m = await machineOf(a, "washer");
  const ws = openSocket(srv.url, a.cookie);
  try {
    await ws.hello;

    // 1. Visible: the toast event arrives, no push.
    await setVisible(ws, true);
    const s1 = await act(a, m.id, "start", { minutes: 1 });
    const ev = await ws.next(isNotification("use.done", `use.done:${s1.useId}`), 6000);
    assert.equal(ev.event.scope, "user");
    assert.equal(ev.event.data.item.title, `${m.name} 완료!`);
    assert.equal(ev.event.data.item.tag, `m-${m.id}`);
    assert.ok((await inbox(a)).some((i: Json) => i.id === `use.done:${s1.useId}`), "inbox too");
    await assertPushCountStays(push, sub.clientHash, 0, 1200);

    // 2. Connected but hidden: the event AND the push.
    await setVisible(ws, false);
    await act(a, m.id, "collect");
    const s2 = await act(a, m.id, "start", { minutes: 1 });
    const id2 = `use.done:${s2.useId}`;
    await ws.next(isNotification("use.done", id2), 6000);
    await waitForPayload(push, sub.clientHash, (p) => p.id === id2, 6000);

    // 3. Page closed: push only.
    await ws.close();
    await waitFor(
      async () => {
        const local = srv.ctx.hub.localPresence(uid);
        const kv = await srv.ctx.store.getPresence(uid);
        return !local.connected && !kv.connected;
      },
      3000,
      "presence cleared after the socket closed",
    );
    await act(a, m.id, "collect");
    const s3 = await act(a, m.id, "start", { minutes: 1 });
    const id3 = `use.done:${s3.useId}`;
    await waitForPayload(push, sub.clientHash, (p) => p.id === id3, 6000);
    const all = await payloads(push, sub.clientHash);
    assert.deepEqual(all.map((p) => p.id), [id2, id3], "exactly the hidden and offline ones");
    await waitForStat(srv, "pushed", 2);
  } finally {
    await ws.close();
  }
});

Deno.test("routing: a nudge to an owner with a visible page is in-app only", async () => {
  await using push = await startWebPushTesting();
  await using srv = await startNotifyServer({ MINUTE_MS: "100", PUSH_ENDPOINT_ALLOW: push.origin });
  const a = await resident(srv.url, "alice");
  const b = await resident(srv.url, "bob");
  const { sub } = await addWebPushDevice(a, push);
  const m = await machineOf(a, "washer");
  await using ws = openSocket(srv.url, a.cookie);
  await ws.hello;
  await setVisible(ws, true);
  await act(a, m.id, "start", { minutes: 1 });
  await ws.next(isNotification("use.done"), 5000);
  // Grace is 3 "minutes" = 300 ms here.
  const { res: r } = await nudgeWhenAllowed(b, m.id, 3000);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const ev = await ws.next(isNotification("pickup.nudge"), 3000);
  assert.equal(ev.event.data.item.tag, `m-${m.id}`);
  await assertPushCountStays(push, sub.clientHash, 0, 1000);
});

Deno.test("quiet hours, silent mode: machine.repaired is pushed with silent:true; the own use.done is not silenced", async () => {
  await using push = await startWebPushTesting();
  await using srv = await startNotifyServer({
    MINUTE_MS: "1000",
    PUSH_ENDPOINT_ALLOW: push.origin,
  });
  const a = await resident(srv.url, "alice");
  const b = await resident(srv.url, "bob");
  const { sub } = await addWebPushDevice(a, push);
  const tz = "America/New_York"; // not the server's zone nor the default Asia/Seoul
  const prefs = await setPrefs(a, {
    timeZone: tz,
    quiet: { enabled: true, start: localHHMM(tz, -60), end: localHHMM(tz, 60), mode: "silent" },
  });
  assert.equal(prefs.quiet.mode, "silent");

  const adm = await admin(srv.url);
  const d = await machineOf(b, "dryer");
  await reportAndRepair(a, adm, d.id);
  const { payload: free } = await waitForPayload(
    push,
    sub.clientHash,
    (p) => p.kind === "machine.repaired",
  );
  assert.equal(free.silent, true, "non-critical push during quiet hours is silent");

  const w = await machineOf(a, "washer");
  await act(a, w.id, "start", { minutes: 1 });
  const { payload: done } = await waitForPayload(
    push,
    sub.clientHash,
    (p) => p.kind === "use.done",
  );
  assert.equal(done.silent, false, "the user's own cycle reminder is never silenced");

  // Outside the quiet hours (same preferences otherwise), machine.repaired is not silent.
  await setPrefs(a, {
    quiet: { enabled: true, start: localHHMM(tz, 60), end: localHHMM(tz, 120), mode: "silent" },
  });
  await reportAndRepair(a, adm, d.id);
  const { all } = await waitForPayload(
    push,
    sub.clientHash,
    (p) => p.kind === "machine.repaired" && p.id !== free.id,
  );
  assert.equal(all.at(-1).silent, false);
  await waitForStat(srv, "pushed", 3);
});

Deno.test("quiet hours, hold mode: machine.repaired is held (inbox has it); critical notices and own cycles are not", async () => {
  await using push = await startWebPushTesting();
  await using srv = await startNotifyServer({
    MINUTE_MS: "1000",
    PUSH_ENDPOINT_ALLOW: push.origin,
  });
  const adm = await admin(srv.url);
  const a = await resident(srv.url, "alice", "301");
  const b = await resident(srv.url, "bob", "302");
  const { sub } = await addWebPushDevice(a, push);
  const tz = "Asia/Seoul";
  await setPrefs(a, {
    timeZone: tz,
    quiet: { enabled: true, start: localHHMM(tz, -30), end: localHHMM(tz, 90), mode: "hold" },
  });
  const before = await overallStats(adm);

  const d = await machineOf(b, "dryer");
  await reportAndRepair(a, adm, d.id);
  const item = await waitFor(
    async () => (await inbox(a)).find((i: Json) => i.kind === "machine.repaired"),
    3000,
    "machine.repaired in the inbox",
  );
  assert.equal(item.machineId, d.id);
  await assertPushCountStays(push, sub.clientHash, 0, 1200);
  const after = await overallStats(adm);
  assert.equal(after.held, before.held + 1, "counted as held");

  // A non-critical notice is held too; a critical one goes at once.
  ok(
    await adm.post("/api/admin/announcements", {
      title: "Routine",
      body: "Filters cleaned on Friday.",
      target: { type: "room", room: "301" },
    }),
  );
  ok(
    await adm.post("/api/admin/announcements", {
      title: "Water off",
      body: "Do not start a machine now.",
      target: { type: "room", room: "301" },
      critical: true,
    }),
  );
  const { payload: crit, all } = await waitForPayload(
    push,
    sub.clientHash,
    (p) => p.kind === "notice",
  );
  assert.equal(crit.title, "Water off");
  assert.equal(crit.critical, true);
  assert.equal(all.length, 1, "only the critical notice was pushed");

  // The own cycle reminder is never held.
  const w = await machineOf(a, "washer");
  await act(a, w.id, "start", { minutes: 1 });
  await waitForPayload(push, sub.clientHash, (p) => p.kind === "use.done", 5000);
  const kinds = (await payloads(push, sub.clientHash)).map((p) => p.kind);
  assert.deepEqual(kinds, ["notice", "use.done"]);
  await waitForStat(srv, "pushed", before.pushed + 2);

  // The held pushes wait in the due-index for the end of the quiet hours…
  const kv = srv.ctx.store.kv;
  const held: Deno.KvEntry<DueRecord>[] = [];
  for await (const e of kv.list<DueRecord>({ prefix: ["due"] })) {
    if (e.value.job.t === "held" && e.value.job.userId === a.user.id) held.push(e);
  }
  assert.equal(held.length, 2, "machine.repaired and the routine notice are held");
  const prefs = ok(await a.get("/api/preferences")).preferences;
  const end = quietUntil(prefs, Date.now())!;
  for (const e of held) assert.equal(e.key[1], end, "due exactly when the quiet hours end");
  // …and go out when that time comes (the clock is moved by moving the records).
  for (const e of held) {
    assert.ok((await reschedule(kv.atomic(), e, Date.now()).commit()).ok);
  }
  const { all: afterQuiet } = await waitForPayload(
    push,
    sub.clientHash,
    (p) => p.kind === "machine.repaired",
    5000,
  );
  await waitForPayload(push, sub.clientHash, (p) => p.title === "Routine", 5000);
  await assertPushCountStays(push, sub.clientHash, 4, 800);
  assert.equal(afterQuiet.find((p: Json) => p.kind === "machine.repaired").silent, false);
});
