/**
 * What one press of 사용 등록 costs in KV round trips (issue: "cheap
 * presses"): the session lookup and the command itself, with everything the
 * command owes (events, reminder ticks, users-of-machine) in its one commit.
 * Budget: 3 (the issue allows 4), the answer's cursor included (the command returns it). Notification
 * work is never on this path.
 * @module
 */
import assert from "node:assert/strict";
import { Store } from "../lib/db/mod.ts";
import { newMachine } from "../lib/lifecycle.ts";
import { countingKv } from "./support/kv_counter.ts";
import { newResident } from "./support/store_kit.ts";

/** Round trips a press may cost (the issue allows 4; the session is one read, the command two). */
const BUDGET = 3;

Deno.test("press cost: 사용 등록 is at most 3 KV round trips, and its commit holds what it owes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-press-" });
  const raw = await Deno.openKv(`${dir}/kv.sqlite`);
  try {
    const counter = countingKv(raw);
    const store = new Store(counter.kv);
    await store.init();
    const B = "b1";
    await store.createBuilding({ id: B, name: "B" });
    const user = await newResident(store, "alice", B);
    const token = await store.createSession(user.id);
    const m = newMachine("w1abc", B, "W1", "washer", "1층", 1, Date.now());
    await raw.set(["machines", B, m.id], m);
    const actor = { id: user.id, name: user.name, role: "resident" as const };
    const costs: Record<string, number> = {};
    for (
      const [name, cmd] of [
        ["hold", { type: "hold" }],
        ["arrive", { type: "arrive" }],
        ["start", { type: "start", minutes: 40 }],
      ] as const
    ) {
      counter.reset();
      const s = await store.getSession(token); // the session middleware
      assert.equal(s?.user.id, user.id);
      assert.equal(counter.total(), 1, "the session and its user in one read");
      const r = await store.command(B, m.id, cmd, actor);
      costs[name] = counter.total();
      assert.ok(
        costs[name] <= BUDGET,
        `${name}: ${costs[name]} round trips ${JSON.stringify(counter.counts)}`,
      );
      // The answer's cursor comes from the command itself (no 5th round trip).
      assert.equal(r.cursor, await store.currentCursor(user.id, B));
    }
    console.log(`  KV round trips per press: ${JSON.stringify(costs)}`);
    // The start's one commit owed the reminder ticks and the users-of-machine mark.
    const due: Deno.KvKey[] = [];
    for await (const e of raw.list({ prefix: ["due"] })) due.push(e.key);
    const ticks = due.filter((k) => String(k[2]).startsWith(`tick:${m.id}:`));
    assert.ok(ticks.length >= 3, `ending soon, end, overdue ticks: ${JSON.stringify(due)}`);
    assert.notEqual((await raw.get(["machine_users", m.id, user.id])).value, null);
  } finally {
    raw.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
