/**
 * `deno task dev`: builds the assets in dev mode, runs `main.ts` as a child
 * process (with `LL_DEV=1` in its environment) and watches the sources:
 *
 * - `client/`, `static/`, `sw.ts`: rebuild the assets (the server keeps
 *   running: a dev build's entry URLs do not change and are served `no-cache`);
 * - `islands/`, `components/`, `lib/`: rebuild and restart the server;
 * - `routes/`, `main.ts`, `app.ts`, `pool_worker.ts`: restart the server.
 *
 * Reload the page by hand after a change. Ctrl-C stops everything.
 * @module
 */
import { createAssetBuilder } from "./lib/build.ts";

const BUILD = ["client/", "static/", "sw.ts", "islands/", "components/", "lib/"];
const RESTART = [
  "islands/",
  "components/",
  "lib/",
  "routes/",
  "main.ts",
  "app.ts",
  "pool_worker.ts",
];
const IGNORE = /(^|\/)(_registry\.gen\.ts|[^/]*\.tmp|[^/]*~|\.[^/]*)$|_test\.tsx?$/;

if (import.meta.main) await main();

/** Runs the dev loop until SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const root = Deno.cwd();
  const builder = await createAssetBuilder({ dev: true });
  let server: Deno.ChildProcess | null = null;

  async function build(): Promise<void> {
    const started = performance.now();
    try {
      await builder.rebuild();
      console.log(`[dev] assets built in ${Math.round(performance.now() - started)} ms`);
    } catch {
      console.error("[dev] asset build failed (errors above); fix and save to retry");
    }
  }

  async function restart(): Promise<void> {
    if (server) {
      const exited = server.status;
      try {
        server.kill("SIGINT"); // main.ts closes gracefully on SIGINT
      } catch { /* already gone */ }
      const timer = setTimeout(() => {
        try {
          server?.kill("SIGKILL");
        } catch { /* already gone */ }
      }, 3000);
      await exited;
      clearTimeout(timer);
    }
    server = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts"],
      env: { LL_DEV: "1" },
      stdin: "null",
    }).spawn();
    console.log(`[dev] started main.ts (pid ${server.pid})`);
  }

  await build();
  await restart();

  const dirs = ["client", "static", "islands", "components", "lib", "routes"]
    .filter((d) => isDir(d));
  const watchers = [
    Deno.watchFs(dirs, { recursive: true }),
    Deno.watchFs(".", { recursive: false }), // sw.ts, main.ts, app.ts
  ];
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, async () => {
      for (const w of watchers) w.close();
      try {
        server?.kill("SIGINT");
        await server?.status;
      } catch { /* already gone */ }
      Deno.exit(0);
    });
  }

  let pending = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let busy = Promise.resolve();
  const flush = () => {
    const paths = [...pending];
    pending = new Set();
    const hit = (prefixes: string[]) => paths.some((p) => prefixes.some((x) => p.startsWith(x)));
    const doBuild = hit(BUILD);
    const doRestart = hit(RESTART);
    busy = busy.then(async () => {
      console.log(`[dev] changed: ${paths.slice(0, 3).join(", ")}${paths.length > 3 ? ", …" : ""}`);
      if (doBuild) await build();
      if (doRestart) await restart();
    });
  };
  await Promise.all(watchers.map(async (watcher) => {
    for await (const event of watcher) {
      for (const abs of event.paths) {
        const path = abs.startsWith(root + "/") ? abs.slice(root.length + 1) : abs;
        if (IGNORE.test(path)) continue;
        if (!hitsAny(path)) continue;
        pending.add(path);
        clearTimeout(timer);
        timer = setTimeout(flush, 80);
      }
    }
  }));
}

function hitsAny(path: string): boolean {
  return [...BUILD, ...RESTART].some((prefix) => path.startsWith(prefix));
}

function isDir(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}
