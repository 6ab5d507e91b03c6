/**
 * Realtime fan-out: one {@link Hub} per process (per isolate on Deno Deploy).
 *
 * The KV event log is the source of truth. A committed event is published to
 * local sockets at once and to other instances through a BroadcastChannel;
 * each socket keeps the last sequence number it delivered per log, drops
 * duplicates and, on a gap (an event it never heard of), reads the missing
 * events back from KV before going on, so every socket sees every event once,
 * in order.
 * @module
 */
import { type Cursor, formatCursor, parseCursor } from "./cursor.ts";
import { type LogEvent, publicUser, type Store } from "./db.ts";
import { newId } from "./ids.ts";
import { parseClientMessage, type ServerMessage } from "./protocol.ts";
import type { User } from "./types.ts";

/** Heartbeat settings (SPEC section 4). */
export interface HeartbeatOptions {
  /** Server ping interval (default 25 s). */
  pingMs: number;
  /** Close a connection silent for this long (default 60 s). */
  timeoutMs: number;
}

/** What crosses the BroadcastChannel between instances. */
interface Broadcast {
  events: LogEvent[];
  userId?: string;
  from: string;
  /** Close every socket of this user (disabled account). */
  disconnect?: string;
}

/** One WebSocket connection of a signed-in user. */
export class Conn {
  /** Random connection id (presence key). */
  readonly id = newId(10);
  /** Last board / user-log seq delivered to this socket. */
  lastBoard = 0;
  lastUser = 0;
  visible = true;
  lastHeard = Date.now();
  #ready = false;
  #pending: LogEvent[] = [];
  #chain: Promise<void> = Promise.resolve();
  /** Deliveries waiting on the slow (gap-filling) path. */
  #queued = 0;

  /** Wrap a socket of `userId`. */
  constructor(
    readonly socket: WebSocket,
    readonly userId: string,
    readonly store: Store,
  ) {}

  /** Send one message if the socket is open. */
  send(msg: ServerMessage): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(msg));
  }

  /** Mark the hello as sent at these positions; flush what arrived meanwhile. */
  ready(board: number, user: number): void {
    this.lastBoard = board;
    this.lastUser = user;
    this.#ready = true;
    const pending = this.#pending;
    this.#pending = [];
    if (pending.length) this.offer(pending);
  }

  /**
   * Queue events for delivery (in order, de-duplicated, gaps filled from KV).
   * `frames[i]`, when given, is `JSON.stringify(events[i])`, made once per
   * publish by the hub instead of once per socket.
   */
  offer(events: LogEvent[], frames?: string[]): void {
    if (!this.#ready) {
      this.#pending.push(...events);
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
        this.#sendEvent(e, frames?.[i]);
      }
      if (i === events.length) return;
      events = events.slice(i);
    }
    this.#queued++;
    this.#chain = this.#chain.then(() => this.#deliver(events)).catch((err) => {
      console.error("realtime: delivery failed", err);
    }).then(() => {
      this.#queued--;
    });
  }

  async #deliver(events: LogEvent[]): Promise<void> {
    for (const e of events) {
      const last = e.scope === "board" ? this.lastBoard : this.lastUser;
      if (e.seq <= last) continue;
      if (e.seq > last + 1) {
        const missed = e.scope === "board"
          ? await this.store.readBoard(last, e.seq - 1)
          : await this.store.readUser(this.userId, last, e.seq - 1);
        for (const m of missed) this.#sendEvent(m);
      }
      this.#sendEvent(e);
    }
  }

  #sendEvent(e: LogEvent, frame?: string): void {
    const last = e.scope === "board" ? this.lastBoard : this.lastUser;
    if (e.seq <= last) return;
    if (e.scope === "board") this.lastBoard = e.seq;
    else this.lastUser = e.seq;
    if (this.socket.readyState !== WebSocket.OPEN) return;
    const cursor = formatCursor({
      epoch: this.store.epoch,
      board: this.lastBoard,
      user: this.lastUser,
    });
    // The same bytes as JSON.stringify({ type: "event", event: e, cursor }).
    this.socket.send(
      `{"type":"event","event":${frame ?? JSON.stringify(e)},"cursor":${JSON.stringify(cursor)}}`,
    );
  }
}

/** Fan-out of events to this instance's sockets, and to other instances. */
export class Hub {
  /** This instance's id (presence rows name it). */
  readonly instance = newId(8);
  #conns = new Set<Conn>();
  #byUser = new Map<string, Set<Conn>>();
  #channel: BroadcastChannel | null;
  #timer: ReturnType<typeof setInterval> | undefined;
  #opts: HeartbeatOptions;
  #closed = false;

  /** Create the hub; `channel` names the BroadcastChannel (one per building). */
  constructor(
    readonly store: Store,
    opts: Partial<HeartbeatOptions> & { channel?: string | null } = {},
  ) {
    this.#opts = { pingMs: opts.pingMs ?? 25_000, timeoutMs: opts.timeoutMs ?? 60_000 };
    const name = opts.channel === undefined ? "laundrylive:board:main" : opts.channel;
    this.#channel = name ? new BroadcastChannel(name) : null;
    if (this.#channel) {
      this.#channel.onmessage = (ev: MessageEvent<Broadcast>) => {
        if (ev.data?.from === this.instance) return;
        if (ev.data.disconnect) this.#disconnect(ev.data.disconnect);
        else this.#fanOut(ev.data.events, ev.data.userId);
      };
    }
    this.#timer = setInterval(() => this.#heartbeat(), this.#opts.pingMs);
  }

  /** Number of open connections on this instance. */
  get size(): number {
    return this.#conns.size;
  }

  /** Publish committed events: board events to everyone, user events to that user. */
  publish(events: LogEvent[], userId?: string): void {
    if (!events.length) return;
    this.#fanOut(events, userId);
    this.#channel?.postMessage({ events, userId, from: this.instance } satisfies Broadcast);
  }

  #fanOut(events: LogEvent[], userId?: string): void {
    const targets = userId ? this.#byUser.get(userId) : this.#conns;
    if (!targets || targets.size === 0) return;
    const frames = events.map((e) => JSON.stringify(e)); // once, not once per socket
    for (const c of targets) c.offer(events, frames);
  }

  /** Close every socket of `userId`, on every instance (account disabled). */
  disconnectUser(userId: string): void {
    this.#disconnect(userId);
    this.#channel?.postMessage(
      { events: [], disconnect: userId, from: this.instance } satisfies Broadcast,
    );
  }

  #disconnect(userId: string): void {
    for (const c of [...(this.#byUser.get(userId) ?? [])]) {
      try {
        c.socket.close(4401, "signed out");
      } catch { /* already closing */ }
      this.#remove(c);
    }
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
   * Adopt an upgraded socket: register it (so nothing published meanwhile is
   * lost), send `hello` with the replay or snapshot, then stream.
   */
  attach(
    socket: WebSocket,
    user: User,
    since: Cursor | null,
  ): Conn {
    const conn = new Conn(socket, user.id, this.store);
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
  async #hello(
    conn: Conn,
    user: User,
    since: Cursor | null,
  ): Promise<void> {
    this.#add(conn);
    try {
      await this.store.setPresence(user.id, conn.id, {
        visible: conn.visible,
        at: Date.now(),
        instance: this.instance,
      });
      const sync = await this.store.sync(user.id, since);
      conn.send({
        type: "hello",
        serverTime: Date.now(),
        cursor: sync.cursor,
        recovered: sync.recovered,
        events: sync.events,
        snapshot: sync.snapshot,
        inboxReset: sync.inboxReset,
        user: publicUser(user),
      });
      const at = parseCursor(sync.cursor)!;
      conn.ready(at.board, at.user);
    } catch (err) {
      console.error("realtime: hello failed", err);
      conn.socket.close(1011, "server error");
    }
  }

  #onMessage(conn: Conn, data: unknown): void {
    conn.lastHeard = Date.now();
    const parsed = parseClientMessage(data);
    if (!parsed.ok) {
      conn.send({ type: "error", code: parsed.code, message: parsed.message });
      return;
    }
    const msg = parsed.msg;
    if (msg.type === "ping") conn.send({ type: "pong", t: msg.t });
    else if (msg.type === "ack") {
      this.store.ackNotifications(conn.userId, msg.ids).catch((err) => console.error("ack", err));
    } else if (msg.type === "visibility") {
      conn.visible = msg.visible;
      this.store.setPresence(conn.userId, conn.id, {
        visible: msg.visible,
        at: Date.now(),
        instance: this.instance,
      }).catch((err) => console.error("presence", err));
    }
  }

  #add(conn: Conn): void {
    this.#conns.add(conn);
    let set = this.#byUser.get(conn.userId);
    if (!set) this.#byUser.set(conn.userId, set = new Set());
    set.add(conn);
  }

  #remove(conn: Conn): void {
    if (!this.#conns.delete(conn)) return;
    const set = this.#byUser.get(conn.userId);
    set?.delete(conn);
    if (set && set.size === 0) this.#byUser.delete(conn.userId);
    this.store.clearPresence(conn.userId, conn.id).catch(() => {});
  }

  async #heartbeat(): Promise<void> {
    const now = Date.now();
    const alive: Conn[] = [];
    for (const c of this.#conns) {
      if (now - c.lastHeard > this.#opts.timeoutMs) {
        try {
          c.socket.close(4000, "heartbeat timeout");
        } catch { /* already closing */ }
        this.#remove(c);
        continue;
      }
      c.send({ type: "ping", t: now });
      alive.push(c);
    }
    // Refresh presence in batches (a KV atomic holds at most 1000 mutations).
    for (let i = 0; i < alive.length; i += 500) {
      const op = this.store.kv.atomic();
      for (const c of alive.slice(i, i + 500)) {
        op.set(["presence", c.userId, c.id], {
          visible: c.visible,
          at: now,
          instance: this.instance,
        }, { expireIn: this.#opts.timeoutMs * 2 });
      }
      if (this.#closed) return;
      await op.commit().catch((err) => {
        if (!this.#closed) console.error("presence refresh", err);
      });
    }
  }

  /** Close every socket and stop timers and the channel. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#channel?.close();
    for (const c of [...this.#conns]) {
      try {
        c.socket.close(1001, "server shutting down");
      } catch { /* ignore */ }
      this.#remove(c);
    }
  }
}
