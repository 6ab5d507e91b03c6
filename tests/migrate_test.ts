/**
 * Upgrading a store written by earlier releases, in place, on first start.
 *
 * The fixture is written here with the old key layouts, key by key (no code
 * of the current release writes it): the single-building release (one board:
 * `["machines", id]`, `["log", "board", seq]`, users without a building,
 * `["notices", id]`, `["watches", kind, user]`, `["stats", "all", …]`, due
 * records without a building), and, for `outbox-1`, the release before that
 * (reminders and notices as queue messages: nothing in the due-index).
 * Everything a resident, an admin and the operator had must be there after
 * the upgrade, and two instances migrating at once must owe nothing twice.
 * @module
 */
import assert from "node:assert/strict";
import { Store } from "../lib/db/mod.ts";
import { LEGACY_BUILDING, migrate } from "../lib/migrate.ts";
import { hashPassword } from "../lib/password.ts";
import { lockRetrying } from "../lib/commit.ts";
import { sha256Hex } from "../lib/ids.ts";
import { Client, startTestServer, TEST_ADMIN_PASSWORD, TEST_PASSWORD } from "./support/harness.ts";
import { features } from "../app.ts";
import { type Json, ok, sleep, startNotifyServer } from "./support/notify_kit.ts";
import { fakeFcmAppOptions, startFakeFcm } from "./support/fake_fcm.ts";

const B = LEGACY_BUILDING;

/** Write a store as the single-building release left it. Returns what the test needs. */
async function legacyStore(kv: Deno.Kv, opts: { outbox: boolean }) {
  const now = Date.now();
  const hash = await hashPassword(TEST_PASSWORD, 1000);
  const adminHash = await hashPassword(TEST_ADMIN_PASSWORD, 1000);
  const user = (id: string, loginId: string, role: string, room: string) => ({
    id,
    loginId,
    name: loginId,
    room,
    role,
    disabled: false,
    passwordHash: role === "admin" ? adminHash : hash,
    createdAt: now - 86_400_000,
  });
  const users = [
    user("uadmin", "admin", "admin", "관리실"),
    user("ujanitor", "janitor", "admin", "B1"),
    user("ualice", "alice", "resident", "501"),
    user("ubob", "bob", "resident", "502"),
  ];
  const op = kv.atomic().set(["meta", "epoch"], "oldepoch");
  for (const u of users) op.set(["users", u.id], u).set(["users_by_login", u.loginId], u.id);
  const token = "alice-old-session-token-000000000000";
  const adminToken = "admin-old-session-token-000000000000";
  for (const [t, uid] of [[token, "ualice"], [adminToken, "uadmin"]]) {
    const h = await sha256Hex(t);
    op.set(["sessions", h], { userId: uid, createdAt: now, expiresAt: now + 86_400_000 })
      .set(["sessions_by_user", uid, h], true);
  }
  op.set(["invites", "OLD-CODE"], {
    code: "OLD-CODE",
    createdAt: now,
    createdBy: "uadmin",
    maxUses: 100,
    uses: 2,
    revoked: false,
  });
  const machine = (id: string, name: string, kind: string, order: number, extra = {}) => ({
    id,
    name,
    kind,
    room: "1층",
    order,
    state: "available",
    gen: 3,
    updatedAt: now,
    ...extra,
  });
  op.set(
    ["machines", "oldw1"],
    machine("oldw1", "W1", "washer", 1, {
      state: "in_use",
      ownerId: "ualice",
      ownerName: "alice",
      useId: "olduse1",
      gen: 4,
      startedAt: now - 60_000,
      endsAt: now + 1500,
    }),
  );
  op.set(
    ["machines", "oldd1"],
    machine("oldd1", "D1", "dryer", 2, {
      state: "held",
      ownerId: "ubob",
      ownerName: "bob",
      useId: "olduse2",
      holdExpiresAt: now + 3_600_000,
    }),
  );
  op.set(["machines", "oldw2"], machine("oldw2", "W2", "washer", 3));
  op.set(["holds", "ubob", "dryer"], "oldd1");
  op.set(["watches", "washer", "ualice"], { at: now });
  op.set(["prefs", "ualice"], {
    lang: "en",
    timeZone: "Asia/Seoul",
    push: {},
    endingSoonMinutes: 0,
    quiet: { enabled: false, start: "23:00", end: "07:00", mode: "silent" },
  });
  op.set(["inbox", "ualice", "old-item"], {
    id: "old-item",
    kind: "notice",
    title: "Before",
    body: "the upgrade",
    url: "/inbox",
    tag: "notice",
    createdAt: now - 3_600_000,
  });
  op.set(["devices", "ualice", "dev1"], {
    deviceId: "dev1",
    userId: "ualice",
    kind: "fcm",
    token: "fcm-token",
    label: "phone",
    createdAt: now,
    lastSeenAt: now,
    failures: 0,
  });
  const notice = (id: string, status: string, sendAt: number) => ({
    id,
    title: `Notice ${id}`,
    body: "Body",
    target: { type: "all" },
    sendAt,
    sound: true,
    critical: false,
    status,
    createdBy: "uadmin",
    createdAt: now - 7_200_000,
  });
  op.set(["notices", "oldsent"], notice("oldsent", "sent", now - 3_600_000));
  op.set(["notices", "oldnotice1"], notice("oldnotice1", "scheduled", now + 1000));
  for (let seq = 1; seq <= 3; seq++) {
    op.set(["log", "board", seq], { seq, scope: "board", type: "machine.updated", at: now });
  }
  op.set(["log_head", "board"], 3);
  op.set(["log", "u:ualice", 1], { seq: 1, scope: "user", type: "notification", at: now });
  op.set(["log_head", "u:ualice"], 1);
  op.sum(["stats", "all", "recipients"], 7n);
  if (opts.outbox) {
    // The single-building release had the due-index (outbox-1 done).
    op.set(["meta", "migrated", "outbox-1"], { at: now });
    op.set(["due", now + 1500, `tick:oldw1:olduse1:${now + 1500}`], {
      job: { t: "tick", machineId: "oldw1", useId: "olduse1" },
    });
    op.set(["due", now + 1000, "notice:oldnotice1"], {
      job: { t: "notice", noticeId: "oldnotice1" },
    });
  }
  assert.ok((await op.commit()).ok);
  return { token, adminToken };
}

async function withKv(fn: (kvPath: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-migrate-" });
  try {
    await fn(`${dir}/kv.sqlite`);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

Deno.test("migrate: a single-building store moves into its building in place, nothing lost, twice is once", async () => {
  await withKv(async (kvPath) => {
    const kv = lockRetrying(await Deno.openKv(kvPath));
    await legacyStore(kv, { outbox: true });
    const store = new Store(kv, { minuteMs: 500 });
    await store.init();
    assert.equal(store.epoch, "oldepoch", "the epoch is kept: user-log cursors stay valid");
    // Two instances starting at once: each with its own KV handle on the file, as the app
    // opens it (lib/server.ts).
    const kv2 = lockRetrying(await Deno.openKv(kvPath));
    const other = new Store(kv2, { minuteMs: 500 });
    await other.init();
    const runs = await Promise.all([
      migrate(store, Date.now(), { adminLogin: "admin" }),
      migrate(other, Date.now(), { adminLogin: "admin" }),
    ]);
    kv2.close();
    for (const r of runs) {
      assert.ok(r.every((n) => n === "tenancy-1" || n === "waitlist-1"), JSON.stringify(runs));
    }
    assert.deepEqual(await migrate(store, Date.now(), { adminLogin: "admin" }), [], "once");

    const b = await store.getBuilding(B);
    assert.deepEqual(b?.rooms, ["1층"]);
    const ms = await store.listMachines(B);
    assert.deepEqual(ms.map((m) => [m.id, m.state, m.buildingId]), [
      ["oldw1", "in_use", B],
      ["oldd1", "held", B],
      ["oldw2", "available", B],
    ]);
    const old: Deno.KvKey[] = [];
    for await (const e of kv.list({ prefix: ["machines"] })) {
      if (e.key.length === 2) old.push(e.key);
    }
    for await (const e of kv.list({ prefix: ["notices"] })) if (e.key.length === 2) old.push(e.key);
    for await (const e of kv.list({ prefix: ["watches"] })) if (e.key.length === 3) old.push(e.key);
    for await (const e of kv.list({ prefix: ["log", "board"] })) old.push(e.key);
    assert.deepEqual(old, [], "nothing left in the old layout");

    const byLogin = async (l: string) => (await store.getUserByLogin(l))!;
    assert.equal((await byLogin("admin")).role, "operator");
    assert.deepEqual(
      [(await byLogin("janitor")).role, (await byLogin("janitor")).adminOf],
      ["admin", [B]],
    );
    assert.equal((await byLogin("alice")).buildingId, B);
    assert.deepEqual((await store.listUsers(B)).map((u) => u.loginId).sort(), [
      "admin",
      "alice",
      "bob",
      "janitor",
    ]);
    const inv = await store.getInvite("OLD-CODE");
    assert.deepEqual([inv?.buildingId, inv?.role, inv?.uses], [B, "resident", 2]);
    assert.deepEqual((await store.listInvites(B)).map((i) => i.code), ["OLD-CODE"]);
    // Her one-shot watch became a place in the washer queue of the building's first room.
    assert.deepEqual(await store.waitingOf(B, "ualice"), [{ kind: "washer", room: "1층" }]);
    assert.equal((await kv.get(["watches", B, "washer", "ualice"])).versionstamp, null);
    assert.equal((await kv.get(["holds", "ubob", "dryer"])).value, `${B}/oldd1`);
    assert.deepEqual((await store.listNotices(B)).map((n) => [n.id, n.status, n.buildingId]), [
      ["oldnotice1", "scheduled", B],
      ["oldsent", "sent", B],
    ]);
    assert.equal((await store.getStats(`b:${B}`)).recipients, 7, "counters moved");
    assert.equal((await store.getPreferences("ualice"))?.lang, "en");
    assert.equal((await store.listInbox("ualice")).length, 1);
    assert.equal((await store.listDevices("ualice")).length, 1);
    const jobs: Json[] = [];
    for await (const e of kv.list<{ job: Json }>({ prefix: ["due"] })) jobs.push(e.value.job);
    assert.deepEqual(jobs.map((j) => [j.t, j.b]).sort(), [["notice", B], ["tick", B]]);

    // An old cursor: the board part gets a snapshot, the user part replays.
    const r = await store.sync("ualice", B, { epoch: "oldepoch", building: "", board: 3, user: 0 });
    assert.equal(r.recovered, false);
    assert.equal(r.snapshot?.machines.length, 3);
    assert.equal(r.inboxReset, false, "the user log is intact");
    assert.deepEqual(r.events.map((e) => [e.scope, e.seq]), [["user", 1]]);
    kv.close();
  });
});

Deno.test("migrate: the upgraded store serves: sessions, board, notices and reminders owed are delivered once", async () => {
  await withKv(async (kvPath) => {
    const kv = await Deno.openKv(kvPath);
    // The release before the due-index too: outbox-1 and tenancy-1 both run.
    const { token, adminToken } = await legacyStore(kv, { outbox: false });
    kv.close();
    await using srv = await startTestServer({ KV_PATH: kvPath, MINUTE_MS: "500" }, {
      setup: features({ pages: false }),
    });
    const alice = new Client(srv.url);
    alice.cookies.set("ll_session", token);
    assert.equal(ok(await alice.get("/api/me")).user.loginId, "alice");
    const board = ok(await alice.get("/api/machines"));
    assert.equal(board.building.id, B);
    assert.deepEqual(board.machines.map((m: Json) => m.id), ["oldw1", "oldd1", "oldw2"]);
    // The old admin, now the operator, sees the building.
    const op = new Client(srv.url);
    op.cookies.set("ll_session", adminToken);
    const list = ok(await op.get("/api/operator/buildings"));
    assert.deepEqual(list.buildings.map((x: Json) => x.id), [B]);
    assert.equal(list.buildings[0].health.members, 4);
    // What was owed before the upgrade arrives, once.
    const deadline = Date.now() + 8000;
    let ids: string[] = [];
    while (Date.now() < deadline) {
      ids = ok(await alice.get("/api/notifications")).items.map((i: Json) => i.id);
      if (ids.includes("use.done:olduse1") && ids.includes("notice:oldnotice1")) break;
      await sleep(50);
    }
    assert.ok(ids.includes("use.done:olduse1"), ids.join(" "));
    assert.ok(ids.includes("notice:oldnotice1"), ids.join(" "));
    assert.ok(ids.includes("old-item"));
    await sleep(500);
    const final = ok(await alice.get("/api/notifications")).items.map((i: Json) => i.id);
    assert.equal(final.filter((id: string) => id === "use.done:olduse1").length, 1);
    assert.equal(final.filter((id: string) => id === "notice:oldnotice1").length, 1);
  });
});

Deno.test("migrate: two instances upgrading a queue-era store at once push each owed notification once", async () => {
  await using fake = await startFakeFcm();
  await withKv(async (kvPath) => {
    const kv = lockRetrying(await Deno.openKv(kvPath));
    const { token } = await legacyStore(kv, { outbox: false });
    // Let the cycle end and the scheduled notice fall due before anyone upgrades: each
    // instance then dates what is owed at its own start, a few ms apart.
    await sleep(1600);
    const kv2 = lockRetrying(await Deno.openKv(kvPath));
    // The race to reproduce: both read "outbox-1 not done yet" before either commits it.
    // Each handle's read of that marker waits until both have read it.
    let readers = 0;
    let bothRead!: () => void;
    const barrier = new Promise<void>((r) => (bothRead = r));
    const racing = (h: Deno.Kv): Deno.Kv =>
      new Proxy(h, {
        get(t, p) {
          if (p === "get") {
            return async (key: Deno.KvKey, o?: { consistency?: Deno.KvConsistencyLevel }) => {
              const r = await t.get(key, o);
              if (key.join("/") === "meta/migrated/outbox-1") {
                if (++readers === 2) bothRead();
                await barrier;
              }
              return r;
            };
          }
          const v = Reflect.get(t, p, t);
          return typeof v === "function" ? v.bind(t) : v;
        },
      });
    const [a, b] = [
      new Store(racing(kv), { minuteMs: 500 }),
      new Store(racing(kv2), { minuteMs: 500 }),
    ];
    await Promise.all([a.init(), b.init()]);
    // Started at once; the second's clock reads 30 ms later.
    const t0 = Date.now();
    const runs = await Promise.all([
      migrate(a, t0, { adminLogin: "admin" }),
      migrate(b, t0 + 30, { adminLogin: "admin" }),
    ]);
    assert.deepEqual(runs.map((r) => r.includes("outbox-1")), [true, true], "both moved it");
    const notices: number[] = [];
    for await (const e of kv.list<{ job: Json }>({ prefix: ["due"] })) {
      if (e.value.job.t === "notice") notices.push(e.key[1] as number);
    }
    // Owed twice in the index (dated by each instance); the notice's status ("sent" after
    // the first) and the notify step's inbox check must still make it one push. With both
    // of those guards taken out this test fails (2 pushes of the notice).
    assert.equal(notices.length, 2, "the notice is owed twice in the index, dated by each");
    kv.close();
    kv2.close();

    await using srv = await startNotifyServer(
      { KV_PATH: kvPath, MINUTE_MS: "500" },
      { fcm: fakeFcmAppOptions(fake) },
    );
    const kinds = () =>
      fake.messages.filter((m) => m.token === "fcm-token").map((m) =>
        JSON.parse(((m.message as Json).webpush as Json).data.notification).data.id as string
      );
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const k = kinds();
      if (k.includes("use.done:olduse1") && k.includes("notice:oldnotice1")) break;
      await sleep(50);
    }
    await sleep(1500); // a second send would come within this
    const sent = kinds();
    assert.equal(sent.filter((id) => id === "use.done:olduse1").length, 1, sent.join(" "));
    assert.equal(sent.filter((id) => id === "notice:oldnotice1").length, 1, sent.join(" "));
    const alice = new Client(srv.url);
    alice.cookies.set("ll_session", token);
    const inbox = ok(await alice.get("/api/notifications")).items.map((i: Json) => i.id);
    assert.equal(inbox.filter((id: string) => id === "use.done:olduse1").length, 1);
    assert.equal(inbox.filter((id: string) => id === "notice:oldnotice1").length, 1);
  });
});
