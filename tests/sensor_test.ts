/**
 * Sensors end to end (issue 10): a real server on loopback with a real KV
 * file and its due-index worker. Readings go through the webhook exactly as
 * a plug sends them (no cookie, no Origin, a bearer token), board events
 * arrive on a resident's WebSocket, and the owner's `use.done` goes out at
 * the real end of a cycle that ended before its timer, and its overdue
 * reminders follow that end. Also: the refusals
 * (401, 404, 400, 429), revocation, silence, and the KV cost of a reading.
 * `MINUTE_MS` = 100: start debounce 0.1 s, washer stop 0.2 s, silence 1 s.
 * @module
 */
import assert from "node:assert/strict";
import {
  admin,
  type ApiResponse,
  Client,
  isEvent,
  openSocket,
  resident,
  waitFor,
} from "./support/harness.ts";
import {
  assertApiError,
  inbox,
  type Json,
  machineOf,
  ok,
  sleep,
  startNotifyServer,
} from "./support/notify_kit.ts";
import { countingKv } from "./support/kv_counter.ts";
import { Store } from "../lib/db/mod.ts";
import { K } from "../lib/keys.ts";

const MINUTE = 100;

/** POST a reading as a plug does: bearer token, JSON, no cookie, no Origin. */
async function send(
  url: string,
  machineId: string,
  token: string | null,
  body: unknown,
  opts: { raw?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { "content-type": "application/json", ...opts.headers };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${url}/api/sensors/${machineId}`, {
    method: "POST",
    headers,
    body: opts.raw ?? JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null, headers: res.headers };
}

/** Send `body` every `everyMs` until the answer names `fact` (at most `max` readings). */
async function until(
  url: string,
  machineId: string,
  token: string,
  body: unknown,
  fact: string,
  everyMs = 30,
  max = 15,
): Promise<{ answers: Json[]; firstSentAt: number; firstAnsweredAt: number }> {
  const answers: Json[] = [];
  const firstSentAt = Date.now();
  let firstAnsweredAt = 0;
  for (let i = 0; i < max; i++) {
    const r = await send(url, machineId, token, body);
    firstAnsweredAt ||= Date.now();
    answers.push(ok(r, "reading"));
    if (r.json.facts.includes(fact)) return { answers, firstSentAt, firstAnsweredAt };
    await sleep(everyMs);
  }
  throw new Error(`no ${fact} after ${max} readings: ${JSON.stringify(answers)}`);
}

async function attach(c: Client, machineId: string, body: Json = {}): Promise<string> {
  const r = await c.post(`/api/admin/machines/${machineId}/sensor`, body);
  assert.equal(r.status, 201, JSON.stringify(r.json));
  assert.equal(typeof r.json.token, "string");
  return r.json.token;
}

Deno.test("sensor: an owner's cycle that ends early: readings → board events → use.done at the real end, the timer superseded", async () => {
  await using srv = await startNotifyServer({ MINUTE_MS: String(MINUTE) });
  const adm = await admin(srv.url);
  const owner = await resident(srv.url, "sensor-owner", "301");
  const m = await machineOf(owner, "washer");
  // Silent only after 100 "minutes" (10 s): this test outlasts the default 1 s.
  const token = await attach(adm, m.id, { silentMinutes: 100 });

  // Shown once, stored only as a hash.
  const rec = await srv.ctx.store.getSensor(owner.user.buildingId, m.id);
  assert.ok(rec);
  assert.ok(!JSON.stringify(rec).includes(token.split(".")[2]), "the secret is not in KV");
  assert.match(rec.tokenHash, /^[0-9a-f]{64}$/);
  const listed = ok(await adm.get("/api/admin/machines")).sensors[m.id];
  assert.equal(listed.status, "waiting");
  assert.ok(!JSON.stringify(listed).includes(rec.tokenHash), "admins never see the hash");

  await using ws = openSocket(srv.url, owner.cookie);
  await ws.hello;
  // 20 "minutes": the timer would end it 2 s from now.
  const started = await owner.post(`/api/machines/${m.id}/start`, { minutes: 20 });
  const timerEnd = ok(started).machine.endsAt as number;

  // Running readings: after a "minute" above 10 W the sensor follows the cycle.
  await until(srv.url, m.id, token, { watts: 450 }, "started");
  const sensed = await ws.next(isEvent("machine.sensed", m.id), 3000);
  assert.equal(sensed.event.machine.sensed, true);
  assert.equal(sensed.event.machine.ownerId, owner.user.id);
  assert.equal(sensed.event.machine.endsAt, timerEnd, "the estimate stays the owner's");

  // The machine stops (a Home Assistant template sends numbers as strings).
  const { answers, firstSentAt, firstAnsweredAt } = await until(
    srv.url,
    m.id,
    token,
    { watts: "0.8" },
    "ended",
  );
  const endedAt = Date.now();
  assert.deepEqual(answers.at(-1), { ok: true, facts: ["ended"], state: "done" });
  assert.ok(answers.slice(0, -1).every((a) => a.facts.length === 0), "no fact before the debounce");
  const done = await ws.next(isEvent("machine.done", m.id), 3000);
  const doneAt = done.event.machine.doneAt as number;
  assert.ok(doneAt >= firstSentAt && doneAt <= firstAnsweredAt, "done at the first low reading");
  assert.ok(endedAt - doneAt >= 2 * MINUTE, "…not when the debounce confirmed it");
  assert.ok(doneAt < timerEnd - 500, "well before the timer's end");
  assert.equal(done.event.machine.endsAt, doneAt);
  assert.equal(done.event.machine.sensed, undefined);

  // The owner's use.done goes out now, through the outbox, to their socket and inbox.
  const note = await ws.next(
    (x) =>
      x.type === "event" && x.event.type === "notification" &&
      x.event.data?.item?.kind === "use.done",
    3000,
  );
  assert.ok(note.event.data.item.createdAt < timerEnd, "at the real end, not the timer's");

  // The timer's end passes: its tick finds nothing to do.
  await sleep(Math.max(0, timerEnd - Date.now()) + 400);
  const items = (await inbox(owner)).filter((i: Json) => i.kind === "use.done");
  assert.equal(items.length, 1, JSON.stringify(items));
  const now = ok(await owner.get("/api/machines")).machines.find((x: Json) => x.id === m.id);
  assert.equal(now.state, "done");
  assert.equal(now.doneAt, doneAt);
  const log = ok(await owner.get(`/api/sync?since=${ws.cursor}`)).events.filter((e: Json) =>
    e.machine?.id === m.id
  );
  assert.deepEqual(log, [], "nothing happened to the machine at the timer's end");
  const st = ok(await adm.get("/api/admin/machines")).sensors[m.id];
  assert.equal(st.status, "ok");
  assert.equal(st.phase, "idle");
  assert.equal(st.lastWatts, 0.8);

  // The overdue reminders follow the real end too: "10 minutes" after doneAt, not after
  // the timer's end (which is at least 5 "minutes" later).
  const overdue = await waitFor(
    async () => (await inbox(owner)).find((i: Json) => i.kind === "use.overdue"),
    5000,
    "use.overdue",
  );
  const useId = done.event.machine.useId as string;
  assert.equal(overdue.id, `use.overdue:${useId}:${doneAt}:10`, "counted from the real end");
  assert.ok(overdue.createdAt >= doneAt + 10 * MINUTE, "not before 10 minutes after the end");
  // Sent closer to the real end's 10 minutes than to the timer's.
  const half = (timerEnd - doneAt) / 2;
  assert.ok(
    overdue.createdAt < doneAt + 10 * MINUTE + half,
    `${overdue.createdAt - doneAt} ms after the real end; the timer's end was ${
      timerEnd - doneAt
    } ms after it`,
  );
});

Deno.test("sensor: a walk-up cycle on a free machine is 'someone's; a resident may claim it; an explicit idle ends it", async () => {
  await using srv = await startNotifyServer({ MINUTE_MS: String(MINUTE) });
  const adm = await admin(srv.url);
  const watcher = await resident(srv.url, "sensor-watcher", "302");
  const walker = await resident(srv.url, "sensor-walker", "303");
  const m = await machineOf(watcher, "washer", 1);
  const token = await attach(adm, m.id);
  await using ws = openSocket(srv.url, watcher.cookie);
  await ws.hello;

  // A Shelly Gen2 Switch.GetStatus result posted as is.
  const shelly = { id: 0, source: "timer", output: true, apower: 212.4, voltage: 229.1 };
  await until(srv.url, m.id, token, shelly, "started");
  const ev = await ws.next(isEvent("machine.started", m.id), 3000);
  assert.equal(ev.event.machine.state, "in_use");
  assert.equal(ev.event.machine.ownerId, undefined, "no owner");
  assert.equal(ev.event.machine.sensed, true);
  // Nobody is notified of a walk-up by someone.
  await sleep(300);
  assert.deepEqual(await inbox(watcher), []);
  assert.ok(!ws.messages.some((x) => x.type === "event" && x.event.type === "notification"));

  // The person at the machine registers it (사용 등록): now it is theirs, still sensed.
  const claimed = ok(await walker.post(`/api/machines/${m.id}/start`, { minutes: 40 })).machine;
  assert.equal(claimed.ownerId, walker.user.id);
  assert.equal(claimed.sensed, true);
  assert.equal(claimed.useId, ev.event.machine.useId, "the same cycle");
  assertApiError(
    await watcher.post(`/api/machines/${m.id}/start`, { minutes: 40 }),
    409,
    "invalid_state",
  );

  // Home Assistant's binary sensor says idle: done at once, and the walker is told.
  const idle = ok(await send(srv.url, m.id, token, { state: "idle" }));
  assert.deepEqual(idle, { ok: true, facts: ["ended"], state: "done" });
  await ws.next(isEvent("machine.done", m.id), 3000);
  await waitFor(
    async () => (await inbox(walker)).some((i: Json) => i.kind === "use.done"),
    3000,
    "use.done",
  );
  // Running again right away (someone emptied it and restarted): someone's new cycle.
  const again = ok(await send(srv.url, m.id, token, { state: "running" }));
  assert.deepEqual(again, { ok: true, facts: ["started"], state: "in_use" });
  const next = await ws.next(isEvent("machine.started", m.id), 3000);
  assert.equal(next.event.machine.ownerId, undefined);
  assert.notEqual(next.event.machine.useId, ev.event.machine.useId);
});

Deno.test("sensor: refusals: bad tokens 401, another machine or building 404, bad bodies 400, rate limit 429, revocation", async () => {
  await using srv = await startNotifyServer({ MINUTE_MS: String(MINUTE) });
  const op = await admin(srv.url); // the operator: admin of every building
  const res = await resident(srv.url, "sensor-res", "304");
  const a = await machineOf(res, "washer", 2);
  const a2 = await machineOf(res, "dryer");
  const tokenA = await attach(op, a.id);
  const created = ok(await op.post("/api/operator/buildings", { name: "B동", washers: 1 }));
  const b = created.building.id as string;
  const inB = { headers: { "x-building": b } };
  const mB = ok(await op.get("/api/admin/machines", inB)).machines[0];
  const rB = await op.post(`/api/admin/machines/${mB.id}/sensor`, {}, inB);
  assert.equal(rB.status, 201, JSON.stringify(rB.json));
  const tokenB = rB.json.token as string;

  // 401: no token, not a token, a token of the right shape that is nobody's.
  for (
    const [token, what] of [[null, "none"], ["hello", "garbage"], [
      tokenA.slice(0, -1) + (tokenA.endsWith("A") ? "B" : "A"),
      "forged",
    ]] as const
  ) {
    const r = await send(srv.url, a.id, token, { watts: 5 });
    assertApiError(r, 401, "bad_sensor_token");
    assert.ok(r.headers.get("www-authenticate")?.startsWith("Bearer"), what);
  }
  assertApiError(
    await send(srv.url, a.id, null, { watts: 5 }, { headers: { authorization: "Basic eDp5" } }),
    401,
  );
  // 404: a valid token for another machine of its building, or of another building.
  assertApiError(await send(srv.url, a2.id, tokenA, { watts: 5 }), 404, "not_found");
  assertApiError(await send(srv.url, mB.id, tokenA, { watts: 5 }), 404, "not_found");
  assertApiError(await send(srv.url, a.id, tokenB, { watts: 5 }), 404, "not_found");
  // The admin routes: another building's machine is not found in this one.
  assertApiError(await op.post(`/api/admin/machines/${mB.id}/sensor`, {}), 404, "not_found");
  assertApiError(await op.del(`/api/admin/machines/${mB.id}/sensor`), 404, "no_sensor");
  assertApiError(await res.post(`/api/admin/machines/${a.id}/sensor`, {}), 403, "forbidden");
  assertApiError(
    await op.post(`/api/admin/machines/${a.id}/sensor`, { stopWatts: 50, startWatts: 10 }),
    400,
    "invalid_body",
  );
  ok(await send(srv.url, mB.id, tokenB, { watts: 5 }), "B's own sensor");

  // 400: bodies that are no reading.
  const bad: [unknown, string, string?][] = [
    [{}, "invalid_body"],
    [[], "invalid_body"],
    [{ watts: -1 }, "invalid_body", "watts"],
    [{ watts: "lots" }, "invalid_body", "watts"],
    [{ watts: 5, volts: 230 }, "invalid_body"],
    [{ state: "on" }, "invalid_body", "state"],
    [{ watts: 5, at: Date.now() + 3_600_000 }, "bad_reading_time", "at"],
    [{ watts: 5, at: "yesterday" }, "invalid_body", "at"],
    [{ watts: 5, at: "2020-01-01T00:00:00Z" }, "bad_reading_time", "at"],
  ];
  for (const [body, code, field] of bad) {
    const r = await send(srv.url, a.id, tokenA, body);
    assertApiError(r, 400, code);
    assert.ok(r.json.error.message.length > 0);
    if (field) assert.equal(r.json.error.field, field, JSON.stringify(r.json));
  }
  assertApiError(await send(srv.url, a.id, tokenA, null, { raw: "{watts: 5" }), 400, "bad_json");
  // Epoch seconds (Home Assistant's now().timestamp()) and ISO times are accepted.
  ok(await send(srv.url, a.id, tokenA, { watts: 1, at: Date.now() / 1000 - 5 }));
  ok(await send(srv.url, a.id, tokenA, { watts: 1, at: new Date().toISOString() }));
  // A reading older than the last one changes nothing.
  assert.equal(
    ok(await send(srv.url, a.id, tokenA, { watts: 900, at: Date.now() - 60_000 })).ignored,
    true,
  );

  // No CSRF rule for the webhook only: a cross-site Origin and text/plain change nothing about it…
  ok(
    await send(srv.url, a.id, tokenA, { watts: 1 }, {
      headers: { origin: "http://evil.example", "content-type": "text/plain" },
    }),
  );
  // …while every other route keeps it, the sensor admin routes included.
  const evil = { headers: { origin: "http://evil.example" } };
  assertApiError(
    await op.post(`/api/admin/machines/${a.id}/sensor`, {}, evil),
    403,
    "cross_origin",
  );
  assertApiError(await op.post(`/api/sensors/${a.id}/x`, {}, evil), 403, "cross_origin");

  // Rate limit per sensor: nothing is written beyond it.
  srv.ctx.store.sensorRate = { limit: 3, windowMs: 60_000 };
  const fresh = await attach(op, a2.id);
  for (let i = 0; i < 3; i++) ok(await send(srv.url, a2.id, fresh, { watts: 1 }));
  const before = await srv.ctx.store.kv.get(K.sensor(res.user.buildingId, a2.id));
  const limited = await send(srv.url, a2.id, fresh, { watts: 1 });
  assertApiError(limited, 429, "rate_limited");
  assert.ok(Number(limited.headers.get("retry-after")) > 0);
  const after = await srv.ctx.store.kv.get(K.sensor(res.user.buildingId, a2.id));
  assert.equal(after.versionstamp, before.versionstamp, "a refused reading writes nothing");
  ok(await send(srv.url, mB.id, tokenB, { watts: 1 }), "another sensor has its own window");

  srv.ctx.store.sensorRate = { limit: 30, windowMs: 60_000 };
  // Thresholds change without a new token; stop above start is refused (defaults included).
  const patched = ok(await op.patch(`/api/admin/machines/${a.id}/sensor`, { stopMinutes: 4 }));
  assert.equal(patched.sensor.config.stopMinutes, 4);
  assert.equal(patched.sensor.config.startWatts, 10);
  ok(await send(srv.url, a.id, tokenA, { watts: 1 }), "the token still works");
  assertApiError(
    await op.patch(`/api/admin/machines/${a.id}/sensor`, { stopWatts: 12 }),
    400,
    "invalid_body",
  );
  assertApiError(
    await op.patch(`/api/admin/machines/${mB.id}/sensor`, { stopMinutes: 4 }),
    404,
    "no_sensor",
  );
  assertApiError(
    await op.patch(`/api/admin/machines/${a.id}/sensor`, { stopMinutes: "4" }),
    400,
    "invalid_body",
  );
  assert.equal(ok(await op.get("/api/admin/machines")).sensors[a.id].config.stopMinutes, 4);
  // Re-attaching replaces the token; detaching revokes it.
  const rotated = await attach(op, a.id);
  assertApiError(await send(srv.url, a.id, tokenA, { watts: 1 }), 401, "bad_sensor_token");
  ok(await op.del(`/api/admin/machines/${a.id}/sensor`));
  assertApiError(await send(srv.url, a.id, rotated, { watts: 1 }), 401, "bad_sensor_token");
  assertApiError(await op.del(`/api/admin/machines/${a.id}/sensor`), 404, "no_sensor");
  assert.equal(ok(await op.get("/api/admin/machines")).sensors[a.id], undefined);
});

Deno.test("sensor: silence is shown to admins, and a cycle the sensor followed goes back to its timer", async () => {
  await using srv = await startNotifyServer({ MINUTE_MS: String(MINUTE) });
  const adm = await admin(srv.url);
  const res = await resident(srv.url, "sensor-quiet", "305");
  const m = await machineOf(res, "washer", 3);
  // Silent after 10 "minutes" (1 s) without a reading; the walk-up estimate is 20 (2 s).
  const token = await attach(adm, m.id, { silentMinutes: 10, expectMinutes: 20 });
  await using ws = openSocket(srv.url, res.cookie);
  await ws.hello;
  await until(srv.url, m.id, token, { watts: 300 }, "started");
  await ws.next(isEvent("machine.started", m.id), 3000);
  assert.equal(ok(await adm.get("/api/admin/machines")).sensors[m.id].status, "ok");
  // The plug goes offline: the due-index check gives the fact, in one commit with the machine.
  const lost = await ws.next(isEvent("machine.sensor_lost", m.id), 3000);
  assert.equal(lost.event.machine.sensed, undefined);
  const rec = await srv.ctx.store.getSensor(res.user.buildingId, m.id);
  assert.equal(rec?.det.silent, true);
  assert.equal(rec?.checkAt, undefined, "no check left while silent");
  const view = ok(await adm.get("/api/admin/machines")).sensors[m.id];
  assert.equal(view.status, "silent");
  assert.equal(typeof view.lastReadingAt, "number");
  // The timer's estimate ends it now (nobody to tell), so the machine is not stuck.
  const done = await ws.next(isEvent("machine.done", m.id), 3000);
  assert.equal(done.event.machine.doneAt, lost.event.machine.endsAt);
  // Anyone may clear laundry nobody registered.
  ok(await res.post(`/api/machines/${m.id}/collect`, {}));
  // Back online: reporting again, and a new cycle needs the debounce again.
  assert.deepEqual(ok(await send(srv.url, m.id, token, { watts: 300 })).facts, []);
  assert.equal(ok(await adm.get("/api/admin/machines")).sensors[m.id].status, "ok");
});

Deno.test("sensor: a reading that changes no fact costs one KV read and one write", async () => {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-sensor-" });
  const raw = await Deno.openKv(`${dir}/kv.sqlite3`);
  try {
    const counting = countingKv(raw);
    const store = new Store(counting.kv, { minuteMs: MINUTE });
    await store.init();
    await store.createBuilding({ id: "bsens", name: "S" });
    const m = (await store.addMachine("bsens", { name: "W1", kind: "washer", room: "B1" })).machine;
    const attached = await store.attachSensor("bsens", m.id, "adm");
    assert.ok(attached);
    const read = (watts: number) =>
      store.sensorReading(attached.token, m.id, { watts, at: Date.now() });
    await read(1); // the first reading also schedules the silence check
    counting.reset();
    for (let i = 0; i < 5; i++) {
      const r = await read(i % 2 ? 2 : 1);
      assert.ok(r.ok && r.facts.length === 0);
    }
    assert.deepEqual(counting.counts, { get: 5, commit: 5 }, "one read and one commit each");
    // A bad token costs one read and no write.
    counting.reset();
    const forged = attached.token.replace(/.$/, (ch) => (ch === "A" ? "B" : "A"));
    assert.deepEqual(await store.sensorReading(forged, m.id, { watts: 1, at: Date.now() }), {
      ok: false,
      reason: "bad_token",
    });
    assert.deepEqual(counting.counts, { get: 1 });
    // A fact: the machine and board head are read too, and it is still one commit.
    counting.reset();
    let facts: string[] = [];
    for (let i = 0; i < 10 && !facts.length; i++) {
      await sleep(40);
      const r = await read(500);
      assert.ok(r.ok);
      facts = r.facts.map((f) => f.type);
    }
    assert.deepEqual(facts, ["started"]);
    assert.equal((await store.getMachine("bsens", m.id))?.state, "in_use");
  } finally {
    raw.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sensor: a held machine that starts is the holder's cycle (their hold is freed); revoking hands it back to its timer; removing a machine removes its sensor", async () => {
  await using srv = await startNotifyServer({ MINUTE_MS: String(MINUTE) });
  const adm = await admin(srv.url);
  const holder = await resident(srv.url, "sensor-holder", "306");
  const m = await machineOf(holder, "washer", 0);
  const other = await machineOf(holder, "washer", 1);
  const token = await attach(adm, m.id);
  ok(await holder.post(`/api/machines/${m.id}/hold`, {}));
  ok(await holder.post(`/api/machines/${m.id}/arrive`, {}));
  await using ws = openSocket(srv.url, holder.cookie);
  await ws.hello;
  // The holder loaded it and started it without pressing 사용 등록.
  assert.deepEqual(ok(await send(srv.url, m.id, token, { state: "running" })), {
    ok: true,
    facts: ["started"],
    state: "in_use",
  });
  const ev = await ws.next(isEvent("machine.started", m.id), 3000);
  assert.equal(ev.event.machine.ownerId, holder.user.id);
  assert.equal(ev.event.machine.sensed, true);
  assert.equal(ev.event.machine.holdExpiresAt, undefined);
  // Their hold index went with it: they may head for another washer.
  ok(await holder.post(`/api/machines/${other.id}/hold`, {}), "a second hold is allowed");
  ok(await holder.post(`/api/machines/${other.id}/release`, {}));

  // Revoked mid-cycle: the timer (the kind's estimate) takes over, in the same commit.
  ok(await adm.del(`/api/admin/machines/${m.id}/sensor`));
  const lost = await ws.next(isEvent("machine.sensor_lost", m.id), 3000);
  assert.equal(lost.event.machine.sensed, undefined);
  assert.equal(lost.event.machine.endsAt, ev.event.machine.endsAt);
  assert.equal(await srv.ctx.store.getSensor(holder.user.buildingId, m.id), null);

  // A removed machine takes its sensor with it.
  const spare =
    ok(await adm.post("/api/admin/machines", { name: "W-spare", kind: "washer", room: "B1" }))
      .machine;
  const spareToken = await attach(adm, spare.id);
  ok(await adm.del(`/api/admin/machines/${spare.id}`));
  assert.equal(await srv.ctx.store.getSensor(holder.user.buildingId, spare.id), null);
  assertApiError(await send(srv.url, spare.id, spareToken, { watts: 1 }), 401, "bad_sensor_token");
});
