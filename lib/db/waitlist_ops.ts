/**
 * The waitlist's pure parts and the operations a machine commit adds for it
 * (`lib/db/machines.ts`: taking a machine leaves the queue; a lapsed offer
 * counts against its holder). The queries live in `lib/db/waitlist.ts`.
 * @module
 */
import { K } from "../keys.ts";
import type { MachineKind } from "../types.ts";
import type { Draft } from "./records.ts";
import type { WaitlistView } from "../board_view.ts";

export type { WaitlistView };

/** Most residents one queue holds. */
export const WAITLIST_MAX = 100;

/** Offers a resident may let lapse in a row before they are moved to the back. */
export const LAPSE_LIMIT = 2;

/** A resident's place in a queue: the index entry `["waiting", bid, userId, kind]`. */
export interface WaitRef {
  room: string;
  /** The queue entry's key part: join time, then the user id (sorts by time). */
  pos: string;
  /** Offers let lapse in a row (reset by moving to the back). */
  lapses: number;
}

/** The queue position for a resident joining at `at`. */
export function queuePos(at: number, userId: string): string {
  return `${String(at).padStart(15, "0")}:${userId}`;
}

/** The board event of a queue change. */
export function waitDraft(
  type: "waitlist.joined" | "waitlist.left",
  room: string,
  kind: MachineKind,
  userId: string,
): Draft {
  return { type, data: { room, kind, userId } };
}

/**
 * Add leaving a queue to `op` (the index entry `idx` is checked); returns
 * the board event to append in the same commit.
 */
export function leaveOps(
  op: Deno.AtomicOperation,
  bid: string,
  userId: string,
  kind: MachineKind,
  idx: Deno.KvEntry<WaitRef>,
): Draft[] {
  op.check(idx).delete(idx.key).delete(K.waitEntry(bid, idx.value.room, kind, idx.value.pos));
  return [waitDraft("waitlist.left", idx.value.room, kind, userId)];
}

/**
 * Add a lapsed offer to `op`: the resident keeps their place, unless they
 * let {@link LAPSE_LIMIT} offers lapse in a row: then they go to the back.
 * Returns the board events to append in the same commit.
 */
export async function lapseOps(
  kv: Deno.Kv,
  op: Deno.AtomicOperation,
  bid: string,
  userId: string,
  kind: MachineKind,
  now: number,
): Promise<Draft[]> {
  const idx = await kv.get<WaitRef>(K.waiting(bid, userId, kind));
  if (!idx.value) return [];
  const lapses = idx.value.lapses + 1;
  op.check(idx);
  if (lapses < LAPSE_LIMIT) {
    op.set(idx.key, { ...idx.value, lapses });
    return [];
  }
  const pos = queuePos(now, userId);
  const room = idx.value.room;
  op.delete(K.waitEntry(bid, room, kind, idx.value.pos))
    .set(K.waitEntry(bid, room, kind, pos), { userId, at: now })
    .set(idx.key, { room, pos, lapses: 0 } satisfies WaitRef);
  return [
    waitDraft("waitlist.left", room, kind, userId),
    waitDraft("waitlist.joined", room, kind, userId),
  ];
}
