import { storeErrorStatus } from "./http.ts";
import assert from "node:assert/strict";
import {
  CommitBatcher,
  deleteKeys,
  deleteListed,
  isLockedError,
  retryCommit,
  tryCommit,
} from "./commit.ts";
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
  using kv = await Deno.openKv(":memory:");
  assert.equal(
    await tryCommit(kv.atomic().check({ key: ["a"], versionstamp: null }).set(["a"], 1)),
    true,
  );
  assert.equal(
    await tryCommit(kv.atomic().check({ key: ["a"], versionstamp: null }).set(["a"], 2)),
    false,
  );
  assert.equal((await kv.get(["a"])).value, 1);
});

Deno.test("deleteListed and deleteKeys: more than one batch, all gone, counted", async () => {
  const dir = await Deno.makeTempDir();
  const kv = await Deno.openKv(`${dir}/kv.sqlite`);
  try {
    for (let i = 0; i < 1201; i += 300) {
      const op = kv.atomic();
      for (let j = i; j < Math.min(i + 300, 1201); j++) op.set(["a", j], j);
      await op.commit();
    }
    await kv.set(["b", 1], 1);
    assert.equal(await deleteListed(kv, { prefix: ["a"] }), 1201);
    assert.equal(await deleteListed(kv, { prefix: ["a"] }), 0);
    let left = 0;
    for await (const _ of kv.list({ prefix: ["a"] })) left++;
    assert.equal(left, 0);
    assert.equal((await kv.get(["b", 1])).value, 1, "outside the selector: kept");
    const keys = Array.from({ length: 1001 }, (_, i) => ["c", i]);
    for (const k of keys.slice(0, 3)) await kv.set(k, true);
    assert.equal(await deleteKeys(kv, keys), 1001);
    assert.equal((await kv.get(["c", 2])).value, null);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CommitBatcher: ten writes in one commit; an eleventh starts the next", async () => {
  using kv = await Deno.openKv(":memory:");
  const batcher = new CommitBatcher(kv, { windowMs: 1000 });
  const keys = Array.from({ length: 11 }, (_, i) => ["k", i]);
  const started = Date.now();
  const oks = await Promise.all(
    keys.slice(0, 10).map((k) =>
      batcher.commit((op) => op.check({ key: k, versionstamp: null }).set(k, 1))
    ),
  );
  assert.deepEqual(oks, Array(10).fill(true));
  assert.ok(Date.now() - started < 900, "a full batch does not wait for the window");
  const stamps = new Set((await kv.getMany(keys.slice(0, 10))).map((e) => e.versionstamp));
  assert.equal(stamps.size, 1, "one atomic commit");
  const eleventh = batcher.commit((op) => op.set(keys[10], 1));
  assert.equal((await kv.get(keys[10])).value, null, "waits for company");
  assert.equal(await eleventh, true);
  assert.equal((await kv.get(keys[10])).value, 1);
});

Deno.test("CommitBatcher: a stale check fails only its own write; the others land", async () => {
  using kv = await Deno.openKv(":memory:");
  await kv.set(["stale"], 1);
  const batcher = new CommitBatcher(kv, { windowMs: 5 });
  const results = await Promise.all([
    batcher.commit((op) => op.check({ key: ["a"], versionstamp: null }).set(["a"], 1)),
    batcher.commit((op) => op.check({ key: ["stale"], versionstamp: null }).set(["b"], 1)),
    batcher.commit((op) => op.check({ key: ["c"], versionstamp: null }).sum(["n"], 1n)),
  ]);
  assert.deepEqual(results, [true, false, true]);
  const [a, b, n] = await kv.getMany([["a"], ["b"], ["n"]]);
  assert.equal(a.value, 1);
  assert.equal(b.value, null);
  assert.equal((n.value as Deno.KvU64).value, 1n, "counted once, not again on its own");
});

Deno.test("CommitBatcher: an error of one write rejects only that write", async () => {
  using kv = await Deno.openKv(":memory:");
  const batcher = new CommitBatcher(kv, { windowMs: 5 });
  const [good, bad] = await Promise.allSettled([
    batcher.commit((op) => op.set(["good"], 1)),
    batcher.commit((op) => op.set(["bad"], "x".repeat(70_000))),
  ]);
  assert.deepEqual(good, { status: "fulfilled", value: true });
  assert.equal(bad.status, "rejected");
  assert.equal((await kv.get(["good"])).value, 1);
});

Deno.test("CommitBatcher: a write whose checks would pass the limit sends the waiting ones first", async () => {
  using kv = await Deno.openKv(":memory:");
  const batcher = new CommitBatcher(kv, { windowMs: 1000 });
  const six = (name: string) => (op: Deno.AtomicOperation) => {
    for (let i = 0; i < 6; i++) op.check({ key: [name, i], versionstamp: null });
    op.set([name], 1);
  };
  const started = Date.now();
  const first = batcher.commit(six("a"), 6);
  const second = batcher.commit(six("b"), 6);
  assert.equal(await first, true);
  assert.ok(Date.now() - started < 900, "the first went without waiting for the window");
  assert.equal((await kv.get(["b"])).value, null, "the second waits for company");
  assert.equal(await second, true);
  const [a, b] = await kv.getMany([["a"], ["b"]]);
  assert.notEqual(a.versionstamp, b.versionstamp, "two commits: 12 checks never share one");
});
