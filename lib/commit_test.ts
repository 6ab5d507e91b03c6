import { storeErrorStatus } from "./http.ts";
import assert from "node:assert/strict";
import { isLockedError, retryCommit, tryCommit } from "./commit.ts";
import { StoreError } from "./store_error.ts";

Deno.test("retryCommit: retries null and locked errors, returns the first result", async () => {
  let calls = 0;
  const out = await retryCommit((n) => {
    calls++;
    if (n === 0) return Promise.resolve(null);
    if (n === 1) return Promise.reject(new Error("database is locked"));
    return Promise.resolve(`done at ${n}`);
  });
  assert.equal(out, "done at 2");
  assert.equal(calls, 3);
});

Deno.test("retryCommit: gives up with a 503 busy error after the attempts", async () => {
  let calls = 0;
  await assert.rejects(
    () => retryCommit(() => (calls++, Promise.resolve(null)), { attempts: 4, busyMessage: "x" }),
    (err) =>
      err instanceof StoreError && err.code === "busy" && storeErrorStatus(err.code) === 503 &&
      err.message === "x",
  );
  assert.equal(calls, 4);
});

Deno.test("retryCommit: other errors propagate at once", async () => {
  let calls = 0;
  await assert.rejects(
    () => retryCommit(() => (calls++, Promise.reject(new TypeError("boom")))),
    TypeError,
  );
  assert.equal(calls, 1);
  assert.equal(isLockedError(new Error("SQLITE: Database is locked")), true);
  assert.equal(isLockedError("database is locked"), false);
});

Deno.test("tryCommit: false on a failed check, true on success", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    assert.equal(
      await tryCommit(kv.atomic().check({ key: ["a"], versionstamp: null }).set(["a"], 1)),
      true,
    );
    assert.equal(
      await tryCommit(kv.atomic().check({ key: ["a"], versionstamp: null }).set(["a"], 2)),
      false,
    );
    assert.equal((await kv.get(["a"])).value, 1);
  } finally {
    kv.close();
  }
});
