/**
 * Busy hours end to end over HTTP (issue 10): four weeks of history written
 * through the usage store, then real uses driven through the API on a real
 * server and KV file (a timed end by the due-index worker, a nudge, an early
 * finish, a collect, a machine removed, a cycle still running) show up in
 * `GET /api/admin/usage` and `GET /api/busy`; bad input is a 4xx.
 * @module
 */
import assert from "node:assert/strict";
import { admin, Client, resident, waitFor } from "./support/harness.ts";
import {
  assertApiError,
  type Json,
  nudgeWhenAllowed,
  ok,
  startNotifyServer,
} from "./support/notify_kit.ts";
import { DAY_MS, localClock, type UsageRecord } from "../lib/usage.ts";
import { listUsage, putUsageHistory } from "../lib/usage_store.ts";

const HOUR = 3_600_000;

Deno.test("busy hours: real uses through the API land in the per-machine usage and the heatmap", async () => {
  await using srv = await startNotifyServer({ MINUTE_MS: "100" });
  const a = await resident(srv.url, "alice", "501");
  const b = await resident(srv.url, "bob", "502");
  const adm = await admin(srv.url);
  const bid = a.user.buildingId;
  const list: Json[] = ok(await a.get("/api/machines")).machines;
  assert.equal(list.length, 6, "the demo room: 4 washers, 2 dryers");
  const [w1, w2, w3, w4] = list.filter((m) => m.kind === "washer");
  const kv = srv.ctx.store.kv;

  // History: the last three weeks, every machine ran the whole of this local hour.
  const now = Date.now();
  const hourStart = Math.floor(now / HOUR) * HOUR; // Seoul: whole-hour offset, no DST
  const history: UsageRecord[] = [];
  for (let w = 1; w <= 3; w++) {
    for (const m of list) {
      history.push({
        machineId: m.id,
        name: m.name,
        room: m.room,
        kind: m.kind,
        useId: `h${w}${m.id}`,
        startedAt: hourStart - w * 7 * DAY_MS,
        endedAt: hourStart - w * 7 * DAY_MS + HOUR,
        collectedAt: hourStart - w * 7 * DAY_MS + HOUR,
      });
    }
  }
  await putUsageHistory(kv, bid, history, [{ machineId: w2.id, at: now - 2 * DAY_MS }], now);
  const before = ok(await adm.get("/api/admin/usage"));
  const row = (u: Json, id: string) => u.machines.find((r: Json) => r.machineId === id);
  assert.deepEqual(
    before.machines.map((r: Json) => [r.uses, r.nudges]),
    list.map((m) => [3, m.id === w2.id ? 1 : 0]),
  );
  assert.equal(row(before, w1.id).avgCycleMinutes, 60);

  // 1. A timed cycle ends by itself (the due-index worker), then waits to be collected.
  ok(await a.post(`/api/machines/${w1.id}/start`, { minutes: 1 }));
  const state = async (id: string) =>
    (ok(await a.get("/api/machines")).machines as Json[]).find((m) => m.id === id)?.state;
  await waitFor(async () => (await state(w1.id)) === "done" || undefined, 5000);
  // The board reads "done" once the due-index worker's tick has committed, and
  // that commit records the end. (Told apart from the history by id, not by a
  // prefix: a use id is random base32 and starts with "h" one time in 32.)
  const historyIds = new Set(history.map((r) => r.useId));
  const ended = (await listUsage(kv, bid, Date.now())).find((r) =>
    r.machineId === w1.id && !historyIds.has(r.useId)
  );
  assert.ok(ended, "the end recorded with the commit that made the machine done");
  assert.equal(ended.collectedAt, undefined);
  assert.ok(ended.endedAt - ended.startedAt >= 100 && ended.endedAt - ended.startedAt < 1000);
  // 2. A neighbour nudges; 3. the owner collects.
  const { res } = await nudgeWhenAllowed(b, w1.id);
  ok(res, "nudge");
  ok(await a.post(`/api/machines/${w1.id}/collect`, {}));
  const collected = (await listUsage(kv, bid, Date.now())).find((r) => r.useId === ended.useId)!;
  assert.ok(collected.collectedAt! > collected.endedAt, "collected after a wait");

  // 4. A cycle finished early and collected; 5. a machine used, then removed.
  ok(await b.post(`/api/machines/${w2.id}/start`, { minutes: 30 }));
  ok(await b.post(`/api/machines/${w2.id}/finish`, {}));
  ok(await b.post(`/api/machines/${w2.id}/collect`, {}));
  ok(await a.post(`/api/machines/${w4.id}/start`, { minutes: 5 }));
  ok(await a.post(`/api/machines/${w4.id}/finish`, {}));
  ok(await a.post(`/api/machines/${w4.id}/collect`, {}));
  ok(await adm.del(`/api/admin/machines/${w4.id}`));
  // 6. A long cycle still running.
  ok(await b.post(`/api/machines/${w3.id}/start`, { minutes: 240 }));

  const after = ok(await adm.get("/api/admin/usage"));
  assert.equal(after.days, 28);
  assert.equal(after.timeZone, "Asia/Seoul");
  assert.equal(row(after, w1.id).uses, 4);
  assert.equal(row(after, w1.id).nudges, 1, "the nudge is counted on its machine");
  assert.ok(row(after, w1.id).uncollectedMinutes > 0, "minutes done but not collected");
  assert.equal(row(after, w2.id).uses, 4);
  assert.ok(row(after, w2.id).avgCycleMinutes < 60, "a short cycle lowers the average");
  assert.equal(row(after, w3.id).uses, 3, "a running cycle is not a finished use");
  assert.ok(row(after, w3.id).inUseMinutes > row(before, w3.id).inUseMinutes);
  const gone = row(after, w4.id);
  assert.equal(gone.removed, true, "a removed machine keeps its usage, by name");
  assert.equal(gone.name, w4.name);
  assert.equal(gone.uses, 4);
  assert.equal(after.machines[after.machines.length - 1].machineId, w4.id, "removed ones last");
  // The building's delivery counters, overall first, in funnel order (the nudge notified Alice).
  assert.deepEqual(after.funnel[0].steps.map((s: Json) => s.field).slice(0, 3), [
    "recipients",
    "inApp",
    "pushed",
  ]);
  await waitFor(async () => {
    const f = ok(await adm.get("/api/admin/usage")).funnel[0].steps;
    return f.find((s: Json) => s.field === "recipients").value >= 1 || undefined;
  }, 5000);

  // The resident's heatmap: this hour is the room's busiest, so it is busy now.
  const busy = ok(await a.get("/api/busy"));
  assert.equal(busy.timeZone, "Asia/Seoul");
  assert.equal(busy.rooms.length, 1);
  const [room] = busy.rooms;
  const here = localClock("Asia/Seoul")(Date.now());
  assert.deepEqual([room.now.day, room.now.hour], [here.day, here.hour]);
  assert.deepEqual(room.peak, { day: here.day, hour: here.hour });
  assert.equal(room.now.level, "busy");
  assert.equal(room.machines, 5, "w4 was removed");
  assert.ok(room.avg[here.day][here.hour] >= 3, JSON.stringify(room.now));
  const otherHour = (here.hour + 12) % 24;
  assert.equal(room.avg[here.day][otherHour], 0);

  // Periods and refusals.
  const week = ok(await adm.get("/api/admin/usage?days=7"));
  assert.equal(week.days, 7);
  // Today's use, and the one a week ago that ended inside the 7 days (at this hour's end).
  assert.equal(row(week, w1.id).uses, 2);
  assert.equal(row(week, w3.id).uses, 1);
  for (const bad of ["0", "36", "abc", "7.5", "-1", "1e1"]) {
    assertApiError(await adm.get(`/api/admin/usage?days=${bad}`), 400, "invalid_body");
  }
  assertApiError(await a.get("/api/admin/usage"), 403, "forbidden");
  assertApiError(await new Client(srv.url).get("/api/busy"), 401, "unauthenticated");
});

Deno.test("busy hours: a building's own time zone (New York, with DST) and no history at all", async () => {
  await using srv = await startNotifyServer();
  const op = await admin(srv.url);
  const made = ok(
    await op.post("/api/operator/buildings", {
      name: "Hudson Hall",
      timeZone: "America/New_York",
      washers: 2,
      dryers: 1,
    }),
  );
  const id = made.building.id;
  const busy = ok(await op.get(`/api/busy?building=${id}`));
  assert.equal(busy.timeZone, "America/New_York");
  const here = localClock("America/New_York")(Date.now());
  assert.deepEqual([busy.rooms[0].now.day, busy.rooms[0].now.hour], [here.day, here.hour]);
  assert.equal(busy.rooms[0].now.level, "none", "no use yet");
  assert.equal(busy.rooms[0].max, 0);
  const usage = ok(await op.get(`/api/admin/usage?building=${id}`));
  assert.deepEqual(usage.machines.map((r: Json) => [r.uses, r.utilisation, r.avgCycleMinutes]), [
    [0, 0, null],
    [0, 0, null],
    [0, 0, null],
  ]);
});
