/**
 * One-time upgrades of a store written by an earlier release, run at start
 * (before seeding). Idempotent, and safe when several instances start at
 * once: every record is moved or rewritten by an atomic operation checked
 * against what was read (of two instances, one wins and the other finds the
 * work done), and the marker is set last.
 *
 * - `tenancy-1`: the single-building release kept one board. Its building
 *   becomes the building {@link LEGACY_BUILDING}, in place: machines,
 *   watches and notices move under the building's key prefix; users and
 *   invites name the building (the `ADMIN_LOGIN` account becomes the
 *   operator, other admins admins of the building); hold indexes name the
 *   building; due records of machines and notices name it; the delivery
 *   counters so far become the building's (and stay the deployment's). The old board log and user-event feed
 *   are dropped: a client holding an old cursor gets a snapshot (its user
 *   log part, still valid, is replayed).
 * - `outbox-1`: the release before kept reminders and scheduled notices as
 *   KV queue messages. Every machine gets due-index ticks for the moments its
 *   current use has something due, and every scheduled (or half-sent) notice
 *   a `notice` job, so nothing owed is lost on the way to the due-index.
 * - `waitlist-1`: the release before kept one-shot watches ("tell me when a
 *   dryer is free") per building and kind. Each becomes a place in that
 *   building's queue of the kind, in the first laundry room that has such
 *   machines, in the order the watches were made (with the board event, so
 *   open boards see it); the watch is deleted in the same commit.
 * @module
 */
import type { Store } from "./db/mod.ts";
import { holdRef } from "./db/mod.ts";
import { boardScope, K, statScope } from "./keys.ts";
import { queuePos, waitDraft } from "./db/waitlist_ops.ts";
import { deleteListed, retryCommit, tryCommit } from "./commit.ts";
import { due, type DueJob, type Job, tickAt, tickTimes } from "./notify/plan.ts";
import type { Building, Machine, MachineKind, Notice, User } from "./types.ts";
import type { Invite } from "./db/records.ts";

/** The id the single-building release's building gets. */
export const LEGACY_BUILDING = "home";

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** The operator's login (`ADMIN_LOGIN`): that legacy admin becomes the operator. */
  adminLogin?: string;
  /** Name of the legacy building. */
  buildingName?: string;
}

/** Run the migrations this store has not had yet. Returns the names run now. */
export async function migrate(
  store: Store,
  now = Date.now(),
  opts: MigrateOptions = {},
): Promise<string[]> {
  const ran: string[] = [];
  if (!(await store.kv.get(K.migrated("tenancy-1"))).value) {
    await tenancy(store, opts);
    await store.kv.set(K.migrated("tenancy-1"), { at: now });
    ran.push("tenancy-1");
  }
  if (!(await store.kv.get(K.migrated("outbox-1"))).value) {
    const jobs: DueJob[] = [];
    for (const b of await store.listBuildings()) {
      for (const m of await store.listMachines(b.id)) {
        const lead = await store.leadMinutes(m.ownerId);
        for (const at of tickTimes(m, lead, store.settings, now)) jobs.push(tickAt(m, at));
      }
      for (const n of await store.listNotices(b.id, 10_000)) {
        if (n.status === "scheduled" || n.status === "sending") {
          jobs.push(due({ t: "notice", b: b.id, noticeId: n.id }, Math.max(n.sendAt, now)));
        }
      }
    }
    // Batches well inside one atomic operation's limits.
    for (let i = 0; i < jobs.length || i === 0; i += 200) {
      const op = store.kv.atomic();
      store.addDue(op, jobs.slice(i, i + 200), now);
      if (i + 200 >= jobs.length) op.set(K.migrated("outbox-1"), { at: now });
      await op.commit();
    }
    ran.push("outbox-1");
  }
  if (!(await store.kv.get(K.migrated("waitlist-1"))).value) {
    await watchesToWaitlists(store);
    await store.kv.set(K.migrated("waitlist-1"), { at: now });
    ran.push("waitlist-1");
  }
  return ran;
}

/** Move one record: `old` → `key` with `value`, checked (false when someone else did it). */
async function move(
  kv: Deno.Kv,
  old: Deno.KvEntry<unknown>,
  key: Deno.KvKey,
  value: unknown,
): Promise<boolean> {
  const res = await kv.atomic().check(old).check({ key, versionstamp: null })
    .delete(old.key).set(key, value).commit();
  return res.ok;
}

/** Rewrite one record in place, checked. */
async function rewrite(kv: Deno.Kv, e: Deno.KvEntry<unknown>, value: unknown): Promise<void> {
  await kv.atomic().check(e).set(e.key, value).commit();
}

/** Every entry under `prefix` whose key has exactly `length` parts. */
async function legacy<T>(kv: Deno.Kv, prefix: Deno.KvKey, length: number) {
  const out: Deno.KvEntry<T>[] = [];
  for await (const e of kv.list<T>({ prefix })) if (e.key.length === length) out.push(e);
  return out;
}

async function tenancy(store: Store, opts: MigrateOptions): Promise<void> {
  const kv = store.kv;
  const bid = LEGACY_BUILDING;
  const machines = await legacy<Machine>(kv, K.machinesAll(), 2);
  const users = (await legacy<User>(kv, K.users(), 2)).filter((e) => !e.value.buildingId);
  if (!machines.length && !users.length) return; // a fresh store: nothing of the old layout
  const rooms = [...new Set(machines.map((e) => e.value.room))];
  const building: Building = {
    id: bid,
    name: opts.buildingName ?? "우리 건물",
    timeZone: "Asia/Seoul",
    rooms,
    createdAt: Date.now(),
  };
  await kv.atomic().check({ key: K.building(bid), versionstamp: null })
    .set(K.building(bid), building).commit();
  for (const e of machines) {
    await move(kv, e, K.machine(bid, e.value.id), { ...e.value, buildingId: bid });
  }
  const adminLogin = opts.adminLogin?.toLowerCase();
  for (const e of users) {
    const u = e.value;
    const role = u.role as string;
    const next: User = role === "admin"
      ? u.loginId.toLowerCase() === adminLogin
        ? { ...u, buildingId: bid, role: "operator" }
        : { ...u, buildingId: bid, role: "admin", adminOf: [bid] }
      : { ...u, buildingId: bid };
    await kv.atomic().check(e).set(e.key, next).set(K.buildingUser(bid, u.id), true).commit();
  }
  for (const e of await legacy<Invite>(kv, K.invites(), 2)) {
    if (e.value.buildingId) continue;
    await kv.atomic().check(e).set(e.key, { ...e.value, buildingId: bid, role: "resident" })
      .set(K.buildingInvite(bid, e.value.code), true).commit();
  }
  for (const e of await legacy<unknown>(kv, ["watches"], 3)) {
    await move(kv, e, K.watch(bid, e.key[1] as string, e.key[2] as string), e.value);
  }
  for (const e of await legacy<Notice>(kv, K.noticesAll(), 2)) {
    await move(kv, e, K.notice(bid, e.value.id), { ...e.value, buildingId: bid });
  }
  for (const e of await legacy<string>(kv, ["holds"], 3)) {
    if (!e.value.includes("/")) await rewrite(kv, e, holdRef(bid, e.value));
  }
  for await (const e of kv.list<{ job: Job }>({ prefix: K.dueAll() })) {
    const job = e.value.job as Job & { b?: string };
    if (job.b || !["tick", "free", "notice", "notify"].includes(job.t)) continue;
    await rewrite(kv, e, { ...e.value, job: { ...job, b: bid } });
  }
  // The counters so far were the one building's (they stay the deployment's too).
  const moved = await kv.get(K.migrated("tenancy-1-stats"));
  if (!moved.value) {
    const op = kv.atomic().check(moved).set(K.migrated("tenancy-1-stats"), true);
    for await (const e of kv.list<Deno.KvU64>({ prefix: ["stats", "all"] })) {
      op.set(K.stat(statScope(bid), e.key[2] as string), e.value);
    }
    await op.commit();
  }
  // The old board log and feed: their cursors now get a snapshot.
  for (const scope of ["board", "ufeed"]) {
    await deleteListed(kv, { prefix: ["log", scope] });
    await kv.atomic().delete(K.logHead(scope)).delete(K.logFloor(scope)).commit();
  }
}

async function watchesToWaitlists(store: Store): Promise<void> {
  const kv = store.kv;
  const watches: Deno.KvEntry<{ at?: number }>[] = [];
  for await (const e of kv.list<{ at?: number }>({ prefix: ["watches"] })) {
    if (e.key.length === 4) watches.push(e);
  }
  watches.sort((a, b) => (a.value.at ?? 0) - (b.value.at ?? 0));
  const roomsOf = new Map<string, Machine[]>();
  for (const w of watches) {
    const [, bid, kind, userId] = w.key as [string, string, MachineKind, string];
    if (!roomsOf.has(bid)) roomsOf.set(bid, await store.listMachines(bid));
    const b = await store.getBuilding(bid);
    const machines = roomsOf.get(bid)!.filter((m) => m.kind === kind);
    const order = [...(b?.rooms ?? []), ...machines.map((m) => m.room)];
    const room = order.find((r) => machines.some((m) => m.room === r));
    await retryCommit(async () => {
      const [idx, head] = await kv.getMany<[unknown, number]>([
        K.waiting(bid, userId, kind),
        K.logHead(boardScope(bid)),
      ]);
      const op = kv.atomic().check(w).delete(w.key);
      if (room && !idx.value) {
        const at = w.value.at ?? Date.now();
        const pos = queuePos(at, userId);
        op.check(idx).set(K.waitEntry(bid, room, kind, pos), { userId, at })
          .set(K.waiting(bid, userId, kind), { room, pos, lapses: 0 });
        store.appendOp(
          op,
          boardScope(bid),
          [waitDraft("waitlist.joined", room, kind, userId)],
          head,
        );
      }
      if (await tryCommit(op)) return true;
      // Done by another instance (the watch is gone), or read again.
      return (await kv.get(w.key)).value ? null : true;
    });
  }
}
