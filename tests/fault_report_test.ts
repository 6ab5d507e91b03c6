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
