/**
 * The unread inbox count, kept right while a count is being fetched.
 *
 * Changes arrive on the live connection (a new notification +1, a read on
 * any device −n), each at a user-log seq. A count fetched from the server
 * already includes the changes up to the cursor it was taken at, so only the
 * changes after that cursor are added to it: none lost, none counted twice.
 * No I/O and no signals here; `client/live.ts` binds it to its `unread`
 * signal.
 * @module
 */

/** A change of the unread count at a user-log seq. */
interface Delta {
  seq: number;
  delta: number;
}

/** An unread count stored wherever `read`/`write` keep it (never below 0). */
export class UnreadCounter {
  // A plain property, not `#inFlight`: private fields cost the es2020 bundle a helper chunk.
  private inFlight: Delta[] | null = null;

  /** Count through `read`/`write` (e.g. a signal's value). */
  constructor(
    private readonly read: () => number,
    private readonly write: (n: number) => void,
  ) {}

  /** Apply a change seen at user-log seq `seq`. */
  change(seq: number, delta: number): void {
    this.write(Math.max(0, this.read() + delta));
    this.inFlight?.push({ seq, delta });
  }

  /**
   * Set the count from the server's answer taken at `cursorOf` (its cursor,
   * `epoch:building:board:user`), plus the changes seen during the fetch after it.
   */
  fromServer(count: number, cursorOf: string): void {
    const parts = cursorOf.split(":"); // epoch:building:board:user
    const userSeq = Number(parts[parts.length - 1] ?? 0);
    const later = (this.inFlight ?? []).filter((d) => d.seq > userSeq);
    this.write(Math.max(0, count + later.reduce((n, d) => n + d.delta, 0)));
  }

  /** Fetch the inbox (or its unread count) without losing changes that arrive meanwhile. */
  async fetch<T extends { unread: number; cursor: string }>(
    fetchFn: () => Promise<T>,
  ): Promise<T> {
    const mine: Delta[] = [];
    this.inFlight = mine;
    try {
      const r = await fetchFn();
      this.fromServer(r.unread, r.cursor);
      return r;
    } finally {
      if (this.inFlight === mine) this.inFlight = null;
    }
  }
}
