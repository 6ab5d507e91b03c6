/**
 * The KV side of busy hours: usage and nudge records (keys in `lib/keys.ts`,
 * shapes and the decisions in `lib/usage.ts`). The writes join an atomic
 * operation the caller commits (the machine change that ends a use, the
 * nudge), so a record exists exactly when its change does. Records expire by
 * themselves 35 days after their last moment ({@link USAGE_RETENTION_MS}).
 * @module
 */
import { K, statScope } from "./keys.ts";
import type { Store } from "./db/mod.ts";
import { DEFAULT_TIME_ZONE } from "./db/records.ts";
import {
  DAY_MS,
  funnel,
  type FunnelGroup,
  machineMetrics,
  type MachineUsage,
  type NudgeRecord,
  type RoomHeatmap,
  roomHeatmaps,
  USAGE_RETENTION_MS,
  USAGE_WINDOW_DAYS,
  type UsageRecord,
  validZone,
} from "./usage.ts";

/** The longest a use is looked back for before the window (a cycle running into it). */
const LOOKBACK_MS = 2 * DAY_MS;
/** Most records one list reads (a month of a very busy building is a few thousand). */
const LIST_LIMIT = 50_000;
/** Mutations per commit of a bulk write (KV allows 1000). */
const BATCH = 500;

/** How long a record has left: 35 days after its last moment, at least a minute. */
function expireIn(last: number, now: number): number {
  return Math.max(60_000, last + USAGE_RETENTION_MS - now);
}

/** Add the usage records of a machine change (`usageWrites`) to `op`. */
export function usageOps(
  op: Deno.AtomicOperation,
  bid: string,
  records: UsageRecord[],
  now: number,
): void {
  for (const r of records) {
    op.set(K.usage(bid, r.startedAt, r.useId), r, {
      expireIn: expireIn(r.collectedAt ?? r.endedAt, now),
    });
  }
}

/** Add the record of one nudge (by `senderId` about `machineId`, at `now`) to `op`. */
export function nudgeOp(
  op: Deno.AtomicOperation,
  bid: string,
  machineId: string,
  senderId: string,
  now: number,
): void {
  const value: NudgeRecord = { machineId, at: now };
  op.set(K.usageNudge(bid, now, `${machineId}:${senderId}`), value, {
    expireIn: expireIn(now, now),
  });
}

/**
 * Building `bid`'s usage records that may touch the `days` before `now`
 * (started up to two days before the window), oldest first; expired ones
 * KV has not removed yet are left out.
 */
export async function listUsage(
  kv: Deno.Kv,
  bid: string,
  now: number,
  days = USAGE_WINDOW_DAYS,
): Promise<UsageRecord[]> {
  const from = now - days * DAY_MS;
  const out: UsageRecord[] = [];
  const iter = kv.list<UsageRecord>({
    prefix: K.usages(bid),
    start: K.usage(bid, from - LOOKBACK_MS, ""),
  }, { limit: LIST_LIMIT });
  for await (const e of iter) {
    const r = e.value;
    if ((r.collectedAt ?? r.endedAt) >= now - USAGE_RETENTION_MS) out.push(r);
  }
  return out;
}

/** Building `bid`'s nudge records of the `days` before `now`. */
export async function listNudges(
  kv: Deno.Kv,
  bid: string,
  now: number,
  days = USAGE_WINDOW_DAYS,
): Promise<NudgeRecord[]> {
  const out: NudgeRecord[] = [];
  const iter = kv.list<NudgeRecord>({
    prefix: K.usageNudges(bid),
    start: K.usageNudge(bid, now - days * DAY_MS, ""),
  }, { limit: LIST_LIMIT });
  for await (const e of iter) out.push(e.value);
  return out;
}

/**
 * Write usage and nudge records directly, in commits of 500 (demo history,
 * tests that simulate weeks of use). Expiry counts from each record's time.
 */
export async function putUsageHistory(
  kv: Deno.Kv,
  bid: string,
  records: UsageRecord[],
  nudges: NudgeRecord[] = [],
  now = Date.now(),
): Promise<void> {
  const writes: ((op: Deno.AtomicOperation) => void)[] = [
    ...records.map((r) => (op: Deno.AtomicOperation) => usageOps(op, bid, [r], now)),
    ...nudges.map((n, i) => (op: Deno.AtomicOperation) =>
      op.set(K.usageNudge(bid, n.at, `${n.machineId}:h${i}`), n, {
        expireIn: expireIn(n.at, now),
      })
    ),
  ];
  for (let i = 0; i < writes.length; i += BATCH) {
    const op = kv.atomic();
    for (const w of writes.slice(i, i + BATCH)) w(op);
    const res = await op.commit();
    if (!res.ok) throw new Error("usage history: commit refused");
  }
}

/** What residents see: one heatmap per laundry room of the last 4 weeks. */
export interface BusyView {
  timeZone: string;
  days: number;
  now: number;
  rooms: RoomHeatmap[];
}

/** Building `bid`'s busy hours (404 when there is no such building). */
export async function busyView(store: Store, bid: string, now = Date.now()): Promise<BusyView> {
  const [building, machines, records] = await Promise.all([
    store.getBuilding(bid),
    store.listMachines(bid),
    listUsage(store.kv, bid, now),
  ]);
  const timeZone = validZone(building?.timeZone ?? DEFAULT_TIME_ZONE);
  return {
    timeZone,
    days: USAGE_WINDOW_DAYS,
    now,
    rooms: roomHeatmaps(records, machines, building?.rooms ?? [], timeZone, now),
  };
}

/** What admins see: per-machine usage of the last `days` and the delivery funnel. */
export interface UsageView {
  timeZone: string;
  days: number;
  now: number;
  machines: MachineUsage[];
  funnel: FunnelGroup[];
}

/** Building `bid`'s usage per machine and its delivery counters as a funnel. */
export async function usageView(
  store: Store,
  bid: string,
  days = USAGE_WINDOW_DAYS,
  now = Date.now(),
): Promise<UsageView> {
  const [building, machines, records, nudges, stats] = await Promise.all([
    store.getBuilding(bid),
    store.listMachines(bid),
    listUsage(store.kv, bid, now, days),
    listNudges(store.kv, bid, now, days),
    deliveryCounters(store, statScope(bid)),
  ]);
  return {
    timeZone: validZone(building?.timeZone ?? DEFAULT_TIME_ZONE),
    days,
    now,
    machines: machineMetrics(records, machines, nudges, now, days),
    funnel: funnel(stats),
  };
}

/**
 * Every delivery counter of `scope`: the store's named fields (`getStats`,
 * zero when never counted) and any other field stored under the scope (per
 * channel, `<channel>:<outcome>`), whatever fields exist.
 */
export async function deliveryCounters(
  store: Store,
  scope: string,
): Promise<Record<string, number>> {
  const out: Record<string, number> = { ...(await store.getStats(scope)) };
  for await (const e of store.kv.list<Deno.KvU64>({ prefix: K.stats(scope) })) {
    const field = e.key[2];
    if (typeof field === "string" && e.value instanceof Deno.KvU64) {
      out[field] = Number(e.value.value);
    }
  }
  return out;
}
