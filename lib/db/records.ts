/**
 * The shapes the store keeps besides the domain types of `lib/types.ts`
 * (events, sessions, invites, presence, …) and its shared constants.
 * @module
 */
import type { Machine } from "../types.ts";
import type { WaitlistView } from "../board_view.ts";

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

/** An event before it gets its sequence number. */
export type Draft = Omit<LogEvent, "seq" | "scope" | "at">;

/** An entry of a building's user-event feed (fan-out to that user's sockets). */
export interface FeedEntry {
  seq: number;
  userId: string;
  /** The user-log event to show on that user's open sockets. */
  event?: LogEvent;
  /**
   * Close that user's sockets (all, or only those of one session, or only
   * those open on one building's board: admin rights to it removed).
   */
  disconnect?: { session?: string; reason: string; building?: string };
  /**
   * (Control feed) that user's record changed: instances drop what they
   * cached of it (lib/session_gate.ts).
   */
  userChanged?: true;
}

/** A login session (stored under the SHA-256 of its token). */
export interface Session {
  userId: string;
  createdAt: number;
  expiresAt: number;
  userAgent?: string;
}

/** An invite code: registering with it makes a resident (or an admin) of its building. */
export interface Invite {
  code: string;
  /** The building it admits to. */
  buildingId: string;
  /** What registering makes: a resident, or an admin of the building. */
  role: "resident" | "admin";
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
  /** How many sockets the user has open on that instance (rows before 2026-12-04: one each). */
  sockets?: number;
}

/** A fixed-window rate-limit counter. */
export interface RateWindow {
  count: number;
  resetAt: number;
}

/** Result of a successful machine command. */
export interface CommandResult {
  machine: Machine;
  /** The machine as it was before (after settling time-driven changes, before the command). */
  before: Machine;
  events: LogEvent[];
  /**
   * The actor's cursor at this commit: the board at its last event, the
   * actor's own log as read by the command (never ahead of what they have).
   */
  cursor?: string;
}

/** What a resume request gets back. */
export interface SyncResult {
  cursor: string;
  /** True when every missed event is in `events`; false when `snapshot` replaces them. */
  recovered: boolean;
  events: LogEvent[];
  snapshot?: BoardSnapshot;
  /** True when the user's own log could not be replayed (refetch the inbox). */
  inboxReset: boolean;
}

/** A building's machines and waitlists, as a hello without a usable cursor gets them. */
export interface BoardSnapshot {
  machines: Machine[];
  waitlists: WaitlistView[];
}

/**
 * Where {@link LogStore.sync} may keep the last snapshot it read of a
 * building, keyed by the board head read before it (every change of a
 * machine or a queue appends a board event, so an unchanged head means an
 * unchanged board). The hub keeps one per followed building, so a burst of
 * new sockets reads the machines once per change instead of once per socket.
 * The snapshot is shared: nobody may modify it.
 */
export interface SnapshotMemo {
  /** `json`: the snapshot serialised, filled in by whoever sends it first. */
  memo?: { head: number; snapshot: BoardSnapshot; json?: string };
}

/** Delivery mark of one notification on one device of one user. */
export interface SentMark {
  status: "sent";
  at: number;
  /** What the push service answered (ok, rejected, alarm). */
  outcome: string;
}

/** The record of a push alarm (a push service refused our credentials). */
export interface PushAlarmRecord {
  at: number;
  httpStatus: number | null;
  detail: string;
  kind: "webpush" | "fcm";
}

/** Fields of the delivery counters. */
export const STAT_FIELDS = ["recipients", "inApp", "pushed", "failed", "pruned", "held"] as const;

/** Session lifetime. */
export const SESSION_TTL_MS = 30 * 24 * 3600_000;
/** Presence older than this is ignored. */
export const PRESENCE_TTL_MS = 60_000;
/** Events are kept at least this long. */
export const DEFAULT_RETENTION_MS = 24 * 3600_000;
/** Beyond this many missed events a snapshot is cheaper than a replay. */
export const MAX_REPLAY = 5_000;
/** Default "ending soon" lead (minutes) when a user has no preferences. */
export const DEFAULT_LEAD_MINUTES = 5;
/** Retry options of board commands. */
export const BUSY_BOARD = { busyMessage: "The board is busy; try again." };
/** Retry options of commits to a user's inbox and log (many notifications may land at once). */
export const BUSY_INBOX = { attempts: 50, busyMessage: "The inbox is busy; try again." };
/** Default time zone of a building. */
export const DEFAULT_TIME_ZONE = "Asia/Seoul";
