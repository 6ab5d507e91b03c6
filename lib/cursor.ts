/**
 * Resume cursors. A cursor names a position in two logs at once, a
 * building's board and the user's own log, and carries the store's epoch
 * and the building, so a cursor from before a store reset, from another
 * building or from the single-building release is recognised and answered
 * with a snapshot instead of wrong events:
 * `"<epoch>:<buildingId>:<boardSeq>:<userSeq>"`. The single-building
 * release's `"<epoch>:<boardSeq>:<userSeq>"` still parses (its building is
 * `""`, which names no board: its board part always gets a snapshot).
 * @module
 */

/** A parsed cursor. */
export interface Cursor {
  epoch: string;
  /** The building whose board `board` counts in ("" for a cursor of the old release). */
  building: string;
  board: number;
  user: number;
}

const CURSOR_RE = /^([A-Za-z0-9_-]{1,32}):(?:([0-9a-z]{1,32}):)?(\d{1,15}):(\d{1,15})$/;

/** Parse a cursor string; null when absent or malformed. */
export function parseCursor(s: string | null | undefined): Cursor | null {
  if (!s) return null;
  const m = CURSOR_RE.exec(s);
  if (!m) return null;
  return { epoch: m[1], building: m[2] ?? "", board: Number(m[3]), user: Number(m[4]) };
}

/** Format a cursor. */
export function formatCursor(c: Cursor): string {
  return `${c.epoch}:${c.building}:${c.board}:${c.user}`;
}

/** True when `s` is syntactically a cursor (used by request validation). */
export function isCursor(s: string): boolean {
  return CURSOR_RE.test(s);
}

/**
 * The cursor after event `e` (as the server sends it): its seq becomes the
 * board's or the user log's position, never moving back. Protocol-2 clients
 * (`/ws?v=2`) keep their cursor with it, since `event` messages then carry
 * none. A cursor that does not parse, or names no building, is kept as it is.
 */
export function advanceCursor(cursor: string, e: { scope: string; seq: number }): string {
  const c = parseCursor(cursor);
  if (!c || !c.building) return cursor;
  if (e.scope === "board") c.board = Math.max(c.board, e.seq);
  else c.user = Math.max(c.user, e.seq);
  return formatCursor(c);
}

/**
 * The protocol version a client asks for with `/ws?v=<n>`. Version 2: `event`
 * messages carry no cursor (every socket is sent the same bytes for an
 * event); the client keeps its cursor with {@link advanceCursor}. Without `v`, or
 * with any other value, version 1 (a cursor in every `event`). Kept here
 * rather than in lib/protocol.ts: the browser imports it, and
 * lib/protocol.ts would bring zod into the page's bundle.
 */
export const WS_PROTOCOL = 2;

const heads = new Map<string, string>();

/**
 * The JSON string of a cursor up to its sequence numbers, open at the end:
 * `"<epoch>:<building>:`, made once per epoch and building (an event frame
 * is sent to every socket: `head + board + ":" + user + "\""`).
 */
export function cursorHead(epoch: string, building: string): string {
  const key = `${epoch}\u0000${building}`;
  let head = heads.get(key);
  if (head === undefined) {
    const full = JSON.stringify(formatCursor({ epoch, building, board: 0, user: 0 }));
    head = full.slice(0, full.length - 4); // without `0:0"`
    heads.set(key, head);
  }
  return head;
}
