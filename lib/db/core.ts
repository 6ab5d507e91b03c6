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
  #sessionKey: Uint8Array | null = null;

  /**
   * Whether commits may carry delayed KV queue messages (the platform has
   * queues and `KV_QUEUES` is not "off"). Set by the server at start.
   */
  queues = false;

  /** Wrap an open KV handle. Call {@link init} before use. */
  constructor(readonly kv: Deno.Kv, settings: Partial<LifecycleSettings> = {}) {
    this.settings = { ...DEFAULT_SETTINGS, ...settings };
  }

  /** Load (or create) the store epoch and the session-signing key, in one read. */
  async init(): Promise<void> {
    const [epoch, key] = await this.kv.getMany<[string, Uint8Array]>([K.epoch(), K.sessionKey()]);
    if (epoch.value && key.value) {
      this.#epoch = epoch.value;
      this.#sessionKey = key.value;
      return;
    }
    const made = {
      epoch: epoch.value ?? newId(8),
      key: key.value ?? crypto.getRandomValues(new Uint8Array(32)),
    };
    const op = this.kv.atomic();
    if (!epoch.value) op.check(epoch).set(epoch.key, made.epoch);
    if (!key.value) op.check(key).set(key.key, made.key);
    if ((await op.commit()).ok) {
      this.#epoch = made.epoch;
      this.#sessionKey = made.key;
      return;
    }
    // Lost to another instance's first start: use what it wrote.
    const [e, k] = await this.kv.getMany<[string, Uint8Array]>([K.epoch(), K.sessionKey()]);
    this.#epoch = e.value!;
    this.#sessionKey = k.value!;
  }

  /**
   * The key that signs session tokens (lib/session_token.ts), made at random
   * on the first start and kept in KV, so every instance on this store
   * shares it. Null before {@link init}.
   */
  get sessionKey(): Uint8Array | null {
    return this.#sessionKey;
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
