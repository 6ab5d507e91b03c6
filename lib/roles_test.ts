import assert from "node:assert/strict";
import { mayEnter, mayEnterSeveral } from "./roles.ts";
import type { User } from "./types.ts";

const user = (patch: Partial<User>): User => ({
  id: "u1",
  loginId: "u1",
  name: "U",
  room: "101",
  role: "resident",
  disabled: false,
  passwordHash: "x",
  createdAt: 0,
  buildingId: "a",
  ...patch,
});

Deno.test("mayEnterSeveral: the operator and an admin of another building; not a resident nor an admin of their own only", () => {
  assert.equal(mayEnterSeveral(user({})), false);
  assert.equal(mayEnterSeveral(user({ role: "admin", adminOf: ["a"] })), false);
  assert.equal(mayEnterSeveral(user({ role: "admin", adminOf: [] })), false);
  assert.equal(mayEnterSeveral(user({ role: "admin", adminOf: ["b"] })), true);
  assert.equal(mayEnterSeveral(user({ role: "admin", adminOf: ["a", "b"] })), true);
  assert.equal(mayEnterSeveral(user({ role: "operator" })), true);
  // It agrees with mayEnter: a user for whom it is false may enter their own building only.
  for (const u of [user({}), user({ role: "admin", adminOf: ["a"] })]) {
    assert.deepEqual(["a", "b", "c"].map((b) => mayEnter(u, b)), [true, false, false]);
  }
});
