/**
 * `deno task mutate [--concurrency N] [--force] [file.ts…]`: mutation testing
 * with StrykerJS 8 (installed on demand from npm with `npx`, nothing to set up
 * by hand). Each module is mutated on its own, and every mutant is judged by
 * `deno test -A <module>_test.ts` through Stryker's `command` test runner.
 *
 * Stryker copies the project into a sandbox under `.stryker-tmp/` (large
 * folders are left out; `node_modules` is symlinked when it exists), so the
 * real files are never changed. Results go to `reports/mutation/<name>.html`
 * and `.json`; `reports/mutation/<name>.incremental.json` makes the next run
 * incremental. The command runner cannot tell Stryker which test file changed,
 * so this script fingerprints the test file and passes `--force` (a full run)
 * whenever it changed since the stored result.
 *
 * With no file arguments it mutates {@link DEFAULT_MODULES}.
 * @module
 */
import { basename, dirname, join, relative, resolve } from "node:path";
import config from "../fresh.config.ts";

/**
 * The pure domain modules mutated when no file is given (the waitlist's order
 * and its commit operations are tested against a real KV file).
 */
export const DEFAULT_MODULES: readonly string[] = [
  "lib/lifecycle.ts",
  "lib/notify/policy.ts",
  "lib/notify/reminders.ts",
  "lib/cursor.ts",
  "lib/protocol.ts",
  "lib/session_token.ts",
  "lib/session_gate.ts",
  "lib/push/endpoint_policy.ts",
  "lib/notify/health.ts",
  "lib/board_view.ts",
  "lib/sensor/detector.ts",
  "lib/db/waitlist_ops.ts",
];

/** The StrykerJS release line that still runs on Node 20. */
export const STRYKER_PACKAGE = "@stryker-mutator/core@8";

/** Where reports and incremental files are written (gitignored). */
export const REPORT_DIR = "reports/mutation";

/** Folders never copied into Stryker's sandbox (not needed by unit tests). */
const SANDBOX_IGNORE = [
  config.outDir,
  "data",
  "docs",
  "bench",
  config.staticDir,
  "reports",
  "tests/scratch",
  "*.sqlite*",
  ".ci",
];

/** The sibling test of a module: `lib/x.ts` → `lib/x_test.ts`. */
export function siblingTest(module: string): string {
  const m = /^(.*)\.(tsx?|jsx?|mjs)$/.exec(module);
  if (!m) throw new Error(`not a script module: ${module}`);
  return `${m[1]}_test.${m[2]}`;
}

/** A report name for a module: `lib/notify/policy.ts` → `lib-notify-policy`. */
export function reportName(module: string): string {
  return module.replace(/\.[^.]+$/, "").replace(/[^A-Za-z0-9_]+/g, "-");
}

/** The Stryker configuration for mutating one module against its sibling test. */
export function strykerConfig(
  module: string,
  test: string,
  concurrency: number,
): Record<string, unknown> {
  const name = reportName(module);
  return {
    $schema: "./node_modules/@stryker-mutator/core/schema/stryker-schema.json",
    mutate: [module],
    testRunner: "command",
    // `--no-check`: the instrumented module carries `// @ts-nocheck`, but its
    // inferred types still leak into the test (an unannotated return type
    // becomes `T | undefined`), so the test would fail to type-check before
    // any mutant ran. `deno task check` type-checks the real code.
    commandRunner: { command: `deno test -A --no-check --quiet ${test}` },
    coverageAnalysis: "off",
    concurrency,
    incremental: true,
    incrementalFile: `${REPORT_DIR}/${name}.incremental.json`,
    reporters: ["html", "json", "clear-text", "progress-append-only"],
    htmlReporter: { fileName: `${REPORT_DIR}/${name}.html` },
    jsonReporter: { fileName: `${REPORT_DIR}/${name}.json` },
    clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
    ignorePatterns: SANDBOX_IGNORE,
    tempDirName: ".stryker-tmp",
    cleanTempDir: true,
    disableTypeChecks: module,
    timeoutMS: 10_000,
    timeoutFactor: 2,
    logLevel: "info",
    fileLogLevel: "off",
  };
}

async function sha256(path: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Score summary read back from Stryker's JSON report. */
export interface Score {
  module: string;
  killed: number;
  survived: number;
  timeout: number;
  noCoverage: number;
  errors: number;
  score: number;
}

/** Count mutant statuses in a mutation-testing-report-schema JSON report. */
export function summarise(module: string, report: unknown): Score {
  const files = (report as { files?: Record<string, { mutants: { status: string }[] }> }).files ??
    {};
  const s: Score = {
    module,
    killed: 0,
    survived: 0,
    timeout: 0,
    noCoverage: 0,
    errors: 0,
    score: 0,
  };
  for (const f of Object.values(files)) {
    for (const m of f.mutants) {
      if (m.status === "Killed") s.killed++;
      else if (m.status === "Survived") s.survived++;
      else if (m.status === "Timeout") s.timeout++;
      else if (m.status === "NoCoverage") s.noCoverage++;
      else if (m.status === "CompileError" || m.status === "RuntimeError") s.errors++;
    }
  }
  const valid = s.killed + s.survived + s.timeout + s.noCoverage;
  s.score = valid === 0 ? 0 : Math.round(((s.killed + s.timeout) / valid) * 10000) / 100;
  return s;
}

async function mutateOne(
  root: string,
  module: string,
  concurrency: number,
  force: boolean,
): Promise<Score> {
  const test = siblingTest(module);
  if (!(await exists(join(root, module)))) throw new Error(`no such module: ${module}`);
  if (!(await exists(join(root, test)))) throw new Error(`no sibling test for ${module}: ${test}`);
  const name = reportName(module);
  await Deno.mkdir(join(root, REPORT_DIR), { recursive: true });

  // The command runner reports one anonymous test, so Stryker cannot see test
  // changes: a changed test file (or a first run) means a full, forced run.
  const stampFile = join(root, REPORT_DIR, `${name}.test-sha256`);
  const stamp = await sha256(join(root, test));
  const previous = await Deno.readTextFile(stampFile).catch(() => "");
  const mustForce = force || previous.trim() !== stamp;

  const tmp = await Deno.makeTempDir({ prefix: "mutate-" });
  try {
    const configPath = join(tmp, "stryker.config.json");
    await Deno.writeTextFile(
      configPath,
      JSON.stringify(strykerConfig(module, test, concurrency), null, 2),
    );
    const args = ["-y", "-p", STRYKER_PACKAGE, "stryker", "run", configPath];
    if (mustForce) args.push("--force");
    console.log(`\n==> mutating ${module} against ${test}${mustForce ? " (full run)" : ""}`);
    const { code } = await new Deno.Command("npx", {
      args,
      cwd: root,
      stdout: "inherit",
      stderr: "inherit",
      env: { NO_UPDATE_NOTIFIER: "1", npm_config_update_notifier: "false" },
    }).spawn().status;
    if (code !== 0) throw new Error(`stryker failed on ${module} (exit ${code})`);
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  await Deno.writeTextFile(stampFile, stamp + "\n");
  const report = JSON.parse(await Deno.readTextFile(join(root, REPORT_DIR, `${name}.json`)));
  return summarise(module, report);
}

/** Parse the command line: options, then module paths relative to the project root. */
export function parseArgs(
  args: string[],
  cwd: string,
  root: string,
): { concurrency: number; force: boolean; modules: string[] } {
  let concurrency = 1;
  let force = false;
  const modules: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--force") force = true;
    else if (a === "--concurrency") concurrency = Number(args[++i]);
    else if (a.startsWith("--concurrency=")) concurrency = Number(a.slice("--concurrency=".length));
    else if (a.startsWith("-")) throw new Error(`unknown option ${a}`);
    else modules.push(relative(root, resolve(cwd, a)));
  }
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error("--concurrency needs a positive integer");
  }
  return { concurrency, force, modules: modules.length ? modules : [...DEFAULT_MODULES] };
}

if (import.meta.main) {
  const root = dirname(dirname(new URL(import.meta.url).pathname));
  let opts;
  try {
    opts = parseArgs(Deno.args, Deno.cwd(), root);
  } catch (e) {
    console.error(`mutate: ${(e as Error).message}`);
    console.error("usage: deno task mutate [--concurrency N] [--force] [lib/module.ts …]");
    Deno.exit(2);
  }
  const scores: Score[] = [];
  let failed = false;
  for (const module of opts.modules) {
    try {
      scores.push(await mutateOne(root, module, opts.concurrency, opts.force));
    } catch (e) {
      console.error(`mutate: ${(e as Error).message}`);
      failed = true;
    }
  }
  console.log("\nmodule | killed | survived | timeout | no cov | score");
  for (const s of scores) {
    console.log(
      `${s.module} | ${s.killed} | ${s.survived} | ${s.timeout} | ${s.noCoverage} | ${s.score} %`,
    );
  }
  console.log(`reports: ${join(REPORT_DIR, "<module>.html")} (${basename(root)})`);
  if (failed) Deno.exit(1);
}
