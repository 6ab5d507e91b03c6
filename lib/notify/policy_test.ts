import assert from "node:assert/strict";
import {
  collapseTag,
  defaultPreferences,
  KIND_DEFAULTS,
  localMinutes,
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
