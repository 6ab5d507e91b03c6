import assert from "node:assert/strict";
import { parseSummary, verdict } from "./test_summary.ts";

const GREEN =
  "\x1b[0m\x1b[32mok\x1b[0m | 243 passed | 0 failed \x1b[0m\x1b[38;5;245m(2m 3s)\x1b[0m";

Deno.test("parseSummary: Deno's summary lines, with colours, steps, ignored and filtered", () => {
  assert.deepEqual(parseSummary(`running 3 tests\n${GREEN}\n`), {
    ok: true,
    passed: 243,
    failed: 0,
    ignored: 0,
    filtered: 0,
  });
  assert.deepEqual(
    parseSummary("FAILED | 3 passed (2 steps) | 2 failed (1 step) | 1 ignored (287ms)"),
    { ok: false, passed: 3, failed: 2, ignored: 1, filtered: 0 },
  );
  assert.deepEqual(parseSummary("ok | 1 passed | 0 failed | 4 filtered out (42ms)"), {
    ok: true,
    passed: 1,
    failed: 0,
    ignored: 0,
    filtered: 4,
  });
  assert.deepEqual(parseSummary("ok | 2 passed | 0 failed | 1 ignored | 3 filtered out (1s)"), {
    ok: true,
    passed: 2,
    failed: 0,
    ignored: 1,
    filtered: 3,
  });
  assert.equal(parseSummary("no summary here\nok | many passed"), null);
  assert.equal(parseSummary("log: ok | 5 passed | 0 failed (1ms) and more"), null);
  // The last summary counts.
  assert.equal(
    parseSummary("ok | 9 passed | 0 failed (1ms)\nFAILED | 1 passed | 1 failed (2ms)")?.failed,
    1,
  );
});

Deno.test("verdict: a clean run counts what Deno counted", () => {
  assert.deepEqual(verdict(GREEN, 0), { passed: 243, failed: 0, ignored: 0, notes: [] });
  const v = verdict("FAILED | 240 passed | 3 failed (2m)\nerror: Test failed", 1);
  assert.equal(v.passed, 240);
  assert.equal(v.failed, 3);
  assert.deepEqual(v.notes, []);
});

Deno.test("verdict: a non-zero exit is a failure whatever the summary said", () => {
  // A focused test: Deno prints "0 failed" and exits 1.
  const only = verdict(
    'ok | 1 passed | 0 failed | 1 filtered out (42ms)\n\nerror: Test failed because the "only" option was used',
    1,
  );
  assert.equal(only.failed, 1);
  assert.equal(only.passed, 1);
  assert.match(only.notes.join("\n"), /focused test/);
  // A crash after a test printed a summary-like line.
  const crash = verdict("t ...\nok | 5 passed | 0 failed (1ms)\nSegmentation fault", 139);
  assert.equal(crash.failed, 1);
  assert.match(crash.notes[0], /status 139/);
  // No summary at all (a type error, a failed build).
  const none = verdict("error: TS2322 [ERROR]: Type 'string' is not assignable", 1);
  assert.deepEqual({ ...none, notes: none.notes.length }, {
    passed: 0,
    failed: 1,
    ignored: 0,
    notes: 1,
  });
  // …and even with exit status 0, a run without a summary did not pass.
  assert.equal(verdict("nothing ran", 0).failed, 1);
});

Deno.test("verdict: ignored tests are counted and reported", () => {
  const v = verdict("ok | 3 passed | 0 failed | 2 ignored (1s)", 0);
  assert.equal(v.ignored, 2);
  assert.equal(v.failed, 0);
  assert.match(v.notes.join(), /2 ignored/);
});
