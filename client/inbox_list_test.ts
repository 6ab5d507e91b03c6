import assert from "node:assert/strict";
import { applyReads, mergeFetched, noteReads, type Reads } from "./inbox_list.ts";
import type { InboxItem } from "../lib/types.ts";

const item = (id: string, createdAt: number, readAt?: number): InboxItem => ({
  id,
  kind: "notice",
  title: id,
  body: "",
  url: "/inbox",
  tag: id,
  createdAt,
  ...(readAt ? { readAt } : {}),
});

Deno.test("mergeFetched: an answer taken before 'mark all read' was committed does not bring the items back as unread", () => {
  const reads: Reads = new Map();
  const shown = [item("b", 2), item("a", 1)];
  // "Mark all read" on the page; meanwhile a refetch was answered from before that read.
  noteReads(reads, shown.map((i) => i.id), 50);
  const merged = mergeFetched(shown, [item("b", 2), item("a", 1)], reads);
  assert.deepEqual(merged.map((i) => [i.id, i.readAt]), [["b", 50], ["a", 50]]);
});

Deno.test("mergeFetched: live arrivals stay on top, older items the answer lacks go, server reads stay", () => {
  const reads: Reads = new Map();
  noteReads(reads, ["x"], 40); // an `inbox.read` event from another device
  const current = [item("new", 9), item("gone", 1)];
  const fetched = [item("c", 5, 30), item("x", 4), item("y", 3)];
  const merged = mergeFetched(current, fetched, reads);
  assert.deepEqual(merged.map((i) => [i.id, i.readAt ?? null]), [
    ["new", null],
    ["c", 30],
    ["x", 40],
    ["y", null],
  ]);
  assert.deepEqual(mergeFetched([], [], reads), []);
});

Deno.test("noteReads / applyReads: the first read time wins; read items keep theirs; nothing else changes", () => {
  const reads: Reads = new Map();
  noteReads(reads, ["a", "b"], 10);
  noteReads(reads, ["a"], 20);
  assert.deepEqual([...reads], [["a", 10], ["b", 10]]);
  const items = [item("a", 1), item("b", 1, 5), item("c", 1)];
  const out = applyReads(items, reads);
  assert.deepEqual(out.map((i) => i.readAt ?? null), [10, 5, null]);
  assert.equal(out[2], items[2], "an item with no read is the same object");
});
