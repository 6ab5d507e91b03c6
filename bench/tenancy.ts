/**
 * Tenancy cost (issue 11: "cost that does not grow with the number of
 * buildings"). Two KV files side by side in one process: one with 1
 * building, one with 1,000 buildings (6 machines and 3 residents each), both
 * written through the app's own Store (`createBuilding`, `addMachine`,
 * `createUser`). Each Store sits on a counting KV handle
 * (tests/support/kv_counter.ts: every get, getMany, set, delete, enqueue,
 * list and atomic commit is one round trip). Measured on both files,
 * interleaved block by block so that the busy machine's noise falls on both:
 *
 * - `Store.command`: hold/release pairs on random machines of random
 *   buildings, by a resident of that building: wall time per command and
 *   round trips;
 * - the minute's work: `NotificationService.sweep()` (its lease) plus one
 *   due-index pass (`DueWorker.runDue()`, the real worker and handlers)
 *   over what is due, (a) in a quiet minute (nothing due; the index holds
 *   the command phase's future records: the released holds' ticks), (b) in
 *   a busy minute: the same 6 holds placed on both files run out (hold
 *   warning tick, expiry tick, the owner's two notifications, the offer of
 *   the freed machine), and (c) the backlog the command phase left (the
 *   offers of released machines, due at once);
 * - a socket connect's hello path: `Store.sync(userId, bid, null)` (the
 *   snapshot) and `Store.heads(bid)` (the hub's follow of the building).
 *
 * Seeding, commands and hellos use real lifecycle minutes. The busy
 * minute's holds are placed through a second Store on the same KV handle
 * whose minute is `minuteMs` (default 100 ms: those holds run out after
 * 1 s), and the due-index handlers use that one too, so the busy minute
 * comes due within the run. The due-index worker runs only when called
 * (`runDue`), never in the background, so nothing else touches the files.
 * @module
 */
import { loadConfig } from "../lib/config.ts";
import { Store } from "../lib/db/mod.ts";
import { Notifier } from "../lib/notify/notifier.ts";
import { NotificationService } from "../lib/notify/service.ts";
import { type DueRecord, DueWorker } from "../lib/outbox.ts";
import { K } from "../lib/keys.ts";
import { generateVapidKeys, WebPushSender } from "../lib/push/webpush_sender.ts";
import { Hub } from "../lib/realtime.ts";
import type { Actor, Command } from "../lib/lifecycle.ts";
import { type CountingKv, countingKv } from "../tests/support/kv_counter.ts";
import { median, sleep, summary } from "./common.ts";

/** Machines per building (3 washers, 3 dryers). */
export const MACHINES_PER_BUILDING = 6;
/** Residents per building. */
export const RESIDENTS_PER_BUILDING = 3;
/** Holds that run out in each busy minute (the same number on both files). */
export const BUSY_HOLDS = 6;
/** The target: the 1,000-building file within this factor of the 1-building one. */
export const TENANCY_TARGET = 1.2;

/** Wall time and round trips of one kind of measured call. */
export interface CallCost {
  /** Wall time per call, ms. */
  ms: ReturnType<typeof summary>;
  /** KV round trips per call. */
  roundTrips: { median: number; min: number; max: number };
  /** Round trips by KV method of the median call. */
  byMethod: Record<string, number>;
  /** Due-index jobs the call processed (median; sweep passes only). */
  jobs?: number;
}

/** Everything measured on one KV file. */
export interface TenancySide {
  buildings: number;
  machines: number;
  residents: number;
  /** Time to write the file through the Store, ms. */
  seedMs: number;
  /** Size of the SQLite file (+ WAL) after the run, bytes. */
  kvBytes: number;
  command: CallCost & { failed: number };
  sweepQuiet: CallCost;
  sweepBusy: CallCost;
  /** The command phase's backlog: one pass over everything it left due. */
  backlog: { jobs: number; roundTrips: number; ms: number };
  hello: CallCost;
}

/** The tenancy section's results. */
export interface TenancyResult {
  /** The 1-minute load average (/proc/loadavg) when the section started and ended. */
  loadAvg: [number | null, number | null];
  minuteMs: number;
  commands: number;
  sweepReps: number;
  one: TenancySide;
  many: TenancySide;
}

/** Options of {@link runTenancy}. */
export interface TenancyOptions {
  /** Buildings in the large file (default 1,000). */
  buildings?: number;
  /** Commands per file (hold + release = 2). */
  commands: number;
  /** Quiet and busy sweep passes per file. */
  sweepReps: number;
  /** Hello paths per file. */
  helloReps?: number;
  minuteMs?: number;
  log: (s: string) => void;
}

/** The 1-minute load average, or null where /proc is missing. */
function loadAvg(): number | null {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return null;
  }
}

/** A small seeded PRNG (mulberry32), so runs pick the same machines. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Tenant {
  id: string;
  machines: string[];
  residents: Actor[];
}

/** One KV file with its Store, worker and what was seeded. */
class Side {
  readonly tenants: Tenant[] = [];
  readonly cmdMs: number[] = [];
  readonly cmdRt: number[] = [];
  readonly cmdBy: Record<string, number>[] = [];
  cmdFailed = 0;
  seedMs = 0;
  #slot = 0;

  private constructor(
    readonly dir: string,
    readonly raw: Deno.Kv,
    readonly counter: CountingKv,
    /** The Store with real minutes: seed, commands, hellos. */
    readonly store: Store,
    /** The same KV with fast minutes: the busy minute's holds and the due-index handlers. */
    readonly fast: Store,
    readonly hub: Hub,
    readonly service: NotificationService,
  ) {}

  /**
   * One due-index pass with the app's worker and handlers, until nothing is
   * due. A fresh worker each time, stopped at once: a worker arms a timer for
   * the next record, which would otherwise process it in the background.
   */
  async runDue(): Promise<number> {
    const worker = new DueWorker(this.fast.kv, {
      instance: "bench",
      handle: (e, w) => this.service.handle(e, w),
    });
    try {
      await worker.runDue();
      return worker.processed;
    } finally {
      await worker.stop(0);
    }
  }

  static async open(minuteMs: number): Promise<Side> {
    const dir = await Deno.makeTempDir({ prefix: "laundrylive-bench-" });
    const raw = await Deno.openKv(`${dir}/kv.sqlite`);
    const counter = countingKv(raw);
    const store = new Store(counter.kv);
    await store.init();
    const fast = new Store(counter.kv, { minuteMs });
    await fast.init();
    const hub = new Hub(fast, { pingMs: 3_600_000, timeoutMs: 7_200_000 });
    const config = loadConfig({ BACKGROUND: "0", SEED: "0" });
    const sender = new WebPushSender({
      ...(await generateVapidKeys()),
      subject: "mailto:bench@laundrylive.test",
    });
    const notifier = new Notifier(fast, hub, config, sender, null);
    const service = new NotificationService(fast, notifier, config);
    return new Side(dir, raw, counter, store, fast, hub, service);
  }

  /** Write `n` buildings with their machines and residents, `concurrency` buildings at a time. */
  async seed(n: number, tag: string, concurrency = 16): Promise<void> {
    const t0 = performance.now();
    let next = 0;
    const one = async (i: number) => {
      const b = await this.store.createBuilding({ name: `${tag} 동 ${i + 1}` });
      const machines: string[] = [];
      for (let k = 0; k < MACHINES_PER_BUILDING; k++) {
        const washer = k < MACHINES_PER_BUILDING / 2;
        const { machine } = await this.store.addMachine(b.id, {
          name: `${washer ? "세탁기" : "건조기"} ${(k % (MACHINES_PER_BUILDING / 2)) + 1}`,
          kind: washer ? "washer" : "dryer",
          room: "1층 세탁실",
        });
        machines.push(machine.id);
      }
      const residents: Actor[] = [];
      for (let r = 0; r < RESIDENTS_PER_BUILDING; r++) {
        const u = await this.store.createUser({
          loginId: `${tag}-${i}-${r}`,
          passwordHash: "x",
          name: `Resident ${i}.${r}`,
          room: `${101 + r}`,
          role: "resident",
          buildingId: b.id,
        });
        residents.push({ id: u.id, name: u.name, role: "resident" });
      }
      this.tenants[i] = { id: b.id, machines, residents };
    };
    await Promise.all(
      Array.from({ length: Math.min(concurrency, n) }, async () => {
        while (next < n) await one(next++);
      }),
    );
    this.seedMs = performance.now() - t0;
  }

  /** Delete the seed's due records (offers of new machines, no watchers); returns how many. */
  async dropSeedOffers(): Promise<number> {
    const keys: Deno.KvKey[] = [];
    for await (const e of this.raw.list<DueRecord>({ prefix: K.dueAll() })) {
      if (e.value.job.t !== "free") throw new Error(`unexpected seed job ${e.value.job.t}`);
      keys.push(e.key);
    }
    for (let i = 0; i < keys.length; i += 500) {
      const op = this.raw.atomic();
      for (const k of keys.slice(i, i + 500)) op.delete(k);
      await op.commit();
    }
    return keys.length;
  }

  /** One counted, timed command. */
  async command(bid: string, machineId: string, cmd: Command, actor: Actor): Promise<void> {
    this.counter.reset();
    const t0 = performance.now();
    try {
      await this.store.command(bid, machineId, cmd, actor);
    } catch {
      this.cmdFailed++;
      return;
    }
    this.cmdMs.push(performance.now() - t0);
    this.cmdRt.push(this.counter.total());
    this.cmdBy.push({ ...this.counter.counts });
  }

  /** One minute's work: the sweep (a new minute slot each time) and one due-index pass. */
  async minute(): Promise<{ ms: number; rt: number; by: Record<string, number>; jobs: number }> {
    const now = Date.now() + 60_000 * ++this.#slot;
    this.counter.reset();
    const t0 = performance.now();
    const won = await this.service.sweep(now);
    const jobs = await this.runDue();
    const ms = performance.now() - t0;
    if (!won) throw new Error("the sweep lost its own lease");
    return {
      ms,
      rt: this.counter.total(),
      by: { ...this.counter.counts },
      jobs,
    };
  }

  /** A socket connect's KV reads: the snapshot hello and the building's log heads. */
  async hello(
    t: Tenant,
    actor: Actor,
  ): Promise<{ ms: number; rt: number; by: Record<string, number> }> {
    this.counter.reset();
    const t0 = performance.now();
    const sync = await this.store.sync(actor.id, t.id, null);
    await this.store.heads(t.id);
    const ms = performance.now() - t0;
    if (!sync.snapshot || sync.snapshot.machines.length !== t.machines.length) {
      throw new Error(`hello of building ${t.id}: wrong snapshot`);
    }
    return { ms, rt: this.counter.total(), by: { ...this.counter.counts } };
  }

  #closed = false;

  /** Stop the worker and hub, close the file; returns its size, then removes it. */
  async close(): Promise<number> {
    if (this.#closed) return 0;
    this.#closed = true;
    await this.hub.close();
    this.raw.close();
    let bytes = 0;
    for (const f of ["kv.sqlite", "kv.sqlite-wal"]) {
      try {
        bytes += Deno.statSync(`${this.dir}/${f}`).size;
      } catch { /* no WAL */ }
    }
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
    return bytes;
  }
}

/** Round-trip and time summary of samples (the median sample's methods). */
function cost(
  samples: { ms: number; rt: number; by: Record<string, number>; jobs?: number }[],
): CallCost {
  const rts = samples.map((s) => s.rt);
  const med = median(rts) ?? NaN;
  const jobs = samples.some((s) => s.jobs !== undefined)
    ? median(samples.map((s) => s.jobs ?? 0)) ?? 0
    : undefined;
  return {
    ms: summary(samples.map((s) => s.ms)),
    roundTrips: { median: med, min: Math.min(...rts), max: Math.max(...rts) },
    byMethod: samples.find((s) => s.rt === med)?.by ?? {},
    ...(jobs !== undefined ? { jobs } : {}),
  };
}

/** Seed both files, then measure commands, sweeps and hellos on both, interleaved. */
export async function runTenancy(opts: TenancyOptions): Promise<TenancyResult> {
  const { log } = opts;
  const minuteMs = opts.minuteMs ?? 100;
  const many = opts.buildings ?? 1_000;
  const helloReps = opts.helloReps ?? 200;
  const load0 = loadAvg();
  const one = await Side.open(minuteMs);
  const big = await Side.open(minuteMs);
  const sides = [one, big];
  try {
    await one.seed(1, "one");
    await big.seed(many, "many");
    // Every machine added owes an offer to its watchers (due now). There are no
    // watchers: the handler would only consume them, so they are dropped here
    // (processing 6,000 of them would take ~20 s of the run and measure nothing).
    const seedJobs = [await one.dropSeedOffers(), await big.dropSeedOffers()];
    log(
      `    seeded 1 building in ${
        one.seedMs.toFixed(0)
      } ms; ${many} buildings × ${MACHINES_PER_BUILDING} machines × ${RESIDENTS_PER_BUILDING} residents in ${
        (big.seedMs / 1000).toFixed(1)
      } s (their ${seedJobs[0]} + ${seedJobs[1]} offers to no watchers dropped)`,
    );

    // ── commands: hold/release pairs, blocks of 50 pairs alternating between the files
    const rand = rng(11);
    const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
    const pairs = Math.ceil(opts.commands / 2);
    const block = 50;
    for (let done = 0, b = 0; done < pairs; done += block, b++) {
      const order = b % 2 ? [big, one] : [one, big];
      for (const s of order) {
        for (let i = 0; i < Math.min(block, pairs - done); i++) {
          const t = pick(s.tenants);
          const m = pick(t.machines);
          const actor = pick(t.residents);
          await s.command(t.id, m, { type: "hold" }, actor);
          await s.command(t.id, m, { type: "release" }, actor);
        }
      }
    }
    const cmdCost = (s: Side) => ({
      ...cost(s.cmdMs.map((ms, i) => ({ ms, rt: s.cmdRt[i], by: s.cmdBy[i] }))),
      failed: s.cmdFailed,
    });
    for (const [name, s] of [["1 building", one], [`${many} buildings`, big]] as const) {
      const c = cmdCost(s);
      log(
        `    ${name}: Store.command p50 ${c.ms.p50?.toFixed(2)} ms, p99 ${
          c.ms.p99?.toFixed(2)
        } ms, ${c.roundTrips.median} round trips (max ${c.roundTrips.max}), ${c.failed} failed`,
      );
    }

    // ── the command phase's backlog: the offers of released machines (due now; the
    // released holds' ticks stay in the index, due in 8 and 10 minutes)
    const backlog = new Map<Side, TenancySide["backlog"]>();
    for (const s of sides) {
      const m = await s.minute();
      backlog.set(s, { jobs: m.jobs, roundTrips: m.rt, ms: m.ms });
    }

    // ── quiet minutes: nothing due
    const quiet = new Map<Side, Awaited<ReturnType<Side["minute"]>>[]>(sides.map((s) => [s, []]));
    for (let r = 0; r < opts.sweepReps; r++) {
      for (const s of r % 2 ? [big, one] : [one, big]) quiet.get(s)!.push(await s.minute());
    }

    // ── busy minutes: the same holds run out on both files
    const busy = new Map<Side, Awaited<ReturnType<Side["minute"]>>[]>(sides.map((s) => [s, []]));
    for (let r = 0; r < opts.sweepReps; r++) {
      const placed: Record<string, number> = {};
      for (const s of sides) {
        const holds: [Tenant, string, Actor][] = [];
        if (s === one) {
          const t = one.tenants[0];
          for (let k = 0; k < BUSY_HOLDS; k++) {
            holds.push([t, t.machines[k], t.residents[k % RESIDENTS_PER_BUILDING]]);
          }
        } else {
          const used = new Set<number>();
          while (holds.length < BUSY_HOLDS) {
            const i = Math.floor(rand() * big.tenants.length);
            if (used.has(i)) continue;
            used.add(i);
            const t = big.tenants[i];
            holds.push([t, pick(t.machines), pick(t.residents)]);
          }
        }
        for (const [t, m, a] of holds) {
          await s.fast.command(t.id, m, { type: "hold" }, a);
        }
        placed[s === one ? "one" : "big"] = Date.now();
      }
      // Everything the holds owe is due (drain now-due offers/notifications first: not measured).
      for (const s of sides) await s.runDue();
      await sleep(
        Math.max(0, Math.max(...Object.values(placed)) + 10 * minuteMs + 50 - Date.now()),
      );
      for (const s of r % 2 ? [big, one] : [one, big]) busy.get(s)!.push(await s.minute());
    }

    // ── hello path: a resident of a random building connects without a cursor
    const hello = new Map<Side, Awaited<ReturnType<Side["hello"]>>[]>(sides.map((s) => [s, []]));
    for (let r = 0; r < helloReps; r++) {
      for (const s of r % 2 ? [big, one] : [one, big]) {
        const t = pick(s.tenants);
        hello.get(s)!.push(await s.hello(t, pick(t.residents)));
      }
    }

    const result = (s: Side, n: number): Omit<TenancySide, "kvBytes"> => ({
      buildings: n,
      machines: n * MACHINES_PER_BUILDING,
      residents: n * RESIDENTS_PER_BUILDING,
      seedMs: s.seedMs,
      command: cmdCost(s),
      sweepQuiet: cost(quiet.get(s)!),
      sweepBusy: cost(busy.get(s)!),
      backlog: backlog.get(s)!,
      hello: cost(hello.get(s)!),
    });
    const r1 = result(one, 1);
    const rN = result(big, many);
    for (const [name, x] of [["1 building", r1], [`${many} buildings`, rN]] as const) {
      log(
        `    ${name}: quiet minute ${x.sweepQuiet.roundTrips.median} round trips, ${
          x.sweepQuiet.ms.p50?.toFixed(2)
        } ms; busy minute (${x.sweepBusy.jobs} jobs) ${x.sweepBusy.roundTrips.median} round trips, ${
          x.sweepBusy.ms.p50?.toFixed(1)
        } ms; backlog ${x.backlog.jobs} jobs, ${x.backlog.roundTrips} round trips, ${
          x.backlog.ms.toFixed(0)
        } ms; hello ${x.hello.roundTrips.median} round trips, ${x.hello.ms.p50?.toFixed(2)} ms`,
      );
    }
    const bytes1 = await one.close();
    const bytesN = await big.close();
    return {
      loadAvg: [load0, loadAvg()],
      minuteMs,
      commands: pairs * 2,
      sweepReps: opts.sweepReps,
      one: { ...r1, kvBytes: bytes1 },
      many: { ...rN, kvBytes: bytesN },
    };
  } finally {
    for (const s of sides) await s.close().catch(() => {});
  }
}
