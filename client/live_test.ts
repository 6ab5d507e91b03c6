import assert from "node:assert/strict";
import {
  __test,
  BACKOFF_MAX_MS,
  BACKOFF_MIN_MS,
  backoffDelay,
  fetchInbox,
  unread,
} from "./live.ts";

Deno.test("backoffDelay: full jitter between 0.5 s and an exponentially growing cap of 20 s", () => {
  assert.equal(backoffDelay(0, () => 0), BACKOFF_MIN_MS);
  assert.equal(backoffDelay(3, () => 0.999), Math.floor(0.999 * 4000));
  assert.equal(backoffDelay(30, () => 0.999), Math.floor(0.999 * BACKOFF_MAX_MS));
  for (let a = 0; a < 12; a++) {
    const d = backoffDelay(a);
    assert.ok(d >= BACKOFF_MIN_MS && d <= BACKOFF_MAX_MS, `attempt ${a}: ${d}`);
  }
});

Deno.test("fetchInbox: a count fetched while events arrive neither loses nor double-counts them", async () => {
  unread.value = 0;
  // The server answered "1 unread at user seq 5"; meanwhile events 5 (+1, already
  // counted by the server) and 6 (+1, not yet) arrived.
  const changeUnreadForTest = __test.changeUnread;
  await fetchInbox(() => {
    changeUnreadForTest(5, 1);
    changeUnreadForTest(6, 1);
    return Promise.resolve({ unread: 1, cursor: "ep:10:5" });
  });
  assert.equal(unread.value, 2);
  // A read on another device at seq 7 while fetching "2 unread at seq 6".
  await fetchInbox(() => {
    changeUnreadForTest(7, -2);
    return Promise.resolve({ unread: 2, cursor: "ep:10:6" });
  });
  assert.equal(unread.value, 0);
});
