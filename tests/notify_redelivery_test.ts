/**
 * The due-index is processed at least once; a notification must still show
 * exactly once (SPEC section 3). Faults are injected from the test side, by
 * wrapping the worker's job handler:
 *
 * - a handler that dies before its commit (the record stays: done later);
 * - a handler that fails after its commit (the record is gone: nothing more);
 * - a push claimed by a worker that then died (taken over when the lease
 *   ends);
 * - a notification owed twice (a second `notify` record for the same user
 *   and id): the inbox entry, not the record, decides that it is delivered;
 * - a push owed twice to one device (a second `push` record): the
 *   (notification, user, device) ledger decides that it is sent.
 * @module
 */
import assert from "node:assert/strict";
import { admin, resident, waitFor } from "./support/harness.ts";
import { startWebPushTesting } from "./support/push_service.ts";
import type { DueEntry } from "../lib/outbox.ts";
import { due, type Job } from "../lib/notify/plan.ts";
import type { TestServer } from "./support/harness.ts";
import {
  act,
  addWebPushDevice,
  assertPushCountStays,
  inbox,
  type Json,
  machineOf,
  ok,
  setPrefs,
  startNotifyServer,
  waitForCount,
} from "./support/notify_kit.ts";

/** A notify server (1 s minutes) whose pushes go to a fresh web-push-testing peer; disposes both. */
async function serverWithPeer(env: Record<string, string> = {}) {
  const push = await startWebPushTesting();
  try {
    const srv = await startNotifyServer({
      MINUTE_MS: "1000",
      PUSH_ENDPOINT_ALLOW: push.origin,
      ...env,
    });
    return {
      push,
      srv,
      async [Symbol.asyncDispose]() {
        await srv[Symbol.asyncDispose]();
        await push[Symbol.asyncDispose]();
      },
    };
  } catch (err) {
    await push[Symbol.asyncDispose]();
    throw err;
  }
}

/** Owe `job` once more, due at `at`: a second record beside the one being handled. */
async function oweAgain(srv: TestServer, job: Job, at: number): Promise<void> {
  const op = srv.ctx.store.kv.atomic();
  srv.ctx.store.addDue(op, [due(job, at)]);
  assert.ok((await op.commit()).ok);
}

/** Wrap the worker's job handler; `around` decides per call. */
function wrapHandler(
  srv: TestServer,
  around: (job: Job, run: () => Promise<void>, entry: DueEntry) => Promise<void>,
): Map<string, number> {
  const service = srv.ctx.notifications!;
  const original = service.handle.bind(service);
  const calls = new Map<string, number>();
  service.handle = (entry, w) => {
    const job = entry.value.job;
    calls.set(job.t, (calls.get(job.t) ?? 0) + 1);
    return around(job, () => original(entry, w), entry);
  };
  return calls;
}

/** A cycle with ending_soon, done and a scheduled notice for one resident with a device. */
async function scenario(srv: TestServer, push: Awaited<ReturnType<typeof startWebPushTesting>>) {
  const adm = await admin(srv.url);
  const a = await resident(srv.url, "alice", "201");
  const { sub } = await addWebPushDevice(a, push);
  await setPrefs(a, { endingSoonMinutes: 1 });
  const w = await machineOf(a, "washer");
  const s = await act(a, w.id, "start", { minutes: 2 });
  const notice = ok(
    await adm.post("/api/admin/announcements", {
      title: "Scheduled",
      body: "Goes out in a moment.",
      target: { type: "room", room: "201" },
      sendAt: new Date(Date.now() + 1500).toISOString(),
    }),
  ).notice;
  const ids = [`use.ending_soon:${s.useId}:${s.gen}`, `notice:${notice.id}`, `use.done:${s.useId}`];
  return { adm, a, sub, ids, notice };
}

/** Each id exactly once at the push peer and in the inbox; nothing more arrives. */
async function assertOnce(
  push: Awaited<ReturnType<typeof startWebPushTesting>>,
  a: Awaited<ReturnType<typeof resident>>,
  clientHash: string,
  ids: string[],
  timeoutMs: number,
) {
  const got = await waitForCount(push, clientHash, ids.length, timeoutMs);
  assert.deepEqual(got.map((p: Json) => p.id).sort(), [...ids].sort());
  await assertPushCountStays(push, clientHash, ids.length, 1200);
  const itemIds = (await inbox(a)).map((i: Json) => i.id);
  assert.equal(new Set(itemIds).size, itemIds.length, JSON.stringify(itemIds));
  assert.deepEqual(itemIds.filter((id: string) => ids.includes(id)).sort(), [...ids].sort());
}

Deno.test("redelivery: a job whose handler dies before it commits is done later, once", async () => {
  await using peer = await serverWithPeer();
  const { push, srv } = peer;
  const failed = new Set<string>();
  const calls = wrapHandler(srv, async (job, run) => {
    if (!failed.has(job.t)) {
      failed.add(job.t);
      throw new Error(`injected: ${job.t} dies before its commit`);
    }
    await run();
  });
  const { a, sub, ids, adm, notice } = await scenario(srv, push);
  await assertOnce(push, a, sub.clientHash, ids, 20_000);
  for (const t of ["tick", "notify", "push", "notice"]) {
    assert.ok(failed.has(t), `${t} failed once`);
    assert.ok((calls.get(t) ?? 0) >= 2, `${t} ran again`);
  }
  const n = ok(await adm.get(`/api/admin/announcements/${notice.id}`));
  assert.equal(n.notice.status, "sent");
  assert.equal(n.stats.recipients, 1);
});

Deno.test("redelivery: a handler that fails after its commit repeats nothing", async () => {
  await using peer = await serverWithPeer();
  const { push, srv } = peer;
  const failed = new Set<string>();
  wrapHandler(srv, async (job, run) => {
    await run();
    if (!failed.has(job.t)) {
      failed.add(job.t);
      throw new Error(`injected: ${job.t} fails after its commit`);
    }
  });
  const { a, sub, ids } = await scenario(srv, push);
  await assertOnce(push, a, sub.clientHash, ids, 10_000);
  assert.ok(["tick", "notify", "push", "notice"].every((t) => failed.has(t)));
  // One `notification` event per id in the user's log.
  const log = await srv.ctx.store.readUser(a.user.id, 0, 1000);
  const logged = log.filter((e) => e.type === "notification").map((e) => (e.data as Json).item.id);
  assert.deepEqual(logged.filter((id) => ids.includes(id)).sort(), [...ids].sort());
});

Deno.test("redelivery: a push claimed by a worker that died is taken over when the lease ends", async () => {
  await using peer = await serverWithPeer({ PUSH_TIMEOUT_MS: "300", PUSH_LEASE_MS: "800" });
  const { push, srv } = peer;
  let abandonedAt = 0;
  wrapHandler(srv, async (job, run) => {
    // The first push: the worker claimed it (its record now waits for the
    // lease to end) and "dies" before sending.
    if (job.t === "push" && !abandonedAt) {
      abandonedAt = Date.now();
      return;
    }
    await run();
  });
  const a = await resident(srv.url, "bob");
  const { sub } = await addWebPushDevice(a, push);
  const w = await machineOf(a, "washer");
  const s = await act(a, w.id, "start", { minutes: 1 });
  const got = await waitForCount(push, sub.clientHash, 1, 8000);
  assert.equal(got[0].id, `use.done:${s.useId}`);
  const tookOver = Date.now() - abandonedAt;
  assert.ok(abandonedAt > 0, "the first push was abandoned");
  assert.ok(tookOver >= 600, `taken over after the lease (${tookOver} ms)`);
  await assertPushCountStays(push, sub.clientHash, 1, 1000);
  await waitFor(
    async () => {
      const d = (await a.get("/api/push/devices")).json.devices[0];
      return d.lastSuccessAt !== null;
    },
    3000,
    "device success recorded",
  );
});

Deno.test("redelivery: a notification owed twice (two notify records) is in the inbox once and pushed once", async () => {
  await using peer = await serverWithPeer();
  const { push, srv } = peer;
  // Each `notify` record gets a twin for the same user and notification, due a moment
  // later (as when two instances both owe it): the inbox entry decides, not the record.
  const twinned = new Set<string>();
  wrapHandler(srv, async (job, run) => {
    if (job.t === "notify" && !twinned.has(job.n.id)) {
      twinned.add(job.n.id);
      await oweAgain(srv, job, Date.now() + 50);
    }
    await run();
  });
  const { a, sub, ids } = await scenario(srv, push);
  await assertOnce(push, a, sub.clientHash, ids, 20_000);
  assert.ok(ids.every((id) => twinned.has(id)), [...twinned].join(" "));
});

Deno.test("redelivery: a push owed twice to one device (two push records) is sent once: the ledger", async () => {
  await using peer = await serverWithPeer();
  const { push, srv } = peer;
  // Each `push` record gets a twin for the same notification, user and device, due
  // after the first has been sent: the (notification, user, device) ledger decides.
  const twinned = new Set<string>();
  let twinsRun = 0;
  wrapHandler(srv, async (job, run) => {
    if (job.t === "push") {
      if (twinned.has(job.id)) twinsRun++;
      else {
        twinned.add(job.id);
        await oweAgain(srv, { ...job, attempt: 1 }, Date.now() + 300);
      }
    }
    await run();
  });
  const { a, sub, ids } = await scenario(srv, push);
  await assertOnce(push, a, sub.clientHash, ids, 20_000);
  assert.ok(ids.every((id) => twinned.has(id)), [...twinned].join(" "));
  assert.ok(twinsRun >= ids.length, `the twins ran too (${twinsRun})`);
});
