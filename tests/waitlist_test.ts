/**
 * The waitlist end to end (docs/API.md "Waitlist and offers"), on a real server, KV file,
 * sockets and push peer: residents queue per laundry room and kind; a freed
 * machine is offered to the first in line exclusively for OFFER_MINUTES;
 * pass or no answer goes to the next; accepting holds it (and leaves the
 * queue); letting offers lapse twice in a row moves a resident to the back;
 * an admin's override tells the offer's holder, and so does a walk-up start a
 * sensor sees during the offer; walk-up races during an
 * offer leave exactly one holder. MINUTE_MS=200 makes an offer last 1 s.
 * @module
 */
import assert from "node:assert/strict";
import { admin, type Client, isEvent, openSocket, resident } from "./support/harness.ts";
import { startWebPushTesting } from "./support/push_service.ts";
import {
  act,
  addWebPushDevice,
  assertApiError,
  decodePush,
  type Json,
  machines,
  ok,
  sleep,
  startNotifyServer,
  waitForPayload,
} from "./support/notify_kit.ts";
import { actionRequest, buildNotification } from "../lib/sw_logic.ts";

/** The machine as the board has it now. */
async function machine(c: Client, id: string): Promise<Json> {
  return (await machines(c)).find((m: Json) => m.id === id);
}

/** Poll until `pred` holds for machine `id` (the offer worker runs after the commit). */
async function until(c: Client, id: string, pred: (m: Json) => boolean, ms = 5000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = await machine(c, id);
    if (pred(m)) return m;
    if (Date.now() > deadline) throw new Error(`machine never matched: ${JSON.stringify(m)}`);
    await sleep(20);
  }
}

/** The caller's view of the dryer queue of `room`. */
async function myQueue(c: Client, room: string): Promise<{ length: number; place: number | null }> {
  const qs = ok(await c.get("/api/waitlist")).queues as Json[];
  const q = qs.find((x) => x.room === room && x.kind === "dryer");
  return { length: q?.length ?? 0, place: q?.place ?? null };
}

/** Both dryers busy: `x` and `y` run cycles on them. */
async function fillDryers(x: Client, y: Client): Promise<[Json, Json]> {
  const [d1, d2] = (await machines(x)).filter((m: Json) => m.kind === "dryer");
  await act(x, d1.id, "start", { minutes: 60 });
  await act(y, d2.id, "start", { minutes: 60 });
  return [d1, d2];
}

/** The owner ends and clears their cycle: the machine is free again. */
async function free(owner: Client, id: string): Promise<void> {
  await act(owner, id, "finish");
  await act(owner, id, "collect");
}

Deno.test("waitlist: offers go in line order; pass and lapse move on; the taker leaves the queue; one holder", async () => {
  await using push = await startWebPushTesting();
  await using srv = await startNotifyServer({ MINUTE_MS: "200", PUSH_ENDPOINT_ALLOW: push.origin });
  const [a, b, c, x, y, z] = await Promise.all(
    ["ann", "bob", "cyd", "xavi", "yun", "zed"].map((n) => resident(srv.url, n)),
  );
  const ids = await Promise.all([a, b, c].map(async (r) => ok(await r.get("/api/me")).user.id));
  const subs = await Promise.all([a, b, c].map((r) => addWebPushDevice(r, push)));
  const room = (await machines(a))[0].room;

  // While a dryer is free for anyone, queueing is refused: take it instead.
  assertApiError(await a.post("/api/waitlist", { room, kind: "dryer" }), 409, "machine_free");
  const [d1] = await fillDryers(x, y);

  await using ws = openSocket(srv.url, z.cookie);
  const hello = await ws.hello;
  assert.deepEqual(hello.snapshot?.waitlists ?? [], []);

  for (const [i, r] of [a, b, c].entries()) {
    const j = ok(await r.post("/api/waitlist", { room, kind: "dryer" }));
    assert.deepEqual([j.place, j.length], [i + 1, i + 1]);
    const ev = await ws.next(isEvent("waitlist.joined"), 3000);
    assert.deepEqual(ev.event.data, { room, kind: "dryer", userId: ids[i] });
  }
  assert.deepEqual(await myQueue(b, room), { length: 3, place: 2 });
  assert.deepEqual(await myQueue(z, room), { length: 3, place: null });
  // Joining again changes nothing.
  assert.equal(ok(await a.post("/api/waitlist", { room, kind: "dryer" })).place, 1);
  // Bad input: 4xx with a code, never a 500.
  assertApiError(await a.post("/api/waitlist", { room: "지하 3층", kind: "dryer" }), 404);
  assertApiError(await a.post("/api/waitlist", { room, kind: "oven" }), 400);
  assertApiError(await a.del("/api/waitlist/oven"), 404);

  // d1 frees up: Ann (first) gets the offer, as a push and on the board.
  await free(x, d1.id);
  const offered = await until(a, d1.id, (m) => m.offer?.userId === ids[0]);
  assert.equal(offered.state, "available");
  const { payload } = await waitForPayload(
    push,
    subs[0].sub.clientHash,
    (p) => p.kind === "waitlist.offer",
  );
  assert.equal(payload.url, `/?building=${d1.buildingId}&m=${d1.id}`);
  assert.ok(payload.title.includes(d1.name), payload.title);
  await ws.next(isEvent("machine.offered", d1.id), 3000);

  // Nobody else may take it during the offer: not the next in line, not a walk-up.
  assertApiError(await b.post(`/api/machines/${d1.id}/hold`), 409, "offered");
  assertApiError(await z.post(`/api/machines/${d1.id}/start`, { minutes: 30 }), 409, "offered");
  // Only the holder can pass.
  assertApiError(await b.post(`/api/machines/${d1.id}/pass`), 403, "not_owner");

  // Ann passes: Bob is next.
  await act(a, d1.id, "pass");
  await until(a, d1.id, (m) => m.offer?.userId === ids[1]);
  await waitForPayload(push, subs[1].sub.clientHash, (p) => p.kind === "waitlist.offer");
  // Bob lets it lapse (1 s): Cy is next; Bob keeps his place.
  await until(a, d1.id, (m) => m.offer?.userId === ids[2], 6000);
  assert.deepEqual(await myQueue(b, room), { length: 3, place: 2 });

  // Cy accepts (잡기 = hold); racing walk-ups get nothing.
  const race = await Promise.all([
    c.post(`/api/machines/${d1.id}/hold`),
    z.post(`/api/machines/${d1.id}/hold`),
    a.post(`/api/machines/${d1.id}/start`, { minutes: 30 }),
  ]);
  assert.equal(race[0].status, 200, JSON.stringify(race[0].json));
  // Refused while offered, or (once Cy holds it) because it is Cy's: never taken twice.
  for (const r of race.slice(1)) {
    assert.ok(
      ["offered", "invalid_state", "not_owner"].includes(r.json?.error?.code),
      JSON.stringify(r.json),
    );
  }
  const held = await machine(a, d1.id);
  assert.equal(held.state, "held");
  assert.equal(held.ownerId, ids[2]);
  assert.equal(held.offer, undefined);
  // The taker left the queue, in the same commit.
  assert.deepEqual(await myQueue(c, room), { length: 2, place: null });
  assert.deepEqual(await myQueue(a, room), { length: 2, place: 1 });
  const left = await ws.next(isEvent("waitlist.left"), 3000);
  assert.deepEqual(left.event.data, { room, kind: "dryer", userId: ids[2] });

  // A reconnecting board gets the queues in its snapshot.
  await using ws2 = openSocket(srv.url, z.cookie);
  const h2 = await ws2.hello;
  assert.deepEqual(h2.snapshot.waitlists, [{ room, kind: "dryer", queue: [ids[0], ids[1]] }]);

  // Leaving works once; then there is nothing to leave.
  assert.equal(ok(await b.del("/api/waitlist/dryer")).left, true);
  assert.equal(ok(await b.del("/api/waitlist/dryer")).left, false);
  assert.deepEqual(await myQueue(a, room), { length: 1, place: 1 });
});

Deno.test("waitlist: two lapses in a row move a resident to the back; a machine everyone passed stays free", async () => {
  await using srv = await startNotifyServer({ MINUTE_MS: "200" });
  const [a, b, c, x, y] = await Promise.all(
    ["ann", "bob", "cyd", "xavi", "yun"].map((n) => resident(srv.url, n)),
  );
  const ids = await Promise.all([a, b, c].map(async (r) => ok(await r.get("/api/me")).user.id));
  const room = (await machines(a))[0].room;
  const [d1] = await fillDryers(x, y);
  for (const r of [a, b, c]) ok(await r.post("/api/waitlist", { room, kind: "dryer" }));

  await free(x, d1.id);
  // Ann lets it lapse (first time: she keeps her place), Bob and Cy pass.
  await until(a, d1.id, (m) => m.offer?.userId === ids[1], 6000);
  assert.deepEqual(await myQueue(a, room), { length: 3, place: 1 });
  await act(b, d1.id, "pass");
  await until(a, d1.id, (m) => m.offer?.userId === ids[2]);
  await act(c, d1.id, "pass");
  const idle = await until(a, d1.id, (m) => !m.offer && m.passed?.length === 3);
  assert.deepEqual(idle.passed, ids);
  await sleep(300);
  assert.equal((await machine(a, d1.id)).offer, undefined, "nobody left to offer it to");

  // Used and freed again: a new round, Ann first again; she lapses a second time in a row.
  await act(x, d1.id, "hold");
  await act(x, d1.id, "release");
  await until(a, d1.id, (m) => m.offer?.userId === ids[0]);
  await until(a, d1.id, (m) => m.offer?.userId === ids[1], 6000);
  // Moved to the back.
  assert.deepEqual(await myQueue(a, room), { length: 3, place: 3 });
  assert.deepEqual(await myQueue(b, room), { length: 3, place: 1 });
});

Deno.test("waitlist: an admin's override tells the offer's holder, who keeps their place; repair offers again", async () => {
  await using push = await startWebPushTesting();
  await using srv = await startNotifyServer({
    MINUTE_MS: "1000",
    PUSH_ENDPOINT_ALLOW: push.origin,
  });
  const [a, b, x, y] = await Promise.all(
    ["ann", "bob", "xavi", "yun"].map((n) => resident(srv.url, n)),
  );
  const adm = await admin(srv.url);
  const annId = ok(await a.get("/api/me")).user.id;
  const { sub } = await addWebPushDevice(a, push);
  const room = (await machines(a))[0].room;
  const [d1] = await fillDryers(x, y);
  ok(await a.post("/api/waitlist", { room, kind: "dryer" }));
  ok(await b.post("/api/waitlist", { room, kind: "dryer" }));
  await free(x, d1.id);
  await until(a, d1.id, (m) => m.offer?.userId === annId);

  ok(await adm.post(`/api/admin/machines/${d1.id}/out_of_order`, { reason: "문이 안 닫혀요" }));
  const { payload } = await waitForPayload(
    push,
    sub.clientHash,
    (p) => p.kind === "waitlist.withdrawn",
  );
  assert.ok(payload.title.includes(d1.name), payload.title);
  assert.deepEqual(await myQueue(a, room), { length: 2, place: 1 });
  assert.equal((await machine(a, d1.id)).state, "out_of_order");

  // Repaired: free again, offered to the first in line again (a new round).
  ok(await adm.post(`/api/admin/machines/${d1.id}/repair`, {}));
  await until(a, d1.id, (m) => m.offer?.userId === annId);
  // An admin may still take an offered machine (override); the holder is told again.
  const withdrawn = async () =>
    (await push.notifications(sub.clientHash)).filter((s) =>
      decodePush(s).kind === "waitlist.withdrawn"
    ).length;
  assert.equal(await withdrawn(), 1);
  const held = ok(await adm.post(`/api/machines/${d1.id}/hold`)).machine;
  assert.notEqual(held.ownerId, annId);
  const deadline = Date.now() + 8000;
  while ((await withdrawn()) < 2) {
    assert.ok(Date.now() < deadline, "the holder was told of the override");
    await sleep(25);
  }
});

Deno.test("waitlist: a walk-up start a sensor sees during an offer ends it; the holder is told and keeps their place", async () => {
  await using srv = await startNotifyServer({ MINUTE_MS: "1000" });
  const [a, b, x, y] = await Promise.all(
    ["ann", "bob", "xavi", "yun"].map((n) => resident(srv.url, n)),
  );
  const adm = await admin(srv.url);
  const annId = ok(await a.get("/api/me")).user.id;
  const room = (await machines(a))[0].room;
  const [d1] = await fillDryers(x, y);
  const token = ok(await adm.post(`/api/admin/machines/${d1.id}/sensor`, {})).token as string;
  ok(await a.post("/api/waitlist", { room, kind: "dryer" }));
  ok(await b.post("/api/waitlist", { room, kind: "dryer" }));
  await free(x, d1.id);
  await until(a, d1.id, (m) => m.offer?.userId === annId);

  // Someone loads it and presses start while it is held for Ann: the plug says so.
  const r = await fetch(`${srv.url}/api/sensors/${d1.id}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ state: "running" }),
  });
  assert.deepEqual(await r.json(), { ok: true, facts: ["started"], state: "in_use" });
  const taken = await machine(a, d1.id);
  assert.equal(taken.offer, undefined, "the offer is gone");
  assert.equal(taken.ownerId, undefined, "someone's cycle");
  const deadline = Date.now() + 5000;
  let items: Json[] = [];
  while (!items.some((i) => i.kind === "waitlist.withdrawn")) {
    assert.ok(Date.now() < deadline, `Ann was told: ${JSON.stringify(items)}`);
    await sleep(25);
    items = ok(await a.get("/api/notifications")).items;
  }
  assert.equal(items.filter((i) => i.kind === "waitlist.withdrawn").length, 1);
  assert.deepEqual(await myQueue(a, room), { length: 2, place: 1 }, "she keeps her place");
  assert.deepEqual(await myQueue(b, room), { length: 2, place: 2 });
});

Deno.test("waitlist offer push: declarative, mutable, one '잡기 (출발해요)' button; the worker's hold accepts the offer once", async () => {
  await using push = await startWebPushTesting();
  await using srv = await startNotifyServer({ PUSH_ENDPOINT_ALLOW: push.origin });
  const [ann, x, y] = await Promise.all(["ann", "xavi", "yun"].map((n) => resident(srv.url, n)));
  const { sub } = await addWebPushDevice(ann, push);
  const room = (await machines(ann))[0].room;
  const [d1] = await fillDryers(x, y);
  ok(await ann.post("/api/waitlist", { room, kind: "dryer" }));
  await free(x, d1.id);
  const { payload } = await waitForPayload(
    push,
    sub.clientHash,
    (p) => p.kind === "waitlist.offer",
  );
  const msg = payload.message;
  assert.equal(msg.web_push, 8030);
  assert.equal(msg.mutable, true, "the worker adds the 잡기 button");
  assert.equal(
    msg.notification.navigate,
    `/?building=${d1.buildingId}&m=${d1.id}`,
    "Safari/Firefox: the card, one tap away",
  );
  assert.equal(msg.notification.data.machineId, d1.id);
  assert.equal(msg.app_badge, 1);
  // What the service worker shows for it (Chrome/Edge): one button, in Korean.
  const shown = buildNotification(payload, { lang: "ko" });
  assert.deepEqual(shown.options.actions, [{ action: "hold", title: "잡기 (출발해요)" }]);
  // Pressing it: the worker's request, delivered twice, accepts the offer once.
  const req = actionRequest("hold", shown.options.data)!;
  assert.ok(req, "the offer has a hold action");
  const send = () =>
    ann.post(req.path, JSON.parse(req.init.body), {
      headers: {
        "idempotency-key": req.init.headers["idempotency-key"],
        ...(req.init.headers["x-building"] ? { "x-building": req.init.headers["x-building"] } : {}),
      },
    });
  const first = await send();
  assert.equal(first.status, 200, JSON.stringify(first.json));
  const second = await send();
  assert.equal(second.status, 200, JSON.stringify(second.json));
  assert.equal(second.headers.get("idempotent-replayed"), "true", "answered, not applied again");
  const held = await machine(ann, d1.id);
  assert.equal(held.state, "held");
  assert.equal(held.ownerId, ann.user.id);
  assert.equal(held.offer, undefined);
  assert.deepEqual(await myQueue(ann, room), { length: 0, place: null }, "left the queue");
});
