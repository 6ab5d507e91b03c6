import assert from "node:assert/strict";
import {
  advanceCursor,
  type Cursor,
  cursorHead,
  formatCursor,
  isCursor,
  parseCursor,
} from "./cursor.ts";

Deno.test("cursor: format and parse round-trip", () => {
  const cases: Cursor[] = [
    { epoch: "abc123xy", building: "b1", board: 0, user: 0 },
    { epoch: "e", building: "b1", board: 42, user: 7 },
    { epoch: "A_b-C", building: "b1", board: 123456789012345, user: 999999999999999 },
    { epoch: "x".repeat(32), building: "b1", board: 1, user: 2 },
  ];
  for (const c of cases) {
    const s = formatCursor(c);
    assert.equal(isCursor(s), true, s);
    assert.deepEqual(parseCursor(s), c);
    assert.equal(formatCursor(parseCursor(s)!), s);
  }
  assert.equal(formatCursor({ epoch: "ep", building: "b1", board: 3, user: 4 }), "ep:b1:3:4");
  // A cursor of the single-building release: its board names no building.
  assert.deepEqual(parseCursor("ep:3:4"), { epoch: "ep", building: "", board: 3, user: 4 });
});

Deno.test("cursor: absent or malformed cursors parse to null", () => {
  const bad = [
    null,
    undefined,
    "",
    "abc",
    "ep:1",
    "ep:1:2:3:4",
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
    "ep:B1:2:3", // building ids are lower-case base32
    "ep:b-1:2:3",
    "ep:b1:2:3:4",
    "ep::2:3",
  ];
  for (const s of bad) {
    assert.equal(parseCursor(s), null, JSON.stringify(s));
    if (typeof s === "string") assert.equal(isCursor(s), false, JSON.stringify(s));
  }
});

Deno.test("cursor: leading zeros parse to the same numbers", () => {
  assert.deepEqual(parseCursor("ep:007:010"), { epoch: "ep", building: "", board: 7, user: 10 });
  assert.deepEqual(parseCursor("ep:b1:007:010"), {
    epoch: "ep",
    building: "b1",
    board: 7,
    user: 10,
  });
});

Deno.test("cursorHead + board:user closes to the JSON of the whole cursor", () => {
  for (
    const [epoch, building, board, user] of [
      ["e1", "b7x", 0, 0],
      ["Zz_-9", "", 12, 34],
      ["x".repeat(32), "a".repeat(32), 999_999_999_999_999, 1],
    ] as const
  ) {
    const frame = `${cursorHead(epoch, building)}${board}:${user}"`;
    assert.equal(frame, JSON.stringify(formatCursor({ epoch, building, board, user })));
  }
  assert.notEqual(cursorHead("e1", "b1"), cursorHead("e1", "b2"));
});

Deno.test("advanceCursor: an event moves its own log's position forward, never back", () => {
  const c = "ep:b1:10:4";
  assert.equal(advanceCursor(c, { scope: "board", seq: 11 }), "ep:b1:11:4");
  assert.equal(advanceCursor(c, { scope: "user", seq: 5 }), "ep:b1:10:5");
  // A jump (the server filled a gap first) is taken as it is.
  assert.equal(advanceCursor(c, { scope: "board", seq: 15 }), "ep:b1:15:4");
  // An event the cursor is already past changes nothing.
  assert.equal(advanceCursor(c, { scope: "board", seq: 9 }), c);
  assert.equal(advanceCursor(c, { scope: "user", seq: 4 }), c);
  // Following a run of events gives the cursor the server would have sent with the last one.
  let k = "ep:b1:0:0";
  for (const e of [["board", 1], ["user", 1], ["board", 2], ["user", 2], ["board", 3]] as const) {
    k = advanceCursor(k, { scope: e[0], seq: e[1] });
  }
  assert.equal(k, formatCursor({ epoch: "ep", building: "b1", board: 3, user: 2 }));
  // What is not a cursor of a building stays as it is (the next hello replaces it).
  for (const bad of ["", "garbage", "ep:3:4"]) {
    assert.equal(advanceCursor(bad, { scope: "board", seq: 7 }), bad);
  }
});
