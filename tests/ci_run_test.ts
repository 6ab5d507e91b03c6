/**
 * `.ci/run` end to end with a stand-in `deno` first on PATH: `task check` and
 * `task test` print canned output and exit with a chosen status; everything
 * else (`--version`, `run tools/test_summary.ts`) goes to the real Deno. The
 * last line must be the real counts, and a non-zero runner exit must count as
 * a failure whatever the summary said.
 * @module
 */
import assert from "node:assert/strict";
import { PROJECT_ROOT } from "./support/harness.ts";

async function ciRun(
  testOutput: string,
  testStatus: number,
  checkStatus = 0,
): Promise<{ code: number; lastLine: string; output: string }> {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-ci-" });
  try {
    await Deno.writeTextFile(`${dir}/test_output.txt`, testOutput);
    await Deno.writeTextFile(
      `${dir}/deno`,
      `#!/usr/bin/env bash
case "$1 $2" in
  "task check") echo "checked"; exit ${checkStatus} ;;
  "task test") cat "${dir}/test_output.txt"; exit ${testStatus} ;;
esac
exec "${Deno.execPath()}" "$@"
`,
    );
    await Deno.chmod(`${dir}/deno`, 0o755);
    const out = await new Deno.Command("bash", {
      args: [`${PROJECT_ROOT}.ci/run`],
      cwd: PROJECT_ROOT,
      env: { PATH: `${dir}:${Deno.env.get("PATH")}`, NO_COLOR: "1", CI_RUN_NO_INSTALL: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const output = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    const lines = new TextDecoder().decode(out.stdout).trimEnd().split("\n");
    return { code: out.code, lastLine: lines[lines.length - 1], output };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test(".ci/run: ends with the runner's real counts; a non-zero runner exit is a failure", async () => {
  const clean = await ciRun("running 10 tests\nok | 10 passed | 0 failed (1s)\n", 0);
  assert.equal(clean.lastLine, "10 passed, 0 failed", clean.output);
  assert.equal(clean.code, 0, clean.output);

  const failing = await ciRun(
    "FAILED | 8 passed | 2 failed | 1 ignored (1s)\nerror: Test failed\n",
    1,
  );
  assert.equal(failing.lastLine, "8 passed, 2 failed", failing.output);
  assert.notEqual(failing.code, 0);
  assert.match(failing.output, /8 passed, 2 failed, 1 ignored/);

  // A focused test: Deno's summary says 0 failed, the runner exits 1.
  const only = await ciRun(
    'ok | 1 passed | 0 failed | 1 filtered out (4ms)\n\nerror: Test failed because the "only" option was used\n',
    1,
  );
  assert.equal(only.lastLine, "1 passed, 1 failed", only.output);
  assert.notEqual(only.code, 0);

  // A crash after a test printed a summary-like line.
  const crash = await ciRun("t ...\nok | 5 passed | 0 failed (1ms)\nSegmentation fault\n", 139);
  assert.equal(crash.lastLine, "5 passed, 1 failed", crash.output);
  assert.notEqual(crash.code, 0);

  // The runner died before any summary (a build or type error).
  const none = await ciRun("error: Module not found\n", 1);
  assert.equal(none.lastLine, "0 passed, 1 failed", none.output);
  assert.notEqual(none.code, 0);

  // fmt/lint/type check failing counts too.
  const check = await ciRun("ok | 10 passed | 0 failed (1s)\n", 0, 1);
  assert.equal(check.lastLine, "10 passed, 1 failed", check.output);
  assert.notEqual(check.code, 0);
});
