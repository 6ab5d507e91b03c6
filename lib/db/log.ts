/**
 * Event logs: each building's board log, each user's own log, each
 * building's user-event feed (fan-out of user events to sockets) and the
 * control feed (close a user's sockets everywhere). Appends are checked
 * against the log head, so the sequence has no holes; every
 * {@link TRIM_EVERY} events a log owes itself a trim, due when those events
 * have aged out, so nothing ever scans all logs.
 * @module
 */
import { type Cursor, formatCursor } from "../cursor.ts";
import { deleteKeys, deleteListed, retryCommit, tryCommit } from "../commit.ts";
import { boardScope, CTL_SCOPE, feedScope, K, userScope } from "../keys.ts";
import { due } from "../notify/plan.ts";
import { StoreCore } from "./core.ts";
import {
  BUSY_INBOX,
  DEFAULT_RETENTION_MS,
  type Draft,
  type FeedEntry,
  type LogEvent,
  MAX_REPLAY,
  type SnapshotMemo,
  type SyncResult,
} from "./records.ts";
import type { WaitlistView } from "../board_view.ts";
import type { Machine } from "../types.ts";

/** A log owes a trim of its older events every this many events. */
export const TRIM_EVERY = 100;
/** Inbox items kept per user (older ones go with the user log's trims). */
export const INBOX_KEEP = 200;

/** Event logs (board, user, feeds). */
export abstract class LogStore extends StoreCore {
  /** How long events are kept (set by the server from the config). */
  retentionMs = DEFAULT_RETENTION_MS;

  /**
   * Add drafts to a log inside `op` (checked against `head`); returns the
   * events. Crossing a multiple of {@link TRIM_EVERY} owes a trim.
   */
  appendOp(
    op: Deno.AtomicOperation,
    scope: string,
    drafts: Draft[],
    head: Deno.KvEntryMaybe<number>,
    at = Date.now(),
  ): LogEvent[] {
    const from = head.value ?? 0;
    let seq = from;
    const kind = scope.startsWith("b:") ? "board" : "user";
    const events = drafts.map((d) => ({ ...d, seq: ++seq, scope: kind, at }) as LogEvent);
    op.check(head);
    for (const e of events) op.set(K.log(scope, e.seq), e);
    op.set(K.logHead(scope), seq);
    this.#oweTrim(op, scope, from, seq, at);
    return events;
  }

  #oweTrim(op: Deno.AtomicOperation, scope: string, from: number, to: number, at: number): void {
    const upTo = Math.floor(to / TRIM_EVERY) * TRIM_EVERY;
    if (upTo > from && upTo > 0) {
      this.addDue(op, [due({ t: "trim", scope, upTo }, at + this.retentionMs)], at);
    }
  }

  /**
   * Add events to a user's own log inside `op`, and the same events to the
   * user-event feed of building `bid` (the building they are about), so they
   * reach that user's sockets on that building's board wherever they are
   * connected. `heads` are the two log heads, read by the caller (checked).
   */
  appendUserOp(
    op: Deno.AtomicOperation,
    userId: string,
    bid: string,
    drafts: Draft[],
    heads: { user: Deno.KvEntryMaybe<number>; feed: Deno.KvEntryMaybe<number> },
    at = Date.now(),
  ): LogEvent[] {
    const events = this.appendOp(op, userScope(userId), drafts, heads.user, at);
    const scope = feedScope(bid);
    const from = heads.feed.value ?? 0;
    let seq = from;
    op.check(heads.feed);
    for (const event of events) {
      seq++;
      op.set(K.log(scope, seq), { seq, userId, event, at } as FeedEntry & { at: number });
    }
    op.set(K.logHead(scope), seq);
    this.#oweTrim(op, scope, from, seq, at);
    return events;
  }

  /** The keys of a user's log head and a building's feed head (read them with other keys). */
  userHeadKeys(userId: string, bid: string): [Deno.KvKey, Deno.KvKey] {
    return [K.logHead(userScope(userId)), K.logHead(feedScope(bid))];
  }

  /**
   * Append events to a user's own log (notifications, inbox changes) with
   * extra writes in the same atomic operation. Retries on head contention.
   */
  async appendUserEvents(
    userId: string,
    bid: string,
    drafts: Draft[],
    extra?: (op: Deno.AtomicOperation) => void,
  ): Promise<LogEvent[]> {
    return await retryCommit(async () => {
      const [user, feed] = await this.kv.getMany<[number, number]>(this.userHeadKeys(userId, bid));
      const op = this.kv.atomic();
      extra?.(op);
      const events = this.appendUserOp(op, userId, bid, drafts, { user, feed });
      return await tryCommit(op) ? events : null;
    }, BUSY_INBOX);
  }

  /**
   * Close a user's open sockets on every instance (all of them, or only
   * those of one session, or only those open on building `building`'s
   * board): an entry on the control feed every hub follows (rare: logouts,
   * password changes, disabled accounts, admin rights removed).
   */
  async disconnect(
    userId: string,
    reason: string,
    session?: string,
    building?: string,
  ): Promise<void> {
    await retryCommit(async () => {
      const head = await this.kv.get<number>(K.logHead(CTL_SCOPE));
      const op = this.kv.atomic();
      this.appendCtlOp(op, head, {
        userId,
        disconnect: building ? { session, reason, building } : { session, reason },
      });
      return await tryCommit(op) ? true : null;
    });
  }

  /**
   * Add one entry to the control feed inside `op`, checked against `head`
   * (the control feed's head, `K.logHead(CTL_SCOPE)`, read by the caller).
   */
  appendCtlOp(
    op: Deno.AtomicOperation,
    head: Deno.KvEntryMaybe<number>,
    entry: Omit<FeedEntry, "seq">,
    at = Date.now(),
  ): void {
    const seq = (head.value ?? 0) + 1;
    op.check(head).set(K.log(CTL_SCOPE, seq), { seq, ...entry, at })
      .set(K.logHead(CTL_SCOPE), seq);
    this.#oweTrim(op, CTL_SCOPE, seq - 1, seq, at);
  }

  /** Entries of a feed (`feedScope(bid)` or the control feed) with after < seq ≤ upTo. */
  async readFeed(scope: string, after: number, upTo: number): Promise<FeedEntry[]> {
    return await this.readLog(scope, after, upTo) as unknown as FeedEntry[];
  }

  /** The heads of a building's board log and user-event feed. */
  async heads(bid: string): Promise<{ board: number; feed: number }> {
    const [b, f] = await this.kv.getMany<[number, number]>([
      K.logHead(boardScope(bid)),
      K.logHead(feedScope(bid)),
    ]);
    return { board: b.value ?? 0, feed: f.value ?? 0 };
  }

  /** The head of one log (the control feed, a user's own log, …): its last seq, 0 when empty. */
  async logHead(scope: string): Promise<number> {
    return (await this.kv.get<number>(K.logHead(scope))).value ?? 0;
  }

  /** The current cursor of a user on building `bid`'s board. */
  async currentCursor(userId: string, bid: string): Promise<string> {
    const [b, u] = await this.kv.getMany<[number, number]>([
      K.logHead(boardScope(bid)),
      K.logHead(userScope(userId)),
    ]);
    return formatCursor({
      epoch: this.epoch,
      building: bid,
      board: b.value ?? 0,
      user: u.value ?? 0,
    });
  }

  /**
   * What a page needs to start a live board: the cursor, then the machines
   * (and, unless `waitlists` is false, the queues) read after it. Read in
   * that order, the list shows the board at the cursor or later, and events
   * after the cursor that it already shows are applied again, harmlessly;
   * read the other way round, a change landing between the two reads would
   * be in neither, and the page would show that machine stale.
   */
  async boardAt(
    userId: string,
    bid: string,
    opts: { waitlists?: boolean } = {},
  ): Promise<{ cursor: string; machines: Machine[]; waitlists: WaitlistView[] }> {
    const cursor = await this.currentCursor(userId, bid);
    const [machines, waitlists] = await Promise.all([
      this.listMachines(bid),
      opts.waitlists === false ? [] : this.waitlists(bid),
    ]);
    return { cursor, machines, waitlists };
  }

  /** The machines of a building, in board order (the machines layer). */
  abstract listMachines(bid: string): Promise<Machine[]>;

  /** The waitlists of a building (the waitlist layer). */
  abstract waitlists(bid: string): Promise<WaitlistView[]>;

  /**
   * What a client of building `bid` holding `since` missed: the events of
   * both logs in order, or a snapshot when the cursor is from another epoch
   * or building, or older than the retained log. With `memo`, a snapshot read
   * at the same board head is reused instead of listing the board again.
   */
  async sync(
    userId: string,
    bid: string,
    since: Cursor | null,
    memo?: SnapshotMemo,
  ): Promise<SyncResult> {
    const uScope = userScope(userId);
    const bScope = boardScope(bid);
    const [bHead, bFloor, uHead, uFloor] = await this.kv.getMany<
      [number, number, number, number]
    >([K.logHead(bScope), K.logFloor(bScope), K.logHead(uScope), K.logFloor(uScope)]);
    const bh = bHead.value ?? 0;
    const uh = uHead.value ?? 0;
    const cursor = formatCursor({ epoch: this.epoch, building: bid, board: bh, user: uh });
    const sameEpoch = since !== null && since.epoch === this.epoch;
    const boardOk = sameEpoch && since.building === bid &&
      since.board >= (bFloor.value ?? 0) && since.board <= bh && bh - since.board <= MAX_REPLAY;
    const userOk = sameEpoch && since.user >= (uFloor.value ?? 0) && since.user <= uh &&
      uh - since.user <= MAX_REPLAY;
    const events: LogEvent[] = [];
    if (boardOk) events.push(...await this.readLog(bScope, since.board, bh));
    if (userOk) events.push(...await this.readLog(uScope, since.user, uh));
    events.sort((a, b) => a.at - b.at || (a.scope === b.scope ? a.seq - b.seq : 0));
    if (!boardOk) {
      let snapshot = memo?.memo?.head === bh ? memo.memo.snapshot : undefined;
      if (!snapshot) {
        // Read after the head: it shows the board at bh or later, and the
        // events after bh that follow are applied to it again, harmlessly.
        snapshot = { machines: await this.listMachines(bid), waitlists: await this.waitlists(bid) };
        if (memo) memo.memo = { head: bh, snapshot };
      }
      return {
        cursor,
        recovered: false,
        events: userOk ? events : [],
        snapshot,
        inboxReset: !userOk,
      };
    }
    return { cursor, recovered: userOk, events, inboxReset: !userOk };
  }

  /** Events of one log with after < seq ≤ upTo, in order. */
  async readLog(scope: string, after: number, upTo: number): Promise<LogEvent[]> {
    if (upTo <= after) return [];
    const out: LogEvent[] = [];
    const iter = this.kv.list<LogEvent>({
      start: K.log(scope, after + 1),
      end: K.log(scope, upTo + 1),
    });
    for await (const e of iter) out.push(e.value);
    return out;
  }

  /** Board events of building `bid` after `after` (a socket that noticed a gap). */
  readBoard(bid: string, after: number, upTo: number): Promise<LogEvent[]> {
    return this.readLog(boardScope(bid), after, upTo);
  }

  /** A user's own events after `after`. */
  readUser(userId: string, after: number, upTo: number): Promise<LogEvent[]> {
    return this.readLog(userScope(userId), after, upTo);
  }

  /**
   * A due trim: delete the events of `scope` with seq ≤ `upTo` and raise its
   * floor (older cursors then get a snapshot). A user log's trim also keeps
   * that user's inbox to the newest {@link INBOX_KEEP}. Returns how many
   * records were deleted. Idempotent (the floor only rises).
   */
  async trimLog(scope: string, upTo: number): Promise<number> {
    let deleted = await deleteListed(this.kv, {
      start: K.log(scope, 0),
      end: K.log(scope, upTo + 1),
    });
    await retryCommit(async () => {
      const floor = await this.kv.get<number>(K.logFloor(scope));
      if ((floor.value ?? 0) >= upTo) return true;
      return await tryCommit(this.kv.atomic().check(floor).set(K.logFloor(scope), upTo))
        ? true
        : null;
    });
    if (scope.startsWith("u:")) deleted += await this.#trimInbox(scope.slice(2));
    return deleted;
  }

  async #trimInbox(userId: string): Promise<number> {
    const items: { key: Deno.KvKey; at: number }[] = [];
    for await (const e of this.kv.list<{ createdAt: number }>({ prefix: K.inbox(userId) })) {
      items.push({ key: e.key, at: e.value.createdAt });
    }
    if (items.length <= INBOX_KEEP) return 0;
    items.sort((a, b) => b.at - a.at);
    return await deleteKeys(this.kv, items.slice(INBOX_KEEP).map((o) => o.key));
  }
}
