import assert from "node:assert/strict";
import { MAX_KEPT_CHANGES, UnreadCounter } from "./unread.ts";

function counter(start = 0) {
  let n = start;
  return { c: new UnreadCounter(() => n, (v) => (n = v)), get: () => n };
}

Deno.test("UnreadCounter: changes add up and never go below zero", () => {
  const { c, get } = counter(1);
  c.change(1, 1);
  assert.equal(get(), 2);
  c.change(2, -5);
  assert.equal(get(), 0);
  c.fromServer(3, "ep:10:9"); // every change seen was at or before seq 9
  assert.equal(get(), 3);
  c.fromServer(-1, "ep:10:9");
  assert.equal(get(), 0);
});

Deno.test("UnreadCounter.fetch: a count fetched while events arrive neither loses nor double-counts them", async () => {
  const { c, get } = counter();
  // The server answered "1 unread at user seq 5"; meanwhile events 5 (+1, already
  // counted by the server) and 6 (+1, not yet) arrived.
  const r = await c.fetch(() => {
    c.change(5, 1);
    c.change(6, 1);
    return Promise.resolve({ unread: 1, cursor: "ep:b:10:5" });
  });
  assert.equal(r.unread, 1, "the answer is handed back");
  assert.equal(get(), 2);
  // A read on another device at seq 7 while fetching "2 unread at seq 6".
  await c.fetch(() => {
    c.change(7, -2);
    return Promise.resolve({ unread: 2, cursor: "ep:b:10:6" });
  });
  assert.equal(get(), 0);
});

Deno.test("UnreadCounter: an event that arrives after the answer that counted it is not counted again", async () => {
  const { c, get } = counter();
  // The fetch ran after notification 4 was committed; its event is still on the way.
  await c.fetch(() => Promise.resolve({ unread: 1, cursor: "ep:b:3:4" }));
  assert.equal(get(), 1);
  c.change(4, 1);
  assert.equal(get(), 1, "seq 4 is in the answer already");
  c.change(5, 1);
  assert.equal(get(), 2);
  c.change(5, 1);
  assert.equal(get(), 2, "the same event twice counts once");
});

Deno.test("UnreadCounter: two fetches answered out of order: the older answer is ignored", async () => {
  const { c, get } = counter();
  type Answer = { unread: number; cursor: string };
  let answerA!: (v: Answer) => void;
  const a = c.fetch(() => new Promise<Answer>((r) => (answerA = r)));
  c.change(6, 1); // notification 6, after A read the inbox
  const b = c.fetch(() => Promise.resolve({ unread: 1, cursor: "ep:b:0:6" }));
  await b;
  assert.equal(get(), 1);
  answerA({ unread: 0, cursor: "ep:b:0:5" }); // read before 6: older than B's
  await a;
  assert.equal(get(), 1, "A's stale 0 does not undo notification 6");
});

Deno.test("UnreadCounter: a failed fetch keeps the live count; changes after a later answer's seq are added to it", async () => {
  const { c, get } = counter(2);
  await assert.rejects(c.fetch(() => {
    c.change(3, 1);
    return Promise.reject(new Error("offline"));
  }));
  assert.equal(get(), 3);
  c.fromServer(1, "ep:b:0:0"); // at seq 0: change 3 came after it
  assert.equal(get(), 2);
  c.fromServer(1, "ep:b:0:3"); // at seq 3: it holds change 3
  assert.equal(get(), 1);
});

Deno.test("UnreadCounter.reset: a new start (page count, or a log that could not be replayed) takes any seq", () => {
  const { c, get } = counter();
  c.fromServer(2, "ep:b:0:40");
  c.change(41, 1);
  assert.equal(get(), 3);
  // A new epoch numbers the user's log from 1 again.
  c.reset();
  assert.equal(get(), 3, "what is shown stays");
  c.change(1, 1);
  assert.equal(get(), 4, "seq 1 of the new epoch counts");
  c.fromServer(4, "ep2:b:0:1");
  assert.equal(get(), 4);
  c.reset(7);
  assert.equal(get(), 7);
  c.fromServer(5, "ep2:b:0:0");
  assert.equal(get(), 5, "after a reset, an answer at any seq is taken");
});

Deno.test("UnreadCounter: with no answer, changes are folded in past MAX_KEPT_CHANGES, still counted", () => {
  const { c, get } = counter(1);
  for (let seq = 1; seq <= MAX_KEPT_CHANGES + 50; seq++) c.change(seq, 1);
  assert.equal(get(), 1 + MAX_KEPT_CHANGES + 50);
  // Kept: the last MAX_KEPT_CHANGES; an answer at seq 60 keeps those after it.
  c.fromServer(0, "ep:b:0:60");
  assert.equal(get(), MAX_KEPT_CHANGES + 50 - 60);
  c.fromServer(10, "ep:b:0:nope");
  assert.equal(get(), MAX_KEPT_CHANGES + 50 - 60, "a cursor without a user seq is ignored");
});
