/**
 * One-time upgrades of a store written by an earlier release, run at start.
 * Idempotent, and safe when several instances start at once: every record
 * it writes has a deterministic key, and the marker is set in the same
 * commit as the last batch.
 *
 * - `outbox-1`: the previous release kept reminders and scheduled notices as
 *   KV queue messages. Every machine gets due-index ticks for the moments its
 *   current use has something due, and every scheduled (or half-sent) notice
 *   a `notice` job, so nothing owed is lost on the way to the due-index.
 * @module
 */
import type { Store } from "./db.ts";
import { due, type DueJob, tickAt, tickTimes } from "./notify/plan.ts";

/** The marker key of one migration (`["meta", "migrated", name]`). */
function marker(name: string): Deno.KvKey {
  return ["meta", "migrated", name];
}

/** Run the migrations this store has not had yet. Returns the names run now. */
export async function migrate(store: Store, now = Date.now()): Promise<string[]> {
  const ran: string[] = [];
  if (!(await store.kv.get(marker("outbox-1"))).value) {
    const jobs: DueJob[] = [];
    for (const m of await store.listMachines()) {
      const lead = await store.leadMinutes(m.ownerId);
      for (const at of tickTimes(m, lead, store.settings, now)) jobs.push(tickAt(m, at));
    }
    for (const n of await store.listNotices(10_000)) {
      if (n.status === "scheduled" || n.status === "sending") {
        jobs.push(due({ t: "notice", noticeId: n.id }, Math.max(n.sendAt, now)));
      }
    }
    // Batches well inside one atomic operation's limits.
    for (let i = 0; i < jobs.length || i === 0; i += 200) {
      const op = store.kv.atomic();
      store.addDue(op, jobs.slice(i, i + 200), now);
      if (i + 200 >= jobs.length) op.set(marker("outbox-1"), { at: now });
      await op.commit();
    }
    ran.push("outbox-1");
  }
  return ran;
}
