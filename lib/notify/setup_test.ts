import assert from "node:assert/strict";
import { loadConfig } from "../config.ts";
import { detectQueues, legacyJob } from "./setup.ts";

Deno.test("detectQueues: off when told, off when enqueue is refused, on when it works", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    let enqueued = 0;
    const counting = new Proxy(kv, {
      get: (t, p) =>
        p === "enqueue"
          ? (...a: unknown[]) => (enqueued++, (t.enqueue as (...x: unknown[]) => unknown)(...a))
          : Reflect.get(t, p, t),
    });
    assert.equal(await detectQueues(counting, loadConfig({ KV_QUEUES: "off" })), false);
    assert.equal(enqueued, 0, "KV_QUEUES=off does not even try");
    assert.equal(await detectQueues(counting, loadConfig({})), true);
    assert.equal(enqueued, 1);
    const refusing = {
      enqueue: () => Promise.reject(new Error("not supported")),
    } as unknown as Deno.Kv;
    assert.equal(await detectQueues(refusing, loadConfig({})), false);
  } finally {
    kv.close();
  }
});

Deno.test("legacyJob: the previous release's queue messages become due records", () => {
  const t = legacyJob({ t: "tick", machineId: "w1", useId: "u1" });
  assert.deepEqual(t?.job, { t: "tick", b: "home", machineId: "w1", useId: "u1" });
  assert.equal(legacyJob({ t: "notice", id: "n1" })?.job.t, "notice");
  assert.deepEqual(legacyJob({ t: "notice", id: "n1" })?.job, {
    t: "notice",
    b: "home",
    noticeId: "n1",
  });
  for (const v of [null, 3, { t: "tick" }, { t: "notice" }, { t: "push_retry", id: "x" }]) {
    assert.equal(legacyJob(v), null, JSON.stringify(v));
  }
});
