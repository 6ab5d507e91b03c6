/**
 * Typed access to everything LaundryLive keeps in Deno KV. The key layout is
 * documented in `lib/keys.ts`, the only place that builds keys. Every command
 * is one atomic operation that checks the versionstamps of what it read, so
 * concurrent commands cannot both win; whatever a change owes (notifications,
 * reminders, offers) is written in that same commit as due-index records
 * (`lib/outbox.ts`), so a crash at any moment loses nothing.
 * @module
 */
import {
  type Actor,
  apply,
  type Command,
  DEFAULT_SETTINGS,
  isHeldBy,
  type LifecycleSettings,
  type MachineEventType,
  newMachine,
  settle,
} from "./lifecycle.ts";
import { type Cursor, formatCursor } from "./cursor.ts";
import { newId, newInviteCode, newToken, sha256Hex } from "./ids.ts";
import { retryCommit, tryCommit } from "./commit.ts";
import { BOARD_SCOPE, FEED_SCOPE, K, userScope } from "./keys.ts";
import { addDue, consume, type DueEntry } from "./outbox.ts";
import {
  due as dueNow,
  type DueJob,
  type NotificationSpec,
  planMachineChange,
} from "./notify/plan.ts";
import { StoreError } from "./store_error.ts";
import { type DeliveryOutcome, deviceAfter } from "./notify/health.ts";
import type {
  DeliveryStats,
  Device,
  InboxItem,
  Machine,
  MachineKind,
  Notice,
  Preferences,
  PublicUser,
  Role,
  User,
} from "./types.ts";

/** One entry of an event log. */
export interface LogEvent {
  seq: number;
  /** `"board"` or `"user"`: which log of the cursor it advances. */
  scope: "board" | "user";
  type: string;
  at: number;
  machine?: Machine;
  machineId?: string;
  /** Free-form payload for user-scope events (notifications, inbox changes). */
  data?: Record<string, unknown>;
}

/** A login session (stored under the SHA-256 of its token). */
export interface Session {
  userId: string;
  createdAt: number;
  expiresAt: number;
  userAgent?: string;
}

/** An invite code residents register with. */
export interface Invite {
  code: string;
  createdAt: number;
  createdBy: string;
  maxUses: number;
  uses: number;
  revoked: boolean;
  expiresAt?: number;
}

/** Presence of one connection. */
export interface Presence {
  visible: boolean;
  at: number;
  instance: string;
}

/** A fixed-window rate-limit counter. */
export interface RateWindow {
  count: number;
  resetAt: number;
}

export { StoreError };

/** Result of a successful machine command. */
export interface CommandResult {
  machine: Machine;
  /** The machine as it was before (after settling time-driven changes, before the command). */
  before: Machine;
  events: LogEvent[];
  /**
   * The actor's cursor at this commit: the board at its last event, the
   * actor's own log as read by the command (never ahead of what they have).
   * Set by {@link Store.command}.
   */
  cursor?: string;
}

/** What a resume request gets back. */
export interface SyncResult {
  cursor: string;
  /** True when every missed event is in `events`; false when `snapshot` replaces them. */
  recovered: boolean;
  events: LogEvent[];
  snapshot?: { machines: Machine[] };
  /** True when the user's own log could not be replayed (refetch the inbox). */
  inboxReset: boolean;
}

/** Session lifetime. */
export const SESSION_TTL_MS = 30 * 24 * 3600_000;
/** Presence older than this is ignored. */
export const PRESENCE_TTL_MS = 60_000;
/** Events are kept at least this long. */
export const DEFAULT_RETENTION_MS = 24 * 3600_000;
/** Beyond this many missed events a snapshot is cheaper than a replay. */
export const MAX_REPLAY = 5_000;

const BOARD = BOARD_SCOPE;

/** Default "ending soon" lead (minutes) when a user has no preferences. */
const DEFAULT_LEAD_MINUTES = 5;

/** Retry options of board commands. */
const BUSY_BOARD = { busyMessage: "The board is busy; try again." };

/** An entry of the user-event feed every instance follows (fan-out). */
export interface FeedEntry {
  seq: number;
  userId: string;
  /** The user-log event to show on that user's open sockets. */
  event?: LogEvent;
  /** Close that user's sockets (all, or only those of one session). */
  disconnect?: { session?: string; reason: string };
}

/** Strip the password hash. */
export function publicUser(u: User): PublicUser {
  const { passwordHash: _, ...rest } = u;
  return rest;
}

/** Typed access to everything LaundryLive keeps in Deno KV. */
export class Store {
  /** Lifecycle settings in force. */
  readonly settings: LifecycleSettings;
  #epoch = "";

  /** Wrap an open KV handle. Call {@link init} before use. */
  constructor(readonly kv: Deno.Kv, settings: Partial<LifecycleSettings> = {}) {
    this.settings = { ...DEFAULT_SETTINGS, ...settings };
  }

  /** Load (or create) the store epoch. */
  async init(): Promise<void> {
    const key = ["meta", "epoch"];
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

  // ───────────────────────────── machines ─────────────────────────────

  /** One machine, or null. */
  async getMachine(id: string): Promise<Machine | null> {
    return (await this.kv.get<Machine>(["machines", id])).value;
  }

  /** All machines in board order. */
  async listMachines(): Promise<Machine[]> {
    const out: Machine[] = [];
    for await (const e of this.kv.list<Machine>({ prefix: ["machines"] })) out.push(e.value);
    return out.sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
  }

  /**
   * Whether commits may carry delayed KV queue messages (the platform has
   * queues and `KV_QUEUES` is not "off"). Set by the server at start.
   */
  queues = false;

  /** Add due-index records to a commit, waking workers (see `lib/outbox.ts`). */
  addDue(op: Deno.AtomicOperation, jobs: DueJob[], now = Date.now()): void {
    addDue(op, jobs, { queue: this.queues, now });
  }

  /** A user's "ending soon" lead time (minutes). */
  async leadMinutes(userId: string | undefined): Promise<number> {
    if (!userId) return DEFAULT_LEAD_MINUTES;
    return (await this.getPreferences(userId))?.endingSoonMinutes ?? DEFAULT_LEAD_MINUTES;
  }

  /** Add a machine (admin). Appends `machine.added`. */
  async addMachine(
    input: { name: string; kind: MachineKind; room: string },
  ): Promise<CommandResult> {
    return await retryCommit(async () => {
      const machines = await this.listMachines();
      const m = newMachine(
        newId(10),
        input.name,
        input.kind,
        input.room,
        machines.reduce((mx, x) => Math.max(mx, x.order), 0) + 1,
        Date.now(),
      );
      const events = await this.#commitMachine(null, m, [{ type: "machine.added", machine: m }]);
      return events ? { machine: m, before: m, events } : null;
    }, BUSY_BOARD);
  }

  /** Rename / move a machine (admin). Appends `machine.updated`. */
  async updateMachine(
    id: string,
    patch: { name?: string; room?: string; order?: number },
  ): Promise<CommandResult> {
    return await retryCommit(async () => {
      const entry = await this.kv.get<Machine>(K.machine(id));
      if (!entry.value) throw new StoreError("not_found", "No such machine.", 404);
      const m: Machine = { ...entry.value, ...patch, updatedAt: Date.now() };
      const events = await this.#commitMachine(entry, m, [{ type: "machine.updated", machine: m }]);
      return events ? { machine: m, before: entry.value, events } : null;
    }, BUSY_BOARD);
  }

  /** Remove a machine (admin). Refused while someone holds or uses it. */
  async removeMachine(id: string): Promise<LogEvent[]> {
    return await retryCommit(async () => {
      const entry = await this.kv.get<Machine>(K.machine(id));
      if (!entry.value) throw new StoreError("not_found", "No such machine.", 404);
      const m = settle(entry.value, Date.now()).machine;
      if (m.state !== "available" && m.state !== "out_of_order") {
        throw new StoreError("invalid_state", "Machine is in use; mark it out of order first.");
      }
      return await this.#commitMachine(entry, null, [{ type: "machine.removed", machineId: id }]);
    }, BUSY_BOARD);
  }

  /**
   * Run a lifecycle command on a machine: settle time-driven changes, apply
   * the command, and commit the machine, its events and everything the change
   * owes (notifications, reminder ticks, offers to watchers) in one atomic
   * operation checked against everything read. Retries only when something
   * changed underneath; the re-evaluation then decides (so of two residents
   * racing for one machine, exactly one wins). Two KV round trips: one read
   * of everything it needs, one commit.
   */
  async command(machineId: string, cmd: Command, actor: Actor): Promise<CommandResult> {
    return await retryCommit(async () => {
      const [entry, head, prefs, holdW, holdD, userHead] = await this.kv.getMany<
        [Machine, number, Preferences, string, string, number]
      >([
        K.machine(machineId),
        K.logHead(BOARD),
        K.prefs(actor.id),
        K.hold(actor.id, "washer"),
        K.hold(actor.id, "dryer"),
        K.logHead(userScope(actor.id)),
      ]);
      if (!entry.value) throw new StoreError("not_found", "No such machine.", 404);
      const now = Date.now();
      const settled = settle(entry.value, now);
      const outcome = apply(settled.machine, cmd, actor, now, this.settings, () => newId(12));
      if (!outcome.ok) {
        throw new StoreError(
          outcome.code,
          outcome.message,
          outcome.code === "not_owner" || outcome.code === "forbidden"
            ? 403
            : outcome.code === "bad_minutes"
            ? 400
            : 409,
        );
      }
      const op = this.kv.atomic();
      const m = outcome.machine;
      const actorHold = (kind: MachineKind) => kind === "washer" ? holdW : holdD;
      // Invariant: one hold per resident per kind. The index key is written in
      // the same commit as every change of a hold, so checking it is enough.
      if (cmd.type === "hold") {
        const idx = actorHold(m.kind);
        if (idx.value && idx.value !== machineId) {
          const other = await this.getMachine(idx.value);
          if (other && isHeldBy(settle(other, now).machine, actor.id)) {
            throw new StoreError(
              "already_holding",
              `You are already holding ${other.name}. Release it first.`,
            );
          }
        }
        op.check(idx).set(K.hold(actor.id, m.kind), machineId);
      }
      const before = settled.machine;
      // Free the holder's index only if it still points at this machine.
      const holder = entry.value.state === "held" || entry.value.state === "arrived"
        ? entry.value.ownerId
        : undefined;
      if (holder && !isHeldBy(m, holder)) {
        const idx = holder === actor.id
          ? actorHold(m.kind)
          : await this.kv.get<string>(K.hold(holder, m.kind));
        if (idx.value === machineId) op.check(idx).delete(idx.key);
      }
      if (outcome.event === "machine.started" && m.ownerId) {
        op.set(K.machineUser(m.id, m.ownerId), { at: now }, { expireIn: 24 * 3600_000 });
      }
      const drafts: Draft[] = [];
      if (settled.event) drafts.push(settledDraft(entry.value, settled.machine, settled.event));
      drafts.push({ type: outcome.event, machine: m });
      const lead = m.ownerId === actor.id
        ? prefs.value?.endingSoonMinutes ?? DEFAULT_LEAD_MINUTES
        : await this.leadMinutes(m.ownerId);
      const events = await this.#commitMachine(entry, m, drafts, op, { head, lead, now });
      if (!events) return null;
      // The answer's cursor without another read (a press stays at 4 round trips).
      const cursor = formatCursor({
        epoch: this.#epoch,
        board: events[events.length - 1]?.seq ?? head.value ?? 0,
        user: userHead.value ?? 0,
      });
      return { machine: m, before, events, cursor };
    }, BUSY_BOARD);
  }

  /**
   * A due tick of a machine (consumed in the same commit): persist what time
   * alone changed (a hold expired, a cycle ended) with everything that owes,
   * and owe the reminders due now for the machine's current use. A tick for
   * a use that is over does nothing. Returns the board events appended.
   */
  async runTick(
    tick: DueEntry,
    machineId: string,
    useId: string | undefined,
    reminders: (m: Machine, lead: number, now: number) => DueJob[],
  ): Promise<LogEvent[]> {
    return await retryCommit(async () => {
      const now = Date.now();
      const [entry, head] = await this.kv.getMany<[Machine, number]>([
        K.machine(machineId),
        K.logHead(BOARD),
      ]);
      const op = consume(this.kv.atomic(), tick);
      const stale = !entry.value || (useId !== undefined && entry.value.useId !== useId);
      if (stale) return await this.#finishDue(op, tick, []);
      const settled = settle(entry.value!, now);
      const m = settled.machine;
      const lead = await this.leadMinutes(m.ownerId ?? entry.value!.ownerId);
      const owed = m.useId === useId || useId === undefined ? reminders(m, lead, now) : [];
      this.addDue(op, owed, now);
      if (!settled.event) return await this.#finishDue(op, tick, []);
      if (settled.event === "machine.hold_expired" && entry.value!.ownerId) {
        const idx = await this.kv.get<string>(K.hold(entry.value!.ownerId, entry.value!.kind));
        if (idx.value === machineId) op.check(idx).delete(idx.key);
      }
      const events = await this.#commitMachine(
        entry,
        m,
        [
          settledDraft(entry.value!, m, settled.event),
        ],
        op,
        { head, lead, now },
      );
      if (events) return events;
      return await this.#gone(tick) ? [] : null;
    }, BUSY_BOARD);
  }

  /** Commit `op` that consumes a due entry; [] when done (or done by someone else), null to retry. */
  async #finishDue<T>(op: Deno.AtomicOperation, entry: DueEntry, out: T): Promise<T | null> {
    if (await tryCommit(op)) return out;
    return await this.#gone(entry) ? out : null;
  }

  /** Whether a due entry was consumed or moved by someone else. */
  async #gone(entry: DueEntry): Promise<boolean> {
    return (await this.kv.get(entry.key)).versionstamp !== entry.versionstamp;
  }

  /**
   * Check the machine is unchanged, write it (or delete it), append the
   * board events and the due records the change owes, and commit. Null when
   * a checked key changed (the caller re-reads and retries).
   */
  async #commitMachine(
    entry: Deno.KvEntryMaybe<Machine> | null,
    m: Machine | null,
    drafts: Draft[],
    op: Deno.AtomicOperation = this.kv.atomic(),
    known: { head?: Deno.KvEntryMaybe<number>; lead?: number; now?: number } = {},
  ): Promise<LogEvent[] | null> {
    const id = m?.id ?? entry?.key[1] as string;
    const now = known.now ?? Date.now();
    if (entry) op.check(entry);
    else op.check({ key: K.machine(id), versionstamp: null });
    if (m) op.set(K.machine(id), m);
    else op.delete(K.machine(id));
    const lead = known.lead ?? await this.leadMinutes(m?.ownerId);
    this.addDue(
      op,
      planMachineChange({
        before: entry?.value ?? null,
        after: m,
        events: drafts,
        leadMinutes: lead,
        now,
        settings: this.settings,
      }),
      now,
    );
    const head = known.head ?? await this.kv.get<number>(K.logHead(BOARD));
    const events = this.#append(op, BOARD, drafts, head, now);
    return await tryCommit(op) ? events : null;
  }

  // ───────────────────────────── event logs ─────────────────────────────

  /** Add drafts to a log inside `op` (checked against `head`); returns the events. */
  #append(
    op: Deno.AtomicOperation,
    scope: string,
    drafts: Draft[],
    head: Deno.KvEntryMaybe<number>,
    at = Date.now(),
  ): LogEvent[] {
    let seq = head.value ?? 0;
    const kind = scope === BOARD ? "board" : "user";
    const events = drafts.map((d) => ({ ...d, seq: ++seq, scope: kind, at }) as LogEvent);
    op.check(head);
    for (const e of events) op.set(K.log(scope, e.seq), e);
    op.set(K.logHead(scope), seq);
    return events;
  }

  /**
   * Add events to a user's own log inside `op`, and the same events to the
   * user-event feed every instance follows, so they reach that user's
   * sockets wherever they are connected. `heads` are the two log heads,
   * read by the caller (they are checked).
   */
  appendUserOp(
    op: Deno.AtomicOperation,
    userId: string,
    drafts: Draft[],
    heads: { user: Deno.KvEntryMaybe<number>; feed: Deno.KvEntryMaybe<number> },
    at = Date.now(),
  ): LogEvent[] {
    const events = this.#append(op, userScope(userId), drafts, heads.user, at);
    let seq = heads.feed.value ?? 0;
    op.check(heads.feed);
    for (const event of events) {
      seq++;
      op.set(K.log(FEED_SCOPE, seq), { seq, userId, event, at } as FeedEntry & { at: number });
    }
    op.set(K.logHead(FEED_SCOPE), seq);
    return events;
  }

  /** The keys of a user's log head and the feed head (read them together with other keys). */
  userHeadKeys(userId: string): [Deno.KvKey, Deno.KvKey] {
    return [K.logHead(userScope(userId)), K.logHead(FEED_SCOPE)];
  }

  /**
   * Append events to a user's own log (notifications, inbox changes), with
   * extra writes in the same atomic operation. Retries on head contention.
   */
  async appendUserEvents(
    userId: string,
    drafts: Draft[],
    extra?: (op: Deno.AtomicOperation) => void,
  ): Promise<LogEvent[]> {
    return await retryCommit(async () => {
      const [user, feed] = await this.kv.getMany<[number, number]>(this.userHeadKeys(userId));
      const op = this.kv.atomic();
      extra?.(op);
      const events = this.appendUserOp(op, userId, drafts, { user, feed });
      return await tryCommit(op) ? events : null;
    }, { attempts: 50, busyMessage: "The inbox is busy; try again." });
  }

  /**
   * Close a user's open sockets on every instance (all of them, or only
   * those of one session): an entry on the user-event feed.
   */
  async disconnect(userId: string, reason: string, session?: string): Promise<void> {
    await retryCommit(async () => {
      const feed = await this.kv.get<number>(K.logHead(FEED_SCOPE));
      const seq = (feed.value ?? 0) + 1;
      const entry: FeedEntry & { at: number } = {
        seq,
        userId,
        disconnect: { session, reason },
        at: Date.now(),
      };
      const op = this.kv.atomic().check(feed).set(K.log(FEED_SCOPE, seq), entry)
        .set(K.logHead(FEED_SCOPE), seq);
      return await tryCommit(op) ? true : null;
    });
  }

  /** Feed entries with after < seq ≤ upTo, in order. */
  async readFeed(after: number, upTo: number): Promise<FeedEntry[]> {
    return await this.readLog(FEED_SCOPE, after, upTo) as unknown as FeedEntry[];
  }

  /** The heads of the board log and of the user-event feed. */
  async heads(): Promise<{ board: number; feed: number }> {
    const [b, f] = await this.kv.getMany<[number, number]>([
      K.logHead(BOARD),
      K.logHead(FEED_SCOPE),
    ]);
    return { board: b.value ?? 0, feed: f.value ?? 0 };
  }

  /** The current cursor for a user. */
  async currentCursor(userId: string): Promise<string> {
    const [b, u] = await this.kv.getMany<[number, number]>([
      ["log_head", BOARD],
      ["log_head", userScope(userId)],
    ]);
    return formatCursor({ epoch: this.#epoch, board: b.value ?? 0, user: u.value ?? 0 });
  }

  /**
   * What a client holding `since` missed: the events of both logs in order, or
   * a snapshot when the cursor is from another epoch or older than the
   * retained log.
   */
  async sync(userId: string, since: Cursor | null): Promise<SyncResult> {
    const uScope = userScope(userId);
    const [bHead, bFloor, uHead, uFloor] = await this.kv.getMany<
      [number, number, number, number]
    >([
      ["log_head", BOARD],
      ["log_floor", BOARD],
      ["log_head", uScope],
      ["log_floor", uScope],
    ]);
    const bh = bHead.value ?? 0;
    const uh = uHead.value ?? 0;
    const cursor = formatCursor({ epoch: this.#epoch, board: bh, user: uh });
    const sameEpoch = since !== null && since.epoch === this.#epoch;
    const boardOk = sameEpoch && since.board >= (bFloor.value ?? 0) && since.board <= bh &&
      bh - since.board <= MAX_REPLAY;
    const userOk = sameEpoch && since.user >= (uFloor.value ?? 0) && since.user <= uh &&
      uh - since.user <= MAX_REPLAY;
    const events: LogEvent[] = [];
    if (boardOk) events.push(...await this.readLog(BOARD, since.board, bh));
    if (userOk) events.push(...await this.readLog(uScope, since.user, uh));
    events.sort((a, b) => a.at - b.at || (a.scope === b.scope ? a.seq - b.seq : 0));
    if (!boardOk) {
      return {
        cursor,
        recovered: false,
        events: userOk ? events : [],
        snapshot: { machines: await this.listMachines() },
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
      start: ["log", scope, after + 1],
      end: ["log", scope, upTo + 1],
    });
    for await (const e of iter) out.push(e.value);
    return out;
  }

  /** Board events after `after` (used by a socket that noticed a gap). */
  readBoard(after: number, upTo: number): Promise<LogEvent[]> {
    return this.readLog(BOARD, after, upTo);
  }

  /** A user's own events after `after`. */
  readUser(userId: string, after: number, upTo: number): Promise<LogEvent[]> {
    return this.readLog(userScope(userId), after, upTo);
  }

  /**
   * Delete events older than `retentionMs` from every log and raise the
   * floors, so older cursors get a snapshot. Returns how many were deleted.
   */
  async trimLogs(retentionMs = DEFAULT_RETENTION_MS, now = Date.now()): Promise<number> {
    const cutoff = now - retentionMs;
    const lastTrimmed = new Map<string, number>();
    let deleted = 0;
    let op = this.kv.atomic();
    let inOp = 0;
    for await (const e of this.kv.list<LogEvent>({ prefix: ["log"] })) {
      if (e.value.at >= cutoff) continue;
      const scope = e.key[1] as string;
      lastTrimmed.set(scope, Math.max(lastTrimmed.get(scope) ?? 0, e.value.seq));
      op.delete(e.key);
      deleted++;
      if (++inOp >= 500) {
        await op.commit();
        op = this.kv.atomic();
        inOp = 0;
      }
    }
    for (const [scope, seq] of lastTrimmed) {
      op.set(["log_floor", scope], seq);
      if (++inOp >= 500) {
        await op.commit();
        op = this.kv.atomic();
        inOp = 0;
      }
    }
    await op.commit();
    return deleted;
  }

  // ───────────────────────────── users & sessions ─────────────────────────────

  /** A user by id. */
  async getUser(id: string): Promise<User | null> {
    return (await this.kv.get<User>(["users", id])).value;
  }

  /** A user by login id (case-insensitive). */
  async getUserByLogin(loginId: string): Promise<User | null> {
    const id = (await this.kv.get<string>(["users_by_login", loginId.toLowerCase()])).value;
    return id ? await this.getUser(id) : null;
  }

  /** All users, by room then name. */
  async listUsers(): Promise<User[]> {
    const out: User[] = [];
    for await (const e of this.kv.list<User>({ prefix: ["users"] })) out.push(e.value);
    return out.sort((a, b) => a.room.localeCompare(b.room) || a.name.localeCompare(b.name));
  }

  /**
   * Create a user. With `inviteCode`, the invite is redeemed in the same
   * atomic operation (checked: not revoked, not expired, uses left).
   */
  async createUser(
    input: { loginId: string; passwordHash: string; name: string; room: string; role: Role },
    inviteCode?: string,
  ): Promise<User> {
    return await retryCommit(async () => {
      const loginKey = K.userByLogin(input.loginId);
      const loginEntry = await this.kv.get<string>(loginKey);
      if (loginEntry.value) {
        throw new StoreError("login_taken", "That login id is already taken.");
      }
      const user: User = {
        id: newId(12),
        loginId: input.loginId,
        name: input.name,
        room: input.room,
        role: input.role,
        disabled: false,
        passwordHash: input.passwordHash,
        createdAt: Date.now(),
      };
      const op = this.kv.atomic().check(loginEntry).set(loginKey, user.id).set(
        ["users", user.id],
        user,
      );
      if (inviteCode !== undefined) {
        const inv = await this.kv.get<Invite>(["invites", inviteCode.trim().toUpperCase()]);
        const i = inv.value;
        if (!i || i.revoked || i.uses >= i.maxUses || (i.expiresAt && i.expiresAt < Date.now())) {
          throw new StoreError("invalid_invite", "That invite code is not valid.", 400);
        }
        op.check(inv).set(inv.key, { ...i, uses: i.uses + 1 });
      }
      return await tryCommit(op) ? user : null;
    });
  }

  /** Enable or disable a user; disabling revokes all their sessions. */
  async setUserDisabled(id: string, disabled: boolean): Promise<User> {
    const user = await retryCommit(async () => {
      const entry = await this.kv.get<User>(K.user(id));
      if (!entry.value) throw new StoreError("not_found", "No such user.", 404);
      const user = { ...entry.value, disabled };
      return await tryCommit(this.kv.atomic().check(entry).set(entry.key, user)) ? user : null;
    });
    if (disabled) await this.revokeSessionsOf(id);
    return user;
  }

  /** Update a user's password hash or role (used by seeding). */
  async updateUser(user: User): Promise<void> {
    await this.kv.set(["users", user.id], user);
  }

  /** Start a session; returns the secret token for the cookie. */
  async createSession(userId: string, userAgent?: string): Promise<string> {
    const token = newToken();
    const hash = await sha256Hex(token);
    const now = Date.now();
    const session: Session = {
      userId,
      createdAt: now,
      expiresAt: now + SESSION_TTL_MS,
      userAgent: userAgent?.slice(0, 200),
    };
    await this.kv.atomic()
      .set(["sessions", hash], session, { expireIn: SESSION_TTL_MS })
      .set(["sessions_by_user", userId, hash], true, { expireIn: SESSION_TTL_MS })
      .commit();
    return token;
  }

  /** The session and user for a cookie token, or null (expired, disabled…). */
  async getSession(token: string): Promise<{ session: Session; user: User; id: string } | null> {
    if (!token || token.length > 100) return null;
    const hash = await sha256Hex(token);
    const s = (await this.kv.get<Session>(["sessions", hash])).value;
    if (!s || s.expiresAt < Date.now()) return null;
    const user = await this.getUser(s.userId);
    if (!user || user.disabled) return null;
    return { session: s, user, id: hash };
  }

  /** End one session. */
  async deleteSession(token: string): Promise<void> {
    const hash = await sha256Hex(token);
    const s = (await this.kv.get<Session>(["sessions", hash])).value;
    const op = this.kv.atomic().delete(["sessions", hash]);
    if (s) op.delete(["sessions_by_user", s.userId, hash]);
    await op.commit();
  }

  /** End every session of a user. */
  async revokeSessionsOf(userId: string): Promise<void> {
    for await (const e of this.kv.list({ prefix: ["sessions_by_user", userId] })) {
      await this.kv.atomic().delete(e.key).delete(["sessions", e.key[2] as string]).commit();
    }
  }

  // ───────────────────────────── invites ─────────────────────────────

  /** Create an invite code (random unless given). */
  async createInvite(
    createdBy: string,
    opts: { code?: string; maxUses?: number; expiresAt?: number } = {},
  ): Promise<Invite> {
    const invite: Invite = {
      code: (opts.code ?? newInviteCode()).trim().toUpperCase(),
      createdAt: Date.now(),
      createdBy,
      maxUses: opts.maxUses ?? 1000,
      uses: 0,
      revoked: false,
      expiresAt: opts.expiresAt,
    };
    const res = await this.kv.atomic().check({ key: ["invites", invite.code], versionstamp: null })
      .set(["invites", invite.code], invite).commit();
    if (!res.ok) throw new StoreError("invite_exists", "That invite code exists already.");
    return invite;
  }

  /** All invite codes, newest first. */
  async listInvites(): Promise<Invite[]> {
    const out: Invite[] = [];
    for await (const e of this.kv.list<Invite>({ prefix: ["invites"] })) out.push(e.value);
    return out.sort((a, b) => b.createdAt - a.createdAt);
  }

  /** Revoke an invite code. */
  async revokeInvite(code: string): Promise<Invite> {
    return await retryCommit(async () => {
      const entry = await this.kv.get<Invite>(K.invite(code.trim().toUpperCase()));
      if (!entry.value) throw new StoreError("not_found", "No such invite code.", 404);
      const inv = { ...entry.value, revoked: true };
      return await tryCommit(this.kv.atomic().check(entry).set(entry.key, inv)) ? inv : null;
    });
  }

  // ───────────────────────────── presence ─────────────────────────────

  /** Record a connection's presence (heartbeat). */
  async setPresence(userId: string, connId: string, p: Presence): Promise<void> {
    await this.kv.set(["presence", userId, connId], p, { expireIn: PRESENCE_TTL_MS * 2 });
  }

  /** Forget a connection. */
  async clearPresence(userId: string, connId: string): Promise<void> {
    await this.kv.delete(["presence", userId, connId]);
  }

  /** Whether the user has any live connection, and any visible page. */
  async getPresence(
    userId: string,
    now = Date.now(),
  ): Promise<{ connected: boolean; visible: boolean }> {
    let connected = false;
    let visible = false;
    for await (const e of this.kv.list<Presence>({ prefix: ["presence", userId] })) {
      if (e.value.at < now - PRESENCE_TTL_MS) continue; // expireIn is lazy: filter ourselves
      connected = true;
      if (e.value.visible) visible = true;
    }
    return { connected, visible };
  }

  /** Delete stale presence rows (cron sweep). */
  async sweepPresence(now = Date.now()): Promise<number> {
    let n = 0;
    for await (const e of this.kv.list<Presence>({ prefix: ["presence"] })) {
      if (e.value.at < now - PRESENCE_TTL_MS) {
        await this.kv.delete(e.key);
        n++;
      }
    }
    return n;
  }

  // ───────────────────────────── rate limits ─────────────────────────────

  /**
   * Count one hit against `key` in a fixed window. Returns whether the hit is
   * within `limit`, and when the window resets.
   */
  async hitRate(
    key: string,
    limit: number,
    windowMs: number,
  ): Promise<{ allowed: boolean; retryAfterMs: number }> {
    return await retryCommit(async () => {
      const now = Date.now();
      const entry = await this.kv.get<RateWindow>(K.rate(key));
      const w = entry.value && entry.value.resetAt > now
        ? entry.value
        : { count: 0, resetAt: now + windowMs };
      if (w.count >= limit) return { allowed: false, retryAfterMs: w.resetAt - now };
      const op = this.kv.atomic().check(entry).set(K.rate(key), {
        count: w.count + 1,
        resetAt: w.resetAt,
      }, { expireIn: windowMs });
      return await tryCommit(op) ? { allowed: true, retryAfterMs: 0 } : null;
    }, { attempts: 20 }).catch(() => ({ allowed: false, retryAfterMs: 1000 }));
  }

  // ───────────────────────────── preferences ─────────────────────────────

  /** A user's stored preferences, or null. */
  async getPreferences(userId: string): Promise<Preferences | null> {
    return (await this.kv.get<Preferences>(["prefs", userId])).value;
  }

  /** Store a user's preferences. */
  async setPreferences(userId: string, prefs: Preferences): Promise<void> {
    await this.kv.set(["prefs", userId], prefs);
  }

  // ───────────────────────────── inbox ─────────────────────────────

  /**
   * Put a notification in the user's inbox and append a `notification` event
   * to their log, once: returns null when that notification id is already
   * there (a redelivered queue message).
   */
  async addToInbox(userId: string, item: InboxItem): Promise<LogEvent | null> {
    const key = K.inboxItem(userId, item.id);
    return await retryCommit(async () => {
      const [existing, user, feed] = await this.kv.getMany<[InboxItem, number, number]>([
        key,
        ...this.userHeadKeys(userId),
      ]);
      if (existing.value) return { event: null };
      const op = this.kv.atomic().check(existing).set(key, item);
      const [event] = this.appendUserOp(op, userId, [{ type: "notification", data: { item } }], {
        user,
        feed,
      });
      return await tryCommit(op) ? { event } : null;
    }, { attempts: 50, busyMessage: "The inbox is busy; try again." }).then((r) => r.event);
  }

  /** A user's inbox, newest first (at most `limit`). */
  async listInbox(userId: string, limit = 100): Promise<InboxItem[]> {
    const out: InboxItem[] = [];
    for await (const e of this.kv.list<InboxItem>({ prefix: ["inbox", userId] })) out.push(e.value);
    return out.sort((a, b) => b.createdAt - a.createdAt).slice(0, limit);
  }

  /** How many of a user's inbox items are unread. */
  async unreadCount(userId: string): Promise<number> {
    let n = 0;
    for await (const e of this.kv.list<InboxItem>({ prefix: ["inbox", userId] })) {
      if (!e.value.readAt) n++;
    }
    return n;
  }

  /** One inbox item. */
  async getInboxItem(userId: string, id: string): Promise<InboxItem | null> {
    return (await this.kv.get<InboxItem>(["inbox", userId, id])).value;
  }

  /** Mark items (or all, when `ids` is undefined) read; appends `inbox.read`. */
  async markRead(userId: string, ids?: string[]): Promise<{ updated: number; events: LogEvent[] }> {
    const now = Date.now();
    const items = await this.listInbox(userId, 10_000);
    const want = ids ? new Set(ids) : null;
    const changed = items.filter((i) => !i.readAt && (!want || want.has(i.id)));
    for (let i = 0; i < changed.length; i += 400) {
      const op = this.kv.atomic();
      for (const item of changed.slice(i, i + 400)) {
        op.set(["inbox", userId, item.id], { ...item, readAt: now });
      }
      await op.commit();
    }
    if (!changed.length) return { updated: 0, events: [] };
    const events = await this.appendUserEvents(userId, [{
      type: "inbox.read",
      data: { ids: changed.map((i) => i.id), at: now },
    }]);
    return { updated: changed.length, events };
  }

  /** Keep only the newest `keep` inbox items per user (cron sweep). */
  async trimInboxes(keep = 200): Promise<number> {
    const byUser = new Map<string, InboxItem[]>();
    for await (const e of this.kv.list<InboxItem>({ prefix: ["inbox"] })) {
      const uid = e.key[1] as string;
      const list = byUser.get(uid) ?? [];
      list.push(e.value);
      byUser.set(uid, list);
    }
    let n = 0;
    for (const [uid, items] of byUser) {
      items.sort((a, b) => b.createdAt - a.createdAt);
      for (const old of items.slice(keep)) {
        await this.kv.delete(["inbox", uid, old.id]);
        n++;
      }
    }
    return n;
  }

  // ───────────────────────────── devices ─────────────────────────────

  /** A user's devices. */
  async listDevices(userId: string): Promise<Device[]> {
    const out: Device[] = [];
    for await (const e of this.kv.list<Device>({ prefix: ["devices", userId] })) out.push(e.value);
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  /** One device. */
  async getDevice(userId: string, deviceId: string): Promise<Device | null> {
    return (await this.kv.get<Device>(["devices", userId, deviceId])).value;
  }

  /**
   * Register or refresh a device (SPEC: upsert by deviceId and endpoint; a new
   * endpoint replaces the old one, the same one just touches lastSeenAt). Any
   * other device of this user with the same endpoint/token is removed.
   */
  async upsertDevice(
    userId: string,
    deviceId: string,
    input: Pick<Device, "kind" | "endpoint" | "keys" | "token"> & { label?: string },
  ): Promise<{ device: Device; created: boolean; replaced: boolean }> {
    const now = Date.now();
    const key = ["devices", userId, deviceId];
    return await retryCommit(async () => {
      const entry = await this.kv.get<Device>(key);
      const old = entry.value;
      const sameTarget = old && old.kind === input.kind && old.endpoint === input.endpoint &&
        old.token === input.token && old.keys?.auth === input.keys?.auth &&
        old.keys?.p256dh === input.keys?.p256dh;
      const device: Device = sameTarget
        ? { ...old, lastSeenAt: now, label: input.label ?? old.label }
        : {
          deviceId,
          userId,
          kind: input.kind,
          endpoint: input.endpoint,
          keys: input.keys,
          token: input.token,
          label: input.label ?? old?.label ?? "",
          createdAt: old?.createdAt ?? now,
          lastSeenAt: now,
          failures: 0,
        };
      const op = this.kv.atomic().check(entry).set(key, device);
      for (const other of await this.listDevices(userId)) {
        if (other.deviceId === deviceId) continue;
        const dup = (input.endpoint && other.endpoint === input.endpoint) ||
          (input.token && other.token === input.token);
        if (dup) op.delete(["devices", userId, other.deviceId]);
      }
      return await tryCommit(op) ? { device, created: !old, replaced: !!old && !sameTarget } : null;
    });
  }

  /** Delete a device; true when it existed. */
  async deleteDevice(userId: string, deviceId: string): Promise<boolean> {
    const entry = await this.kv.get(["devices", userId, deviceId]);
    if (!entry.value) return false;
    await this.kv.delete(entry.key);
    return true;
  }

  /**
   * Record a delivery outcome on a device (if it still exists), as
   * {@link deviceAfter} says (nothing for a success on a healthy device).
   */
  async recordDeviceResult(
    userId: string,
    deviceId: string,
    outcome: DeliveryOutcome,
  ): Promise<void> {
    await retryCommit(async () => {
      const entry = await this.kv.get<Device>(K.device(userId, deviceId));
      if (!entry.value) return true;
      const d = deviceAfter(entry.value, outcome, Date.now());
      if (!d) return true;
      return await tryCommit(this.kv.atomic().check(entry).set(entry.key, d)) ? true : null;
    }, { attempts: 10 }).catch(() => {});
  }

  /**
   * Record that an open page showed these notifications (in-app delivery
   * confirmed): one atomic write for the whole list. The caller passes only
   * ids it delivered to that page.
   */
  async ackNotifications(userId: string, ids: string[]): Promise<void> {
    if (!ids.length) return;
    const op = this.kv.atomic();
    for (const id of ids) {
      op.set(K.acked(userId, id), { at: Date.now() }, { expireIn: 86_400_000 });
    }
    await op.commit();
  }

  // ───────────────────────────── watches & nudges ─────────────────────────────

  /** Watch for a free machine of `kind`. */
  async addWatch(userId: string, kind: MachineKind): Promise<void> {
    await this.kv.set(["watches", kind, userId], { at: Date.now() });
  }

  /** Stop watching; true when there was a watch. */
  async removeWatch(userId: string, kind: MachineKind): Promise<boolean> {
    const e = await this.kv.get(["watches", kind, userId]);
    if (!e.value) return false;
    await this.kv.delete(e.key);
    return true;
  }

  /** The kinds a user watches. */
  async watchesOf(userId: string): Promise<MachineKind[]> {
    const kinds: MachineKind[] = [];
    for (const kind of ["washer", "dryer"] as const) {
      if ((await this.kv.get(["watches", kind, userId])).value) kinds.push(kind);
    }
    return kinds;
  }

  /**
   * Record a nudge if the cooldown allows it, and owe the owner the
   * notification, in one atomic commit. `refuse` gets the machine (settled
   * to now) and the last nudge time, and returns a refusal or null.
   */
  async nudge<R>(
    machineId: string,
    senderId: string,
    refuse: (m: Machine, lastAt: number | undefined) => R | null,
    spec: (m: Machine) => NotificationSpec,
  ): Promise<R | null> {
    const key = K.nudge(machineId, senderId);
    return await retryCommit(async () => {
      const now = Date.now();
      const [mEntry, entry] = await this.kv.getMany<[Machine, { at: number }]>([
        K.machine(machineId),
        key,
      ]);
      if (!mEntry.value) throw new StoreError("not_found", "No such machine.", 404);
      const m = settle(mEntry.value, now).machine;
      const refusal = refuse(m, entry.value?.at);
      if (refusal) return { refusal };
      const op = this.kv.atomic().check(entry).set(key, { at: now }, {
        expireIn: 24 * 3600_000,
      });
      this.addDue(op, [dueNow({ t: "notify", userId: m.ownerId!, n: spec(m) }, now)], now);
      return await tryCommit(op) ? { refusal: null } : null;
    }).then((r) => r.refusal);
  }

  /** Users of a machine within the last 24 h. */
  async machineUsers(machineId: string, now = Date.now()): Promise<string[]> {
    const out: string[] = [];
    for await (const e of this.kv.list<{ at: number }>({ prefix: ["machine_users", machineId] })) {
      if (e.value.at > now - 24 * 3600_000) out.push(e.key[2] as string);
    }
    return out;
  }

  // ───────────────────────────── notices ─────────────────────────────

  /** Store a new notice and owe its sending at `sendAt`, in one commit. */
  async createNotice(n: Notice): Promise<void> {
    const op = this.kv.atomic().check({ key: K.notice(n.id), versionstamp: null })
      .set(K.notice(n.id), n);
    this.addDue(op, [dueNow({ t: "notice", noticeId: n.id }, n.sendAt)]);
    if (!(await op.commit()).ok) throw new StoreError("notice_exists", "That notice exists.");
  }

  /** One notice. */
  async getNotice(id: string): Promise<Notice | null> {
    return (await this.kv.get<Notice>(["notices", id])).value;
  }

  /** All notices, newest first. */
  async listNotices(limit = 100): Promise<Notice[]> {
    const out: Notice[] = [];
    for await (const e of this.kv.list<Notice>({ prefix: ["notices"] })) out.push(e.value);
    return out.sort((a, b) => b.createdAt - a.createdAt).slice(0, limit);
  }

  /**
   * Move a notice from one status to another atomically; returns the updated
   * notice, or null when it was not in `from` (already sent, cancelled…).
   */
  async transitionNotice(
    id: string,
    from: Notice["status"][],
    to: Notice["status"],
    patch: Partial<Notice> = {},
  ): Promise<Notice | null> {
    const out = await retryCommit(async () => {
      const entry = await this.kv.get<Notice>(K.notice(id));
      if (!entry.value || !from.includes(entry.value.status)) return { n: null };
      const n = { ...entry.value, ...patch, status: to };
      return await tryCommit(this.kv.atomic().check(entry).set(entry.key, n)) ? { n } : null;
    });
    return out.n;
  }

  // ───────────────────────────── statistics ─────────────────────────────

  /** Add to delivery counters of several scopes (e.g. a notice and "all"). */
  async countDelivery(
    scopes: string[],
    delta: Partial<Record<(typeof STAT_FIELDS)[number], number>>,
  ): Promise<void> {
    const op = this.kv.atomic();
    for (const scope of scopes) {
      for (const [field, n] of Object.entries(delta)) {
        if (n) op.sum(["stats", scope, field], BigInt(n));
      }
    }
    await op.commit();
  }

  /** Delivery counters of one scope. */
  async getStats(scope: string): Promise<DeliveryStats> {
    const keys = STAT_FIELDS.map((f) => ["stats", scope, f]);
    const entries = await this.kv.getMany<Deno.KvU64[]>(keys);
    const out = {} as DeliveryStats;
    STAT_FIELDS.forEach((f, i) => (out[f] = Number(entries[i].value?.value ?? 0n)));
    return out;
  }

  /**
   * The last "our push setup is wrong" alarm (a push service answered 401/403
   * to our VAPID or FCM credentials) within a week, or null. Admins see it.
   */
  async pushAlarm(now = Date.now()): Promise<PushAlarmRecord | null> {
    const a = (await this.kv.get<PushAlarmRecord>(K.alarm("push"))).value;
    return a && now - a.at < 7 * 86_400_000 ? a : null;
  }

  // ───────────────────────────── config ─────────────────────────────

  /** A server-side config value (e.g. generated VAPID keys). */
  async getConfig<T>(name: string): Promise<T | null> {
    return (await this.kv.get<T>(["config", name])).value;
  }

  /** Set a config value only if absent; returns the value in force. */
  async initConfig<T>(name: string, value: T): Promise<T> {
    const res = await this.kv.atomic().check({ key: ["config", name], versionstamp: null })
      .set(["config", name], value).commit();
    return res.ok ? value : (await this.getConfig<T>(name))!;
  }
}

/** Delivery mark of one notification on one device of one user. */
export interface SentMark {
  status: "sent";
  at: number;
  /** What the push service answered (ok, rejected, alarm). */
  outcome: string;
}

/** The record of a push alarm (see {@link Store.pushAlarm}). */
export interface PushAlarmRecord {
  at: number;
  httpStatus: number | null;
  detail: string;
  kind: "webpush" | "fcm";
}

/** Fields of {@link DeliveryStats}. */
export const STAT_FIELDS = ["recipients", "inApp", "pushed", "failed", "pruned", "held"] as const;

/**
 * The event of a time-driven change. A hold that expired clears the machine,
 * so the event names whose hold it was (the holder is told).
 */
function settledDraft(prev: Machine, next: Machine, type: MachineEventType): Draft {
  return type === "machine.hold_expired"
    ? { type, machine: next, data: { ownerId: prev.ownerId, useId: prev.useId } }
    : { type, machine: next };
}

/** An event before it gets its sequence number. */
export type Draft = Omit<LogEvent, "seq" | "scope" | "at">;
