/**
 * Admin notices (SPEC section 3 and 5): now, to a room, to the users of a
 * machine, scheduled, cancelled; delivery statistics; and the push payload
 * limit (under 3 KB of plaintext, even for a 1000-character body).
 * @module
 */
import assert from "node:assert/strict";
import {
  type DeclarativeMessage,
  declarativeMessage,
  fitMessage,
  MAX_MESSAGE_BYTES,
} from "../lib/push/declarative.ts";
import type { InboxItem } from "../lib/types.ts";
import { admin, Client, resident } from "./support/harness.ts";
import { startWebPushTesting, type TestSubscription } from "./support/push_service.ts";
import {
  act,
  addWebPushDevice,
  assertApiError,
  inbox,
  type Json,
  machineOf,
  ok,
  payloads,
  sleep,
  startNotifyServer,
  waitForPayload,
  waitForStat,
} from "./support/notify_kit.ts";

Deno.test("notices: now to all, to a room, to a machine's users, scheduled, cancelled; statistics", async () => {
  await using push = await startWebPushTesting();
  await using srv = await startNotifyServer({ PUSH_ENDPOINT_ALLOW: push.origin });
  const adm = await admin(srv.url);
  const rs: { c: Client; sub: TestSubscription }[] = [];
  for (const [login, room] of [["res1", "101"], ["res2", "101"], ["res3", "202"]]) {
    const c = await resident(srv.url, login, room);
    rs.push({ c, sub: (await addWebPushDevice(c, push)).sub });
  }
  const count = async (i: number) => (await payloads(push, rs[i].sub.clientHash)).length;
  const inboxIds = async (i: number) => (await inbox(rs[i].c)).map((x: Json) => x.id);

  // 1. Now, to everyone.
  const r = await adm.post("/api/admin/announcements", {
    title: "점검 안내",
    body: "내일 오전 세탁실 점검이 있어요.",
    target: { type: "all" },
  });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  // The answer comes once the work is recorded; the worker sends it.
  assert.equal(r.json.notice.status, "sending");
  const { notice: all, stats } = await delivered(adm, r.json.notice.id, 3);
  assert.equal(all.status, "sent");
  assert.equal(stats.pushed, 3);
  assert.ok(stats.recipients >= 3);
  for (const { sub } of rs) {
    const { payload } = await waitForPayload(push, sub.clientHash, (p) => p.kind === "notice");
    assert.equal(payload.id, `notice:${all.id}`);
    assert.equal(payload.title, "점검 안내");
    assert.equal(payload.body, "내일 오전 세탁실 점검이 있어요.");
    assert.equal(payload.tag, `n-${all.id}`);
    assert.equal(payload.url, `/inbox?n=${all.id}`);
    assert.equal(payload.silent, false);
  }
  for (let i = 0; i < 3; i++) assert.deepEqual(await inboxIds(i), [`notice:${all.id}`]);

  // 2. To one room: only r3.
  const room = ok(
    await adm.post("/api/admin/announcements", {
      title: "202호",
      body: "202호 세탁기 필터를 교체했어요.",
      target: { type: "room", room: "202" },
      sound: false,
    }),
  );
  const roomDone = await delivered(adm, room.notice.id, 1);
  assert.equal(roomDone.stats.recipients, 1);
  assert.equal(roomDone.stats.pushed, 1);
  const { payload: rp } = await waitForPayload(
    push,
    rs[2].sub.clientHash,
    (p) => p.id === `notice:${room.notice.id}`,
  );
  assert.equal(rp.silent, true, "the admin chose no sound");

  // 3. To the users of one machine: r2 used it.
  const m = await machineOf(rs[1].c, "washer");
  await act(rs[1].c, m.id, "start", { minutes: 60 });
  const mach = ok(
    await adm.post("/api/admin/announcements", {
      title: "Machine",
      body: "Your washer is being serviced.",
      target: { type: "machine", machineId: m.id },
    }),
  );
  assert.equal((await delivered(adm, mach.notice.id, 1)).stats.recipients, 1);
  await waitForPayload(push, rs[1].sub.clientHash, (p) => p.id === `notice:${mach.notice.id}`);

  // 4. Scheduled 2 s ahead, and another one cancelled before it goes.
  const sendAt = Date.now() + 2000;
  const later = ok(
    await adm.post("/api/admin/announcements", {
      title: "Later",
      body: "Scheduled.",
      target: { type: "all" },
      sendAt: new Date(sendAt).toISOString(),
    }),
  );
  const cancelled = ok(
    await adm.post("/api/admin/announcements", {
      title: "Cancelled",
      body: "Never sent.",
      target: { type: "all" },
      sendAt: new Date(sendAt).toISOString(),
    }),
  );
  assert.equal(later.notice.status, "scheduled");
  assert.equal(later.stats.recipients, 0);
  const del = ok(await adm.del(`/api/admin/announcements/${cancelled.notice.id}`));
  assert.equal(del.notice.status, "cancelled");
  assertApiError(
    await adm.del(`/api/admin/announcements/${cancelled.notice.id}`),
    409,
    "not_cancellable",
  );
  assert.ok(!(await inboxIds(0)).includes(`notice:${later.notice.id}`), "not in the inbox yet");
  const counts = [await count(0), await count(1), await count(2)];
  for (let i = 0; i < 3; i++) {
    const { payload } = await waitForPayload(
      push,
      rs[i].sub.clientHash,
      (p) => p.id === `notice:${later.notice.id}`,
      6000,
    );
    assert.ok(payload.ts >= sendAt, `created at/after sendAt (${payload.ts - sendAt} ms)`);
  }
  assert.ok(Date.now() >= sendAt);
  await sleep(1000); // the cancelled one was due at the same moment
  for (let i = 0; i < 3; i++) {
    assert.equal(await count(i), counts[i] + 1, "only the scheduled notice, not the cancelled one");
    assert.ok(!(await inboxIds(i)).includes(`notice:${cancelled.notice.id}`));
  }
  await waitForStat(srv, "pushed", 3 + 1 + 1 + 3);

  // 5. The list with statistics.
  const list = ok(await adm.get("/api/admin/announcements")).notices;
  const byId = new Map(list.map((n: Json) => [n.id, n]));
  const s = (id: string) => (byId.get(id) as Json);
  assert.equal(s(all.id).stats.pushed, 3);
  assert.equal(s(room.notice.id).stats.recipients, 1);
  assert.equal(s(room.notice.id).stats.pushed, 1);
  assert.equal(s(later.notice.id).status, "sent");
  assert.equal(s(later.notice.id).stats.pushed, 3);
  assert.ok(s(later.notice.id).stats.recipients >= 3);
  assert.equal(s(cancelled.notice.id).status, "cancelled");
  assert.equal(s(cancelled.notice.id).stats.recipients, 0);
  assert.equal(s(cancelled.notice.id).stats.pushed, 0);

  // Residents cannot use the admin API.
  assertApiError(
    await rs[0].c.post("/api/admin/announcements", {
      title: "x",
      body: "y",
      target: { type: "all" },
    }),
    403,
  );
});

Deno.test("payload: a 1000-character notice body still gives under 3 KB of plaintext; the inbox keeps it all", async () => {
  await using push = await startWebPushTesting();
  await using srv = await startNotifyServer({ PUSH_ENDPOINT_ALLOW: push.origin });
  const adm = await admin(srv.url);
  const a = await resident(srv.url, "alice", "101");
  const { sub } = await addWebPushDevice(a, push);
  const bodies = [
    "A".repeat(1000),
    "세탁".repeat(500), // Hangul: 3 bytes each in UTF-8
    "🧺".repeat(500), // 1000 UTF-16 units, 4 bytes per emoji
  ];
  const title = "공지".repeat(40); // 80 characters, the longest title
  for (const [i, body] of bodies.entries()) {
    const n = ok(
      await adm.post("/api/admin/announcements", {
        title,
        body,
        target: { type: "room", room: "101" },
      }),
    ).notice;
    const { raw, payload } = await waitForPayload(
      push,
      sub.clientHash,
      (p) => p.id === `notice:${n.id}`,
    );
    const bytes = new TextEncoder().encode(raw).length;
    assert.ok(bytes < 3 * 1024, `body #${i}: ${bytes} bytes of plaintext`);
    assert.equal(payload.kind, "notice");
    assert.ok(payload.title.length > 0);
    assert.ok(body.startsWith(payload.body.replace(/…$/, "")), "a prefix of the body");
    assert.ok(payload.body.length >= 200, "still a useful preview");
    const item = (await inbox(a)).find((x: Json) => x.id === `notice:${n.id}`);
    assert.equal(item.body, body, "the inbox keeps the full text");
  }
  await waitForStat(srv, "pushed", 3);
});

Deno.test("payload: fitMessage leaves small messages alone and cuts long text at code point boundaries", () => {
  const base = declarativeMessage({
    id: "notice:x",
    kind: "notice",
    title: "Title",
    body: "short",
    tag: "n-x",
    url: "/inbox?n=x",
    createdAt: 1,
  } as InboxItem, { silent: false, lang: "ko", channel: "webpush" });
  assert.equal(fitMessage(base), base, "unchanged when it fits");
  const size = (p: DeclarativeMessage) => new TextEncoder().encode(JSON.stringify(p)).length;
  const withText = (title: string, body: string): DeclarativeMessage => ({
    ...base,
    notification: { ...base.notification, title, body },
  });
  for (const unit of ["a", "세", "🧺", "\u0001"]) {
    const msg = fitMessage(withText("Title", unit.repeat(5000)));
    const p = msg.notification;
    const bytes = size(msg);
    assert.ok(bytes <= MAX_MESSAGE_BYTES, `${JSON.stringify(unit)}: ${bytes}`);
    assert.ok(bytes > MAX_MESSAGE_BYTES - 16, "uses the budget, not much less");
    assert.ok(p.body.endsWith("…"));
    const kept = p.body.slice(0, -1);
    assert.ok(unit.repeat(5000).startsWith(kept));
    assert.equal(Array.from(kept).every((ch) => ch === unit), true, "no split surrogate pair");
    assert.equal(p.title, "Title", "the title is kept while the body can give way");
  }
  // Title and body both huge: both are cut, and it still fits.
  const both = fitMessage(withText("제".repeat(3000), "목".repeat(3000)));
  assert.ok(size(both) <= MAX_MESSAGE_BYTES);
  assert.ok(both.notification.title.length > 0);
});

/** Wait until a notice is sent and pushed to `pushed` devices; its detail and statistics. */
async function delivered(adm: Client, id: string, pushed: number, timeoutMs = 6000): Promise<Json> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const j = ok(await adm.get(`/api/admin/announcements/${id}`));
    if (j.notice.status === "sent" && j.stats.pushed >= pushed) return j;
    if (Date.now() > deadline) throw new Error(`notice ${id} not delivered: ${JSON.stringify(j)}`);
    await sleep(20);
  }
}
