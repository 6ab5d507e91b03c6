/**
 * A breakdown ends the use on a machine: the resident using (or holding) it
 * is told, with the machine linked; residents not on it are not.
 * @module
 */
import assert from "node:assert/strict";
import { admin, resident, waitFor } from "./support/harness.ts";
import { act, inbox, machineOf, ok, startNotifyServer } from "./support/notify_kit.ts";

Deno.test("out of order: the resident using the machine gets a notice; others do not", async () => {
  await using srv = await startNotifyServer({});
  const a = await resident(srv.url, "oooa");
  const b = await resident(srv.url, "ooob");
  const boss = await admin(srv.url);
  const m = await machineOf(a, "washer");
  const use = await act(a, m.id, "start", { minutes: 40 });
  ok(await boss.post(`/api/admin/machines/${m.id}/out_of_order`, { reason: "배수 불량" }), "ooo");
  // Owed in the breakdown's commit, delivered by the due-index worker.
  const item = await waitFor(
    async () => (await inbox(a)).find((i) => i.id === `out_of_order:${use.useId}`),
    3000,
    "the out-of-order notice",
  );
  assert.equal(item.machineId, m.id);
  assert.equal(item.title, `${m.name} 고장으로 사용이 끝났어요`);
  assert.deepEqual((await inbox(b)).filter((i) => i.id.startsWith("out_of_order:")), []);
  // Repairing and breaking a free machine tells nobody.
  ok(await boss.post(`/api/admin/machines/${m.id}/repair`, {}), "repair");
  ok(await boss.post(`/api/admin/machines/${m.id}/out_of_order`, { reason: "" }), "ooo again");
  await srv.ctx.worker!.runDue();
  assert.equal((await inbox(a)).filter((i) => i.id.startsWith("out_of_order:")).length, 1);
});
