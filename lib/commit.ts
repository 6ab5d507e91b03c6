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
  throw new StoreError("busy", opts.busyMessage ?? "Please try again.", 503);
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
