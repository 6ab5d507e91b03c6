/**
 * Reads the output of a `deno test` run (as `.ci/run` captured it) and its
 * exit status, and says what really happened:
 *
 *     deno run --allow-read tools/test_summary.ts <log file> <exit status>
 *
 * prints notes (why a run counts as failed) and ends with the line
 * `N passed, M failed, K ignored`. The counts are Deno's own summary
 * (`ok | N passed | M failed | K ignored (…)`, the last one printed), with
 * one rule on top: a runner that exited non-zero failed, whatever its summary
 * said (a focused `only` test, a crash after a test printed a summary-like
 * line, a build error before any test ran), and so did a run without a
 * summary.
 * @module
 */

/** Deno's counts from one summary line. */
export interface DenoSummary {
  ok: boolean;
  passed: number;
  failed: number;
  ignored: number;
  filtered: number;
}

/** What a run counts as. */
export interface Verdict {
  passed: number;
  failed: number;
  ignored: number;
  /** Why the counts differ from Deno's summary, if they do. */
  notes: string[];
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const STEPS = String.raw`(?: \(\d+ steps?\))?`;
/** `ok | 3 passed (2 steps) | 0 failed | 1 ignored | 4 filtered out (24ms)`. */
const SUMMARY = new RegExp(
  String.raw`^(ok|FAILED) \| (\d+) passed${STEPS} \| (\d+) failed${STEPS}` +
    String.raw`(?: \| (\d+) ignored${STEPS})?(?: \| \d+ measured)?(?: \| (\d+) filtered out)?` +
    String.raw` \([^)]*\)$`,
);

/** The last Deno test summary in `output` (colours stripped), or null. */
export function parseSummary(output: string): DenoSummary | null {
  let found: DenoSummary | null = null;
  for (const raw of output.split(/\r?\n/)) {
    const m = SUMMARY.exec(raw.replace(ANSI, "").trim());
    if (!m) continue;
    found = {
      ok: m[1] === "ok",
      passed: Number(m[2]),
      failed: Number(m[3]),
      ignored: Number(m[4] ?? 0),
      filtered: Number(m[5] ?? 0),
    };
  }
  return found;
}

/** Count a run: Deno's summary, and a failure for a non-zero exit it does not account for. */
export function verdict(output: string, exitCode: number): Verdict {
  const s = parseSummary(output);
  const notes: string[] = [];
  if (!s) {
    notes.push(`no test summary found (runner exit status ${exitCode})`);
    return { passed: 0, failed: 1, ignored: 0, notes };
  }
  let failed = s.failed;
  if (!s.ok && failed === 0) {
    notes.push("the summary says FAILED but counts no failed test");
    failed = 1;
  }
  if (exitCode !== 0 && failed === 0) {
    notes.push(
      `the test runner exited with status ${exitCode} although its summary counts no failure` +
        (/"only" option was used/.test(output) ? " (a focused test: `only` is not allowed)" : ""),
    );
    failed = 1;
  }
  if (exitCode === 0 && s.failed > 0) {
    notes.push(`the summary counts ${s.failed} failed but the runner exited with status 0`);
  }
  if (s.ignored > 0) notes.push(`${s.ignored} ignored test(s): ignoring tests is not allowed`);
  if (s.filtered > 0) notes.push(`${s.filtered} test(s) filtered out`);
  return { passed: s.passed, failed, ignored: s.ignored, notes };
}

if (import.meta.main) {
  const [file, status] = Deno.args;
  const v = verdict(await Deno.readTextFile(file), Number(status ?? 1));
  for (const n of v.notes) console.log(`note: ${n}`);
  console.log(`${v.passed} passed, ${v.failed} failed, ${v.ignored} ignored`);
}
