/**
 * Handshakes that read nothing from KV (issue 13, reconnect storm): a
 * resident's sockets resuming at the heads this instance knows are checked
 * by the hub's session gate and answered from the hub's follow, and what
 * ends a session still shuts the door on every instance.
 * @module
 */
import assert from "node:assert/strict";
import { USER_HEAD_TTL_MS } from "../lib/realtime.ts";
import { SESSION_TTL_MS } from "../lib/db/mod.ts";
import { newSessionToken, sha256Hex } from "../lib/ids.ts";
import { K } from "../lib/keys.ts";
import {
  admin,
  Client,
  isEvent,
  openSocket,
  rawUpgrade,
  resident,
  startTestServer,
  TEST_PASSWORD,
  type TestServer,
  type WsMessage,
} from "./support/harness.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => boolean | Promise<boolean>, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Count calls of the store's session, user and sync reads. */
function spy(srv: TestServer) {
  const store = srv.ctx.store;
  const counts = { getSession: 0, getUser: 0, sync: 0 };
  for (const name of ["getSession", "getUser", "sync"] as const) {
    // deno-lint-ignore no-explicit-any
    const f = (store as any)[name].bind(store);
    // deno-lint-ignore no-explicit-any
    (store as any)[name] = (...args: unknown[]) => {
      counts[name]++;
      return f(...args);
    };
  }
  return {
    counts,
    reset() {
      counts.getSession = counts.getUser = counts.sync = 0;
    },
  };
}

/** `n` more signed-in clients of an existing login. */
async function sessionsOf(url: string, loginId: string, n: number): Promise<Client[]> {
  const out: Client[] = [];
  for (let i = 0; i < n; i++) {
    const c = new Client(url);
    assert.equal((await c.login(loginId, TEST_PASSWORD)).status, 200);
    out.push(c);
  }
  return out;
}

Deno.test("ws gate: a resident's sockets resuming at the heads read nothing from KV, and stay live", async () => {
  await using srv = await startTestServer();
  const a = await resident(srv.url, "alice");
  const more = await sessionsOf(srv.url, "alice", 4);
  const ms = (await a.get("/api/machines")).json.machines;
  const s = spy(srv);
  await using first = openSocket(srv.url, a.cookie);
  const h1 = await first.hello;
  assert.equal(s.counts.sync, 1, "the first socket: the KV path");
  assert.equal(s.counts.getSession, 0, "its session checked by the gate");
  assert.equal(s.counts.getUser, 1, "one read of her record");
  s.reset();
  const sockets = more.map((c) => openSocket(srv.url, c.cookie, h1.cursor));
  try {
    const hellos = await Promise.all(sockets.map((w) => w.hello));
    for (const h of hellos) {
      assert.equal(h.recovered, true);
      assert.equal(h.cursor, h1.cursor);
      assert.deepEqual(h.events, []);
      assert.equal(h.snapshot, undefined);
      assert.equal(h.inboxReset, false);
      assert.equal(h.user.loginId, "alice");
      assert.equal(h.user.passwordHash, undefined);
      assert.equal(h.user.revokedSessions, undefined);
    }
    assert.deepEqual(s.counts, { getSession: 0, getUser: 0, sync: 0 }, "no read at all");
    // Still live: a board event and one of her own reach every socket.
    const held = await a.post(`/api/machines/${ms[1].id}/hold`);
    assert.equal(held.status, 200);
    for (const w of [first, ...sockets]) {
      await w.next(isEvent("machine.held", ms[1].id), 3000);
    }
  } finally {
    for (const w of sockets) await w.close();
  }
});

Deno.test("ws gate: a resume behind her own log still replays it; at her new head it is answered from memory", async () => {
  await using srv = await startTestServer();
  const a = await resident(srv.url, "alice");
  const [a2, a3] = await sessionsOf(srv.url, "alice", 2);
  const bid = a.user.buildingId;
  await using first = openSocket(srv.url, a.cookie);
  const h1 = await first.hello;
  // One of her own events, committed while her socket is open.
  const [ev] = await srv.ctx.store.appendUserEvents(a.user.id, bid, [{
    type: "inbox.read",
    data: { ids: ["x"] },
  }]);
  await srv.ctx.hub.poll(bid);
  const got = await first.next((m: WsMessage) => m.type === "event" && m.event.scope === "user");
  assert.equal(got.event.seq, ev.seq);
  const s = spy(srv);
  // A socket that did not see it resumes from before it: replayed (KV path).
  await using behind = openSocket(srv.url, a2.cookie, h1.cursor);
  const hb = await behind.hello;
  assert.deepEqual(hb.events.map((e: WsMessage) => e.seq), [ev.seq]);
  assert.equal(hb.recovered, true);
  assert.equal(s.counts.sync, 1);
  // One that saw it resumes at her new head: no read, nothing replayed.
  s.reset();
  await using level = openSocket(srv.url, a3.cookie, first.cursor);
  const hl = await level.hello;
  assert.equal(hl.cursor, first.cursor);
  assert.deepEqual(hl.events, []);
  assert.deepEqual(s.counts, { getSession: 0, getUser: 0, sync: 0 });
});

Deno.test("ws gate: a resume behind the board replays it; after her last socket here closed, the KV path again", async () => {
  await using srv = await startTestServer();
  const a = await resident(srv.url, "alice");
  const [a2] = await sessionsOf(srv.url, "alice", 1);
  const ms = (await a.get("/api/machines")).json.machines;
  const first = openSocket(srv.url, a.cookie);
  const h1 = await first.hello;
  assert.equal((await a.post(`/api/machines/${ms[0].id}/hold`)).status, 200);
  await first.next(isEvent("machine.held", ms[0].id), 3000);
  const s = spy(srv);
  await using behind = openSocket(srv.url, a2.cookie, h1.cursor);
  const hb = await behind.hello;
  assert.deepEqual(hb.events.map((e: WsMessage) => e.type), ["machine.held"]);
  assert.equal(s.counts.sync, 1, "her own log is at its head, the board is not: KV path");
  // Bob keeps the building followed here.
  const b = await resident(srv.url, "bob");
  await using bobs = openSocket(srv.url, b.cookie);
  await bobs.hello;
  const at = first.cursor!;
  await first.close();
  await behind.close();
  await waitFor(() => srv.ctx.hub.size === 1, 3000, "the hub to drop her sockets");
  s.reset();
  await using again = openSocket(srv.url, a2.cookie, at);
  assert.equal((await again.hello).recovered, true);
  assert.equal(
    s.counts.sync,
    1,
    "what was learnt of her log went with her last socket (kept only for users with sockets here)",
  );
});

Deno.test("ws gate: a change of her record, announced on the control feed, reaches the next handshake", async () => {
  await using srv = await startTestServer();
  const a = await resident(srv.url, "alice");
  const [a2] = await sessionsOf(srv.url, "alice", 1);
  await using first = openSocket(srv.url, a.cookie);
  const h1 = await first.hello;
  assert.equal(h1.user.room, "101");
  await srv.ctx.store.patchUser(a.user.id, (u) => ({ ...u, room: "707" }));
  await srv.ctx.hub.poll(); // as the control feed's watch would
  const s = spy(srv);
  await using next = openSocket(srv.url, a2.cookie, h1.cursor);
  const h2 = await next.hello;
  assert.equal(h2.user.room, "707", "her record read again");
  assert.equal(s.counts.getUser, 1);
  assert.equal(s.counts.sync, 1, "and her log's head too (she may have moved buildings)");
  assert.equal(h2.recovered, true);
});

Deno.test("ws gate: her log's head is trusted for USER_HEAD_TTL_MS after a read, then read again", async () => {
  await using srv = await startTestServer();
  const a = await resident(srv.url, "alice");
  const more = await sessionsOf(srv.url, "alice", 3);
  await using first = openSocket(srv.url, a.cookie);
  const h1 = await first.hello;
  const s = spy(srv);
  const resume = async (c: Client) => {
    s.reset();
    const w = openSocket(srv.url, c.cookie, h1.cursor);
    assert.equal((await w.hello).recovered, true);
    return { w, sync: s.counts.sync };
  };
  const realNow = Date.now;
  const opened = [];
  try {
    const x = await resume(more[0]);
    opened.push(x.w);
    assert.equal(x.sync, 0, "within the minute: from memory");
    Date.now = () => realNow() + USER_HEAD_TTL_MS + 1000;
    const y = await resume(more[1]);
    opened.push(y.w);
    assert.equal(y.sync, 1, "past it: read again");
    const z = await resume(more[2]);
    opened.push(z.w);
    assert.equal(z.sync, 0, "and trusted again after that read");
  } finally {
    Date.now = realNow;
    for (const w of opened) await w.close();
  }
});

Deno.test("ws gate: a session from before signed tokens still opens a socket (read from KV)", async () => {
  await using srv = await startTestServer();
  const a = await resident(srv.url, "alice");
  const store = srv.ctx.store;
  // As the previous release made them: `<userId>.<secret>`, stored by its hash.
  const token = newSessionToken(a.user.id);
  const now = Date.now();
  await store.kv.atomic()
    .set(K.session(await sha256Hex(token)), {
      userId: a.user.id,
      createdAt: now,
      expiresAt: now + SESSION_TTL_MS,
    })
    .commit();
  const s = spy(srv);
  await using w = openSocket(srv.url, `ll_session=${token}`);
  assert.equal((await w.hello).user.loginId, "alice");
  assert.equal(s.counts.getSession, 1, "the gate left it to KV");
});

Deno.test("ws gate: an operator's or admin's socket always reads KV (their events may be about other buildings)", async () => {
  await using srv = await startTestServer();
  const op = await admin(srv.url);
  await using first = openSocket(srv.url, op.cookie);
  const h = await first.hello;
  const s = spy(srv);
  await using again = openSocket(srv.url, op.cookie, h.cursor);
  const h2 = await again.hello;
  assert.equal(h2.recovered, true);
  assert.equal(s.counts.sync, 1);
});

Deno.test("ws gate: sign-out or a disabled account on one instance shuts the door on the other (one KV)", async () => {
  await using one = await startTestServer();
  await using two = await startTestServer({ KV_PATH: one.kvPath });
  const a = await resident(one.url, "alice");
  const [a2] = await sessionsOf(one.url, "alice", 1);
  // Instance two caches her record from these sockets.
  await using s1 = openSocket(two.url, a.cookie);
  await using s2 = openSocket(two.url, a2.cookie);
  await Promise.all([s1.hello, s2.hello]);
  assert.equal(two.ctx.hub.gate.size, 1);

  const token = a.sessionToken!;
  assert.equal((await a.post("/api/auth/logout")).status, 200);
  // The control feed reaches instance two: her signed-out socket there closes…
  const closed = await s1.closed;
  assert.equal(closed.code, 4401);
  // …and that session's cookie no longer opens one, while her other session does.
  const r = await rawUpgrade(two.url, { origin: two.url, cookie: `ll_session=${token}` });
  assert.equal(r.status, 401);
  assert.equal(r.json.error.code, "unauthenticated");
  assert.equal((await rawUpgrade(two.url, { origin: two.url, cookie: a2.cookie })).status, 101);

  // Disabled by the operator through instance one.
  const op = await admin(one.url);
  const patched = await op.patch(`/api/admin/residents/${a.user.id}`, { disabled: true });
  assert.equal(patched.status, 200);
  assert.equal((await s2.closed).code, 4401);
  await waitFor(
    async () => (await rawUpgrade(two.url, { origin: two.url, cookie: a2.cookie })).status === 401,
    3000,
    "instance two to refuse the disabled resident",
  );
});
