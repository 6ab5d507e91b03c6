/**
 * Crash safety of reminders (SPEC section 3, "Scheduling"): reminders are KV
 * queue messages, so a server killed with SIGKILL before they are due, and
 * restarted on the same KV file, still sends every one of them, exactly once.
 * Runs the production entry point (`deno run -A main.ts`) as a subprocess.
 * @module
 */
import assert from "node:assert/strict";
import { Client, runServerProcess, type ServerProcess } from "./support/harness.ts";
import { startWebPushTesting, type TestSubscription } from "./support/push_service.ts";
import {
  act,
  addWebPushDevice,
  type Json,
  machines,
  ok,
  payloads,
  sleep,
  TEST_VAPID_SUBJECT,
} from "./support/notify_kit.ts";

Deno.test("restart: reminders scheduled before a SIGKILL arrive exactly once after a restart", async () => {
  const push = await startWebPushTesting();
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-restart-" });
  const env = {
    PORT: "0",
    HOSTNAME_BIND: "127.0.0.1",
    KV_PATH: `${dir}/kv.sqlite`,
    MINUTE_MS: "500",
    PUSH_ENDPOINT_ALLOW: push.origin,
    INVITE_CODE: "RESTART-INVITE",
    ADMIN_PASSWORD: "restart-admin-pass-1",
    VAPID_SUBJECT: TEST_VAPID_SUBJECT,
    BACKGROUND: "1",
    SEED: "1",
    LAUNDRY_FAULTS: "",
    NO_COLOR: "1",
  };
  let first: ServerProcess | null = null;
  let second: ServerProcess | null = null;
  try {
    const p1: ServerProcess = await runServerProcess(env);
    first = p1;
    const names = ["ria", "sol", "tae"];
    const users: { client: Client; sub: TestSubscription }[] = [];
    for (const name of names) {
      const c = new Client(p1.url);
      const r = await c.register(name, name, "101", { inviteCode: env.INVITE_CODE });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      const { sub } = await addWebPushDevice(c, push);
      users.push({ client: c, sub });
    }
    const board = await machines(users[0].client);
    const washers = board.filter((m) => m.kind === "washer");
    const dryer = board.find((m) => m.kind === "dryer");
    // ria: a washer and a dryer; sol and tae: one washer each. With MINUTE_MS=500
    // they end 1, 1, 1.5 and 3 s from now.
    const plan = [
      { user: 0, machine: washers[0], minutes: 3 },
      { user: 0, machine: dryer, minutes: 2 },
      { user: 1, machine: washers[1], minutes: 2 },
      { user: 2, machine: washers[2], minutes: 6 },
    ];
    const expected: { user: number; id: string; endsAt: number }[] = [];
    for (const p of plan) {
      const m = await act(users[p.user].client, p.machine.id, "start", { minutes: p.minutes });
      expected.push({ user: p.user, id: `use.done:${m.useId}`, endsAt: m.endsAt });
    }
    await p1.kill("SIGKILL");
    const killedAt = Date.now();
    assert.ok(
      killedAt < Math.min(...expected.map((e) => e.endsAt)),
      "killed before any reminder was due",
    );
    for (const u of users) assert.equal((await payloads(push, u.sub.clientHash)).length, 0);
    // Stay down until the first three are past due: they must fire at start-up;
    // the last one falls due after the restart.
    const sorted = expected.map((e) => e.endsAt).sort((x, y) => x - y);
    await sleep(sorted[2] + 200 - Date.now());
    assert.ok(Date.now() < sorted[3] - 500, "the last reminder is still ahead");
    for (const u of users) assert.equal((await payloads(push, u.sub.clientHash)).length, 0);

    // Same KV file, new process (new port).
    const p2: ServerProcess = await runServerProcess(env);
    second = p2;
    const upAt = Date.now();
    // Sessions survived in KV: the same cookies work on the new server.
    for (const u of users) {
      const c = new Client(p2.url);
      for (const [k, v] of u.client.cookies) c.cookies.set(k, v);
      assert.equal(ok(await c.get("/api/me")).user.loginId, u.client.user.loginId);
      u.client = c;
    }

    // Every expected use.done arrives, promptly: from its KV queue message
    // (fired at start-up when it fell due during the downtime), not from the
    // once-a-minute cron sweep.
    const deadline = Date.now() + 8000;
    let lastArrival = 0;
    for (const e of expected) {
      const hash = users[e.user].sub.clientHash;
      let p: Json;
      while (!(p = (await payloads(push, hash)).find((x) => x.id === e.id))) {
        if (Date.now() > deadline) {
          throw new Error(`${e.id} never arrived; server output:\n${p2.output()}`);
        }
        await sleep(25);
      }
      lastArrival = Math.max(lastArrival, Date.now());
      assert.ok(p.ts >= e.endsAt, "not before its time");
      const dueAt = Math.max(e.endsAt, upAt);
      assert.ok(p.ts - dueAt < 2500, `${e.id} sent ${p.ts - dueAt} ms after it was due`);
    }
    // …and exactly once, even 3 s after the last one (stragglers, redeliveries).
    await sleep(Math.max(0, lastArrival + 3000 - Date.now()));
    for (let i = 0; i < users.length; i++) {
      const got = await payloads(push, users[i].sub.clientHash);
      const ids = got.map((p) => p.id);
      assert.equal(new Set(ids).size, ids.length, `no duplicates for ${names[i]}: ${ids}`);
      const done = got.filter((p) => p.kind === "use.done").map((p) => p.id).sort();
      const want = expected.filter((e) => e.user === i).map((e) => e.id).sort();
      assert.deepEqual(done, want, `use.done for ${names[i]}`);
    }
    // The inbox agrees (one entry per notification).
    for (let i = 0; i < users.length; i++) {
      const items = ok(await users[i].client.get("/api/notifications")).items;
      const ids = items.map((x: { id: string }) => x.id).filter((id: string) =>
        id.startsWith("use.done:")
      ).sort();
      assert.deepEqual(ids, expected.filter((e) => e.user === i).map((e) => e.id).sort());
    }
  } finally {
    await first?.kill("SIGKILL");
    await second?.kill("SIGTERM");
    await push.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
