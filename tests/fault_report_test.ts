/**
 * Fault reports (issue 10): residents report a problem with a machine; the
 * admin sees the reports grouped by machine, marks it out of order with an
 * expected repair day (shown on every board), and on the repair everyone who
 * reported it is told once, and the reports close. Real server, real
 * sockets, the real due-index worker.
 * @module
 */
import assert from "node:assert/strict";
import { admin, isEvent, openSocket, resident } from "./support/harness.ts";
import { assertApiError, type Json, ok, sleep, startNotifyServer } from "./support/notify_kit.ts";

Deno.test("fault reports: reported, out of order until a day, repaired, reporters told once", async () => {
  await using srv = await startNotifyServer({ MINUTE_MS: "200" });
  const a = await resident(srv.url, "alice", "501");
  const b = await resident(srv.url, "bob", "502");
  const c = await resident(srv.url, "carol", "503");
  const adm = await admin(srv.url);
  const [w1, w2] = ok(await a.get("/api/machines")).machines;

  // Bad reports are refused with the error shape.
  assertApiError(await a.post(`/api/machines/${w1.id}/report`, { category: "fire" }), 400);
  assertApiError(await a.post(`/api/machines/nosuch1/report`, { category: "leak" }), 404);

  assert.equal(
    (await a.post(`/api/machines/${w1.id}/report`, { category: "leak", note: "물이 새요" }))
      .status,
    201,
  );
  // Reporting again replaces one's own report.
  ok(await a.post(`/api/machines/${w1.id}/report`, { category: "door", note: "문이 안 닫혀요" }));
  ok(await b.post(`/api/machines/${w1.id}/report`, { category: "wont_start" }));
  ok(await c.post(`/api/machines/${w2.id}/report`, { category: "noise" }));
  // Residents cannot read the reports.
  assertApiError(await a.get("/api/admin/reports"), 403);

  const reports = ok(await adm.get("/api/admin/reports")).reports;
  assert.deepEqual(Object.keys(reports).sort(), [w1.id, w2.id].sort());
  assert.deepEqual(
    reports[w1.id].map((r: Json) => [r.name, r.room, r.category, r.note]),
    [["alice", "501", "door", "문이 안 닫혀요"], ["bob", "502", "wont_start", ""]],
  );

  // Out of order with a repair day: every board shows it.
  await using ws = openSocket(srv.url, c.cookie);
  await ws.hello;
  assertApiError(
    await adm.post(`/api/admin/machines/${w1.id}/out_of_order`, {
      reason: "누수",
      repairDate: "2026-02-30",
    }),
    400,
  );
  ok(
    await adm.post(`/api/admin/machines/${w1.id}/out_of_order`, {
      reason: "누수",
      repairDate: "2026-12-04",
    }),
  );
  const ev = await ws.next(isEvent("machine.out_of_order", w1.id), 3000);
  assert.equal(ev.event.machine.repairDate, "2026-12-04");
  const onBoard = ok(await c.get("/api/machines")).machines.find((m: Json) => m.id === w1.id);
  assert.deepEqual([onBoard.state, onBoard.repairDate], ["out_of_order", "2026-12-04"]);

  // Repaired: alice and bob (the reporters) are told, carol (who reported another) is not.
  ok(await adm.post(`/api/admin/machines/${w1.id}/repair`, {}));
  const repairedOf = async (who: typeof a) =>
    ok(await who.get("/api/notifications")).items.filter((i: Json) =>
      i.kind === "machine.repaired"
    );
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if ((await repairedOf(a)).length && (await repairedOf(b)).length) break;
    await sleep(50);
  }
  for (const who of [a, b]) {
    const items = await repairedOf(who);
    assert.equal(items.length, 1, `${who.user.loginId}: ${JSON.stringify(items)}`);
    assert.equal(items[0].machineId, w1.id);
  }
  await sleep(300);
  assert.equal((await repairedOf(c)).length, 0);
  assert.equal((await repairedOf(a)).length, 1, "once");
  const after = ok(await adm.get("/api/admin/reports")).reports;
  assert.deepEqual(Object.keys(after), [w2.id], "the repaired machine's reports closed");
  const repaired = ok(await c.get("/api/machines")).machines.find((m: Json) => m.id === w1.id);
  assert.deepEqual([repaired.state, repaired.repairDate], ["available", undefined]);
});

Deno.test("fault reports: the repair tells the residents queued for its room and kind too; the first in line gets the offer", async () => {
  await using srv = await startNotifyServer({ MINUTE_MS: "200" });
  const adm = await admin(srv.url);
  const [rep, x, y, z, q1, q2, q3, dq] = await Promise.all(
    ["rep", "xavi", "yun", "zed", "qann", "qbob", "qcyd", "dqdan"].map((n, i) =>
      resident(srv.url, n, String(601 + i))
    ),
  );
  const all = ok(await rep.get("/api/machines")).machines as Json[];
  const [w1, w2, w3, w4] = all.filter((m) => m.kind === "washer");
  const [d1, d2] = all.filter((m) => m.kind === "dryer");
  const room = w1.room as string;

  // W1 breaks; the other washers run: the washer line forms.
  ok(await rep.post(`/api/machines/${w1.id}/report`, { category: "wont_start" }));
  ok(await adm.post(`/api/admin/machines/${w1.id}/out_of_order`, { repairDate: "2026-12-04" }));
  for (const [who, m] of [[x, w2], [y, w3], [z, w4]] as const) {
    ok(await who.post(`/api/machines/${m.id}/start`, { minutes: 60 }));
  }
  for (const q of [q1, q2, q3]) ok(await q.post("/api/waitlist", { room, kind: "washer" }));
  // A third in line who also reported it is told once, as a reporter.
  ok(await q3.post(`/api/machines/${w1.id}/report`, { category: "other", note: "언제 고쳐요?" }));
  // Someone waiting for a dryer is not told about a washer.
  ok(await x.post(`/api/machines/${d1.id}/start`, { minutes: 60 }));
  ok(await y.post(`/api/machines/${d2.id}/start`, { minutes: 60 }));
  ok(await dq.post("/api/waitlist", { room, kind: "dryer" }));

  ok(await adm.post(`/api/admin/machines/${w1.id}/repair`, {}));
  const items = async (who: typeof rep, kind: string) =>
    (ok(await who.get("/api/notifications")).items as Json[]).filter((i) => i.kind === kind);
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const got = await Promise.all([
      items(rep, "machine.repaired"),
      items(q2, "machine.repaired"),
      items(q3, "machine.repaired"),
      items(q1, "waitlist.offer"),
    ]);
    if (got.every((g) => g.length)) break;
    await sleep(50);
  }
  const [[r], [b2], [b3]] = await Promise.all(
    [rep, q2, q3].map((who) => items(who, "machine.repaired")),
  );
  assert.equal(r?.machineId, w1.id);
  assert.match(r.body, /신고해 주신/, "the reporter's thanks");
  assert.equal(b2?.machineId, w1.id, "the second in line is told");
  assert.match(b2.body, /줄 서 계신 순서대로/, b2.body);
  assert.match(b3?.body ?? "", /신고해 주신/, "a reporter in line is told once, as a reporter");
  // The first in line gets the offer (which says more), not a second notice.
  assert.equal((await items(q1, "waitlist.offer")).length, 1);
  await sleep(300);
  assert.deepEqual(await items(q1, "machine.repaired"), []);
  assert.equal((await items(q3, "machine.repaired")).length, 1, "once");
  for (const who of [x, dq]) assert.deepEqual(await items(who, "machine.repaired"), []);
});
