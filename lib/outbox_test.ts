import assert from "node:assert/strict";
import {
  addDue,
  consume,
  type DueEntry,
  type DueRecord,
  DueWorker,
  failedJobDelayMs,
  isWakeMessage,
  reschedule,
} from "./outbox.ts";
import { due, type Job } from "./notify/plan.ts";

async function tempKv(): Promise<
  { kv: Deno.Kv; path: string; [Symbol.asyncDispose](): Promise<void> }
> {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-outbox-" });
  const path = `${dir}/kv.sqlite`;
  const kv = await Deno.openKv(path);
  return {
    kv,
    path,
    async [Symbol.asyncDispose]() {
      kv.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

const tick = (machineId: string): Job => ({ t: "tick", b: "b1", machineId });
const push = (deviceId: string): Job => ({
  t: "push",
  userId: "u",
  id: "n",
  deviceId,
  silent: false,
  attempt: 1,
});

async function entries(kv: Deno.Kv): Promise<DueEntry[]> {
  const out: DueEntry[] = [];
  for await (const e of kv.list<DueRecord>({ prefix: ["due"] })) out.push(e);
  return out;
}

function waitUntil(fn: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const check = () => {
      if (fn()) return resolve();
      if (Date.now() > deadline) return reject(new Error("timed out"));
      setTimeout(check, 5);
    };
    check();
  });
}

Deno.test("addDue: records keyed by due time, the wake key bumped, queue wakes only for later ones", async () => {
  await using t = await tempKv();
  const op = t.kv.atomic();
  const enqueued: unknown[] = [];
  const real = op.enqueue.bind(op);
  op.enqueue = (v, o) => (enqueued.push([v, o?.delay]), real(v, o));
  addDue(op, [due(tick("a"), 5000), due(tick("b"), 1000), due(tick("c"), 1200)], {
    queue: true,
    now: 1000,
  });
  await op.commit();
  const es = await entries(t.kv);
  assert.deepEqual(es.map((e) => e.key), [
    ["due", 1000, "tick:b:-"],
    ["due", 1200, "tick:c:-"],
    ["due", 5000, "tick:a:-"],
  ]);
  assert.deepEqual(es[0].value, { job: tick("b"), created: 1000 });
  assert.deepEqual((await t.kv.get(["due_wake"])).value, { at: 1000, t: 1000 });
  // 1200 is within a second of now: the timer covers it; 5000 gets a wake at +4 s.
  assert.deepEqual(enqueued, [[{ t: "wake" }, 4000]]);
  // Nothing to add: no write at all.
  const empty = t.kv.atomic();
  addDue(empty, [], { queue: true, now: 0 });
  await empty.commit();
  assert.equal((await entries(t.kv)).length, 3);
  assert.equal(isWakeMessage({ t: "wake" }), true);
  assert.equal(isWakeMessage({ t: "tick" }), false);
  assert.equal(isWakeMessage(null), false);
});

Deno.test("consume and reschedule: checked, so of two racers only one wins", async () => {
  await using t = await tempKv();
  const op = t.kv.atomic();
  addDue(op, [due(tick("a"), 10)], { queue: false, now: 0 });
  await op.commit();
  const [e] = await entries(t.kv);
  const moved = await reschedule(t.kv.atomic(), e, 99, { failures: 2 }).commit();
  assert.equal(moved.ok, true);
  assert.equal((await consume(t.kv.atomic(), e).commit()).ok, false, "stale entry");
  const [m] = await entries(t.kv);
  assert.deepEqual(m.key, ["due", 99, "tick:a:-"]);
  assert.equal(m.value.failures, 2);
  assert.equal((await t.kv.get<{ at: number }>(["due_wake"])).value?.at, 99);
  assert.equal((await consume(t.kv.atomic(), m).commit()).ok, true);
  assert.equal((await entries(t.kv)).length, 0);
});

Deno.test("failedJobDelayMs: 0.5 s, 2 s, 8 s … capped at a minute", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 9].map(failedJobDelayMs), [
    500,
    2000,
    8000,
    32000,
    60000,
    60000,
  ]);
  assert.equal(failedJobDelayMs(0), 500);
});

Deno.test("DueWorker: runs what is due in due order, arms a timer for the rest", async () => {
  await using t = await tempKv();
  const seen: [string, number][] = [];
  const worker = new DueWorker(t.kv, {
    instance: "i1",
    handle: async (e) => {
      seen.push([(e.value.job as { machineId: string }).machineId, Date.now()]);
      await consume(t.kv.atomic(), e).commit();
    },
  });
  const now = Date.now();
  const op = t.kv.atomic();
  addDue(op, [due(tick("late"), now + 300), due(tick("b"), now - 5), due(tick("a"), now - 10)], {
    queue: false,
    now,
  });
  await op.commit();
  worker.start();
  try {
    await waitUntil(() => worker.processed === 3);
    assert.deepEqual(seen.map((s) => s[0]), ["a", "b", "late"]);
    assert.ok(seen[2][1] >= now + 300, "not before its time");
    assert.ok(seen[2][1] < now + 1000, `woken by its timer (${seen[2][1] - now} ms)`);
    assert.equal(worker.processed, 3);
    assert.equal((await entries(t.kv)).length, 0);
  } finally {
    await worker.stop();
  }
});

Deno.test("DueWorker: learns of a record another KV handle added, through the watch", async () => {
  await using t = await tempKv();
  const seen: string[] = [];
  const worker = new DueWorker(t.kv, {
    instance: "i1",
    handle: async (e) => {
      seen.push((e.value.job as { machineId: string }).machineId);
      await consume(t.kv.atomic(), e).commit();
    },
  });
  worker.start();
  const other = await Deno.openKv(t.path);
  try {
    await new Promise((r) => setTimeout(r, 50));
    const op = other.atomic();
    addDue(op, [due(tick("x"), Date.now() + 100)], { queue: false, now: Date.now() });
    await op.commit();
    await waitUntil(() => seen.length === 1);
    assert.deepEqual(seen, ["x"]);
  } finally {
    other.close();
    await worker.stop();
  }
});

Deno.test("DueWorker: a handler that throws leaves the record, later, counting failures", async () => {
  await using t = await tempKv();
  let calls = 0;
  const errors: unknown[] = [];
  const worker = new DueWorker(t.kv, {
    instance: "i1",
    handle: async (e) => {
      calls++;
      if (calls === 1) throw new Error("boom");
      await consume(t.kv.atomic(), e).commit();
    },
    onError: (err) => errors.push(err),
  });
  const op = t.kv.atomic();
  addDue(op, [due(tick("a"), Date.now())], { queue: false, now: Date.now() });
  await op.commit();
  const t0 = Date.now();
  worker.start();
  try {
    await waitUntil(() => calls === 1);
    const [left] = await entries(t.kv);
    assert.equal(left.value.failures, 1);
    assert.ok((left.key[1] as number) >= t0 + 500);
    assert.equal(errors.length, 1);
    await waitUntil(() => calls === 2);
    assert.ok(Date.now() - t0 >= 500, "retried after the backoff");
    await waitUntil(() => worker.processed === 1);
    assert.equal((await entries(t.kv)).length, 0);
  } finally {
    await worker.stop();
  }
});

Deno.test("DueWorker: leased jobs are claimed (moved to the lease's end) and bounded in number", async () => {
  await using t = await tempKv();
  let running = 0;
  let peak = 0;
  const leases: number[] = [];
  const release: (() => void)[] = [];
  const worker = new DueWorker(t.kv, {
    instance: "me",
    leaseMs: 5000,
    concurrency: 3,
    handle: async (e) => {
      assert.equal(e.value.lease?.by, "me");
      leases.push((e.key[1] as number) - Date.now());
      running++;
      peak = Math.max(peak, running);
      await new Promise<void>((r) => release.push(r));
      running--;
      await consume(t.kv.atomic(), e).commit();
    },
  });
  const now = Date.now();
  const op = t.kv.atomic();
  addDue(op, ["d1", "d2", "d3", "d4", "d5"].map((d) => due(push(d), now)), { queue: false, now });
  await op.commit();
  worker.start();
  try {
    await waitUntil(() => running === 3).catch(() => {
      throw new Error(`running ${running}`);
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(running, 3, "no more than the concurrency at once");
    // While claimed, the records wait at the end of their lease.
    const claimed = (await entries(t.kv)).filter((e) => e.value.lease);
    assert.equal(claimed.length, 3);
    for (const l of leases) assert.ok(l > 4000 && l <= 5000, `lease ${l}`);
    // Release one at a time until all five ran (not "until none is running":
    // on a loaded machine that is briefly true while the next one is being claimed).
    const deadline = Date.now() + 5000;
    while (worker.processed < 5 && Date.now() < deadline) {
      release.shift()?.();
      await new Promise((r) => setTimeout(r, 5));
    }
    await waitUntil(() => worker.processed === 5).catch(() => {
      throw new Error(`processed ${worker.processed}, running ${running}`);
    });
    assert.equal(peak, 3);
    assert.equal((await entries(t.kv)).length, 0);
  } finally {
    await worker.stop();
  }
});

Deno.test("DueWorker.claim: only one of two workers gets an entry", async () => {
  await using t = await tempKv();
  const op = t.kv.atomic();
  addDue(op, [due(push("d1"), 0)], { queue: false, now: 0 });
  await op.commit();
  const [e] = await entries(t.kv);
  const a = new DueWorker(t.kv, { instance: "a", handle: async () => {}, leaseMs: 1000 });
  const b = new DueWorker(t.kv, { instance: "b", handle: async () => {}, leaseMs: 1000 });
  const [ca, cb] = await Promise.all([a.claim(e, 10_000), b.claim(e, 10_000)]);
  assert.equal([ca, cb].filter(Boolean).length, 1);
  const won = (ca ?? cb)!;
  assert.deepEqual(won.key, ["due", 11_000, "push:n:u:d1"]);
  assert.equal(won.value.lease?.until, 11_000);
  assert.equal(a.leaseMs, 1000);
  assert.equal(a.instance, "a");
});

Deno.test("DueWorker.claimAll: a group in one commit; where another worker got one first, each on its own", async () => {
  await using t = await tempKv();
  const op = t.kv.atomic();
  addDue(op, ["d1", "d2", "d3", "d4"].map((d) => due(push(d), 0)), { queue: false, now: 0 });
  await op.commit();
  const all = await entries(t.kv);
  const a = new DueWorker(t.kv, { instance: "a", handle: async () => {}, leaseMs: 1000 });
  const b = new DueWorker(t.kv, { instance: "b", handle: async () => {}, leaseMs: 1000 });
  // b takes d2 first; a's group of all four then falls back to one claim each.
  const taken = await b.claim(all[1], 10_000);
  assert.ok(taken);
  const got = await a.claimAll(all, 10_000);
  assert.deepEqual(got.map((e) => e.key[2]), ["push:n:u:d1", "push:n:u:d3", "push:n:u:d4"]);
  for (const e of got) assert.deepEqual(e.value.lease, { by: "a", until: 11_000 });
  // Every record is leased exactly once, and what claimAll returned is what KV holds.
  const now = await entries(t.kv);
  assert.equal(now.length, 4);
  for (const e of got) {
    const stored = now.find((x) => x.key[2] === e.key[2])!;
    assert.equal(stored.versionstamp, e.versionstamp);
  }
  // A fresh group of three untouched records goes in one commit (one versionstamp).
  const op2 = t.kv.atomic();
  addDue(op2, ["e1", "e2", "e3"].map((d) => due(push(d), 0)), { queue: false, now: 0 });
  await op2.commit();
  const fresh = (await entries(t.kv)).filter((e) => !e.value.lease);
  const group = await b.claimAll(fresh, 20_000);
  assert.equal(group.length, 3);
  assert.equal(new Set(group.map((e) => e.versionstamp)).size, 1);
  // Claimed again with the old entries: nothing (they moved to their lease's end).
  assert.deepEqual(await a.claimAll(fresh, 20_000), []);
  await assert.rejects(() => a.claimAll(new Array(11).fill(fresh[0]), 0), RangeError);
});

Deno.test("addDue: nothing to add writes nothing; a queue wake only beyond a second", async () => {
  await using t = await tempKv();
  const op = t.kv.atomic();
  addDue(op, [], { queue: true, now: 0 });
  await op.commit();
  assert.equal((await t.kv.get(["due_wake"])).versionstamp, null, "no wake for no record");
  const enqueued: (number | undefined)[] = [];
  const op2 = t.kv.atomic();
  const real = op2.enqueue.bind(op2);
  op2.enqueue = (v, o) => (enqueued.push(o?.delay), real(v, o));
  addDue(op2, [due(tick("edge"), 1000), due(tick("past"), 1001)], { queue: true, now: 0 });
  await op2.commit();
  assert.deepEqual(
    enqueued,
    [2000],
    "at exactly now + 1 s the timer covers it; just past gets one",
  );
  const op3 = t.kv.atomic();
  let more = 0;
  op3.enqueue = () => (more++, op3);
  addDue(op3, [due(tick("late"), 60_000)], { queue: false, now: 0 });
  await op3.commit();
  assert.equal(more, 0, "no queue, no wake messages");
});

Deno.test("DueWorker: only due records are read (not other keys, not later ones); due-now included", async () => {
  await using t = await tempKv();
  await t.kv.set(["config", "x"], 1);
  await t.kv.set(["a"], 2);
  const seen: string[] = [];
  const worker = new DueWorker(t.kv, {
    instance: "i",
    handle: async (e) => {
      seen.push((e.value.job as { machineId: string }).machineId);
      await consume(t.kv.atomic(), e).commit();
    },
  });
  const now = Date.now();
  const op = t.kv.atomic();
  addDue(op, [due(tick("now"), now), due(tick("later"), now + 60_000)], { queue: false, now });
  await op.commit();
  await worker.runDue();
  assert.deepEqual(seen, ["now"]);
  assert.equal((await entries(t.kv)).length, 1, "the later one waits");
  await worker.stop();
});

Deno.test("DueWorker: only leased jobs (push by default) are claimed; others run where they are", async () => {
  await using t = await tempKv();
  const keys: [string, number][] = [];
  const worker = new DueWorker(t.kv, {
    instance: "i",
    leaseMs: 50_000,
    handle: async (e) => {
      keys.push([e.value.job.t, e.key[1] as number]);
      await consume(t.kv.atomic(), e).commit();
    },
  });
  const now = Date.now();
  const op = t.kv.atomic();
  addDue(op, [due(tick("m"), now - 5), due(push("d1"), now - 5)], { queue: false, now });
  await op.commit();
  await worker.runDue();
  const byType = Object.fromEntries(keys);
  assert.equal(byType.tick, now - 5, "a tick is handled at its own key");
  assert.ok(byType.push >= now + 40_000, "a push is handled at its lease's end");
  await worker.stop();
});

Deno.test("DueWorker: runDue waits for leased jobs in flight; two workers never run one entry twice", async () => {
  await using t = await tempKv();
  let runs = 0;
  let finished = false;
  const handle = async (e: DueEntry) => {
    runs++;
    await new Promise((r) => setTimeout(r, 150));
    await consume(t.kv.atomic(), e).commit();
    finished = true;
  };
  const a = new DueWorker(t.kv, { instance: "a", handle });
  const b = new DueWorker(t.kv, { instance: "b", handle });
  const op = t.kv.atomic();
  addDue(op, [due(push("d1"), Date.now())], { queue: false, now: Date.now() });
  await op.commit();
  await Promise.all([a.runDue(), b.runDue()]);
  assert.equal(finished, true, "runDue returned only after the leased job finished");
  assert.equal(runs, 1);
  await Promise.all([a.stop(), b.stop()]);
});

Deno.test("DueWorker.stop: takes no more jobs, waits for one in flight within the grace", async () => {
  await using t = await tempKv();
  let runs = 0;
  let release!: () => void;
  const worker = new DueWorker(t.kv, {
    instance: "i",
    handle: async (e) => {
      runs++;
      await new Promise<void>((r) => (release = r));
      await consume(t.kv.atomic(), e).commit();
    },
  });
  worker.start();
  const op = t.kv.atomic();
  addDue(op, [due(push("d1"), Date.now())], { queue: false, now: Date.now() });
  await op.commit();
  await waitUntil(() => runs === 1);
  const t0 = Date.now();
  const stopping = worker.stop(2000);
  setTimeout(() => release(), 100);
  await stopping;
  const took = Date.now() - t0;
  assert.ok(took >= 90 && took < 1500, `waited for the job in flight (${took} ms)`);
  assert.equal((await entries(t.kv)).length, 0, "it finished");
  // Stopped: a new record is not taken, however it is poked.
  const op2 = t.kv.atomic();
  addDue(op2, [due(tick("after"), Date.now())], { queue: false, now: Date.now() });
  await op2.commit();
  worker.poke();
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(runs, 1);
  assert.equal((await entries(t.kv)).length, 1);
  // A job that never ends does not hold stop() past its grace.
  const stuck = new DueWorker(t.kv, { instance: "s", handle: () => new Promise(() => {}) });
  const op3 = t.kv.atomic();
  addDue(op3, [due(push("d2"), Date.now())], { queue: false, now: Date.now() });
  await op3.commit();
  stuck.poke();
  await new Promise((r) => setTimeout(r, 100));
  const s0 = Date.now();
  await stuck.stop(300);
  assert.ok(Date.now() - s0 < 1000, "stop() gave up after its grace");
});

// ───────────── what mutation testing found unguarded (issue 14) ─────────────

/**
 * The real KV handle, seen through what DueWorker calls: counts `list` calls
 * (to see a worker spinning), can make the next `list` fail (a KV read
 * error), and can hand out a watch stream the test controls.
 */
function observedKv(kv: Deno.Kv) {
  const state = {
    lists: 0,
    failNextList: false,
    watch: null as ReadableStream<Deno.KvEntryMaybe<unknown>[]> | null,
  };
  const handle = {
    list: (...args: Parameters<Deno.Kv["list"]>) => {
      state.lists++;
      if (state.failNextList) {
        state.failNextList = false;
        throw new Error("kv read failed");
      }
      return kv.list(...args);
    },
    atomic: () => kv.atomic(),
    watch: (keys: Deno.KvKey[]) => state.watch ?? kv.watch(keys),
  } as unknown as Deno.Kv;
  return { handle, state };
}

async function captureErrors<T>(fn: (logged: unknown[][]) => Promise<T>): Promise<T> {
  const logged: unknown[][] = [];
  const orig = console.error;
  console.error = (...args: unknown[]) => logged.push(args);
  try {
    return await fn(logged);
  } finally {
    console.error = orig;
  }
}

const consumeHandler = (kv: Deno.Kv, seen: [string, number][]) => async (e: DueEntry) => {
  seen.push([(e.value.job as { machineId: string }).machineId, Date.now()]);
  await consume(kv.atomic(), e).commit();
};

Deno.test("DueWorker: the timer is armed for the earliest future record, not any later one", async () => {
  await using t = await tempKv();
  const seen: [string, number][] = [];
  const worker = new DueWorker(t.kv, { instance: "i", handle: consumeHandler(t.kv, seen) });
  const now = Date.now();
  const op = t.kv.atomic();
  addDue(op, [due(tick("far"), now + 60_000), due(tick("soon"), now + 150)], {
    queue: false,
    now,
  });
  await op.commit();
  worker.start();
  try {
    await waitUntil(() => seen.length === 1);
    assert.equal(seen[0][0], "soon");
    assert.ok(seen[0][1] >= now + 150 && seen[0][1] < now + 1000, `${seen[0][1] - now} ms`);
  } finally {
    await worker.stop();
  }
});

Deno.test("DueWorker: a sooner record re-arms a timer set for a later one", async () => {
  await using t = await tempKv();
  const seen: [string, number][] = [];
  const worker = new DueWorker(t.kv, { instance: "i", handle: consumeHandler(t.kv, seen) });
  const now = Date.now();
  const op = t.kv.atomic();
  addDue(op, [due(tick("far"), now + 60_000)], { queue: false, now });
  await op.commit();
  worker.start();
  try {
    await new Promise((r) => setTimeout(r, 50)); // armed for the far one
    const t1 = Date.now();
    const op2 = t.kv.atomic();
    addDue(op2, [due(tick("soon"), t1 + 150)], { queue: false, now: t1 });
    await op2.commit();
    await waitUntil(() => seen.length === 1);
    assert.equal(seen[0][0], "soon");
    assert.ok(seen[0][1] >= t1 + 150 && seen[0][1] < t1 + 1000, `${seen[0][1] - t1} ms`);
  } finally {
    await worker.stop();
  }
});

Deno.test("DueWorker: an idle worker does not spin (empty index, a far record, one beyond setTimeout's range)", async () => {
  await using t = await tempKv();
  const { handle, state } = observedKv(t.kv);
  const quiet = async (worker: DueWorker, what: string) => {
    await worker.runDue();
    const before = state.lists;
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(state.lists - before <= 2, `${what}: ${state.lists - before} reads while idle`);
  };
  const worker = new DueWorker(handle, { instance: "i", handle: async () => {} });
  try {
    await quiet(worker, "empty index");
    const now = Date.now();
    const op = t.kv.atomic();
    addDue(op, [due(tick("far"), now + 60_000)], { queue: false, now });
    await op.commit();
    await quiet(worker, "a record a minute away");
    assert.equal(worker.processed, 0);
  } finally {
    await worker.stop();
  }
  // setTimeout holds at most 2^31-1 ms (24.8 days); beyond that it would fire at once.
  await t.kv.delete(["due", (await entries(t.kv))[0].key[1], "tick:far:-"]);
  const now = Date.now();
  const op = t.kv.atomic();
  addDue(op, [due(tick("beyond"), now + 30 * 86_400_000)], { queue: false, now });
  await op.commit();
  const fresh = new DueWorker(handle, { instance: "j", handle: async () => {} });
  try {
    await quiet(fresh, "a record 30 days away");
    assert.equal(fresh.processed, 0);
  } finally {
    await fresh.stop();
  }
});

Deno.test("DueWorker: a run that fails (KV read error) is logged and retried a second later", async () => {
  await using t = await tempKv();
  const { handle, state } = observedKv(t.kv);
  const seen: [string, number][] = [];
  const worker = new DueWorker(handle, { instance: "i", handle: consumeHandler(t.kv, seen) });
  const now = Date.now();
  const op = t.kv.atomic();
  addDue(op, [due(tick("a"), now)], { queue: false, now });
  await op.commit();
  try {
    await captureErrors(async (logged) => {
      state.failNextList = true;
      const t0 = Date.now();
      worker.poke();
      await waitUntil(() => seen.length === 1);
      assert.ok(seen[0][1] - t0 >= 900, `retried after ${seen[0][1] - t0} ms`);
      assert.equal(logged.length, 1);
      assert.equal(logged[0][0], "outbox: run failed");
      assert.equal((logged[0][1] as Error).message, "kv read failed");
    });
  } finally {
    await worker.stop();
  }
});

Deno.test("DueWorker: a failed run's retry does not push back a sooner timer", async () => {
  await using t = await tempKv();
  const { handle, state } = observedKv(t.kv);
  const seen: [string, number][] = [];
  const worker = new DueWorker(handle, { instance: "i", handle: consumeHandler(t.kv, seen) });
  const now = Date.now();
  const op = t.kv.atomic();
  addDue(op, [due(tick("soon"), now + 300)], { queue: false, now });
  await op.commit();
  try {
    await worker.runDue(); // armed for +300 ms
    await captureErrors(async (logged) => {
      state.failNextList = true;
      worker.poke(); // fails, and would retry in a second
      await waitUntil(() => seen.length === 1);
      assert.equal(logged.length, 1);
    });
    assert.ok(seen[0][1] - now < 800, `the +300 ms timer held (${seen[0][1] - now} ms)`);
  } finally {
    await worker.stop();
  }
});

Deno.test("DueWorker: a handler failure is logged by default", async () => {
  await using t = await tempKv();
  const worker = new DueWorker(t.kv, {
    instance: "i",
    handle: () => Promise.reject(new Error("handler broke")),
  });
  const op = t.kv.atomic();
  addDue(op, [due(tick("a"), Date.now())], { queue: false, now: Date.now() });
  await op.commit();
  try {
    await captureErrors(async (logged) => {
      await worker.runDue();
      assert.equal(logged.length, 1);
      assert.equal(logged[0][0], "outbox: job failed");
      assert.equal((logged[0][1] as Error).message, "handler broke");
    });
  } finally {
    await worker.stop();
  }
});

Deno.test("DueWorker: a watch that breaks is logged, unless the worker is stopping", async () => {
  await using t = await tempKv();
  for (const stopFirst of [false, true]) {
    const { handle, state } = observedKv(t.kv);
    let ctl!: ReadableStreamDefaultController<Deno.KvEntryMaybe<unknown>[]>;
    state.watch = new ReadableStream({ start: (c) => void (ctl = c) });
    const worker = new DueWorker(handle, { instance: "i", handle: async () => {} });
    await captureErrors(async (logged) => {
      worker.start();
      await worker.runDue();
      if (stopFirst) await worker.stop(100);
      ctl.error(new Error("watch lost"));
      await new Promise((r) => setTimeout(r, 20));
      const said = logged.filter((l) => l[0] === "outbox: watch ended");
      assert.equal(said.length, stopFirst ? 0 : 1, `stopped first: ${stopFirst}`);
      if (!stopFirst) assert.equal((said[0][1] as Error).message, "watch lost");
      await worker.stop(100);
    });
  }
});

Deno.test("DueWorker: a record added (and poked) while the worker is re-arming its timer is not left waiting", async () => {
  await using t = await tempKv();
  const seen: [string, number][] = [];
  let injected = false;
  // After the worker's timer read (the first record of the whole index) has
  // answered, another instance adds a record due now and its watch pokes.
  const handle = {
    list: (sel: Deno.KvListSelector, opts?: Deno.KvListOptions) => {
      const inner = t.kv.list(sel, opts);
      if (!("prefix" in sel) || opts?.limit !== 1 || injected) return inner;
      injected = true;
      return (async function* () {
        yield* inner;
        const now = Date.now();
        const op = t.kv.atomic();
        addDue(op, [due(tick("racer"), now)], { queue: false, now });
        await op.commit();
        worker.poke();
      })();
    },
    atomic: () => t.kv.atomic(),
    watch: (keys: Deno.KvKey[]) => t.kv.watch(keys),
  } as unknown as Deno.Kv;
  const worker = new DueWorker(handle, { instance: "i", handle: consumeHandler(t.kv, seen) });
  try {
    worker.poke();
    await waitUntil(() => injected);
    await waitUntil(() => seen.length === 1, 1500).catch(() => {
      throw new Error("the poke during re-arming was lost: the record waits for the next wake");
    });
    assert.equal(seen[0][0], "racer");
  } finally {
    await worker.stop();
  }
});

Deno.test("DueWorker.stop: stops following the wake key (the watch is cancelled)", async () => {
  await using t = await tempKv();
  const { handle, state } = observedKv(t.kv);
  let cancelled = false;
  state.watch = new ReadableStream({ cancel: () => void (cancelled = true) });
  const worker = new DueWorker(handle, { instance: "i", handle: async () => {} });
  worker.start();
  await worker.runDue();
  assert.equal(cancelled, false);
  await worker.stop();
  assert.equal(cancelled, true);
});

Deno.test("DueWorker: reads at most `batch` records at a time", async () => {
  await using t = await tempKv();
  const { handle, state } = observedKv(t.kv);
  const seen: [string, number][] = [];
  const worker = new DueWorker(handle, {
    instance: "i",
    batch: 2,
    handle: consumeHandler(t.kv, seen),
  });
  const now = Date.now();
  const op = t.kv.atomic();
  addDue(op, ["a", "b", "c", "d", "e"].map((m) => due(tick(m), now - 1)), { queue: false, now });
  await op.commit();
  await worker.runDue();
  assert.equal(seen.length, 5);
  // 2 + 2 + 1 + an empty read, then the timer read.
  assert.equal(state.lists, 5);
  await worker.stop();
});

Deno.test("DueWorker.stop: the rest of a batch already read is left, and no timer is armed after", async () => {
  await using t = await tempKv();
  const { handle, state } = observedKv(t.kv);
  const seen: string[] = [];
  let stopping: Promise<void> | undefined;
  let listsAtStop = 0;
  const worker: DueWorker = new DueWorker(handle, {
    instance: "i",
    handle: async (e) => {
      seen.push((e.value.job as { machineId: string }).machineId);
      await consume(t.kv.atomic(), e).commit();
      listsAtStop = state.lists;
      stopping ??= worker.stop();
    },
  });
  const now = Date.now();
  const op = t.kv.atomic();
  addDue(op, [due(tick("a"), now - 3), due(tick("b"), now - 2), due(tick("c"), now - 1)], {
    queue: false,
    now,
  });
  addDue(op, [due(tick("later"), now + 60_000)], { queue: false, now });
  await op.commit();
  await worker.runDue();
  await stopping;
  assert.deepEqual(seen, ["a"]);
  assert.equal((await entries(t.kv)).length, 3, "b, c and later wait for another worker");
  assert.equal(state.lists, listsAtStop, "nothing read after stop(), not even for a timer");
});

Deno.test("DueWorker.claim: a claim KV refuses to commit (the record would grow too large) is no claim", async () => {
  await using t = await tempKv();
  const key = ["due", 0, "push:n:u:d1"];
  // The largest record KV accepts: adding the lease then exceeds its value limit.
  let size = 65_536;
  for (;; size -= 4) {
    try {
      await t.kv.set(key, { job: push("d1"), created: 0, pad: "x".repeat(size) });
      break;
    } catch { /* too large: a little smaller */ }
  }
  const entry = (await t.kv.get<DueRecord>(key)) as DueEntry;
  const worker = new DueWorker(t.kv, { instance: "i", handle: async () => {} });
  assert.equal(await worker.claim(entry), null);
  assert.equal((await t.kv.get(key)).versionstamp, entry.versionstamp, "left where it was");
});

Deno.test("DueWorker.runDue: also waits for a run that a job in flight started", async () => {
  await using t = await tempKv();
  const seen: string[] = [];
  const worker: DueWorker = new DueWorker(t.kv, {
    instance: "i",
    handle: async (e, w) => {
      seen.push(e.value.job.t);
      if (e.value.job.t === "push") {
        await new Promise((r) => setTimeout(r, 30));
        // A push that owes another job now, and wakes the worker for it.
        const op = consume(t.kv.atomic(), e);
        addDue(op, [due(tick("next"), Date.now())], { queue: false, now: Date.now() });
        await op.commit();
        w.poke();
      } else {
        await consume(t.kv.atomic(), e).commit();
      }
    },
  });
  const op = t.kv.atomic();
  addDue(op, [due(push("d1"), Date.now())], { queue: false, now: Date.now() });
  await op.commit();
  await worker.runDue();
  assert.deepEqual(seen, ["push", "tick"]);
  assert.equal((await entries(t.kv)).length, 0);
  await worker.stop();
});

Deno.test("DueWorker.stop: a run that fails while stopping (KV closing) is not logged", async () => {
  await using t = await tempKv();
  let reads = 0;
  let stopping: Promise<void> | undefined;
  const handle = {
    list: (sel: Deno.KvListSelector, opts?: Deno.KvListOptions) => {
      if (++reads === 1) return t.kv.list(sel, opts); // the drain: nothing due
      // The timer read: the app is shutting down and KV goes away under it.
      stopping = worker.stop(100);
      throw new Error("kv closed");
    },
    atomic: () => t.kv.atomic(),
    watch: (keys: Deno.KvKey[]) => t.kv.watch(keys),
  } as unknown as Deno.Kv;
  const worker: DueWorker = new DueWorker(handle, { instance: "i", handle: async () => {} });
  await captureErrors(async (logged) => {
    await worker.runDue();
    await stopping;
    assert.equal(reads, 2);
    assert.deepEqual(logged, [], "a stopping worker's failure is expected, not an error");
  });
});
