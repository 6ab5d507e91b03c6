/**
 * The largest atomic operations stay within the portable limits of Deno KV
 * (Deno Deploy and self-hosted denokv): at most 10 checks, 1000 mutations and
 * 800 KiB per operation, values at most 64 KiB. Every commit of a realistic
 * worst case is measured through a handle that records each operation: a
 * notice to 250 residents (batches of notify records), a notification to a
 * resident with 10 devices, an offer to the first of 20 in line, and a command.
 * @module
 */
import assert from "node:assert/strict";
import { Store } from "../lib/db/mod.ts";
import { Hub } from "../lib/realtime.ts";
import { Notifier } from "../lib/notify/notifier.ts";
import { NotificationService } from "../lib/notify/service.ts";
import { DueWorker } from "../lib/outbox.ts";
import { loadConfig } from "../lib/config.ts";
import { generateVapidKeys, WebPushSender } from "../lib/push/webpush_sender.ts";
import { newMachine } from "../lib/lifecycle.ts";

/** One committed operation's size. */
interface OpStats {
  checks: number;
  mutations: number;
  bytes: number;
  largestValue: number;
}

const enc = new TextEncoder();
const size = (v: unknown) =>
  typeof v === "bigint"
    ? 8
    : enc.encode(JSON.stringify(v, (_k, x) => typeof x === "bigint" ? String(x) : x)).length;

/** A KV handle whose atomic operations record their checks, mutations and bytes. */
function measuring(kv: Deno.Kv, ops: OpStats[]): Deno.Kv {
  return new Proxy(kv, {
    get(target, prop) {
      if (prop === "atomic") {
        return () => {
          const op = target.atomic();
          const s: OpStats = { checks: 0, mutations: 0, bytes: 0, largestValue: 0 };
          const wrap = <K extends keyof Deno.AtomicOperation>(
            name: K,
            f: (a: unknown[]) => void,
          ) => {
            const orig = (op[name] as (...a: unknown[]) => unknown).bind(op);
            (op as unknown as Record<string, unknown>)[name] = (...a: unknown[]) => {
              f(a);
              orig(...a);
              return op;
            };
          };
          wrap("check", (a) => (s.checks += a.length));
          wrap("set", (a) => {
            s.mutations++;
            const n = size(a[0]) + size(a[1]);
            s.bytes += n;
            s.largestValue = Math.max(s.largestValue, size(a[1]));
          });
          wrap("delete", (a) => (s.mutations++, s.bytes += size(a[0])));
          wrap("sum", (a) => (s.mutations++, s.bytes += size(a[0]) + 8));
          wrap("enqueue", (a) => (s.mutations++, s.bytes += size(a[0])));
          const commit = op.commit.bind(op);
          op.commit = () => (ops.push(s), commit());
          return op;
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

Deno.test("portable limits: the largest atomic operations stay within Deno KV's limits", async () => {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-limits-" });
  const raw = await Deno.openKv(`${dir}/kv.sqlite`);
  const ops: OpStats[] = [];
  const kv = measuring(raw, ops);
  const store = new Store(kv);
  await store.init();
  const B = "b1";
  await store.createBuilding({ id: B, name: "B" });
  const hub = new Hub(store, { pingMs: 3_600_000, timeoutMs: 7_200_000 });
  const config = loadConfig({ BACKGROUND: "0", PUSH_ENDPOINT_ALLOW: "http://127.0.0.1:9" });
  const sender = new WebPushSender({
    ...(await generateVapidKeys()),
    subject: "mailto:t@example.org",
  });
  // Pushes go nowhere (a closed port): only the KV side is measured.
  const notifier = new Notifier(store, hub, config, sender, null);
  const service = new NotificationService(store, notifier, config);
  const worker = new DueWorker(kv, {
    instance: "t",
    handle: (e, w) => service.handle(e, w),
    leased: () => false, // no sends: push records stay for the check below
  });
  try {
    const users = [];
    for (let i = 0; i < 250; i++) {
      users.push(
        await store.createUser({
          loginId: `res${i}`,
          passwordHash: "x",
          name: "이름".repeat(20),
          room: "101",
          role: "resident",
          buildingId: B,
        }),
      );
    }
    for (let d = 0; d < 10; d++) {
      await store.upsertDevice(users[0].id, `dev${d}`, {
        kind: "webpush",
        endpoint: `http://127.0.0.1:9/push/${"x".repeat(400)}${d}`,
        keys: { p256dh: "B".repeat(87), auth: "A".repeat(22) },
        label: "phone",
      });
    }
    const m = newMachine("w1abc", B, "W".repeat(40), "washer", "1층", 1, Date.now());
    await raw.set(["machines", B, m.id], m);
    const actor = { id: users[0].id, name: "A", role: "resident" as const };
    await store.command(B, m.id, { type: "hold" }, actor);
    for (let i = 1; i <= 20; i++) await store.joinWaitlist(B, users[i].id, "1층", "washer");
    const queueBefore = (await store.waitlists(B)).find((w) => w.kind === "washer")!.queue;
    assert.equal(queueBefore.length, 20);
    ops.length = 0;

    // A notice to all 250 with the longest body the API accepts (2000 chars).
    await service.createNotice(users[0], B, {
      title: "공".repeat(100),
      body: "지".repeat(2000),
      target: { type: "all" },
      sound: true,
      critical: true,
    });
    // The machine frees up with 20 residents in its queue: the first is offered it.
    await store.command(B, m.id, { type: "release" }, actor);
    // Run everything (push records are left: their commits are measured elsewhere).
    await worker.runDue();
    assert.ok(ops.length > 250, `every notify commit measured (${ops.length})`);
    const worst = ops.reduce((w, s) => ({
      checks: Math.max(w.checks, s.checks),
      mutations: Math.max(w.mutations, s.mutations),
      bytes: Math.max(w.bytes, s.bytes),
      largestValue: Math.max(w.largestValue, s.largestValue),
    }));
    console.log(`  worst atomic operation: ${JSON.stringify(worst)} over ${ops.length} commits`);
    assert.ok(worst.checks <= 10, `checks ${worst.checks}`);
    assert.ok(worst.mutations <= 1000, `mutations ${worst.mutations}`);
    assert.ok(worst.bytes <= 800 * 1024, `bytes ${worst.bytes}`);
    assert.ok(worst.largestValue <= 64 * 1024, `value ${worst.largestValue}`);
    // The work really happened: everyone has the notice; the first in line the offer.
    assert.equal((await store.getNotice(B, (await store.listNotices(B))[0].id))?.status, "sent");
    for (const u of users) {
      assert.ok(await store.getInboxItem(u.id, `notice:${(await store.listNotices(B))[0].id}`));
    }
    // The first in line: joins in one millisecond are in user-id order, not in join order.
    const first = queueBefore[0];
    assert.ok(users.slice(1, 21).some((u) => u.id === first));
    const offers = (await Promise.all(users.slice(1, 21).map((u) => store.listInbox(u.id))))
      .map((items) => items.some((i) => i.kind === "waitlist.offer"));
    assert.deepEqual(
      offers,
      users.slice(1, 21).map((u) => u.id === first),
      "one offer, to the first",
    );
  } finally {
    await worker.stop();
    await hub.close();
    raw.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
