import assert from "node:assert/strict";
import { applyBoardEvent, clockTime, freeCounts, machineView } from "./board_view.ts";
import type { Machine } from "./types.ts";

const s = { minuteMs: 60_000, pickupGraceMinutes: 3 };
const m0: Machine = {
  id: "w1",
  name: "세탁기 1",
  kind: "washer",
  room: "r",
  order: 1,
  state: "available",
  gen: 0,
  updatedAt: 0,
};

Deno.test("available: anyone may hold or start", () => {
  const v = machineView(m0, "me", 0, "ko", s);
  assert.deepEqual(v.actions, ["hold", "start"]);
  assert.equal(v.stateLabel, "사용 가능");
  assert.equal(v.ownerLabel, "");
});

Deno.test("in use: owner-relative wording, countdown and progress", () => {
  const m: Machine = {
    ...m0,
    state: "in_use",
    ownerId: "me",
    useId: "u",
    startedAt: 0,
    endsAt: 40 * 60_000,
  };
  const mine = machineView(m, "me", 10 * 60_000, "ko", s);
  assert.equal(mine.ownerLabel, "내 세탁기");
  assert.equal(mine.timeText, "30:00 남음");
  assert.equal(mine.progress, 0.25);
  assert.deepEqual(mine.actions, ["extend", "finish"]);
  const theirs = machineView(m, "other", 10 * 60_000, "en", s);
  assert.equal(theirs.ownerLabel, "Neighbour using it");
  assert.deepEqual(theirs.actions, []);
});

Deno.test("the end of a cycle shows done and the overdue timer without waiting for the server", () => {
  const m: Machine = {
    ...m0,
    state: "in_use",
    ownerId: "me",
    useId: "u",
    startedAt: 0,
    endsAt: 60_000,
  };
  const v = machineView(m, "me", 60_000 + 75_000, "en", s);
  assert.equal(v.state, "done");
  assert.equal(v.timeText, "1:15 overdue");
  assert.deepEqual(v.actions, ["collect"]);
});

Deno.test("nudge is offered to neighbours only after the grace period", () => {
  const m: Machine = { ...m0, state: "done", ownerId: "owner", useId: "u", doneAt: 0, endsAt: 0 };
  assert.deepEqual(machineView(m, "me", 2 * 60_000, "ko", s).actions, []);
  assert.deepEqual(machineView(m, "me", 3 * 60_000, "ko", s).actions, ["nudge"]);
  assert.deepEqual(machineView(m, "owner", 3 * 60_000, "ko", s).actions, ["collect"]);
});

Deno.test("held: the holder can arrive, start or cancel; others see a neighbour on the way", () => {
  const m: Machine = { ...m0, state: "held", ownerId: "me", useId: "u", holdExpiresAt: 600_000 };
  assert.deepEqual(machineView(m, "me", 0, "ko", s).actions, ["arrive", "start", "release"]);
  assert.equal(machineView(m, "x", 0, "ko", s).ownerLabel, "이웃이 가는 중");
  const arrived = { ...m, state: "arrived" as const };
  assert.deepEqual(machineView(arrived, "me", 0, "ko", s).actions, ["start", "release"]);
  assert.equal(machineView(m, "me", 600_000, "ko", s).state, "available", "expired hold");
});

Deno.test("out of order shows the reason and an icon, no actions", () => {
  const m: Machine = { ...m0, state: "out_of_order", outOfOrderReason: "배수 불량" };
  const v = machineView(m, "me", 0, "ko", s);
  assert.deepEqual([v.actions, v.reason, v.icon], [[], "배수 불량", "✕"]);
});

Deno.test("applyBoardEvent replaces, adds in order and removes", () => {
  const w2: Machine = { ...m0, id: "w2", order: 2, name: "세탁기 2" };
  let list = applyBoardEvent([m0], { type: "machine.added", machine: w2 });
  assert.deepEqual(list.map((m) => m.id), ["w1", "w2"]);
  list = applyBoardEvent(list, { type: "machine.held", machine: { ...m0, state: "held" } });
  assert.equal(list[0].state, "held");
  list = applyBoardEvent(list, { type: "machine.removed", machineId: "w1" });
  assert.deepEqual(list.map((m) => m.id), ["w2"]);
});

Deno.test("arrived: the deadline is for starting; in use: the end time for the clock", () => {
  const arrived: Machine = { ...m0, state: "arrived", ownerId: "me", holdExpiresAt: 5 * 60_000 };
  assert.equal(machineView(arrived, "me", 0, "ko", s).timeText, "5:00 안에 시작");
  assert.equal(machineView(arrived, "me", 0, "en", s).timeText, "start within 5:00");
  const held: Machine = { ...arrived, state: "held" };
  assert.equal(machineView(held, "me", 0, "ko", s).timeText, "5:00 안에 도착");
  const inUse: Machine = { ...m0, state: "in_use", ownerId: "x", startedAt: 0, endsAt: 90_000 };
  assert.equal(machineView(inUse, "me", 0, "ko", s).endsAt, 90_000);
  assert.equal(machineView(m0, "me", 0, "ko", s).endsAt, undefined);
  assert.equal(clockTime(Date.UTC(2026, 0, 1, 14, 35), "ko", "UTC"), "14:35");
  assert.equal(clockTime(Date.UTC(2026, 0, 1, 9, 5), "en", "UTC"), "09:05");
});

Deno.test("a neighbour's done machine counts down to when 수거 요청 opens", () => {
  const done: Machine = { ...m0, state: "done", ownerId: "x", doneAt: 0 };
  const early = machineView(done, "me", 60_000, "ko", s);
  assert.equal(early.nudgeOpensIn, 2 * 60_000);
  assert.deepEqual(early.actions, []);
  const open = machineView(done, "me", 3 * 60_000, "ko", s);
  assert.equal(open.nudgeOpensIn, undefined);
  assert.deepEqual(open.actions, ["nudge"]);
  // The owner never sees the countdown.
  assert.equal(machineView(done, "x", 60_000, "ko", s).nudgeOpensIn, undefined);
});

Deno.test("freeCounts groups washers and dryers", () => {
  const c = freeCounts([
    { kind: "washer", state: "available" },
    { kind: "washer", state: "in_use" },
    { kind: "dryer", state: "done" },
  ]);
  assert.deepEqual(c, { washer: { free: 1, total: 2 }, dryer: { free: 0, total: 1 } });
});
