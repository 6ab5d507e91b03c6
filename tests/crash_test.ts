/**
 * Crash safety of the delivery core (issue: "a kill -9 mid-burst loses
 * done notices"): 200 residents with a push device, whose cycles end
 * together; the real server process (`main.ts`) is killed with SIGKILL in
 * the middle of the burst of `use.done` pushes, and restarted on the same KV
 * file. Every notification must reach the inbox exactly once and the push
 * peer (web-push-testing) at least once; a push is sent again only if it was
 * in flight at the kill (the service worker shows it once: same tag, same
 * id), and the test counts those. Run with queues and with `KV_QUEUES=off`.
 * @module
 */
import assert from "node:assert/strict";
import { Store } from "../lib/db/mod.ts";
import { newMachine } from "../lib/lifecycle.ts";
import { defaultPreferences } from "../lib/notify/policy.ts";
import { generateVapidKeys } from "../lib/push/webpush_sender.ts";
import type { InboxItem } from "../lib/types.ts";
import { runServerProcess, type ServerProcess } from "./support/harness.ts";
import { startWebPushTesting, type TestSubscription } from "./support/push_service.ts";
import { decodePush, sleep, TEST_VAPID_SUBJECT } from "./support/notify_kit.ts";

const RESIDENTS = 200;
const CONCURRENCY = 8;

async function crashMidBurst(queues: "auto" | "off"): Promise<void> {
  await using push = await startWebPushTesting();
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-crash-" });
  const kvPath = `${dir}/kv.sqlite`;
  const vapid = await generateVapidKeys();
  const env = {
    PORT: "0",
    HOSTNAME_BIND: "127.0.0.1",
    KV_PATH: kvPath,
    MINUTE_MS: "1000",
    PUSH_ENDPOINT_ALLOW: push.origin,
    ADMIN_PASSWORD: "crash-admin-pass-1",
    INVITE_CODE: "CRASH-INVITE",
    VAPID_PUBLIC_KEY: vapid.publicKey,
    VAPID_PRIVATE_KEY: vapid.privateKey,
    VAPID_SUBJECT: TEST_VAPID_SUBJECT,
    KV_QUEUES: queues,
    PUSH_CONCURRENCY: String(CONCURRENCY),
    PUSH_TIMEOUT_MS: "500",
    PUSH_LEASE_MS: "1500",
    BACKGROUND: "1",
    NO_COLOR: "1",
  };
  let server: ServerProcess | null = null;
  try {
    // The building, written straight into the KV file: residents, devices,
    // machines, and cycles that all end 6 s from now (their ticks are in the
    // same commits as the starts).
    const kv = await Deno.openKv(kvPath);
    const users: { id: string; sub: TestSubscription; useId: string }[] = [];
    const B = "b1";
    try {
      const store = new Store(kv, { minuteMs: 1000 });
      await store.init();
      await store.createBuilding({ id: B, name: "B" });
      const subs = await Promise.all(
        Array.from({ length: RESIDENTS }, () => push.subscribe(vapid.publicKey)),
      );
      for (let i = 0; i < RESIDENTS; i++) {
        const u = await store.createUser({
          loginId: `res${i}`,
          passwordHash: "x",
          name: `Resident ${i}`,
          room: String(100 + i),
          role: "resident",
          buildingId: B,
        });
        await store.upsertDevice(u.id, `dev_${i}`, {
          kind: "webpush",
          endpoint: subs[i].endpoint,
          keys: subs[i].keys,
          label: "phone",
        });
        // Only use.done in this burst: no "ending soon" reminder.
        await store.setPreferences(u.id, { ...defaultPreferences(), endingSoonMinutes: 0 });
        const m = newMachine(`m${String(i).padStart(4, "0")}`, B, `W${i}`, "washer", "B1", i, 0);
        await kv.set(["machines", B, m.id], m);
        const r = await store.command(B, m.id, { type: "start", minutes: 6 }, {
          id: u.id,
          name: u.name,
          role: "resident",
        });
        users.push({ id: u.id, sub: subs[i], useId: r.machine.useId! });
      }
    } finally {
      kv.close();
    }
    const pushed = async () => {
      const k = await Deno.openKv(kvPath);
      try {
        return Number((await k.get<Deno.KvU64>(["stats", `b:${B}`, "pushed"])).value?.value ?? 0n);
      } finally {
        k.close();
      }
    };

    // First life: killed with SIGKILL in the middle of the burst.
    const first = await runServerProcess(env);
    server = first;
    let seen = 0;
    const deadline = Date.now() + 30_000;
    while ((seen = await pushed()) < 60) {
      assert.ok(Date.now() < deadline, `the burst never started:\n${first.output()}`);
      await sleep(2);
    }
    await first.kill("SIGKILL");
    server = null;
    const atKill = await pushed();
    assert.ok(atKill < RESIDENTS, `killed mid-burst (${atKill} of ${RESIDENTS} recorded as sent)`);

    // Second life: the rest goes out.
    const second = await runServerProcess(env);
    server = second;
    const until = Date.now() + 30_000;
    while (await pushed() < RESIDENTS) {
      assert.ok(Date.now() < until, `only ${await pushed()} pushed:\n${second.output()}`);
      await sleep(50);
    }
    await sleep(1500); // stragglers, re-sends

    // Inbox: exactly one use.done per resident.
    const check = await Deno.openKv(kvPath);
    try {
      for (const u of users) {
        const items: InboxItem[] = [];
        for await (const e of check.list<InboxItem>({ prefix: ["inbox", u.id] })) {
          items.push(e.value);
        }
        const ids = items.map((i) => i.id);
        assert.equal(new Set(ids).size, ids.length, `no notification twice: ${ids}`);
        assert.deepEqual(
          ids.filter((id) => id.startsWith("use.done:")),
          [`use.done:${u.useId}`],
          `inbox of ${u.id}`,
        );
      }
    } finally {
      check.close();
    }
    // Push: every use.done arrived; repeats only for pushes in flight at the kill.
    let lost = 0;
    let repeated = 0;
    const payloads = await Promise.all(users.map((u) => push.notifications(u.sub.clientHash)));
    users.forEach((u, i) => {
      const ids: string[] = payloads[i].map((p) => decodePush(p).id);
      const done = ids.filter((id) => id.startsWith("use.done:"));
      assert.ok(done.every((id) => id === `use.done:${u.useId}`), `only its own: ${done}`);
      if (done.length === 0) lost++;
      repeated += ids.length - new Set(ids).size;
    });
    console.log(
      `  KV_QUEUES=${queues}: killed at ${seen}→${atKill} recorded; after restart ${RESIDENTS}; ` +
        `lost ${lost}, sent again (in flight at the kill) ${repeated}`,
    );
    assert.equal(lost, 0, "no use.done lost");
    assert.ok(repeated <= CONCURRENCY, `at most the pushes in flight were sent again: ${repeated}`);
  } finally {
    await server?.kill("SIGKILL");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

Deno.test("crash: SIGKILL mid-burst of 200 use.done, restart: none lost, none twice in the inbox (queues)", async () => {
  await crashMidBurst("auto");
});

Deno.test("crash: the same with KV_QUEUES=off (the Deno Deploy path)", async () => {
  await crashMidBurst("off");
});
