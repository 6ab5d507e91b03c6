import assert from "node:assert/strict";
import {
  collapseTag,
  CONFIGURABLE_KINDS,
  defaultPreferences,
  KIND_DEFAULTS,
  localMinutes,
  OWN_CYCLE_KINDS,
  pushOptions,
  quietUntil,
  route,
} from "./policy.ts";
import type { Preferences } from "../types.ts";

// 2026-11-22 14:00 UTC = 23:00 in Seoul (UTC+9, no DST).
const SEOUL_23H = Date.UTC(2026, 10, 22, 14, 0);
const SEOUL_12H = Date.UTC(2026, 10, 22, 3, 0);

function prefs(patch: Partial<Preferences> = {}): Preferences {
  return { ...defaultPreferences(), ...patch };
}
const quietSilent = prefs({
  quiet: { enabled: true, start: "22:00", end: "07:00", mode: "silent" },
});
const quietHold = prefs({ quiet: { enabled: true, start: "22:00", end: "07:00", mode: "hold" } });

Deno.test("localMinutes reads the user's time zone", () => {
  assert.equal(localMinutes(SEOUL_23H, "Asia/Seoul"), 23 * 60);
  assert.equal(localMinutes(SEOUL_23H, "UTC"), 14 * 60);
});

Deno.test("quietUntil handles windows that wrap midnight and returns their end", () => {
  const until = quietUntil(quietSilent, SEOUL_23H);
  assert.equal(until, SEOUL_23H + 8 * 3600_000); // 23:00 → 07:00
  assert.equal(quietUntil(quietSilent, SEOUL_12H), null);
  const day = prefs({ quiet: { enabled: true, start: "09:00", end: "17:00", mode: "silent" } });
  assert.equal(quietUntil(day, SEOUL_12H), SEOUL_12H + 5 * 3600_000);
  assert.equal(quietUntil(day, SEOUL_23H), null);
  assert.equal(quietUntil(prefs(), SEOUL_23H), null, "disabled");
});

Deno.test("route: a visible page gets in-app only", () => {
  const d = route({ kind: "use.done" }, prefs(), { connected: true, visible: true }, SEOUL_12H);
  assert.deepEqual([d.inApp, d.push], [true, false]);
});

Deno.test("route: hidden page gets in-app and push; disconnected gets push only", () => {
  const hidden = route(
    { kind: "use.done" },
    prefs(),
    { connected: true, visible: false },
    SEOUL_12H,
  );
  assert.deepEqual([hidden.inApp, hidden.push, hidden.silent], [true, true, false]);
  const off = route({ kind: "use.done" }, prefs(), { connected: false, visible: false }, SEOUL_12H);
  assert.deepEqual([off.inApp, off.push], [false, true]);
});

Deno.test("route: per-kind opt-out stops the push but critical notices still go", () => {
  const p = prefs({ push: { "machine.free": false, notice: false } });
  const off = { connected: false, visible: false };
  assert.equal(route({ kind: "machine.free" }, p, off, SEOUL_12H).push, false);
  assert.equal(route({ kind: "notice" }, p, off, SEOUL_12H).push, false);
  assert.equal(route({ kind: "notice", critical: true }, p, off, SEOUL_12H).push, true);
});

Deno.test("route: quiet hours silence or hold non-critical pushes; own cycle and critical exempt", () => {
  const off = { connected: false, visible: false };
  const free = route({ kind: "machine.free" }, quietSilent, off, SEOUL_23H);
  assert.deepEqual([free.push, free.silent, free.holdUntil], [true, true, undefined]);
  const held = route({ kind: "pickup.nudge" }, quietHold, off, SEOUL_23H);
  assert.equal(held.holdUntil, SEOUL_23H + 8 * 3600_000);
  for (const kind of ["use.ending_soon", "use.done", "use.overdue"] as const) {
    const own = route({ kind }, quietHold, off, SEOUL_23H);
    assert.deepEqual([own.silent, own.holdUntil], [false, undefined], kind);
  }
  const critical = route({ kind: "notice", critical: true }, quietHold, off, SEOUL_23H);
  assert.deepEqual([critical.silent, critical.holdUntil], [false, undefined]);
  const quietOutside = route({ kind: "machine.free" }, quietSilent, off, SEOUL_12H);
  assert.equal(quietOutside.silent, false);
});

Deno.test("route: an admin's silent notice is pushed silently", () => {
  const d = route(
    { kind: "notice", sound: false },
    prefs(),
    { connected: false, visible: false },
    0,
  );
  assert.deepEqual([d.push, d.silent], [true, true]);
});

Deno.test("pushOptions follows the SPEC table and caps TTL at the expiry", () => {
  assert.deepEqual(pushOptions("use.done", "m-a", 0), {
    ttlSeconds: 3600,
    urgency: "high",
    topic: "m-a",
  });
  assert.deepEqual(pushOptions("machine.free", "free", 0), {
    ttlSeconds: 900,
    urgency: "normal",
    topic: "free",
  });
  assert.equal(pushOptions("use.ending_soon", "m-a", 1_000, 121_000).ttlSeconds, 120);
  assert.equal(pushOptions("use.ending_soon", "m-a", 200_000, 121_000).ttlSeconds, 0);
  assert.equal(pushOptions("notice", "n-x", 0, undefined, true).urgency, "high");
  assert.equal(KIND_DEFAULTS["pickup.nudge"].ttlSeconds, 1800);
  assert.equal(KIND_DEFAULTS["hold.expired"].urgency, "normal");
});

Deno.test("collapseTag: one tag per machine, so 'ending soon' is replaced by 'done'", () => {
  assert.equal(collapseTag("use.ending_soon", "abc"), collapseTag("use.done", "abc"));
  assert.notEqual(collapseTag("use.done", "abc"), collapseTag("use.done", "xyz"));
  assert.equal(collapseTag("notice", undefined, "n1"), "n-n1");
  assert.match(collapseTag("machine.free", "abc"), /^[A-Za-z0-9_-]{1,32}$/);
});

Deno.test("KIND_DEFAULTS is exactly the SPEC transport table", () => {
  assert.deepEqual(KIND_DEFAULTS, {
    "use.ending_soon": { urgency: "high", ttlSeconds: 300 },
    "use.done": { urgency: "high", ttlSeconds: 3600 },
    "use.overdue": { urgency: "high", ttlSeconds: 3600 },
    "pickup.nudge": { urgency: "high", ttlSeconds: 1800 },
    "hold.expiring": { urgency: "normal", ttlSeconds: 600 },
    "hold.expired": { urgency: "normal", ttlSeconds: 600 },
    "machine.free": { urgency: "normal", ttlSeconds: 900 },
    "waitlist.offer": { urgency: "high", ttlSeconds: 300 },
    "waitlist.withdrawn": { urgency: "normal", ttlSeconds: 900 },
    "machine.repaired": { urgency: "normal", ttlSeconds: 86400 },
    "notice": { urgency: "normal", ttlSeconds: 86400 },
    "test": { urgency: "high", ttlSeconds: 300 },
  });
});

Deno.test("CONFIGURABLE_KINDS lists every kind but test and the retired machine.free, in settings order", () => {
  assert.deepEqual(CONFIGURABLE_KINDS, [
    "use.ending_soon",
    "use.done",
    "use.overdue",
    "pickup.nudge",
    "hold.expiring",
    "hold.expired",
    "waitlist.offer",
    "waitlist.withdrawn",
    "machine.repaired",
    "notice",
  ]);
  assert.deepEqual([...OWN_CYCLE_KINDS].sort(), [
    "use.done",
    "use.ending_soon",
    "use.overdue",
    "waitlist.offer",
  ]);
});

Deno.test("defaultPreferences: Korean, Seoul, no opt-outs, 5 minute lead, quiet hours off", () => {
  const expected = {
    lang: "ko",
    timeZone: "Asia/Seoul",
    push: {},
    endingSoonMinutes: 5,
    quiet: { enabled: false, start: "23:00", end: "07:00", mode: "silent" },
  };
  assert.deepEqual(defaultPreferences(), expected);
  assert.deepEqual(defaultPreferences("en"), { ...expected, lang: "en" });
});

Deno.test("localMinutes counts the minutes of the hour too", () => {
  // 2026-11-22 14:37:59 UTC = 23:37 in Seoul.
  const t = SEOUL_23H + 37 * 60_000 + 59_000;
  assert.equal(localMinutes(t, "Asia/Seoul"), 23 * 60 + 37);
  assert.equal(localMinutes(t, "UTC"), 14 * 60 + 37);
  assert.equal(localMinutes(Date.UTC(2026, 10, 22, 15, 5), "Asia/Seoul"), 5, "00:05 next day");
});

/** Epoch ms of a Seoul wall-clock time on 2026-11-22 (hours may exceed 24). */
function seoul(h: number, m: number, s = 0): number {
  return Date.UTC(2026, 10, 22, h - 9, m, s);
}

Deno.test("quietUntil: boundaries of a window that wraps midnight (start inside, end outside)", () => {
  const q = prefs({ quiet: { enabled: true, start: "22:30", end: "06:45", mode: "silent" } });
  assert.equal(quietUntil(q, seoul(22, 29)), null, "a minute before the start");
  assert.equal(quietUntil(q, seoul(22, 30)), seoul(30, 45), "at the start");
  assert.equal(quietUntil(q, seoul(24, 0)), seoul(30, 45), "midnight");
  assert.equal(quietUntil(q, seoul(30, 44)), seoul(30, 45), "last minute");
  assert.equal(quietUntil(q, seoul(30, 45)), null, "at the end");
  // Mid-minute: the end is still on the minute, not shifted by the seconds.
  assert.equal(quietUntil(q, seoul(23, 10, 42)), seoul(30, 45));
});

Deno.test("quietUntil: boundaries of a daytime window (start inside, end outside)", () => {
  const q = prefs({ quiet: { enabled: true, start: "09:15", end: "17:00", mode: "silent" } });
  assert.equal(quietUntil(q, seoul(8, 0)), null, "before the start");
  assert.equal(quietUntil(q, seoul(9, 14)), null, "a minute before the start");
  assert.equal(quietUntil(q, seoul(9, 15)), seoul(17, 0), "at the start");
  assert.equal(quietUntil(q, seoul(16, 59, 30)), seoul(17, 0), "last minute");
  assert.equal(quietUntil(q, seoul(17, 0)), null, "at the end");
});

Deno.test("quietUntil: an empty window (start = end) is never quiet", () => {
  const q = prefs({ quiet: { enabled: true, start: "07:00", end: "07:00", mode: "hold" } });
  for (const t of [seoul(6, 59), seoul(7, 0), seoul(12, 0), seoul(23, 0)]) {
    assert.equal(quietUntil(q, t), null);
  }
});

Deno.test("route: the full decision for each path, reasons included", () => {
  const off = { connected: false, visible: false };
  const hidden = { connected: true, visible: false };
  assert.deepEqual(
    route({ kind: "notice", sound: false }, quietHold, { connected: true, visible: true }, 0),
    { inApp: true, push: false, silent: false, reason: "visible" },
  );
  const optedOut = prefs({ push: { "machine.free": false } });
  assert.deepEqual(route({ kind: "machine.free", sound: false }, optedOut, hidden, SEOUL_12H), {
    inApp: true,
    push: false,
    silent: false,
    reason: "opted_out",
  });
  assert.deepEqual(route({ kind: "machine.free" }, quietHold, hidden, SEOUL_23H), {
    inApp: true,
    push: true,
    silent: false,
    holdUntil: SEOUL_23H + 8 * 3600_000,
    reason: "quiet_hold",
  });
  assert.deepEqual(route({ kind: "hold.expired" }, quietSilent, off, SEOUL_23H), {
    inApp: false,
    push: true,
    silent: true,
    reason: "quiet_silent",
  });
  assert.deepEqual(route({ kind: "use.done" }, prefs(), hidden, SEOUL_12H), {
    inApp: true,
    push: true,
    silent: false,
    reason: "hidden",
  });
  assert.deepEqual(route({ kind: "use.done" }, prefs(), off, SEOUL_12H), {
    inApp: false,
    push: true,
    silent: false,
    reason: "offline",
  });
});

Deno.test("route: a test notification ignores opt-outs and quiet hours", () => {
  const off = { connected: false, visible: false };
  const optedOut = prefs({
    push: { test: false },
    quiet: { enabled: true, start: "22:00", end: "07:00", mode: "hold" },
  });
  assert.deepEqual(route({ kind: "test" }, optedOut, off, SEOUL_23H), {
    inApp: false,
    push: true,
    silent: false,
    reason: "offline",
  });
});

Deno.test("collapseTag: exact tags for machine, free-machine, notice and plain kinds", () => {
  assert.equal(collapseTag("use.done", "abc"), "m-abc");
  assert.equal(collapseTag("pickup.nudge", "abc", "n1"), "m-abc", "machine wins over notice");
  assert.equal(collapseTag("machine.free", "abc"), "free", "one tag for every free machine");
  assert.equal(collapseTag("machine.free"), "free");
  assert.equal(collapseTag("machine.free", undefined, "n1"), "free");
  assert.equal(collapseTag("notice", undefined, "n1"), "n-n1");
  assert.equal(collapseTag("notice"), "notice");
  assert.equal(collapseTag("hold.expired"), "hold-expired");
  assert.equal(collapseTag("use.ending_soon", ""), "use-ending_soon", "empty id is no id");
  assert.equal(collapseTag("test"), "test");
});
