import assert from "node:assert/strict";
import { type Cursor, formatCursor, isCursor, parseCursor } from "./cursor.ts";

Deno.test("cursor: format and parse round-trip", () => {
  const cases: Cursor[] = [
    { epoch: "abc123xy", board: 0, user: 0 },
    { epoch: "e", board: 42, user: 7 },
    { epoch: "A_b-C", board: 123456789012345, user: 999999999999999 },
    { epoch: "x".repeat(32), board: 1, user: 2 },
  ];
  for (const c of cases) {
    const s = formatCursor(c);
    assert.equal(isCursor(s), true, s);
    assert.deepEqual(parseCursor(s), c);
    assert.equal(formatCursor(parseCursor(s)!), s);
  }
  assert.equal(formatCursor({ epoch: "ep", board: 3, user: 4 }), "ep:3:4");
});

Deno.test("cursor: absent or malformed cursors parse to null", () => {
  const bad = [
    null,
    undefined,
    "",
    "abc",
    "ep:1",
    "ep:1:2:3",
    ":1:2",
    "ep::2",
    "ep:1:",
    "ep:-1:2",
    "ep:1:-2",
    "ep:1.5:2",
    "ep:1e3:2",
    "ep:0x1:2",
    "e p:1:2",
    "ep!:1:2",
    "ep/x:1:2",
    "세탁:1:2",
    " ep:1:2",
    "ep:1:2 ",
    "ep:1:2\n",
    "x".repeat(33) + ":1:2",
    "ep:1234567890123456:2", // 16 digits
    "ep:1:1234567890123456",
  ];
  for (const s of bad) {
    assert.equal(parseCursor(s), null, JSON.stringify(s));
    if (typeof s === "string") assert.equal(isCursor(s), false, JSON.stringify(s));
  }
});

Deno.test("cursor: leading zeros parse to the same numbers", () => {
  assert.deepEqual(parseCursor("ep:007:010"), { epoch: "ep", board: 7, user: 10 });
});
