import assert from "node:assert/strict";
import { Store } from "../db/mod.ts";
import { K } from "../keys.ts";
import type { DueEntry, DueRecord } from "../outbox.ts";
import type { Job } from "../notify/plan.ts";
import type { InboxItem, User } from "../types.ts";
import { startSmtpPeer } from "../../tests/support/smtp_peer.ts";
import { EmailChannel } from "./channel.ts";
import { MAX_MAIL_ATTEMPTS } from "./policy.ts";
import type { EmailRecord } from "./records.ts";
import { SmtpTransport } from "./transport.ts";
import { newResident } from "../../tests/support/store_kit.ts";

const B = "b1";

async function withChannel(
  fn: (
    x: {
      store: Store;
      channel: EmailChannel;
      user: User;
      peer: Awaited<ReturnType<typeof startSmtpPeer>>;
    },
  ) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive_mail_test_" });
  const kv = await Deno.openKv(`${dir}/kv.sqlite3`);
  const peer = await startSmtpPeer();
  const transport = new SmtpTransport(peer.url, "no-reply@laundry.test", 3000);
  try {
    const store = new Store(kv, {});
    await store.init();
    await store.createBuilding({ id: B, name: "B" });
    const user = await newResident(store, "ann", B);
    await kv.set(
      K.email(user.id),
      {
        address: "ann@example.org",
        verifiedAt: 1,
        enabled: true,
        bounces: 0,
        bouncing: false,
        origin: "https://l.example",
      } satisfies EmailRecord,
    );
    const channel = new EmailChannel(store, transport, { retryBaseMs: 1000 });
    await fn({ store, channel, user, peer });
  } finally {
    transport.close();
    await peer.stop();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const item = (id: string): InboxItem => ({
  id,
  kind: "use.done",
  title: "세탁 완료",
  body: "W1이 끝났어요.",
  url: "/?m=w1",
  tag: "m-w1",
  machineId: "w1",
  createdAt: 0,
});

/** Write an email record due now and read it back as the worker would. */
async function dueEmail(store: Store, job: Extract<Job, { t: "email" }>): Promise<DueEntry> {
  const key = K.due(Date.now(), `email:${job.id}:${job.userId}:${crypto.randomUUID()}`);
  await store.kv.set(key, { job, created: Date.now() } satisfies DueRecord);
  return (await store.kv.get<DueRecord>(key)) as DueEntry;
}

async function stat(store: Store, field: string): Promise<number> {
  return Number((await store.kv.get<Deno.KvU64>(K.stat("all", field))).value?.value ?? 0n);
}

Deno.test("EmailChannel.fallback: only what matters, only without a healthy device, only to a sendable address", async () => {
  await withChannel(async ({ store, channel, user }) => {
    const now = Date.now();
    const done = { id: "use.done:1", kind: "use.done" as const };
    const jobs = await channel.fallback(user.id, B, done, [], now);
    assert.deepEqual(jobs.map((j) => j.job), [{
      t: "email",
      userId: user.id,
      b: B,
      id: "use.done:1",
      attempt: 1,
    }]);
    assert.equal(jobs[0].id, `email:use.done:1:${user.id}`);
    assert.deepEqual(
      await channel.fallback(user.id, B, { id: "f", kind: "machine.free" }, [], now),
      [],
    );
    const { device } = await store.upsertDevice(user.id, "dev_healthy_1", {
      kind: "webpush",
      endpoint: "https://push.example/1",
      keys: { p256dh: "p", auth: "a" },
      label: "phone",
    });
    assert.deepEqual(await channel.fallback(user.id, B, done, [device], now), []);
    assert.equal(
      (await channel.fallback(user.id, B, done, [{ ...device, failures: 3 }], now)).length,
      1,
    );
    await store.kv.set(K.email(user.id), {
      ...(await store.kv.get<EmailRecord>(K.email(user.id))).value!,
      enabled: false,
    });
    assert.deepEqual(await channel.fallback(user.id, B, done, [], now), []);
  });
});

Deno.test("EmailChannel.send: one mail, then mark + counter + consumption in one commit; a second record for it sends nothing", async () => {
  await withChannel(async ({ store, channel, user, peer }) => {
    await store.addToInbox(user.id, B, item("use.done:2"));
    const job = { t: "email" as const, userId: user.id, b: B, id: "use.done:2", attempt: 1 };
    const entry = await dueEmail(store, job);
    await channel.send(entry, job);
    assert.equal(peer.received.length, 1);
    assert.equal(peer.received[0].subject, "[세탁실 라이브] 세탁 완료");
    assert.ok(peer.received[0].text.includes("https://l.example/?m=w1"));
    assert.equal((await store.kv.get(entry.key)).value, null, "consumed");
    assert.equal(
      (await store.kv.get<{ outcome: string }>(K.mailed("use.done:2", user.id))).value?.outcome,
      "ok",
    );
    assert.equal(await stat(store, "email:sent"), 1);
    assert.equal(
      Number((await store.kv.get<Deno.KvU64>(K.stat(`b:${B}`, "email:sent"))).value?.value),
      1,
    );
    const again = await dueEmail(store, job);
    await channel.send(again, job);
    assert.equal(peer.received.length, 1, "not twice");
    assert.equal((await store.kv.get(again.key)).value, null);
    assert.equal(await stat(store, "email:sent"), 1);
  });
});

Deno.test("EmailChannel.send: a temporary failure reschedules with the next attempt; the last attempt counts as failed", async () => {
  await withChannel(async ({ store, channel, user, peer }) => {
    await store.addToInbox(user.id, B, item("use.done:3"));
    peer.tempFailNext = 1;
    const job = { t: "email" as const, userId: user.id, b: B, id: "use.done:3", attempt: 1 };
    const before = Date.now();
    await channel.send(await dueEmail(store, job), job);
    const left: Deno.KvEntry<DueRecord>[] = [];
    for await (const e of store.kv.list<DueRecord>({ prefix: K.dueAll() })) left.push(e);
    assert.equal(left.length, 1);
    assert.deepEqual(left[0].value.job, { ...job, attempt: 2 });
    assert.ok((left[0].key[1] as number) >= before + 1000, "backed off by the base");
    assert.equal(await stat(store, "email:failed"), 0);

    peer.tempFailNext = 1;
    const last = { ...job, attempt: MAX_MAIL_ATTEMPTS };
    await store.kv.delete(left[0].key);
    const entry = await dueEmail(store, last);
    await channel.send(entry, last);
    assert.equal((await store.kv.get(entry.key)).value, null);
    assert.equal(await stat(store, "email:failed"), 1);
    assert.equal(peer.received.length, 0);
  });
});
