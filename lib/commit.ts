/**
 * The one retry helper for checked commits. A checked atomic operation fails
 * when something it read changed underneath; the caller re-reads and
 * re-decides. SQLite (the local store) can also refuse with "database is
 * locked" when another handle on the same file holds the write lock: nothing
 * was written, so that is a retry too.
 * @module
 */
import { StoreError } from "./store_error.ts";

/** Options of {@link retryCommit}. */
export interface RetryOptions {
  /** Attempts before giving up with a 503 `busy` (default 30). */
  attempts?: number;
  /** The message of the `busy` error. */
  busyMessage?: string;
}

/** Whether an error is SQLite's transient write-lock refusal. */
export function isLockedError(err: unknown): boolean {
  return err instanceof Error && /database is locked/i.test(err.message);
}

/**
 * Run `attempt` until it returns something other than `null` (null means: a
 * checked key changed, read again). Throws StoreError `busy` (503) after
 * `attempts` tries. Errors other than a locked database propagate.
 */
export async function retryCommit<T>(
  attempt: (n: number) => Promise<T | null>,
  opts: RetryOptions = {},
): Promise<T> {
  const max = opts.attempts ?? 30;
  for (let n = 0; n < max; n++) {
    let out: T | null;
    try {
      out = await attempt(n);
    } catch (err) {
      if (!isLockedError(err)) throw err;
      out = null;
    }
    if (out !== null) return out;
    // Back off a little (with jitter) once contention repeats.
    if (n >= 2) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 ** n)));
  }
  throw new StoreError("busy", opts.busyMessage ?? "Please try again.");
}

/** Commit `op`; false when a check failed (or the database was locked). */
export async function tryCommit(op: Deno.AtomicOperation): Promise<boolean> {
  try {
    return (await op.commit()).ok;
  } catch (err) {
    if (isLockedError(err)) return false;
    throw err;
  }
}

/** Attempts of a write refused with "database is locked" before it is given up. */
const LOCKED_ATTEMPTS = 50;

async function whileLocked<T>(fn: () => Promise<T>): Promise<T> {
  for (let n = 0;; n++) {
    try {
      return await fn();
    } catch (err) {
      if (!isLockedError(err) || n >= LOCKED_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, 1 + Math.random() * Math.min(20, 2 ** n)));
    }
  }
}

/**
 * The KV handle every store uses: writes refused with SQLite's "database is
 * locked" (another handle on the same local file, e.g. another worker) are
 * tried again, since nothing was written. Checked commits still report their
 * own conflicts (`ok: false`) to {@link retryCommit}. Managed KV and KV
 * Connect never refuse this way, so there it changes nothing.
 */
export function lockRetrying(kv: Deno.Kv): Deno.Kv {
  return new Proxy(kv, {
    get(target, prop) {
      if (prop === "atomic") {
        return () => {
          const op = target.atomic();
          const commit = op.commit.bind(op);
          op.commit = () => whileLocked(commit);
          return op;
        };
      }
      if (prop === "set" || prop === "delete" || prop === "enqueue") {
        const fn = Reflect.get(target, prop, target) as (...a: unknown[]) => Promise<unknown>;
        return (...args: unknown[]) => whileLocked(() => fn.apply(target, args));
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Deletions per atomic operation (well inside the 1000-mutation limit). */
const DELETE_BATCH = 500;

/** Delete `keys`, {@link DELETE_BATCH} per atomic operation. Returns how many. */
export async function deleteKeys(kv: Deno.Kv, keys: Deno.KvKey[]): Promise<number> {
  for (let i = 0; i < keys.length; i += DELETE_BATCH) {
    const op = kv.atomic();
    for (const k of keys.slice(i, i + DELETE_BATCH)) op.delete(k);
    await op.commit();
  }
  return keys.length;
}

/** Delete every entry `selector` lists, a batch at a time (never all in memory). Returns how many. */
export async function deleteListed(kv: Deno.Kv, selector: Deno.KvListSelector): Promise<number> {
  let deleted = 0;
  for (;;) {
    const keys: Deno.KvKey[] = [];
    for await (const e of kv.list(selector, { limit: DELETE_BATCH })) keys.push(e.key);
    if (!keys.length) return deleted;
    deleted += await deleteKeys(kv, keys);
  }
}

/** Options of {@link CommitBatcher}. */
export interface BatchOptions {
  /** Checks per shared commit (default 10: KV Connect's and denokv's limit per atomic operation). */
  maxChecks?: number;
  /** How long the first write waits for company before its commit (default 5 ms). */
  windowMs?: number;
}

interface Pending {
  add: (op: Deno.AtomicOperation) => unknown;
  resolve: (ok: boolean) => void;
  reject: (err: unknown) => void;
}

/**
 * Commit independent checked writes together. Each {@link CommitBatcher.commit}
 * adds its checks and mutations to a shared atomic operation, committed when
 * `maxChecks` checks are waiting or `windowMs` after the first write. When
 * the shared commit fails (a check no longer holds, or it is too large),
 * each write is committed on its own, so one stale write never costs the
 * others theirs. Only for writes that do not depend on each other (e.g. the
 * outcomes of different pushes); the mutations must stay well inside 1000
 * per write × `maxChecks`.
 */
export class CommitBatcher {
  #kv: Deno.Kv;
  #maxChecks: number;
  #windowMs: number;
  #pending: Pending[] = [];
  #checks = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** A batcher over `kv`. */
  constructor(kv: Deno.Kv, opts: BatchOptions = {}) {
    this.#kv = kv;
    this.#maxChecks = Math.max(1, opts.maxChecks ?? 10);
    this.#windowMs = opts.windowMs ?? 5;
  }

  /**
   * Add a write (`add` puts its checks and mutations on the operation it is
   * given; it may be called twice: shared, then alone). Resolves true when
   * the write landed, false when its own checks failed.
   */
  commit(add: (op: Deno.AtomicOperation) => unknown, checks = 1): Promise<boolean> {
    return new Promise((resolve, reject) => {
      if (this.#pending.length && this.#checks + checks > this.#maxChecks) this.#flush();
      this.#pending.push({ add, resolve, reject });
      this.#checks += checks;
      if (this.#checks >= this.#maxChecks) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), this.#windowMs);
    });
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending;
    this.#pending = [];
    this.#checks = 0;
    if (batch.length) void this.#run(batch);
  }

  async #run(batch: Pending[]): Promise<void> {
    if (batch.length > 1) {
      let ok = false;
      try {
        const op = this.#kv.atomic();
        for (const p of batch) p.add(op);
        ok = await tryCommit(op);
      } catch { /* too large or refused: each on its own below */ }
      if (ok) {
        for (const p of batch) p.resolve(true);
        return;
      }
    }
    await Promise.all(batch.map(async (p) => {
      try {
        const op = this.#kv.atomic();
        p.add(op);
        p.resolve(await tryCommit(op));
      } catch (err) {
        p.reject(err);
      }
    }));
  }
}
