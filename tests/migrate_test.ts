/**
 * Upgrading from the release that kept reminders and scheduled notices as KV
 * queue messages: a store it wrote (a cycle under way, a notice scheduled,
 * nothing in the due-index) opens under this release with both owed, and
 * both delivered once. Running the migration twice (two instances starting
 * at once) owes nothing twice.
 * @module
 */
import assert from "node:assert/strict";
import { Store } from "../lib/db/mod.ts";
import { newMachine } from "../lib/lifecycle.ts";
import { migrate } from "../lib/migrate.ts";
import { admin, Client, resident, startTestServer } from "./support/harness.ts";
import { features } from "../app.ts";
import { type Json, ok, sleep } from "./support/notify_kit.ts";

Deno.test("migrate: a cycle and a scheduled notice of the previous release are owed and delivered once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-migrate-" });
  const kvPath = `${dir}/kv.sqlite`;
  try {
    // First start of the new release seeds; then the state is rewritten as
    // the previous release left it: no due records, no migration marker.
    const first = await startTestServer({ KV_PATH: kvPath, MINUTE_MS: "500" });
    const a = await resident(first.url, "alice", "501");
    const adm = await admin(first.url);
    await first.close();
    const kv = await Deno.openKv(kvPath);
    const now = Date.now();
    const m = {
      ...newMachine("oldw1", "Old W1", "washer", "1층", 99, now),
      state: "in_use" as const,
      ownerId: a.user.id,
      ownerName: "alice",
      useId: "olduse1",
      gen: 4,
      startedAt: now - 60_000,
      endsAt: now + 1500,
    };
    await kv.set(["machines", m.id], m);
    await kv.set(["notices", "oldnotice1"], {
      id: "oldnotice1",
      title: "Scheduled before the upgrade",
      body: "Still goes out.",
      target: { type: "room", room: "501" },
      sendAt: now + 1000,
      sound: true,
      critical: false,
      status: "scheduled",
      createdBy: adm.user.id,
      createdAt: now - 3_600_000,
    });
    for await (const e of kv.list({ prefix: ["due"] })) await kv.delete(e.key);
    await kv.delete(["meta", "migrated", "outbox-1"]);
    // Two instances migrating at once owe the same records.
    const store = new Store(kv, { minuteMs: 500 });
    await store.init();
    assert.deepEqual(await Promise.all([migrate(store), migrate(store)]), [
      ["outbox-1"],
      ["outbox-1"],
    ]);
    assert.deepEqual(await migrate(store), [], "once done, not again");
    const owed: string[] = [];
    for await (const e of kv.list({ prefix: ["due"] })) owed.push(e.key[2] as string);
    assert.ok(owed.some((id) => id.startsWith("tick:oldw1:olduse1:")), owed.join(" "));
    assert.ok(owed.includes("notice:oldnotice1"));
    kv.close();

    await using srv = await startTestServer({ KV_PATH: kvPath, MINUTE_MS: "500", SEED: "0" }, {
      setup: features({ pages: false }),
    });
    // Sessions survived: alice's cookie works on the upgraded server.
    const again = new Client(srv.url);
    for (const [k, v] of a.cookies) again.cookies.set(k, v);
    assert.equal(ok(await again.get("/api/me")).user.loginId, "alice");
    const deadline = Date.now() + 6000;
    let ids: string[] = [];
    while (Date.now() < deadline) {
      ids = ok(await again.get("/api/notifications")).items.map((i: Json) => i.id);
      if (ids.includes("use.done:olduse1") && ids.includes("notice:oldnotice1")) break;
      await sleep(50);
    }
    assert.ok(ids.includes("use.done:olduse1"), ids.join(" "));
    assert.ok(ids.includes("notice:oldnotice1"), ids.join(" "));
    await sleep(500);
    const final = ok(await again.get("/api/notifications")).items.map((i: Json) => i.id);
    assert.equal(final.filter((id: string) => id === "use.done:olduse1").length, 1);
    assert.equal(final.filter((id: string) => id === "notice:oldnotice1").length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
