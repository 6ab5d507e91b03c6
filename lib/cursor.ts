/**
 * Resume cursors. A cursor names a position in two logs at once, the
 * building board and the user's own inbox log, and carries the store's epoch,
 * so a cursor from before a store reset is recognised and answered with a
 * snapshot instead of wrong events: `"<epoch>:<boardSeq>:<userSeq>"`.
 * @module
 */

/** A parsed cursor. */
export interface Cursor {
  epoch: string;
  board: number;
  user: number;
}

const CURSOR_RE = /^([A-Za-z0-9_-]{1,32}):(\d{1,15}):(\d{1,15})$/;

/** Parse a cursor string; null when absent or malformed. */
export function parseCursor(s: string | null | undefined): Cursor | null {
  if (!s) return null;
  const m = CURSOR_RE.exec(s);
  if (!m) return null;
  return { epoch: m[1], board: Number(m[2]), user: Number(m[3]) };
}

/** Format a cursor. */
export function formatCursor(c: Cursor): string {
  return `${c.epoch}:${c.board}:${c.user}`;
}

/** True when `s` is syntactically a cursor (used by request validation). */
export function isCursor(s: string): boolean {
  return CURSOR_RE.test(s);
}
