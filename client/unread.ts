/**
 * The unread inbox count, kept right while counts are fetched and events
 * arrive in any order.
 *
 * Changes arrive on the live connection (a new notification +1, a read on
 * any device −n), each at a user-log seq. A count from the server is taken at
 * a cursor: it includes every change up to that cursor's user seq. The count
 * shown is the newest server count plus the changes after its seq, so a
 * change is never lost and never counted twice, whether its event comes
 * before, during or after a fetch, and an answer that arrives after a newer
 * one is ignored. No I/O and no signals here; `client/live.ts` binds it to
 * its `unread` signal.
 * @module
 */

/** A change of the unread count at a user-log seq. */
interface Delta {
  seq: number;
  delta: number;
}

/** Changes kept beyond the last server count (older ones are folded into it). */
export const MAX_KEPT_CHANGES = 200;

/** An unread count stored wherever `read`/`write` keep it (never below 0). */
export class UnreadCounter {
  // Plain members, not `#private`: private fields cost the es2020 bundle a helper chunk.
  /** The newest count known and the user seq it is at (-1: at no known seq). */
  private base = { count: 0, seq: -1 };
  /** Changes seen after `base.seq`, in arrival order. */
  private changes: Delta[] = [];

  /** Count through `read`/`write` (e.g. a signal's value). */
  constructor(
    private readonly read: () => number,
    private readonly write: (n: number) => void,
  ) {
    this.base.count = read();
  }

  /**
   * Start again from `count`, at no known seq: the page's server-rendered
   * count, or after the user's log could not be replayed (a new epoch starts
   * its seqs again). Every change from now on is added until a server count
   * says where it stands.
   */
  reset(count = this.read()): void {
    this.base = { count, seq: -1 };
    this.changes = [];
    this.show();
  }

  /** Apply a change seen at user-log seq `seq` (once; a count already holding it ignores it). */
  change(seq: number, delta: number): void {
    if (seq <= this.base.seq || this.changes.some((c) => c.seq === seq)) return;
    this.changes.push({ seq, delta });
    if (this.changes.length > MAX_KEPT_CHANGES) {
      this.base.count = Math.max(0, this.base.count + this.changes.shift()!.delta);
    }
    this.show();
  }

  /**
   * A count from the server taken at `cursorOf` (its cursor,
   * `epoch:building:board:user`). Ignored when an answer at a later seq
   * was already applied.
   */
  fromServer(count: number, cursorOf: string): void {
    const parts = cursorOf.split(":"); // epoch:building:board:user
    const seq = Number(parts[parts.length - 1] ?? 0);
    if (!Number.isFinite(seq) || seq < this.base.seq) return;
    this.base = { count, seq };
    this.changes = this.changes.filter((c) => c.seq > seq);
    this.show();
  }

  /** Fetch the inbox (or its unread count) and count from its answer. */
  async fetch<T extends { unread: number; cursor: string }>(
    fetchFn: () => Promise<T>,
  ): Promise<T> {
    const r = await fetchFn();
    this.fromServer(r.unread, r.cursor);
    return r;
  }

  private show(): void {
    const n = this.changes.reduce((sum, c) => sum + c.delta, this.base.count);
    this.write(Math.max(0, n));
  }
}
