/**
 * Weeks of believable laundry-room use for tests, the browser checks and the
 * README screenshots: quiet nights, a morning bump, busy evenings and
 * weekend mornings, cycles of 35–70 minutes, laundry left waiting now and
 * then (and nudged). Deterministic for a seed. Written straight into the
 * store with `putUsageHistory` (lib/usage_store.ts): weeks cannot be lived
 * through in a test.
 * @module
 */
import type { Machine } from "../../lib/types.ts";
import { DAY_MS, localClock, type NudgeRecord, type UsageRecord } from "../../lib/usage.ts";
import { putUsageHistory } from "../../lib/usage_store.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;

/** How likely a cycle starts on a machine in a local weekday (0 = Monday) and hour. */
export function demandAt(day: number, hour: number): number {
  const weekend = day >= 5;
  if (hour < 6) return 0.03;
  if (weekend && hour >= 9 && hour < 13) return 0.7;
  if (hour >= 19 && hour < 23) return weekend ? 0.4 : 0.8;
  if (hour >= 7 && hour < 9) return weekend ? 0.15 : 0.4;
  return 0.2;
}

/** A small deterministic random source (Park–Miller). */
function random(seed: number): () => number {
  let s = Math.max(1, Math.floor(seed)) % 2147483647;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

/**
 * Usage and nudge records of `machines` over the `days` before `now`, in
 * `timeZone`'s local hours. Nothing runs at `now` (the history ends an
 * hour before it).
 */
export function demoHistory(
  machines: Pick<Machine, "id" | "name" | "room" | "kind">[],
  opts: { now: number; timeZone: string; days?: number; seed?: number },
): { records: UsageRecord[]; nudges: NudgeRecord[] } {
  const rand = random(opts.seed ?? 42);
  const clock = localClock(opts.timeZone);
  const days = opts.days ?? 28;
  const from = Math.floor((opts.now - days * DAY_MS) / HOUR) * HOUR;
  const records: UsageRecord[] = [];
  const nudges: NudgeRecord[] = [];
  let n = 0;
  for (const m of machines) {
    let freeAt = from;
    for (let t = from; t < opts.now - 2 * HOUR; t += HOUR) {
      const { day, hour } = clock(t);
      if (rand() >= demandAt(day, hour)) continue;
      const start = Math.max(freeAt, t + Math.floor(rand() * 50) * MIN);
      if (start >= t + HOUR) continue;
      const length = (m.kind === "dryer" ? 50 : 35) + Math.floor(rand() * 21);
      const end = start + length * MIN;
      const wait = rand() < 0.7 ? Math.floor(rand() * 8) : 10 + Math.floor(rand() * 35);
      const collected = end + wait * MIN;
      if (collected > opts.now - HOUR) break;
      records.push({
        machineId: m.id,
        name: m.name,
        room: m.room,
        kind: m.kind,
        useId: `demo${++n}`,
        startedAt: start,
        endedAt: end,
        collectedAt: collected,
      });
      if (wait >= 15) nudges.push({ machineId: m.id, at: end + 8 * MIN });
      if (wait >= 30) nudges.push({ machineId: m.id, at: end + 20 * MIN });
      freeAt = collected + 2 * MIN;
      t = Math.floor(freeAt / HOUR) * HOUR - HOUR; // the loop moves on to freeAt's hour
    }
  }
  return { records, nudges };
}

/** Write {@link demoHistory} of building `bid`'s machines into its store. */
export async function seedHistory(
  kv: Deno.Kv,
  bid: string,
  machines: Pick<Machine, "id" | "name" | "room" | "kind">[],
  opts: { now?: number; timeZone?: string; days?: number; seed?: number } = {},
): Promise<{ records: UsageRecord[]; nudges: NudgeRecord[] }> {
  const now = opts.now ?? Date.now();
  const h = demoHistory(machines, { ...opts, now, timeZone: opts.timeZone ?? "Asia/Seoul" });
  await putUsageHistory(kv, bid, h.records, h.nudges, now);
  return h;
}
