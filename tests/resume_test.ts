/**
 * Resume edge cases (SPEC section 4): an event committed while a socket's
 * `hello` is being prepared is not lost, and a cursor more than MAX_REPLAY
 * events behind gets a snapshot (exactly at the bound, a replay).
 * @module
 */
import assert from "node:assert/strict";
import { formatCursor } from "../lib/cursor.ts";
import { MAX_REPLAY } from "../lib/db/mod.ts";
import { isEvent, openSocket, rawUpgrade, resident, startTestServer } from "./support/harness.ts";
import { type Json, ok, startNotifyServer } from "./support/notify_kit.ts";

Deno.test("resume: an event committed while hello is prepared reaches the socket, once, in order", async () => {
  await using srv = await startTestServer();
  const a = await resident(srv.url, "alice");
  const ms = (await a.get("/api/machines")).json.machines;
  const store = srv.ctx.store;
  const sync = store.sync.bind(store);
  let injected = false;
  // The hello's read runs, then (before hello is sent) another resident's
  // command commits: its event is newer than the hello's cursor.
  store.sync = async (userId, bid, since) => {
    const r = await sync(userId, bid, since);
    if (!injected) {
      injected = true;
      await srv.ctx.board.command(bid, ms[2].id, { type: "hold" }, {
        id: "someone",
        name: "S",
        role: "resident",
      });
      // Fanned out now, to the socket registered but not yet sent its hello: it must
      // hold the event and send it right after the hello (not wait for a later one).
      await srv.ctx.hub.poll(bid);
    }
    return r;
  };
  await using ws = openSocket(srv.url, a.cookie);
  const hello = await ws.hello;
  const ev = await ws.next(isEvent("machine.held", ms[2].id), 3000);
  assert.equal(ev.event.seq, Number(hello.cursor.split(":")[2]) + 1, "the next event after hello");
  await new Promise((r) => setTimeout(r, 300));
  const held = ws.messages.filter((m) => m.type === "event" && m.event.type === "machine.held");
  assert.equal(held.length, 1, "once");
});

Deno.test("resume: more than MAX_REPLAY events behind → snapshot; exactly MAX_REPLAY → replay", async () => {
  await using srv = await startTestServer();
  const a = await resident(srv.url, "alice");
  const store = srv.ctx.store;
  const bid = a.user.buildingId;
  const { board } = await store.heads(bid);
  // As if MAX_REPLAY + 1 events had been committed since `board`.
  await store.kv.set(["log_head", `b:${bid}`], board + MAX_REPLAY + 1);
  const at = (b: number) => ({ epoch: store.epoch, building: bid, board: b, user: 0 });
  const far = await store.sync(a.user.id, bid, at(board));
  assert.equal(far.recovered, false);
  assert.ok(far.snapshot && far.snapshot.machines.length > 0, "a snapshot replaces the board");
  const edge = await store.sync(a.user.id, bid, at(board + 1));
  assert.equal(edge.snapshot, undefined, "exactly MAX_REPLAY behind: replayed");
  assert.equal(edge.recovered, true);
  assert.equal(
    edge.cursor,
    formatCursor({ epoch: store.epoch, building: bid, board: board + MAX_REPLAY + 1, user: 0 }),
  );
  assert.equal(MAX_REPLAY, 5000);
});

Deno.test("resume: fresh sockets share one board read per change, and a change is in the next snapshot", async () => {
  await using srv = await startTestServer();
  const a = await resident(srv.url, "alice");
  const b = await resident(srv.url, "bob");
  const ms = (await a.get("/api/machines")).json.machines;
  const store = srv.ctx.store;
  const list = store.listMachines.bind(store);
  let lists = 0;
  store.listMachines = (bid) => {
    lists++;
    return list(bid);
  };
  await using first = openSocket(srv.url, a.cookie);
  const h1 = await first.hello;
  await using second = openSocket(srv.url, b.cookie);
  const h2 = await second.hello;
  assert.equal(h1.recovered, false);
  assert.equal(h2.snapshot.machines.length, ms.length);
  assert.equal(lists, 1, "the second hello reused the first one's board read");
  assert.equal((await a.post(`/api/machines/${ms[0].id}/hold`)).status, 200);
  await first.next(isEvent("machine.held", ms[0].id), 3000);
  await using third = openSocket(srv.url, b.cookie);
  const h3 = await third.hello;
  assert.equal(lists, 2, "a change: the board is read again");
  assert.equal(h3.snapshot.machines.find((m: { id: string }) => m.id === ms[0].id).state, "held");
});

Deno.test("resume: a hello cut short by the server shutting down, or by a client hanging up after the 101, is not logged as a failure", async () => {
  const srv = await startTestServer();
  const a = await resident(srv.url, "alice");
  const logged: unknown[][] = [];
  const orig = console.error;
  console.error = (...args: unknown[]) => {
    logged.push(args);
    orig(...args);
  };
  try {
    // rawUpgrade reads the 101 and closes the TCP connection at once; the
    // server is closed while the last hellos are still being prepared.
    const upgrades = await Promise.all(
      Array.from({ length: 30 }, () => rawUpgrade(srv.url, { origin: srv.url, cookie: a.cookie })),
    );
    assert.deepEqual(new Set(upgrades.map((r) => r.status)), new Set([101]));
    await srv[Symbol.asyncDispose]();
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    console.error = orig;
  }
  const hellos = logged.filter((args) => String(args[0]).includes("hello failed"));
  assert.deepEqual(hellos.map((a) => String(a[1])), []);
});

Deno.test("resume: a protocol-2 cursor, kept from the events, resumes after the user's own events without replaying them", async () => {
  await using srv = await startNotifyServer({ MINUTE_MS: "200" });
  const a = await resident(srv.url, "alice");
  const washer = ok(await a.get("/api/machines")).machines.find((m: Json) => m.kind === "washer");
  const ws = openSocket(srv.url, a.cookie);
  await ws.hello;
  const started = ok(await a.post(`/api/machines/${washer.id}/start`, { minutes: 1 }));
  const done = `use.done:${started.machine.useId}`;
  const n = await ws.next((x) => x.type === "event" && x.event.data?.item?.id === done, 5000);
  assert.equal(n.event.scope, "user");
  assert.equal(n.cursor, undefined, "protocol 2: no cursor in the event");
  const kept = ws.cursor!;
  assert.equal(Number(kept.split(":")[3]), n.event.seq, "her log's position moved with the event");
  await ws.close();
  await using again = openSocket(srv.url, a.cookie, kept);
  const hello = await again.hello;
  assert.equal(hello.recovered, true);
  assert.deepEqual(
    hello.events.filter((e: Json) => e.scope === "user" && e.seq <= n.event.seq).map((
      e: Json,
    ) => e.seq),
    [],
    "nothing of hers a second time (no second 'done' toast)",
  );
});
