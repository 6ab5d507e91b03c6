import assert from "node:assert/strict";
import { UnreadCounter } from "./unread.ts";

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
  c.fromServer(3, "ep:10:9"); // nothing in flight: the server's count as is
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
    return Promise.resolve({ unread: 1, cursor: "ep:10:5" });
  });
  assert.equal(r.unread, 1, "the answer is handed back");
  assert.equal(get(), 2);
  // A read on another device at seq 7 while fetching "2 unread at seq 6".
  await c.fetch(() => {
    c.change(7, -2);
    return Promise.resolve({ unread: 2, cursor: "ep:10:6" });
  });
  assert.equal(get(), 0);
  // After a fetch, changes are no longer remembered for the next answer.
  c.change(8, 1);
  c.fromServer(4, "ep:10:3");
  assert.equal(get(), 4);
});

Deno.test("UnreadCounter.fetch: a failed fetch keeps the live count and forgets its changes", async () => {
  const { c, get } = counter(2);
  await assert.rejects(c.fetch(() => {
    c.change(3, 1);
    return Promise.reject(new Error("offline"));
  }));
  assert.equal(get(), 3);
  c.fromServer(1, "ep:10:0");
  assert.equal(get(), 1, "changes of a failed fetch are not added to a later answer");
});
