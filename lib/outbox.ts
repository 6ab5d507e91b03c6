/**
 * The due-index: the outbox of every notification and time-driven job
 * (SPEC section 3). A record `["due", at, id]` is written in the same atomic
 * commit as the change that owes it ({@link addDue}); the {@link DueWorker}
 * processes everything due up to now. The index is the truth; alarm clocks
 * only wake the worker:
 *
 * - an in-process timer armed for the earliest record it knows of, learning
 *   of new ones through `kv.watch` on `["due_wake"]` (every instance);
 * - a delayed KV queue message, where the platform has queues;
 * - `Deno.cron` every minute (wakes a stopped Deno Deploy app), calling
 *   {@link DueWorker.poke}.
 *
 * Jobs that only touch KV are processed with an optimistic check: the commit
 * that does the work also deletes the record, checked against the version
 * read, so of two instances only one commits. Jobs with an outside effect (a
 * push) first claim a lease by moving their record to `now + lease`: a worker
 * that dies mid-send leaves it there, and it comes due again when the lease
 * ends, for any instance to take over.
 * @module
 */
import { tryCommit } from "./commit.ts";
import { K } from "./keys.ts";
import type { DueJob, Job } from "./notify/plan.ts";

/** The value of a due-index record. */
export interface DueRecord {
  job: Job;
  /** When the record was first written. */
  created: number;
  /** Who holds it, until when (leased jobs only). */
  lease?: { by: string; until: number };
  /** How often its handler threw (it backs off). */
  failures?: number;
}

/** A due-index entry as read from KV. */
export type DueEntry = Deno.KvEntry<DueRecord>;

/** The queue message that only wakes the worker. */
export interface WakeMessage {
  t: "wake";
}

/** Whether a queue value is a wake message. */
export function isWakeMessage(v: unknown): v is WakeMessage {
  return typeof v === "object" && v !== null && (v as { t?: unknown }).t === "wake";
}

/** How a commit that adds due records also wakes workers. */
export interface WakeOptions {
  /** Add a delayed KV queue message for records due in the future (queues available). */
  queue: boolean;
  now: number;
}

/**
 * Add due records to an atomic operation, and bump `["due_wake"]` so every
 * instance's worker re-arms its timer. With queues, a record due later also
 * gets a delayed wake message (one per distinct second).
 */
export function addDue(op: Deno.AtomicOperation, jobs: DueJob[], wake: WakeOptions): void {
  if (!jobs.length) return;
  let earliest = Infinity;
  const later = new Set<number>();
  for (const j of jobs) {
    op.set(K.due(j.at, j.id), { job: j.job, created: wake.now } satisfies DueRecord);
    earliest = Math.min(earliest, j.at);
    if (wake.queue && j.at > wake.now + 1000) later.add(Math.ceil((j.at - wake.now) / 1000));
  }
  op.set(K.dueWake(), { at: earliest, t: wake.now });
  for (const s of later) op.enqueue({ t: "wake" } satisfies WakeMessage, { delay: s * 1000 });
}

/** Add to `op` what consumes an entry: check it is unchanged, delete it. */
export function consume(op: Deno.AtomicOperation, entry: DueEntry): Deno.AtomicOperation {
  return op.check(entry).delete(entry.key);
}

/** Move an entry to a new due time (retries, leases); the job may change. */
export function reschedule(
  op: Deno.AtomicOperation,
  entry: DueEntry,
  at: number,
  patch: Partial<DueRecord> = {},
): Deno.AtomicOperation {
  const id = entry.key[2] as string;
  return consume(op, entry).set(K.due(at, id), { ...entry.value, ...patch })
    .set(K.dueWake(), { at, t: Date.now() });
}

/**
 * Most leased records claimed in one commit: each claim is a check, and a
 * portable atomic operation (KV Connect / denokv) allows at most 10 checks.
 */
export const CLAIM_GROUP = 10;

/** What handles one due entry. Must be idempotent and commit with {@link consume}. */
export type DueHandler = (entry: DueEntry, worker: DueWorker) => Promise<void>;

/** Options of a {@link DueWorker}. */
export interface DueWorkerOptions {
  /** This instance's name (lease owner). */
  instance: string;
  /** Handles one entry. */
  handle: DueHandler;
  /** Which jobs have outside effects and run leased in the pool (default: push). */
  leased?: (job: Job) => boolean;
  /** Lease length for leased jobs (default 60 s). */
  leaseMs?: number;
  /** Leased jobs running at once (default 16). */
  concurrency?: number;
  /** Records read per batch (default 100). */
  batch?: number;
  /** Log a handler failure (default console.error). */
  onError?: (err: unknown, entry: DueEntry) => void;
}

/**
 * When a job whose handler threw `failures` times runs again: 0.5 s, 2 s,
 * 8 s, … at most a minute. It stays in the index meanwhile.
 */
export function failedJobDelayMs(failures: number): number {
  return Math.min(60_000, 500 * 4 ** Math.max(0, failures - 1));
}

/**
 * Processes the due-index on one instance. Call {@link start} once; any
 * alarm clock calls {@link poke}.
 */
export class DueWorker {
  readonly #kv: Deno.Kv;
  readonly #opts: Required<Omit<DueWorkerOptions, "onError">> & Pick<DueWorkerOptions, "onError">;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedAt = Infinity;
  #running = false;
  #again = false;
  #stopped = false;
  #inflight = new Set<Promise<void>>();
  #watch: ReadableStreamDefaultReader<Deno.KvEntryMaybe<unknown>[]> | null = null;
  #idle: Promise<void> = Promise.resolve();
  /** Jobs processed by this worker (for tests and health). */
  processed = 0;

  /** Create a worker over a KV handle. */
  constructor(kv: Deno.Kv, opts: DueWorkerOptions) {
    this.#kv = kv;
    this.#opts = {
      leased: (job) => job.t === "push",
      leaseMs: 60_000,
      concurrency: 16,
      batch: 100,
      ...opts,
    };
  }

  /** The lease length for leased jobs. */
  get leaseMs(): number {
    return this.#opts.leaseMs;
  }

  /** This worker's instance name. */
  get instance(): string {
    return this.#opts.instance;
  }

  /** Start following `["due_wake"]` and process what is due now. */
  start(): void {
    // A reader, not `for await`: stop() can then cancel the watch while a read
    // is pending (a locked stream cannot be cancelled).
    const watch = this.#kv.watch([K.dueWake()]).getReader();
    this.#watch = watch;
    (async () => {
      try {
        while (!(await watch.read()).done) {
          if (this.#stopped) break;
          this.poke();
        }
      } catch (err) {
        if (!this.#stopped) console.error("outbox: watch ended", err);
      }
    })();
    this.poke();
  }

  /** Process everything due now (again, if a run is in progress). */
  poke(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    this.#idle = (async () => {
      try {
        // A poke while draining or re-arming (a record added meanwhile) goes round again:
        // the timer read may have missed it.
        do {
          this.#again = false;
          await this.#drain();
          await this.#arm();
        } while (this.#again && !this.#stopped);
      } catch (err) {
        if (!this.#stopped) console.error("outbox: run failed", err);
        this.#armIn(1000);
      } finally {
        this.#running = false;
      }
    })();
  }

  /** Run until nothing is due now (tests and the cron use it to wait). */
  async runDue(): Promise<void> {
    this.poke();
    do {
      await this.#idle;
      await Promise.allSettled([...this.#inflight]);
    } while (this.#running);
  }

  /** Stop taking jobs; wait up to `graceMs` for leased jobs in flight. */
  async stop(graceMs = 4000): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    try {
      await this.#watch?.cancel();
    } catch { /* already closed */ }
    const all = Promise.allSettled([this.#idle, ...this.#inflight]);
    await Promise.race([all, new Promise((r) => setTimeout(r, graceMs))]);
  }

  async #drain(): Promise<void> {
    while (!this.#stopped) {
      const now = Date.now();
      const batch: DueEntry[] = [];
      for await (
        const e of this.#kv.list<DueRecord>(
          { start: [...K.dueAll(), 0], end: [...K.dueAll(), now + 1] },
          { limit: this.#opts.batch, consistency: "strong" },
        )
      ) batch.push(e);
      if (!batch.length) return;
      const group = Math.max(1, Math.min(CLAIM_GROUP, this.#opts.concurrency));
      for (let i = 0; i < batch.length;) {
        if (this.#stopped) return;
        const entry = batch[i];
        if (!this.#opts.leased(entry.value.job)) {
          await this.#run(entry);
          i++;
          continue;
        }
        // Consecutive leased records (a notification's pushes, one per
        // device) are claimed together: one commit instead of one each.
        let j = i + 1;
        while (j < batch.length && j - i < group && this.#opts.leased(batch[j].value.job)) j++;
        await this.#runLeased(batch.slice(i, j));
        i = j;
      }
      // Jobs owe jobs due now (a notice's notify records): read again until
      // nothing is due.
    }
  }

  async #run(entry: DueEntry): Promise<void> {
    try {
      await this.#opts.handle(entry, this);
      this.processed++;
    } catch (err) {
      (this.#opts.onError ?? ((e) => console.error("outbox: job failed", e)))(err, entry);
      // Leave it in the index, a little later, so one bad record cannot stall the rest.
      const failures = (entry.value.failures ?? 0) + 1;
      const at = Date.now() + failedJobDelayMs(failures);
      await tryCommit(reschedule(this.#kv.atomic(), entry, at, { failures, lease: undefined }))
        .catch(() => {});
    }
  }

  async #runLeased(entries: DueEntry[]): Promise<void> {
    while (this.#inflight.size + entries.length > this.#opts.concurrency) {
      await Promise.race(this.#inflight);
    }
    for (const leased of await this.claimAll(entries)) {
      const work = this.#run(leased);
      this.#inflight.add(work);
      work.finally(() => this.#inflight.delete(work));
    }
  }

  /**
   * Claim several records in one commit (each checked, as {@link claim}
   * does it; at most {@link CLAIM_GROUP}, within a portable atomic's 10
   * checks). When that commit fails (one of them was claimed or changed
   * elsewhere), each is claimed on its own. Returns the leased ones.
   */
  async claimAll(entries: DueEntry[], now = Date.now()): Promise<DueEntry[]> {
    if (entries.length > CLAIM_GROUP) throw new RangeError(`at most ${CLAIM_GROUP} per claim`);
    const together = await this.#claimTogether(entries, now);
    if (together || entries.length === 1) return together ?? [];
    const one = await Promise.all(entries.map((e) => this.claim(e, now)));
    return one.filter((e): e is DueEntry => e !== null);
  }

  /**
   * Claim an entry for `leaseMs`: move it to `now + lease` naming this
   * instance. Null when another worker changed it first.
   */
  async claim(entry: DueEntry, now = Date.now()): Promise<DueEntry | null> {
    return (await this.#claimTogether([entry], now))?.[0] ?? null;
  }

  /** Lease all of `entries` in one checked commit; null when it failed. */
  async #claimTogether(entries: DueEntry[], now: number): Promise<DueEntry[] | null> {
    const until = now + this.#opts.leaseMs;
    const lease = { by: this.#opts.instance, until };
    const op = this.#kv.atomic();
    const next = entries.map((entry) => {
      const value: DueRecord = { ...entry.value, lease };
      const key = K.due(until, entry.key[2] as string);
      consume(op, entry).set(key, value);
      return { key, value };
    });
    let res: Deno.KvCommitResult | Deno.KvCommitError;
    try {
      res = await op.commit();
    } catch {
      return null;
    }
    if (!res.ok) return null;
    const versionstamp = res.versionstamp;
    return next.map((e) => ({ ...e, versionstamp }));
  }

  async #arm(): Promise<void> {
    if (this.#stopped) return;
    let next: number | null = null;
    for await (
      const e of this.#kv.list<DueRecord>({ prefix: K.dueAll() }, { limit: 1 })
    ) next = e.key[1] as number;
    if (next === null) {
      clearTimeout(this.#timer);
      this.#armedAt = Infinity;
      return;
    }
    this.#armIn(Math.max(0, next - Date.now()));
  }

  #armIn(ms: number): void {
    const at = Date.now() + ms;
    if (this.#timer !== undefined && at >= this.#armedAt && this.#armedAt > Date.now()) return;
    clearTimeout(this.#timer);
    this.#armedAt = at;
    // setTimeout holds at most 2^31-1 ms; a far record re-arms on the next wake.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#armedAt = Infinity;
      this.poke();
    }, Math.min(ms, 2 ** 31 - 1));
  }
}
