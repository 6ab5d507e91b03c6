/**
 * The inbox list after it is fetched again (after a reconnect whose
 * catch-up could not be replayed): what arrived live while the fetch ran is
 * kept on top, and what was read meanwhile, here or on another device, stays
 * read. A read is never undone, so every read this page has seen is kept and
 * applied to any later answer (the answer may have been taken before the
 * read was committed). No I/O and no signals: islands/Inbox.tsx keeps the
 * state.
 * @module
 */
import type { InboxItem } from "../lib/types.ts";

/** Read times by item id, as this page learnt them (its own reads and `inbox.read` events). */
export type Reads = Map<string, number>;

/** Remember that `ids` were read at `at` (the first time wins). */
export function noteReads(reads: Reads, ids: Iterable<string>, at: number): void {
  for (const id of ids) if (!reads.has(id)) reads.set(id, at);
}

/** Mark the unread items of `items` that `reads` knows of as read. */
export function applyReads(items: InboxItem[], reads: Reads): InboxItem[] {
  return items.map((i) => !i.readAt && reads.has(i.id) ? { ...i, readAt: reads.get(i.id)! } : i);
}

/**
 * The list after a fetch: items shown now that the answer does not have and
 * that are not older than its newest (they arrived live meanwhile) on top of
 * the answer, with every read the page knows of applied.
 */
export function mergeFetched(
  current: InboxItem[],
  fetched: InboxItem[],
  reads: Reads,
): InboxItem[] {
  const have = new Set(fetched.map((i) => i.id));
  const newest = fetched[0]?.createdAt ?? 0;
  const live = current.filter((i) => !have.has(i.id) && i.createdAt >= newest);
  return applyReads([...live, ...fetched], reads);
}
