import assert from "node:assert/strict";
import {
  DEFAULT_MODULES,
  parseArgs,
  REPORT_DIR,
  reportName,
  siblingTest,
  strykerConfig,
  summarise,
} from "./mutate.ts";

Deno.test("siblingTest and reportName follow the x.ts → x_test.ts convention", () => {
  assert.equal(siblingTest("lib/notify/policy.ts"), "lib/notify/policy_test.ts");
  assert.equal(siblingTest("islands/Board.tsx"), "islands/Board_test.tsx");
  assert.throws(() => siblingTest("docs/TESTING.md"), /not a script module/);
  assert.equal(reportName("lib/notify/policy.ts"), "lib-notify-policy");
  assert.equal(reportName("lib/push/endpoint_policy.ts"), "lib-push-endpoint_policy");
});

Deno.test("every default module exists with a sibling test", async () => {
  for (const m of DEFAULT_MODULES) {
    const root = new URL("../", import.meta.url);
    assert.ok((await Deno.stat(new URL(m, root))).isFile, m);
    assert.ok((await Deno.stat(new URL(siblingTest(m), root))).isFile, siblingTest(m));
  }
});

Deno.test("the Stryker config mutates one module, runs only its test, and reports per module", () => {
  const c = strykerConfig("lib/cursor.ts", "lib/cursor_test.ts", 1);
  assert.deepEqual(c.mutate, ["lib/cursor.ts"]);
  assert.equal(c.testRunner, "command");
  assert.deepEqual(c.commandRunner, {
    command: "deno test -A --no-check --quiet lib/cursor_test.ts",
  });
  assert.equal(c.concurrency, 1);
  assert.equal(c.incremental, true);
  assert.equal(c.incrementalFile, `${REPORT_DIR}/lib-cursor.incremental.json`);
  assert.deepEqual(c.htmlReporter, { fileName: `${REPORT_DIR}/lib-cursor.html` });
  assert.deepEqual(c.jsonReporter, { fileName: `${REPORT_DIR}/lib-cursor.json` });
});

Deno.test("parseArgs: defaults, options, and paths relative to the caller's directory", () => {
  const root = "/repo";
  assert.deepEqual(parseArgs([], "/repo", root), {
    concurrency: 1,
    force: false,
    modules: [...DEFAULT_MODULES],
  });
  assert.deepEqual(parseArgs(["--force", "--concurrency", "2", "policy.ts"], "/repo/lib", root), {
    concurrency: 2,
    force: true,
    modules: ["lib/policy.ts"],
  });
  assert.equal(parseArgs(["--concurrency=3"], "/repo", root).concurrency, 3);
  assert.throws(() => parseArgs(["--concurrency", "0"], "/repo", root), /positive integer/);
  assert.throws(() => parseArgs(["--bogus"], "/repo", root), /unknown option/);
});

Deno.test("summarise counts statuses; timeouts count as detected, errors are left out", () => {
  const report = {
    files: {
      "a.ts": {
        mutants: [
          { status: "Killed" },
          { status: "Killed" },
          { status: "Timeout" },
          { status: "Survived" },
          { status: "NoCoverage" },
          { status: "CompileError" },
        ],
      },
    },
  };
  assert.deepEqual(summarise("a.ts", report), {
    module: "a.ts",
    killed: 2,
    survived: 1,
    timeout: 1,
    noCoverage: 1,
    errors: 1,
    score: 60,
  });
  assert.equal(summarise("b.ts", { files: {} }).score, 0);
});
