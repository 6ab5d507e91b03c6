/**
 * The base of the store: the KV handle, lifecycle settings, the epoch that
 * every cursor carries, and the due-index hook every commit that owes work
 * uses. The entity modules of `lib/db/` build on it, one layer each.
 * @module
 */
import { DEFAULT_SETTINGS, type LifecycleSettings } from "../lifecycle.ts";
import { newId } from "../ids.ts";
import { K } from "../keys.ts";
import { addDue } from "../outbox.ts";
import type { DueJob } from "../notify/plan.ts";

/** KV handle, settings and epoch shared by every store module. */
export class StoreCore {
  /** Lifecycle settings in force. */
  readonly settings: LifecycleSettings;
  #epoch = "";

  /**
   * Whether commits may carry delayed KV queue messages (the platform has
   * queues and `KV_QUEUES` is not "off"). Set by the server at start.
   */
  queues = false;

  /** Wrap an open KV handle. Call {@link init} before use. */
  constructor(readonly kv: Deno.Kv, settings: Partial<LifecycleSettings> = {}) {
    this.settings = { ...DEFAULT_SETTINGS, ...settings };
  }

  /** Load (or create) the store epoch. */
  async init(): Promise<void> {
    const key = K.epoch();
    const existing = await this.kv.get<string>(key);
    if (existing.value) {
      this.#epoch = existing.value;
      return;
    }
    const epoch = newId(8);
    const res = await this.kv.atomic().check(existing).set(key, epoch).commit();
    this.#epoch = res.ok ? epoch : (await this.kv.get<string>(key)).value!;
  }

  /** The store epoch (part of every cursor). */
  get epoch(): string {
    return this.#epoch;
  }

  /** Add due-index records to a commit, waking workers (see `lib/outbox.ts`). */
  addDue(op: Deno.AtomicOperation, jobs: DueJob[], now = Date.now()): void {
    addDue(op, jobs, { queue: this.queues, now });
  }

  /** Whether a due entry was consumed or moved by someone else. */
  async dueGone(entry: { key: Deno.KvKey; versionstamp: string }): Promise<boolean> {
    return (await this.kv.get(entry.key)).versionstamp !== entry.versionstamp;
  }
}
