import assert from "node:assert/strict";
import { passwordProblem } from "./password_policy.ts";

Deno.test("passwordProblem: refuses short, repeated, login-id and common passwords", () => {
  for (
    const [pw, id] of [
      ["1234567", "alice"],
      ["12345678", "alice"],
      ["password", "alice"],
      ["PASSWORD", "alice"],
      ["        ", "alice"],
      ["aaaaaaaa", "alice"],
      ["alice.kim", "Alice.Kim"],
      ["1q2w3e4r", "alice"],
      ["qwer1234", "alice"],
      ["한글비번", "alice"],
    ]
  ) {
    assert.ok(passwordProblem(pw, id), `${JSON.stringify(pw)} should be refused`);
  }
});

Deno.test("passwordProblem: accepts a reasonable password", () => {
  assert.equal(passwordProblem("resident-pass-123", "alice"), null);
  assert.equal(passwordProblem("세탁실은3층입니다", "alice"), null);
});
