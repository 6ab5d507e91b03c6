/**
 * `deno task bench`: LaundryLive's benchmark suite. Runs every section
 * against baselines measured in the same run, prints a summary table and
 * writes docs/BENCHMARKS.md + docs/bench/*.svg (quick mode: bench/out/).
 *
 *   deno task bench                      full suite (~15 min on 2 cores)
 *   deno task bench -- --quick           ~1 min subset (N = 1,000, fewer reminders)
 *   deno task bench -- --only=fanout,push   some sections (page, fanout, push, reminders, resume, storm, press, tenancy)
 *   deno task bench -- --only=tenancy    the tenancy section alone (~2 min: 1 vs 1,000 buildings)
 *   deno task bench -- --no-patched      skip "app + bench/patches/*.patch" (full mode, N = 10,000)
 *   deno task bench -- --out=<dir>       write the report there instead
 *   deno task bench -- --render=bench/out/full/results.json   only re-render a report from saved results
 *                                        (a full run's; partial runs keep theirs in bench/out/ or --out)
 *   deno task bench -- --client=ws       load generator on npm `ws` instead of its raw client
 *
 * Everything runs on 127.0.0.1 with bounded counts and time. Every child
 * process is started under a guard (bench/common.ts) that kills it when this
 * runner exits, even on a crash or `kill -9`; on normal exit and on
 * SIGINT/SIGTERM they are stopped explicitly.
 * @module
 */
import {
  BENCH,
  killAll,
  killChildrenOnSignals,
  machineInfo,
  quietStats,
  ROOT,
  sysCpuSample,
} from "./common.ts";
import { type FanoutRun, pairedCpu, runFanout, type TargetName } from "./fanout.ts";
import { runPage } from "./page.ts";
import { runPush } from "./push.ts";
import { runReminders } from "./reminders.ts";
import { runResume } from "./resume.ts";
import { runStorm } from "./storm.ts";
import { runPress } from "./press.ts";
import { runTenancy } from "./tenancy.ts";
import { charts, markdown, type Results, summaryRows, textTable } from "./report.ts";

const args = Deno.args.filter((a) => a !== "--");
const quick = args.includes("--quick");
const only = args.find((a) => a.startsWith("--only="))?.slice(7).split(",");
const withPatched = !args.includes("--no-patched");
const outArg = args.find((a) => a.startsWith("--out="))?.slice(6);
const renderArg = args.find((a) => a.startsWith("--render="))?.slice(9);
const clientArgs = args.filter((a) => a.startsWith("--client="));
const want = (s: string) => !only || only.includes(s);

const T0 = performance.now();
const elapsed = () => ((performance.now() - T0) / 1000).toFixed(0).padStart(3) + "s";
const log = (s: string) => console.log(`[${elapsed()}] ${s}`);

/** Copy the working tree (tracked + untracked, not ignored) and apply bench/patches/*.patch. */
async function preparePatched(): Promise<Results["patched"]> {
  let names: string[] = [];
  try {
    names = [...Deno.readDirSync(`${BENCH}/patches`)].map((e) => e.name).filter((n) =>
      n.endsWith(".patch")
    ).sort();
  } catch { /* none */ }
  if (!names.length) return undefined;
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-patched-" });
  const ls = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  for (const f of new TextDecoder().decode(ls.stdout).split("\0").filter(Boolean)) {
    const src = `${ROOT}/${f}`;
    try {
      if (!Deno.statSync(src).isFile) continue;
    } catch {
      continue; // deleted in the working tree
    }
    Deno.mkdirSync(`${dir}/${f.slice(0, f.lastIndexOf("/") + 1) || "."}`, { recursive: true });
    Deno.copyFileSync(src, `${dir}/${f}`);
  }
  Deno.symlinkSync(`${ROOT}/node_modules`, `${dir}/node_modules`);
  Deno.symlinkSync(`${ROOT}/_build`, `${dir}/_build`);
  const applied: string[] = [];
  const failed: string[] = [];
  for (const n of names) {
    const o = await new Deno.Command("git", {
      args: ["apply", `${BENCH}/patches/${n}`],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (o.success) applied.push(n);
    else failed.push(`${n}: ${new TextDecoder().decode(o.stderr).trim().slice(0, 200)}`);
  }
  return { applied, failed, root: applied.length ? dir : undefined };
}

/** Temp dirs of this suite left by an interrupted run (older than an hour). */
function removeStaleTempDirs(): void {
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  const mine = /^laundrylive-(bench|rem|push|kvq|start|patched)-/;
  try {
    for (const e of Deno.readDirSync(tmp)) {
      if (!e.isDirectory || !mine.test(e.name)) continue;
      const path = `${tmp}/${e.name}`;
      const age = Date.now() - (Deno.statSync(path).mtime?.getTime() ?? Date.now());
      if (age > 3_600_000) Deno.removeSync(path, { recursive: true });
    }
  } catch { /* best effort */ }
}

async function main(): Promise<number> {
  killChildrenOnSignals();
  removeStaleTempDirs();
  const info = await machineInfo();
  const budgetS = quick ? 70 : 900;
  log(
    `LaundryLive benchmarks (${
      quick ? "quick" : "full"
    }) on ${info.cpuModel}, ${info.cores} cores, ${
      info.memGiB.toFixed(1)
    } GiB, Deno ${info.deno}, Node ${info.node}`,
  );
  const results: Results = {
    mode: quick ? "quick" : "full",
    command: `deno task bench${args.length ? " -- " + args.join(" ") : ""}`,
    info,
    durationS: 0,
    quiet: quietStats,
    errors: [],
  };
  const section = async <T>(name: string, fn: () => Promise<T>): Promise<T | undefined> => {
    if (!want(name)) return undefined;
    log(`── ${name}`);
    try {
      return await fn();
    } catch (err) {
      const message = err instanceof Error ? err.stack ?? err.message : String(err);
      log(`   ${name} FAILED: ${message.slice(0, 1000)}`);
      results.errors.push({ section: name, message });
      await killAll();
      return undefined;
    }
  };
  let patchedDir: string | undefined;
  const cpu0 = sysCpuSample();
  try {
    // Page first: it runs `deno task build`, which every app start needs.
    results.page = await section("page", () => runPage({ startTrials: quick ? 1 : 5, log }));
    if (want("fanout")) {
      const targets: TargetName[] = ["app", "bare-deno", "node-ws"];
      const patchedAt = quick ? [] : [10_000]; // the N the targets are judged at
      if (withPatched && !quick) {
        results.patched = await preparePatched();
        patchedDir = results.patched?.root;
        if (results.patched?.failed.length) {
          log(`   patches not applied: ${results.patched.failed.join("; ")}`);
        }
      }
      // Reserve time for the sections after fan-out.
      const later = (quick ? 12 : 60) + (want("push") ? (quick ? 6 : 30) : 0) +
        (want("reminders") ? (quick ? 28 : 150) : 0) +
        (want("resume") ? (quick ? 5 : 15) : 0) +
        (want("storm") ? (quick ? 10 : 150) : 0) +
        (want("press") ? 5 : 0) +
        (want("tenancy") ? (quick ? 90 : 150) : 0);
      const deadline = T0 + (budgetS - later) * 1000;
      results.fanout = await section("fanout", async () => {
        const ns = quick ? [1_000] : [1_000, 5_000, 10_000];
        const out: FanoutRun[] = [];
        for (const n of ns) {
          const ts: TargetName[] = patchedDir && patchedAt.includes(n)
            ? [...targets, "app-patched"]
            : targets;
          out.push(
            ...await runFanout({
              ns: [n],
              targets: ts,
              rounds: quick ? 10 : 30,
              stepMs: quick ? 1_000 : 2_000,
              maxSteps: quick ? 5 : 10,
              refine: quick ? 0 : n === ns[ns.length - 1] ? 2 : 1,
              rampStart: quick ? 0.6 : 0.5,
              rampFactor: quick ? 1.4 : 1.3,
              deadline,
              log,
              patchedRoot: patchedDir,
              clientArgs,
              frameBytes: out.find((x) => x.target === "app" && x.frameBytes)?.frameBytes,
            }),
          );
        }
        return out;
      });
      results.paired = await section("fanout", async () => {
        const n = quick ? 1_000 : 10_000;
        const frameBytes = results.fanout?.find((x) => x.target === "app" && x.frameBytes)
          ?.frameBytes ?? 480;
        return await pairedCpu(
          n,
          patchedDir ? ["app", "bare-deno", "app-patched"] : ["app", "bare-deno"],
          Math.round(frameBytes),
          {
            ns: [n],
            targets: [],
            rounds: 0,
            stepMs: 0,
            maxSteps: 0,
            refine: 0,
            deadline: 0,
            log,
            patchedRoot: patchedDir,
            clientArgs,
            blocks: quick ? 3 : 6,
            changesPerBlock: quick ? 5 : 8,
            settleMs: quick ? 0 : undefined,
          },
        );
      });
      if (patchedDir) {
        results.hubProbe = await section("fanout", async () => {
          const probe = async (root: string) => {
            const o = await new Deno.Command(Deno.execPath(), {
              args: ["run", "-A", "--v8-flags=--expose-gc", `${BENCH}/hub_probe.ts`, root, "10000"],
              cwd: ROOT,
              stdout: "piped",
              stderr: "piped",
            }).output();
            const m = /RESULT (.+)/.exec(new TextDecoder().decode(o.stdout));
            if (!m) {
              throw new Error(`hub probe: ${new TextDecoder().decode(o.stderr).slice(0, 500)}`);
            }
            return JSON.parse(m[1]);
          };
          const [app, patched] = [await probe(ROOT), await probe(patchedDir!)];
          log(
            `    hub probe (in-memory sockets, 10,000): ${app.usPerSocketPerEvent.toFixed(2)} → ${
              patched.usPerSocketPerEvent.toFixed(2)
            } µs JS per socket per event; live heap ${Math.round(app.heapPerConnBytes)} → ${
              Math.round(patched.heapPerConnBytes)
            } B per connection`,
          );
          return { app, patched };
        });
      }
    }
    results.push = await section("push", () =>
      runPush({
        count: quick ? 300 : 2_000,
        modes: quick ? ["probe-sendnotification-http", "app-sender", "plain-fetch"] : [
          "probe-sendnotification-http",
          "app-sender",
          "plain-fetch",
          "plain-fetch-conc",
          "app-notifier",
          "app-sender-https",
          "plain-sendnotification",
        ],
        log,
      }));
    results.reminders = await section("reminders", () =>
      runReminders(
        quick
          ? { count: 100, windowMs: 3_000, minuteMs: 3_000, log }
          : { count: 500, windowMs: 20_000, minuteMs: 10_000, log },
      ));
    results.resume = await section(
      "resume",
      () => runResume({ missed: [100, 1_000], reps: quick ? 5 : 20, log }),
    );
    results.storm = await section(
      "storm",
      () =>
        runStorm({
          n: quick ? 1_000 : 10_000,
          reps: quick ? 1 : 3,
          concurrency: 500,
          log,
        }),
    );
    results.press = await section("press", () => runPress({ presses: quick ? 20 : 200, log }));
    results.tenancy = await section("tenancy", () =>
      runTenancy(
        quick
          ? { commands: 600, sweepReps: 4, helloReps: 50, log }
          : { commands: 2_000, sweepReps: 10, helloReps: 200, log },
      ));
  } finally {
    await killAll();
    if (patchedDir) await Deno.remove(patchedDir, { recursive: true }).catch(() => {});
  }
  results.durationS = (performance.now() - T0) / 1000;
  const d = sysCpuSample().map((x, i) => x - cpu0[i]);
  const total = d.reduce((a, b) => a + b, 0);
  results.stealPct = total ? ((d[7] ?? 0) / total) * 100 : undefined;
  // Raw results first: a report that fails to render can be re-rendered with --render.
  // Beside the report it belongs to: a partial run must not overwrite a full run's results.
  const partial = quick || !!only;
  const outDir = outArg ?? (partial ? `${BENCH}/out` : `${ROOT}/docs`);
  const resultsDir = outArg ?? (partial ? `${BENCH}/out` : `${BENCH}/out/full`);
  await Deno.mkdir(resultsDir, { recursive: true });
  await Deno.writeTextFile(`${resultsDir}/results.json`, JSON.stringify(results, null, 1));
  await writeReport(results, outDir);
  if (results.errors.length) {
    log(
      `${results.errors.length} section(s) failed: ${
        results.errors.map((e) => e.section).join(", ")
      }`,
    );
  }
  return results.errors.length ? 1 : 0;
}

/** Charts, markdown and the summary table for `results`, into `docsDir`. */
async function writeReport(results: Results, docsDir: string): Promise<void> {
  const chartDir = `${docsDir}/bench`;
  await Deno.mkdir(chartDir, { recursive: true });
  const svgs = charts(results);
  for (const [name, svg] of Object.entries(svgs)) {
    await Deno.writeTextFile(`${chartDir}/${name}`, svg);
  }
  await Deno.writeTextFile(`${docsDir}/BENCHMARKS.md`, markdown(results, Object.keys(svgs)));
  console.log("");
  console.log(textTable(summaryRows(results)));
  console.log("");
  log(
    `wrote ${docsDir}/BENCHMARKS.md and ${
      Object.keys(svgs).map((s) => `${chartDir}/${s}`).join(", ")
    }`,
  );
}

let code = 1;
try {
  if (renderArg) {
    const results = JSON.parse(await Deno.readTextFile(renderArg)) as Results;
    await writeReport(
      results,
      outArg ?? (results.mode === "quick" ? `${BENCH}/out` : `${ROOT}/docs`),
    );
    code = 0;
  } else code = await main();
} catch (err) {
  console.error(err);
} finally {
  await killAll();
}
Deno.exit(code);
