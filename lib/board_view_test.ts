import assert from "node:assert/strict";
import {
  applyBoardEvent,
  applyWaitEvent,
  clockTime,
  freeCounts,
  machineView,
  repairText,
} from "./board_view.ts";
import type { Machine } from "./types.ts";

const s = { minuteMs: 60_000, pickupGraceMinutes: 3 };
const m0: Machine = {
  id: "w1",
  buildingId: "b1",
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

Deno.test("the whole view of each state, for the owner and for a neighbour", () => {
  assert.deepEqual(machineView(m0, "me", 0, "ko", s), {
    id: "w1",
    name: "세탁기 1",
    kind: "washer",
    state: "available",
    stateLabel: "사용 가능",
    ownerLabel: "",
    mine: false,
    offered: false,
    timeText: "",
    progress: null,
    actions: ["hold", "start"],
    icon: "○",
    reason: undefined,
    endsAt: undefined,
    nudgeOpensIn: undefined,
  });
  const dryer: Machine = { ...m0, id: "d1", name: "Dryer 1", kind: "dryer" };
  const held: Machine = {
    ...dryer,
    state: "held",
    ownerId: "me",
    useId: "u",
    holdExpiresAt: 600_000,
  };
  assert.deepEqual(machineView(held, "me", 0, "en", s), {
    id: "d1",
    name: "Dryer 1",
    kind: "dryer",
    state: "held",
    stateLabel: "On the way",
    ownerLabel: "My dryer",
    mine: true,
    offered: false,
    timeText: "arrive within 10:00",
    progress: null,
    actions: ["arrive", "start", "release"],
    icon: "→",
    reason: undefined,
    endsAt: undefined,
    nudgeOpensIn: undefined,
  });
  const arrived = machineView({ ...held, state: "arrived" }, "x", 60_000, "en", s);
  assert.deepEqual(
    [arrived.stateLabel, arrived.ownerLabel, arrived.mine, arrived.timeText, arrived.actions],
    ["Arrived", "A neighbour is on the way", false, "start within 9:00", []],
  );
  assert.equal(arrived.icon, "●");
  const running: Machine = {
    ...dryer,
    state: "in_use",
    ownerId: "me",
    useId: "u",
    startedAt: 0,
    endsAt: 3_600_000 + 40 * 60_000,
  };
  assert.deepEqual(machineView(running, "x", 0, "ko", s), {
    id: "d1",
    name: "Dryer 1",
    kind: "dryer",
    state: "in_use",
    stateLabel: "사용 중",
    ownerLabel: "이웃 사용 중",
    mine: false,
    offered: false,
    timeText: "1:40:00 남음",
    progress: 0,
    actions: [],
    icon: "◔",
    reason: undefined,
    endsAt: 3_600_000 + 40 * 60_000,
    nudgeOpensIn: undefined,
  });
  assert.equal(machineView(running, "me", 0, "ko", s).ownerLabel, "내 건조기");
  const done: Machine = { ...running, state: "done", doneAt: 0 };
  assert.deepEqual(machineView(done, "x", 90_000, "ko", s), {
    id: "d1",
    name: "Dryer 1",
    kind: "dryer",
    state: "done",
    stateLabel: "완료 · 수거 대기",
    ownerLabel: "이웃 사용 중",
    mine: false,
    offered: false,
    timeText: "1:30 지남",
    progress: null,
    actions: [],
    icon: "✓",
    reason: undefined,
    endsAt: undefined,
    nudgeOpensIn: 90_000,
  });
  assert.equal(machineView(done, "me", 90_000, "en", s).ownerLabel, "My dryer");
  const broken = machineView({ ...m0, state: "out_of_order" }, "me", 0, "en", s);
  assert.deepEqual(
    [broken.stateLabel, broken.ownerLabel, broken.timeText, broken.progress, broken.reason],
    ["Out of order", "", "", null, undefined],
  );
});

Deno.test("progress: clamped to 0 before the start, 1 for a cycle without length", () => {
  const m: Machine = {
    ...m0,
    state: "in_use",
    ownerId: "me",
    useId: "u",
    startedAt: 60_000,
    endsAt: 120_000,
  };
  assert.equal(machineView(m, "me", 0, "ko", s).progress, 0, "clock behind the start");
  assert.equal(machineView(m, "me", 90_000, "ko", s).progress, 0.5);
  const noTimes: Machine = { ...m, startedAt: undefined, endsAt: undefined };
  const v = machineView(noTimes, "me", 5_000, "en", s);
  assert.equal(v.progress, 1);
  assert.equal(v.timeText, "0:00 left");
});

Deno.test("missing times read as now, and a reason shows only when out of order", () => {
  const held: Machine = { ...m0, state: "held", ownerId: "me", useId: "u" };
  assert.equal(machineView(held, "me", 5_000, "en", s).timeText, "arrive within 0:00");
  const done: Machine = { ...m0, state: "done", ownerId: "o", useId: "u" };
  const v = machineView(done, "me", 10 * 60_000, "en", s);
  assert.equal(v.timeText, "0:00 overdue");
  assert.deepEqual(v.actions, [], "no doneAt: the grace period has not started");
  assert.equal(v.nudgeOpensIn, undefined, "and there is nothing to count down to");
  const stale: Machine = { ...m0, outOfOrderReason: "fixed last week" };
  assert.equal(machineView(stale, "me", 0, "en", s).reason, undefined);
  assert.equal(
    machineView({ ...stale, state: "out_of_order", outOfOrderReason: "" }, "me", 0, "en", s).reason,
    undefined,
  );
});

Deno.test("applyBoardEvent: order first, then name; unknown and incomplete events change nothing", () => {
  const a: Machine = { ...m0, id: "a", order: 2, name: "B" };
  const b: Machine = { ...m0, id: "b", order: 2, name: "A" };
  const c: Machine = { ...m0, id: "c", order: 1, name: "Z" };
  let list = applyBoardEvent([], { type: "machine.added", machine: a });
  list = applyBoardEvent(list, { type: "machine.added", machine: b });
  list = applyBoardEvent(list, { type: "machine.added", machine: c });
  assert.deepEqual(list.map((m) => m.id), ["c", "b", "a"]);
  const held = { ...a, state: "held" as const };
  list = applyBoardEvent(list, { type: "machine.held", machine: held });
  assert.deepEqual(list.map((m) => [m.id, m.state]), [
    ["c", "available"],
    ["b", "available"],
    ["a", "held"],
  ]);
  const before = list;
  assert.deepEqual(applyBoardEvent(list, { type: "machine.removed" }), before);
  assert.deepEqual(applyBoardEvent(list, { type: "board.reset" }), before);
  assert.deepEqual(
    applyBoardEvent(list, { type: "machine.removed", machineId: "zz" }).map((m) => m.id),
    ["c", "b", "a"],
  );
});

Deno.test("nudge: the grace period counts from doneAt, not from now", () => {
  const m: Machine = { ...m0, state: "done", ownerId: "o", useId: "u", doneAt: 600_000 };
  assert.deepEqual(machineView(m, "me", 600_000 + 3 * 60_000 - 1, "en", s).actions, []);
  assert.deepEqual(machineView(m, "me", 600_000 + 3 * 60_000, "en", s).actions, ["nudge"]);
});

Deno.test("applyBoardEvent: a machine id alone removes only on machine.removed", () => {
  const list = [m0, { ...m0, id: "w2", order: 2 }];
  assert.deepEqual(
    applyBoardEvent(list, { type: "machine.held", machineId: "w1" }).map((m) => m.id),
    ["w1", "w2"],
  );
  assert.deepEqual(
    applyBoardEvent(list, { type: "machine.removed", machineId: "w1" }).map((m) => m.id),
    ["w2"],
  );
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

Deno.test("machineView: an out-of-order machine shows its expected repair day in the language", () => {
  const ooo: Machine = {
    ...m0,
    state: "out_of_order",
    outOfOrderReason: "누수",
    repairDate: "2026-12-04",
  };
  assert.equal(machineView(ooo, "me", 0, "ko", s).repairText, "수리 예정: 12월 4일");
  assert.equal(machineView(ooo, "me", 0, "en", s).repairText, "Repair expected: 12/4");
  assert.equal(
    machineView({ ...ooo, repairDate: undefined }, "me", 0, "ko", s).repairText,
    undefined,
  );
  // Only while out of order.
  assert.equal(
    machineView({ ...m0, repairDate: "2026-12-04" }, "me", 0, "ko", s).repairText,
    undefined,
  );
  assert.equal(repairText("2026-01-31", "ko"), "수리 예정: 1월 31일");
});

Deno.test("machineView: a cycle nobody registered (a sensor saw it) is someone's: anyone may register it, or clear its laundry", () => {
  const someone: Machine = {
    id: "s1",
    buildingId: "b1",
    name: "W9",
    kind: "washer",
    room: "r",
    order: 9,
    state: "in_use",
    useId: "u9",
    gen: 2,
    startedAt: 0,
    endsAt: 50 * 60_000,
    sensed: true,
    updatedAt: 0,
  };
  const s = { minuteMs: 60_000, pickupGraceMinutes: 3 };
  const running = machineView(someone, "me", 10 * 60_000, "ko", s);
  assert.equal(running.ownerLabel, "누군가 사용 중 (센서 감지)");
  assert.deepEqual(running.actions, ["start"]);
  assert.equal(running.timeText, "40:00 남음");
  // Past its estimate the sensor still says running: no negative countdown, no "done".
  const late = machineView(someone, "me", 60 * 60_000, "en", s);
  assert.equal(late.state, "in_use");
  assert.equal(late.timeText, "still running");
  assert.equal(
    machineView(someone, "me", 50 * 60_000, "en", s).timeText,
    "still running",
    "at 0:00",
  );
  const done = machineView(
    { ...someone, state: "done", sensed: undefined, doneAt: 40 * 60_000 },
    "me",
    50 * 60_000,
    "en",
    s,
  );
  assert.equal(done.ownerLabel, "Someone's laundry");
  assert.deepEqual(done.actions, ["collect"], "clear it; nobody to nudge");
});

Deno.test("offered: the holder sees 잡기 / 양보하기 and the time left; others see it held, not free", () => {
  const m: Machine = { ...m0, offer: { userId: "me", until: 90_000 } };
  const mine = machineView(m, "me", 0, "ko", s);
  assert.deepEqual(mine.actions, ["take", "pass"]);
  assert.equal(mine.mine, true);
  assert.equal(mine.offered, true);
  assert.equal(mine.ownerLabel, "내 차례예요!");
  assert.equal(mine.timeText, "1:30 안에 잡기");
  const theirs = machineView(m, "you", 0, "en", s);
  assert.deepEqual(theirs.actions, []);
  assert.equal(theirs.mine, false);
  assert.equal(theirs.stateLabel, "Held");
  assert.equal(theirs.timeText, "free again in 1:30");
  assert.deepEqual(freeCounts([mine, machineView(m0, "me", 0, "ko", s)]).washer, {
    free: 1,
    total: 2,
  });
  // Lapsed (the board's clock passed it): free for anyone again.
  const later = machineView(m, "you", 90_000, "ko", s);
  assert.deepEqual(later.actions, ["hold", "start"]);
  assert.equal(later.offered, false);
});

Deno.test("applyWaitEvent: joined appends (once), left removes, empty queues vanish, others untouched", () => {
  const j = (userId: string, room = "r") => ({
    type: "waitlist.joined",
    data: { room, kind: "dryer", userId },
  });
  let q = applyWaitEvent([], j("a"));
  q = applyWaitEvent(q, j("b"));
  q = applyWaitEvent(q, j("c", "s"));
  assert.deepEqual(
    q,
    [
      { room: "r", kind: "dryer", queue: ["a", "b"] },
      { room: "s", kind: "dryer", queue: ["c"] },
    ].reverse().reverse().sort((x, y) => x.room.localeCompare(y.room)),
  );
  // Moved to the back: left then joined.
  q = applyWaitEvent(applyWaitEvent(q, { ...j("a"), type: "waitlist.left" }), j("a"));
  assert.deepEqual(q.find((x) => x.room === "r")?.queue, ["b", "a"]);
  q = applyWaitEvent(q, { ...j("c", "s"), type: "waitlist.left" });
  assert.equal(q.find((x) => x.room === "s"), undefined);
  assert.equal(applyWaitEvent(q, { type: "machine.held" }), q, "other events change nothing");
});

Deno.test("offered: the time left counts from the board's clock; a neighbour sees whom it is held for", () => {
  const m: Machine = { ...m0, offer: { userId: "me", until: 90_000 } };
  assert.equal(machineView(m, "me", 30_000, "en", s).timeText, "take it within 1:00");
  const theirs = machineView(m, "you", 30_000, "en", s);
  assert.equal(theirs.ownerLabel, "Held for the next in line");
  assert.equal(theirs.timeText, "free again in 1:00");
  assert.equal(machineView(m, "me", 30_000, "en", s).ownerLabel, "Your turn!");
});

Deno.test("applyWaitEvent: each queue is changed alone, in place; joining twice keeps one place", () => {
  const queues = [
    { room: "r", kind: "washer" as const, queue: ["x"] },
    { room: "s", kind: "dryer" as const, queue: ["y"] },
    { room: "r", kind: "dryer" as const, queue: ["a", "b"] },
  ];
  const joined = (userId: string) => ({
    type: "waitlist.joined",
    data: { room: "r", kind: "dryer", userId },
  });
  // Joining a queue one is in again moves to its end: never a second place.
  assert.deepEqual(applyWaitEvent(queues, joined("a")), [
    queues[0],
    queues[1],
    { room: "r", kind: "dryer", queue: ["b", "a"] },
  ]);
  assert.deepEqual(applyWaitEvent(queues, joined("c")), [
    queues[0],
    queues[1],
    { room: "r", kind: "dryer", queue: ["a", "b", "c"] },
  ]);
  // Leaving one queue leaves the others (same room, other kind; same kind, other room) alone.
  assert.deepEqual(applyWaitEvent(queues, { ...joined("b"), type: "waitlist.left" }), [
    queues[0],
    queues[1],
    { room: "r", kind: "dryer", queue: ["a"] },
  ]);
});
