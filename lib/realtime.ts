/**
 * Realtime fan-out: one {@link Hub} per instance (worker, Deno Deploy isolate).
 *
 * The KV event logs are the truth. For every building that has sockets on
 * this instance, the hub follows two head keys with one `kv.watch`: the
 * building's board log and its user-event feed (every event added to a
 * user's own log is also added to the feed of the building it is about, with
 * its user id); plus the control feed (close a user's sockets). On a change
 * it reads the range it has not seen yet, up to the heads the watch hands
 * over (a wake-up for heads already read costs no KV read), and offers each event to that
 * building's sockets: board events to all, feed events to that user's. A
 * user who may act in several buildings (an admin of another building, the
 * operator) may run a cycle in a building other than the board they have
 * open: for them the hub also follows their own log's head, so their events
 * reach every socket of theirs, whatever board it shows. So a
 * change made through any instance reaches every socket on every instance,
 * with no BroadcastChannel, and an instance never reads a building it has no
 * socket of. Each socket keeps the last sequence number it delivered
 * per log, drops duplicates and, on a gap, reads the missing events back from
 * KV first, so every socket sees every event once, in order; a client that
 * reconnects catches up by cursor.
 *
 * Abuse limits per socket (issue: hostile clients): a message and byte
 * budget (token buckets; an abusive socket is closed with 4008), `ack` only
 * for notifications this socket was sent (one KV write per frame at most),
 * visibility changes coalesced, and at most {@link MAX_SOCKETS_PER_USER}
 * sockets per user (the oldest is closed).
 * @module
 */
import { type Cursor, cursorHead, formatCursor, parseCursor } from "./cursor.ts";
import {
  type FeedEntry,
  type LogEvent,
  publicUser,
  type SnapshotMemo,
  type Store,
  type SyncResult,
} from "./db/mod.ts";
import { newId } from "./ids.ts";
import { boardScope, CTL_SCOPE, feedScope, K, userScope } from "./keys.ts";
import { mayEnterSeveral } from "./roles.ts";
import { SessionGate } from "./session_gate.ts";
import {
  asciiJson,
  type HelloMessage,
  parseClientMessage,
  type ServerMessage,
} from "./protocol.ts";
import type { User } from "./types.ts";

/** Heartbeat and limit settings (SPEC section 4). */
export interface HubOptions {
  /** Server ping interval (default 25 s). */
  pingMs: number;
  /** Close a connection silent for this long (default 60 s). */
  timeoutMs: number;
  /** Sockets one user may hold on one instance (default {@link MAX_SOCKETS_PER_USER}). */
  maxPerUser: number;
  /** Messages per second a socket may send on average, and the burst. */
  msgRate: number;
  msgBurst: number;
  /** Bytes per second a socket may send on average, and the burst. */
  byteRate: number;
  byteBurst: number;
}

/** Default sockets per user per instance. */
export const MAX_SOCKETS_PER_USER = 8;
/** Close code for a socket that exceeded its budget (clients wait before reconnecting). */
export const CLOSE_ABUSE = 4008;
/** Close code for a socket replaced by a newer one of the same user. */
export const CLOSE_REPLACED = 4009;
/** Close code for a signed-out or disabled session. */
export const CLOSE_SIGNED_OUT = 4401;
/**
 * Close code for a socket on a building's board its user may no longer
 * enter (their admin rights to it were removed): the client goes to its own
 * board instead of reconnecting (which would be refused with 404).
 */
export const CLOSE_LEFT_BUILDING = 4403;
/** Most notification ids a socket remembers for `ack` (the newest). */
const ACKABLE = 200;
/**
 * How long a resident's own-log head learnt from KV is trusted for a resume
 * without a read (a reconnect storm's sockets of one resident arrive within
 * seconds). Bounds any staleness, e.g. events about a building the resident
 * has just been moved from, which their new building's feed does not carry.
 */
export const USER_HEAD_TTL_MS = 60_000;

/** Presence writes are batched this often (a connect storm is one write per batch). */
const PRESENCE_FLUSH_MS = 150;
/** Events read from KV per range read. */
const READ_CHUNK = 1000;

/** A token bucket (pure): how much is left, refilled over time. */
export class Bucket {
  #tokens: number;
  #at: number;

  /** A full bucket of `burst` tokens refilled at `rate` per second. */
  constructor(readonly rate: number, readonly burst: number, now = Date.now()) {
    this.#tokens = burst;
    this.#at = now;
  }

  /** Take `n` tokens; false (and nothing taken) when there are not enough. */
  take(n = 1, now = Date.now()): boolean {
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.rate);
    this.#at = now;
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }
}

/** One WebSocket connection of a signed-in user. */
export class Conn {
  /** Last board / user-log seq delivered to this socket. */
  lastBoard = 0;
  lastUser = 0;
  visible = true;
  lastHeard = Date.now();
  readonly openedAt = Date.now();
  #ackable: Set<string> | null = null;
  #msgs: Bucket | null = null;
  #bytes: Bucket | null = null;
  readonly #limits: Pick<HubOptions, "msgRate" | "msgBurst" | "byteRate" | "byteBurst">;
  #ready = false;
  /** {@link cursorHead} of this socket's building (one string shared by its sockets). */
  #head: string | undefined;
  /**
   * Protocol 2 (`/ws?v=2`, client/live.ts): `event` messages carry no
   * cursor (the client derives it from the events: `advanceCursor` in lib/cursor.ts),
   * so every such socket is sent the same string for an event.
   */
  sharedFrames = false;

  /** Whether `hello` has been sent (events and pings only follow it). */
  get helloSent(): boolean {
    return this.#ready;
  }
  #pending: LogEvent[] | null = null;
  #chain: Promise<void> | null = null;
  /** Deliveries waiting on the slow (gap-filling) path. */
  #queued = 0;

  /** Wrap a socket of `userId` opened with session `session` (token hash). */
  constructor(
    readonly socket: WebSocket,
    readonly userId: string,
    readonly buildingId: string,
    readonly store: Store,
    readonly session: string | null = null,
    limits: Pick<HubOptions, "msgRate" | "msgBurst" | "byteRate" | "byteBurst"> = DEFAULTS,
  ) {
    this.#limits = limits;
  }

  // What most sockets never need is made on first use: 10,000 sockets of a
  // reconnect storm allocate no buckets, sets or promise chains up front.

  /** Notification ids this socket was sent (the only ones it may ack). */
  get ackable(): Set<string> {
    return this.#ackable ??= new Set();
  }

  /** Messages this socket may still send (token bucket, full when made). */
  get msgs(): Bucket {
    return this.#msgs ??= new Bucket(this.#limits.msgRate, this.#limits.msgBurst, this.openedAt);
  }

  /** Bytes this socket may still send (token bucket, full when made). */
  get bytes(): Bucket {
    return this.#bytes ??= new Bucket(this.#limits.byteRate, this.#limits.byteBurst, this.openedAt);
  }

  /** Send one message if the socket is open. */
  send(msg: ServerMessage): void {
    this.sendFrame(JSON.stringify(msg));
  }

  /** Send one message already serialised (a {@link ServerMessage}'s JSON) if the socket is open. */
  sendFrame(frame: string): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(frame);
  }

  /** Close with a code and reason (ignores a socket that is already closing). */
  close(code: number, reason: string): void {
    try {
      this.socket.close(code, reason);
    } catch { /* already closing */ }
  }

  /** Mark the hello as sent at these positions; flush what arrived meanwhile. */
  ready(board: number, user: number): void {
    this.lastBoard = board;
    this.lastUser = user;
    this.#ready = true;
    const pending = this.#pending;
    this.#pending = null;
    if (pending?.length) this.offer(pending);
  }

  /**
   * Queue events for delivery (in order, de-duplicated, gaps filled from KV).
   * `frames`, when given, holds the events' text, made once per read by the
   * hub instead of once per socket.
   */
  offer(events: LogEvent[], frames?: EventFrames): void {
    if (!this.#ready) {
      (this.#pending ??= []).push(...events);
      return;
    }
    // Fast path: nothing queued and the events follow on from what this
    // socket has: send them now, without a promise per socket.
    if (this.#queued === 0) {
      let i = 0;
      for (; i < events.length; i++) {
        const e = events[i];
        const last = e.scope === "board" ? this.lastBoard : this.lastUser;
        if (e.seq <= last) continue;
        if (e.seq > last + 1) break; // a gap: fill it from KV, in order (slow path)
        this.#sendEvent(e, frames, i);
      }
      if (i === events.length) return;
      events = events.slice(i);
    }
    this.#enqueue(events);
  }

  /**
   * The slow path: deliver `events` after what is queued, filling gaps from
   * KV. Kept out of `offer`: a closure there makes V8 allocate a context on
   * every call, fast path or not (~50 bytes per socket per event).
   */
  #enqueue(events: LogEvent[]): void {
    this.#queued++;
    this.#chain = (this.#chain ?? Promise.resolve()).then(() => this.#deliver(events)).catch(
      (err) => {
        console.error("realtime: delivery failed", err);
      },
    ).then(() => {
      this.#queued--;
    });
  }

  async #deliver(events: LogEvent[]): Promise<void> {
    for (const e of events) {
      const last = e.scope === "board" ? this.lastBoard : this.lastUser;
      if (e.seq <= last) continue;
      if (e.seq > last + 1) {
        const missed = e.scope === "board"
          ? await this.store.readBoard(this.buildingId, last, e.seq - 1)
          : await this.store.readUser(this.userId, last, e.seq - 1);
        for (const m of missed) this.#sendEvent(m);
      }
      this.#sendEvent(e);
    }
  }

  #sendEvent(e: LogEvent, frames?: EventFrames, i = 0): void {
    const last = e.scope === "board" ? this.lastBoard : this.lastUser;
    if (e.seq <= last) return;
    if (e.scope === "board") this.lastBoard = e.seq;
    else {
      this.lastUser = e.seq;
      const id = (e.data as { item?: { id?: string } } | undefined)?.item?.id;
      if (e.type === "notification" && id) {
        this.ackable.add(id);
        if (this.ackable.size > ACKABLE) this.ackable.delete(this.ackable.values().next().value!);
      }
    }
    if (this.socket.readyState !== WebSocket.OPEN) return;
    if (this.sharedFrames) {
      this.socket.send(frames ? frames.message(i) : eventMessage(e));
      return;
    }
    // The same bytes as JSON.stringify({ type: "event", event: e, cursor }),
    // with the cursor's shared part made once per building (numbers need no
    // escaping): this runs once per socket for every event.
    const head = this.#head ??= cursorHead(this.store.epoch, this.buildingId);
    this.socket.send(
      `{"type":"event","event":${
        frames ? frames.json(i) : JSON.stringify(e)
      },"cursor":${head}${this.lastBoard}:${this.lastUser}"}`,
    );
  }
}

/**
 * The `event` message of protocol 2 (no cursor), ASCII only. Made by one
 * `JSON.stringify`, so V8 holds it as one flat string: Deno's WebSocket
 * `send` takes such a string on its fast path, while a concatenated one
 * (`'{"type":"event","event":' + json + '}'`) falls back to the slow path on
 * every send. Measured side by side at 10,000 sockets: 1.11× instead of
 * 1.24× of bare Deno's server CPU per frame.
 */
function eventMessage(e: LogEvent): string {
  return asciiJson({ type: "event", event: e });
}

/**
 * The events of one read as text, made once for every socket they go to,
 * each on first use: `json(i)` is event `i` as ASCII-only JSON
 * ({@link asciiJson}: not re-encoded per socket), which protocol 1 puts in
 * each socket's own message; `message(i)` is the protocol-2 `event` message,
 * sent to every protocol-2 socket as the very same string (as a bare
 * broadcast server sends one frame to all).
 */
export class EventFrames {
  readonly #events: LogEvent[];
  #json: (string | undefined)[] = [];
  #messages: (string | undefined)[] = [];

  /** The text of `events`, made when first asked for. */
  constructor(events: LogEvent[]) {
    this.#events = events;
  }

  /** Event `i` as ASCII-only JSON. */
  json(i: number): string {
    return this.#json[i] ??= asciiJson(this.#events[i]);
  }

  /** The protocol-2 `event` message of event `i`. */
  message(i: number): string {
    return this.#messages[i] ??= eventMessage(this.#events[i]);
  }
}

const DEFAULTS: HubOptions = {
  pingMs: 25_000,
  timeoutMs: 60_000,
  maxPerUser: MAX_SOCKETS_PER_USER,
  msgRate: 5,
  msgBurst: 40,
  byteRate: 16_384,
  byteBurst: 65_536,
};

/** Fan-out of the KV logs to this instance's sockets. */
export class Hub {
  /** This instance's id (presence rows and leases name it). */
  readonly instance: string = newId(8);
  #conns = new Set<Conn>();
  #byUser = new Map<string, Set<Conn>>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #opts: HubOptions;
  #closed = false;
  /** The buildings followed (those with sockets here). */
  #follows = new Map<string, Follow>();
  /** The control feed (disconnects), followed from {@link start}. */
  #ctl: Follow | null = null;
  /** The own logs followed, of users here who may act in several buildings. */
  #userFollows = new Map<string, Follow>();
  /** Users whose presence row here is to be written (or deleted: no socket left). */
  #presence = new Set<string>();
  /** Residents' own-log heads, per user with sockets here ({@link #upToDate}). */
  #userHeads = new Map<string, { head: number; follow: Follow; at: number }>();
  #presenceTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Checks handshakes' signed sessions from cached user records, kept right
   * by the control feed this hub follows (live while it does).
   */
  readonly gate: SessionGate;

  /** Create the hub; call {@link start} to follow the logs. */
  constructor(readonly store: Store, opts: Partial<HubOptions> = {}) {
    this.#opts = { ...DEFAULTS, ...opts };
    this.gate = new SessionGate(store);
    this.#timer = setInterval(() => this.#heartbeat(), this.#opts.pingMs);
  }

  /** Number of open connections on this instance. */
  get size(): number {
    return this.#conns.size;
  }

  /** Start following the control feed (buildings are followed while they have sockets). */
  async start(): Promise<void> {
    this.#ctl = new Follow(null);
    await this.#startFollow(this.#ctl);
    this.gate.live = this.#ctl.started && !this.#closed;
  }

  /** Start following `f` from the current heads of its logs (`kv.watch`). */
  async #startFollow(f: Follow): Promise<void> {
    const single = singleScope(f);
    const heads = await this.#readHeads(f);
    f.feed = heads.feed;
    if (single === null) f.board = heads.board;
    if (f.stopped || this.#closed) return;
    const keys: Deno.KvKey[] = single !== null
      ? [K.logHead(single)]
      : [K.logHead(boardScope(f.bid!)), K.logHead(feedScope(f.bid!))];
    f.watch = this.store.kv.watch(keys);
    f.started = true;
    (async () => {
      try {
        for await (const entries of f.watch!) {
          if (this.#closed || f.stopped) break;
          // The watch hands over the heads it saw: no read to learn them again.
          const seen = entries.map((e) => typeof e.value === "number" ? e.value : 0);
          this.#poll(
            f,
            single !== null ? { board: 0, feed: seen[0] } : { board: seen[0], feed: seen[1] },
          );
        }
      } catch (err) {
        if (!this.#closed && !f.stopped) console.error("realtime: watch ended", err);
      }
      // Without the control feed the gate's cache would go stale.
      if (f === this.#ctl) this.gate.live = false;
    })();
  }

  /** The follow of building `bid`, started on first use (await `ready` before a hello's sync). */
  #follow(bid: string): Follow {
    return this.#followIn(this.#follows, bid, bid);
  }

  /** The follow of `userId`'s own log, started on first use (await `ready` before a hello's sync). */
  #userFollow(userId: string): Follow {
    return this.#followIn(this.#userFollows, userId, null, userId);
  }

  /** The follow kept in `map` under `key`, made (`new Follow(bid, userId)`) and started when there is none. */
  #followIn(
    map: Map<string, Follow>,
    key: string,
    bid: string | null,
    userId?: string,
  ): Follow {
    let f = map.get(key);
    if (!f) {
      f = new Follow(bid, userId);
      f.ready = this.#startFollow(f);
      map.set(key, f);
    }
    return f;
  }

  /**
   * Read what the logs gained since this hub last looked and fan it out:
   * building `bid`'s (or every followed building's and the control feed's).
   * The watch calls it; so may code that just committed (no need to wait
   * for the watch). Runs one read at a time per log; calls meanwhile coalesce.
   */
  poll(bid?: string): Promise<void> {
    if (bid !== undefined) {
      const f = this.#follows.get(bid);
      return f ? this.#poll(f) : Promise.resolve();
    }
    const all = [
      ...this.#follows.values(),
      ...this.#userFollows.values(),
      ...(this.#ctl ? [this.#ctl] : []),
    ];
    return Promise.all(all.map((f) => this.#poll(f))).then(() => {});
  }

  /**
   * Read `f`'s logs up to `heads` (from its watch), or up to heads read from
   * KV (`heads` omitted: a poke after a commit). Heads no further than what
   * `f` has read cost nothing: the wake-up that follows this instance's own
   * poke reads no KV at all.
   */
  #poll(f: Follow, heads?: Heads): Promise<void> {
    if (this.#closed || f.stopped || !f.started) return f.reading;
    if (heads) {
      const ahead = heads.feed > f.feed || (singleScope(f) === null && heads.board > f.board);
      if (!ahead) return f.reading; // read already (or being read: positions move as chunks land)
      f.seen = {
        board: Math.max(f.seen.board, heads.board),
        feed: Math.max(f.seen.feed, heads.feed),
      };
    } else f.askHeads = true;
    if (f.busy) {
      f.again = true;
      return f.reading;
    }
    f.busy = true;
    f.reading = (async () => {
      try {
        do {
          f.again = false;
          const ask = f.askHeads;
          f.askHeads = false;
          await this.#read(f, ask ? undefined : f.seen);
        } while (f.again && !this.#closed && !f.stopped);
      } catch (err) {
        if (!this.#closed) console.error("realtime: read failed", err);
      } finally {
        f.busy = false;
      }
    })();
    return f.reading;
  }

  /** Read what `f`'s logs gained up to `known` heads (read from KV when not given) and fan it out. */
  async #read(f: Follow, known?: Heads): Promise<void> {
    const heads = known ?? await this.#readHeads(f);
    if (f.userId) {
      const { userId } = f;
      const scope = userScope(userId);
      await inChunks(
        f.feed,
        heads.feed,
        (a, b) => this.store.readLog(scope, a, b),
        (upTo, events) => {
          f.feed = upTo;
          this.#toUser(userId, events);
        },
      );
      return;
    }
    // A building's board, then its feed; the control feed is a feed with no board.
    const bid = f.bid;
    if (bid !== null) {
      await inChunks(
        f.board,
        heads.board,
        (a, b) => this.store.readBoard(bid, a, b),
        (upTo, events) => {
          f.board = upTo;
          this.#fanOut(f, events);
        },
      );
    }
    const feed = bid === null ? CTL_SCOPE : feedScope(bid);
    await inChunks(
      f.feed,
      heads.feed,
      (a, b) => this.store.readFeed(feed, a, b),
      (upTo, entries) => {
        f.feed = upTo;
        for (const e of entries) this.#onFeed(f, e);
      },
    );
  }

  /** The heads of `f`'s logs, read from KV (a single log's in `feed`). */
  async #readHeads(f: Follow): Promise<Heads> {
    const single = singleScope(f);
    return single !== null
      ? { board: 0, feed: await this.store.logHead(single) }
      : await this.store.heads(f.bid!);
  }

  /** A user's own events, to every socket of theirs here (each drops what it already has). */
  #toUser(userId: string, events: LogEvent[]): void {
    const conns = this.#byUser.get(userId);
    if (!events.length || !conns) return;
    const frames = new EventFrames(events);
    for (const c of conns) c.offer(events, frames);
  }

  #onFeed(f: Follow, e: FeedEntry): void {
    if (e.userChanged || e.disconnect) {
      this.gate.invalidate(e.userId);
      // Moved to another building, say: learn their log's head again.
      this.#userHeads.delete(e.userId);
    }
    if (e.event?.scope === "user") this.#learnUserHead(e.userId, f, e.event.seq, false);
    if (e.disconnect) this.#disconnect(e.userId, e.disconnect.session, e.disconnect.building);
    else if (e.event) this.#fanOut(f, [e.event], e.userId);
  }

  #fanOut(f: Follow, events: LogEvent[], userId?: string): void {
    if (!events.length) return;
    const targets = userId ? this.#byUser.get(userId) : f.conns;
    if (!targets || targets.size === 0) return;
    const frames = new EventFrames(events); // once, not once per socket
    for (const c of targets) if (c.buildingId === f.bid) c.offer(events, frames);
  }

  /**
   * Close every socket of `userId` (or only those of one session) on every
   * instance: a disabled account, a logout, a password change.
   */
  async disconnectUser(userId: string, session?: string, reason = "signed out"): Promise<void> {
    // Here at once; other instances when the control feed's entry reaches them.
    this.gate.invalidate(userId);
    this.#disconnect(userId, session);
    await this.store.disconnect(userId, reason, session);
  }

  /**
   * Close `userId`'s sockets open on building `bid`'s board, on every
   * instance, with {@link CLOSE_LEFT_BUILDING}: they may no longer enter it
   * (admin rights removed). Their other buildings' sockets stay.
   */
  async disconnectFromBuilding(userId: string, bid: string): Promise<void> {
    this.gate.invalidate(userId);
    this.#disconnect(userId, undefined, bid);
    await this.store.disconnect(userId, "left building", undefined, bid);
  }

  #disconnect(userId: string, session?: string, building?: string): void {
    for (const c of [...(this.#byUser.get(userId) ?? [])]) {
      if (session && c.session !== session) continue;
      if (building !== undefined && c.buildingId !== building) continue;
      if (building !== undefined) c.close(CLOSE_LEFT_BUILDING, "left building");
      else c.close(CLOSE_SIGNED_OUT, "signed out");
      this.#remove(c);
    }
  }

  /**
   * Note that `userId`'s own log has reached `seq`, as read through follow
   * `f` (`fresh`: a KV read made while `f` ran, which starts an entry;
   * otherwise a user event `f` read, which only moves an entry of `f` on).
   */
  #learnUserHead(userId: string, f: Follow, seq: number, fresh = true): void {
    const u = this.#userHeads.get(userId);
    if (u && u.follow === f) {
      u.head = Math.max(u.head, seq);
      if (fresh) u.at = Date.now(); // a read confirmed it: trusted for another while
    } else if (fresh && this.#byUser.has(userId)) {
      this.#userHeads.set(userId, { head: seq, follow: f, at: Date.now() });
    }
  }

  /**
   * The head of `userId`'s own log if cursor `since` is at both heads this
   * hub knows for board `f` (so a resume needs no KV read), else null. The
   * user's head is known from a KV read made while `f` ran, moved on by the
   * user events `f`'s feed carried since (a resident's events are about
   * their own building); it is trusted for {@link USER_HEAD_TTL_MS}.
   */
  #upToDate(userId: string, f: Follow, since: Cursor | null): number | null {
    if (
      !since || since.epoch !== this.store.epoch || since.building !== f.bid ||
      since.board !== f.board || f.stopped
    ) return null;
    const u = this.#userHeads.get(userId);
    if (!u || u.follow !== f || Date.now() - u.at > USER_HEAD_TTL_MS) return null;
    return since.user === u.head ? u.head : null;
  }

  /** Whether this instance has a connection of `userId`, and a visible one. */
  localPresence(userId: string): { connected: boolean; visible: boolean } {
    const set = this.#byUser.get(userId);
    if (!set || set.size === 0) return { connected: false, visible: false };
    let visible = false;
    for (const c of set) if (c.visible) visible = true;
    return { connected: true, visible };
  }

  /**
   * Adopt an upgraded socket: register it (so nothing committed meanwhile is
   * lost), send `hello` with the replay or snapshot, then stream.
   */
  attach(
    socket: WebSocket,
    user: User,
    bid: string,
    since: Cursor | null,
    session: string | null = null,
    opts: { sharedFrames?: boolean } = {},
  ): Conn {
    const conn = new Conn(socket, user.id, bid, this.store, session, this.#opts);
    conn.sharedFrames = opts.sharedFrames === true;
    if (socket.readyState === WebSocket.OPEN) this.#hello(conn, user, since);
    else socket.addEventListener("open", () => this.#hello(conn, user, since), { once: true });
    this.#listen(conn);
    return conn;
  }

  /**
   * The long-lived listeners, made in their own scope so that they keep only
   * `conn` alive, not the user record and cursor `attach` was given.
   */
  #listen(conn: Conn): void {
    const remove = () => this.#remove(conn);
    conn.socket.addEventListener("message", (ev) => this.#onMessage(conn, ev.data));
    conn.socket.addEventListener("close", remove);
    conn.socket.addEventListener("error", remove);
  }

  /** Register the connection, record presence, send `hello` (replay or snapshot). */
  async #hello(conn: Conn, user: User, since: Cursor | null): Promise<void> {
    this.#add(conn);
    try {
      // Follow the building before reading what the socket missed, so
      // nothing committed in between falls through.
      const f = this.#follow(conn.buildingId);
      // Their own events may be about another building than this board's.
      const own = mayEnterSeveral(user) ? this.#userFollow(user.id) : null;
      if (own) await Promise.all([f.ready, own.ready]);
      else await f.ready;
      // (Only residents' heads are learnt: see below.)
      const head = this.#upToDate(user.id, f, since);
      let sync: SyncResult;
      let at: { board: number; user: number };
      if (head !== null) {
        // Nothing missed (the follow knows both heads): no KV read at all.
        at = { board: f.board, user: head };
        sync = {
          cursor: formatCursor({ epoch: this.store.epoch, building: conn.buildingId, ...at }),
          recovered: true,
          events: [],
          inboxReset: false,
        };
      } else {
        const feedAt = f.feed;
        sync = await this.store.sync(user.id, conn.buildingId, since, f);
        at = parseCursor(sync.cursor)!;
        // Read after the follow started, and the follow read no user event
        // meanwhile (one it read would be missing): from here its feed keeps it.
        // Not for users with their own follow: their events may be about other
        // buildings, which this building's feed does not carry.
        if (!own && f.feed === feedAt) this.#learnUserHead(user.id, f, at.user);
      }
      const hello: HelloMessage = {
        type: "hello",
        serverTime: Date.now(),
        cursor: sync.cursor,
        recovered: sync.recovered,
        events: sync.events,
        inboxReset: sync.inboxReset,
        user: publicUser(user),
      };
      const memo = f.memo;
      if (sync.snapshot && memo?.snapshot === sync.snapshot) {
        // The shared snapshot is serialised once, not once per socket.
        memo.json ??= JSON.stringify(sync.snapshot);
        conn.sendFrame(`${JSON.stringify(hello).slice(0, -1)},"snapshot":${memo.json}}`);
      } else conn.send(sync.snapshot ? { ...hello, snapshot: sync.snapshot } : hello);
      conn.ready(at.board, at.user);
    } catch (err) {
      // Cut short by shutting down (KV closed) or by a peer already gone:
      // nothing is owed to a socket that cannot receive it.
      if (this.#closed || conn.socket.readyState !== WebSocket.OPEN) {
        this.#remove(conn);
        return;
      }
      console.error("realtime: hello failed", err);
      conn.close(1011, "server error");
    }
  }

  #onMessage(conn: Conn, data: unknown): void {
    conn.lastHeard = Date.now();
    const size = typeof data === "string"
      ? data.length
      : data instanceof ArrayBuffer
      ? data.byteLength
      : data instanceof Blob
      ? data.size
      : 0;
    if (!conn.msgs.take(1) || !conn.bytes.take(size)) {
      conn.close(CLOSE_ABUSE, "too many messages");
      this.#remove(conn);
      return;
    }
    const parsed = parseClientMessage(data);
    if (!parsed.ok) {
      conn.send({ type: "error", code: parsed.code, message: parsed.message });
      return;
    }
    const msg = parsed.msg;
    if (msg.type === "ping") conn.send({ type: "pong", t: msg.t });
    else if (msg.type === "ack") {
      // Only notifications this socket was sent; one write per frame at most.
      const ids = [...new Set(msg.ids)].filter((id) => conn.ackable.delete(id));
      if (ids.length) {
        this.store.ackNotifications(conn.userId, ids).catch((err) => console.error("ack", err));
      }
    } else if (msg.type === "visibility") {
      if (conn.visible === msg.visible) return;
      conn.visible = msg.visible;
      this.#markPresence(conn.userId);
    }
  }

  #add(conn: Conn): void {
    this.#conns.add(conn);
    this.#follow(conn.buildingId).conns.add(conn);
    let set = this.#byUser.get(conn.userId);
    if (!set) this.#byUser.set(conn.userId, set = new Set());
    set.add(conn);
    // A per-user cap: the oldest socket makes room for the new one.
    while (set.size > this.#opts.maxPerUser) {
      const oldest = set.values().next().value!;
      oldest.close(CLOSE_REPLACED, "too many connections");
      this.#remove(oldest);
    }
    this.#markPresence(conn.userId);
  }

  #remove(conn: Conn): void {
    if (!this.#conns.delete(conn)) return;
    const f = this.#follows.get(conn.buildingId);
    if (f) {
      f.conns.delete(conn);
      if (f.conns.size === 0) {
        // Nobody here looks at that building any more: stop reading it.
        this.#follows.delete(conn.buildingId);
        f.cancel();
      }
    }
    const set = this.#byUser.get(conn.userId);
    set?.delete(conn);
    if (set && set.size === 0) {
      this.#byUser.delete(conn.userId);
      this.#userHeads.delete(conn.userId);
      this.#userFollows.get(conn.userId)?.cancel();
      this.#userFollows.delete(conn.userId);
    }
    this.#markPresence(conn.userId);
  }

  /**
   * Presence is one row per user and instance (`K.presence(user, instance)`:
   * connected here, and visible if any of their sockets here is), written in
   * batches: a storm of connects is a few commits of one row per user, not
   * one per socket.
   */
  #markPresence(userId: string): void {
    this.#presence.add(userId);
    this.#schedulePresence();
  }

  #schedulePresence(): void {
    if (this.#presenceTimer !== undefined || this.#closed) return;
    this.#presenceTimer = setTimeout(() => {
      this.#presenceTimer = undefined;
      this.#flushPresence().catch((err) => {
        if (!this.#closed) console.error("presence", err);
      });
    }, PRESENCE_FLUSH_MS);
  }

  /** Write (or delete, with no socket left here) the presence rows of `users`. */
  async #flushPresence(users: Iterable<string> = [...this.#presence]): Promise<void> {
    const ids = [...users];
    for (const u of ids) this.#presence.delete(u);
    const now = Date.now();
    const writes = ids.map((userId) => (op: Deno.AtomicOperation) => {
      const key = K.presence(userId, this.instance);
      const { connected, visible } = this.localPresence(userId);
      if (!connected) return op.delete(key);
      const sockets = this.#byUser.get(userId)!.size;
      op.set(key, { visible, at: now, instance: this.instance, sockets }, {
        expireIn: this.#opts.timeoutMs * 2,
      });
    });
    // A KV atomic holds at most 1000 mutations.
    for (let i = 0; i < writes.length; i += 500) {
      if (this.#closed) return;
      const op = this.store.kv.atomic();
      for (const w of writes.slice(i, i + 500)) w(op);
      await op.commit();
    }
  }

  async #heartbeat(): Promise<void> {
    const now = Date.now();
    for (const c of this.#conns) {
      if (now - c.lastHeard > this.#opts.timeoutMs) {
        c.close(4000, "heartbeat timeout");
        this.#remove(c);
        continue;
      }
      // `hello` is always the first message: no ping before it.
      if (c.helloSent) c.send({ type: "ping", t: now });
    }
    // Every user here (rows refreshed before they expire), and those who just left.
    await this.#flushPresence(new Set([...this.#byUser.keys(), ...this.#presence])).catch((err) => {
      if (!this.#closed) console.error("presence refresh", err);
    });
  }

  /** Close every socket and stop timers and the watch. */
  async close(): Promise<void> {
    for (const c of [...this.#conns]) {
      c.close(1001, "server shutting down");
      this.#remove(c);
    }
    await this.#flushPresence().catch(() => {});
    this.#closed = true;
    this.gate.live = false;
    clearInterval(this.#timer);
    clearTimeout(this.#presenceTimer);
    const all = [
      ...this.#follows.values(),
      ...this.#userFollows.values(),
      ...(this.#ctl ? [this.#ctl] : []),
    ];
    this.#follows.clear();
    this.#userFollows.clear();
    for (const f of all) f.cancel();
    await Promise.all(all.map((f) => f.reading.catch(() => {})));
  }
}

/**
 * What a hub knows of one followed building, or (with `bid` null) of the
 * control feed or, with `userId`, of that user's own log (`feed` is then
 * the last seq read).
 */
class Follow implements SnapshotMemo {
  board = -1;
  memo?: SnapshotMemo["memo"];
  feed = -1;
  started = false;
  stopped = false;
  busy = false;
  again = false;
  /** A poke asked for a read of the heads themselves (they may be past `seen`). */
  askHeads = false;
  /** The furthest heads its watch has reported. */
  seen: Heads = { board: 0, feed: 0 };
  reading: Promise<void> = Promise.resolve();
  ready: Promise<void> = Promise.resolve();
  watch: ReadableStream<Deno.KvEntryMaybe<unknown>[]> | null = null;
  readonly conns = new Set<Conn>();

  constructor(readonly bid: string | null, readonly userId?: string) {}

  /** Stop following (the watch ends). */
  cancel(): void {
    this.stopped = true;
    this.watch?.cancel().catch(() => {});
  }
}

/** Positions in a building's two logs (a single log's in `feed`, with `board` 0). */
interface Heads {
  board: number;
  feed: number;
}

/** The one log a follow reads (the control feed, or a user's own log), or null for a building's two. */
function singleScope(f: Follow): string | null {
  return f.userId ? userScope(f.userId) : f.bid === null ? CTL_SCOPE : null;
}

/**
 * Read the records after `from` up to `head` with `read(after, upTo)`, at
 * most {@link READ_CHUNK} at a time, handing each chunk on in order with the
 * position it reaches (set it before anything else can throw).
 */
async function inChunks<T>(
  from: number,
  head: number,
  read: (after: number, upTo: number) => Promise<T[]>,
  take: (upTo: number, chunk: T[]) => void,
): Promise<void> {
  while (head > from) {
    const upTo = Math.min(head, from + READ_CHUNK);
    take(upTo, await read(from, upTo));
    from = upTo;
  }
}
