import assert from "node:assert/strict";
import { Store } from "./db/mod.ts";
import { K, statScope } from "./keys.ts";
import { DAY_MS, type UsageRecord } from "./usage.ts";
import {
  deliveryCounters,
  listNudges,
  listUsage,
  nudgeOp,
  putUsageHistory,
  usageOps,
} from "./usage_store.ts";

const MIN = 60_000;

async function withKv(fn: (kv: Deno.Kv, path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-usage-" });
  const kv = await Deno.openKv(`${dir}/kv.sqlite`);
  try {
    await fn(kv, `${dir}/kv.sqlite`);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const rec = (i: number, start: number, minutes = 40): UsageRecord => ({
  machineId: `m${i % 3}`,
  name: `M${i % 3}`,
  room: "R",
  kind: "washer",
  useId: `u${i}`,
  startedAt: start,
  endedAt: start + minutes * MIN,
  collectedAt: start + (minutes + 5) * MIN,
});

Deno.test("usage store: records join the caller's commit; lists cover the window and its lead-in", async () => {
  await withKv(async (kv) => {
    const now = Date.parse("2026-12-02T12:00:00Z");
    const op = kv.atomic();
    usageOps(op, "b1", [rec(1, now - 2 * DAY_MS)], now);
    nudgeOp(op, "b1", "m1", "bob", now - DAY_MS);
    // Nothing is written until the caller commits.
    assert.deepEqual(await listUsage(kv, "b1", now), []);
    assert.ok((await op.commit()).ok);
    assert.deepEqual((await listUsage(kv, "b1", now)).map((r) => r.useId), ["u1"]);
    assert.deepEqual(await listNudges(kv, "b1", now), [{ machineId: "m1", at: now - DAY_MS }]);
    assert.deepEqual(await listUsage(kv, "b2", now), [], "another building's prefix");
    // A second write of the same use (collected) replaces it.
    const again = kv.atomic();
    usageOps(again, "b1", [{ ...rec(1, now - 2 * DAY_MS), collectedAt: now }], now);
    await again.commit();
    const [one] = await listUsage(kv, "b1", now);
    assert.equal(one.collectedAt, now);
    assert.equal((await listUsage(kv, "b1", now)).length, 1);
  });
});

Deno.test("usage store: history in batches of 500; records before the lead-in or expired are not read", async () => {
  await withKv(async (kv) => {
    const now = Date.parse("2026-12-02T12:00:00Z");
    const records = Array.from({ length: 1200 }, (_, i) => rec(i, now - (i % 40) * DAY_MS));
    await putUsageHistory(kv, "b1", records, [
      { machineId: "m1", at: now - 3 * DAY_MS },
      { machineId: "m1", at: now - 30 * DAY_MS },
    ], now);
    const week = await listUsage(kv, "b1", now, 7);
    // Started within 7 + 2 days (a cycle may run into the window).
    assert.equal(week.length, records.filter((r) => r.startedAt >= now - 9 * DAY_MS).length);
    const month = await listUsage(kv, "b1", now);
    assert.ok(month.every((r) => r.startedAt >= now - 30 * DAY_MS));
    // Older than the 35 days kept: left out even before KV removes it.
    const all = await listUsage(kv, "b1", now, 60);
    assert.ok(all.every((r) => r.collectedAt! >= now - 35 * DAY_MS));
    assert.ok(all.length < records.length);
    assert.equal((await listNudges(kv, "b1", now, 7)).length, 1);
  });
});

Deno.test("deliveryCounters: the named fields (zero when never counted) and any other field", async () => {
  await withKv(async (kv) => {
    const store = new Store(kv);
    await store.countDelivery([statScope("b1")], { recipients: 4, pushed: 3 });
    await store.kv.atomic().sum(K.stat(statScope("b1"), "webpush:sent"), 3n)
      .sum(K.stat(statScope("b2"), "webpush:sent"), 9n).commit();
    const c = await deliveryCounters(store, statScope("b1"));
    assert.equal(c.recipients, 4);
    assert.equal(c.failed, 0);
    assert.equal(c["webpush:sent"], 3, "another building's counter is not read");
    assert.deepEqual(Object.keys(await deliveryCounters(store, statScope("b3"))).sort(), [
      "failed",
      "held",
      "inApp",
      "pruned",
      "pushed",
      "recipients",
    ]);
  });
});
