/**
 * `deno task dev`: builds the assets in dev mode, runs `main.ts` as a child
 * process (with `LL_DEV=1` in its environment) and watches the sources:
 *
 * - the client entry's folder, `static/`, the service worker: rebuild the
 *   assets (the server keeps running: a dev build's entry URLs do not change
 *   and are served `no-cache`);
 * - `islands/`, `components/`, `lib/` (with the message catalogue): rebuild
 *   and restart the server;
 * - `routes/`, `main.ts`, `app.ts`, `pool_worker.ts`: restart the server.
 *
 * The build's folders and files come from `fresh.config.ts`.
 * Reload the page by hand after a change. Ctrl-C stops everything.
 * @module
 */
import { dirname, join } from "node:path";
import config from "./fresh.config.ts";
import { createAssetBuilder } from "./lib/build.ts";

/** A config path as a watch prefix: folders end with "/". */
const folder = (path: string) => path.replace(/\/*$/, "/");
const SERVER_CODE = ["components/", "lib/"];
const BUILD = unique([
  dirname(config.clientEntry) === "." ? config.clientEntry : folder(dirname(config.clientEntry)),
  folder(config.staticDir),
  ...(config.style ? [config.style] : []),
  ...(config.serviceWorker ? [config.serviceWorker] : []),
  folder(config.islandsDir),
  ...(config.catalogue ? [folder(config.catalogue.dir)] : []),
  ...SERVER_CODE,
]);
const RESTART = unique([
  folder(config.islandsDir),
  ...SERVER_CODE,
  "routes/",
  "main.ts",
  "app.ts",
  "pool_worker.ts",
]);
const IGNORE = /(^|\/)(_registry\.gen\.ts|[^/]*\.tmp|[^/]*~|\.[^/]*)$|_test\.tsx?$/;

if (import.meta.main) await main();

/** Runs the dev loop until SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const root = config.root;
  const builder = await createAssetBuilder(config, { dev: true });
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
      cwd: root,
      env: { LL_DEV: "1" },
      stdin: "null",
    }).spawn();
    console.log(`[dev] started main.ts (pid ${server.pid})`);
  }

  await build();
  await restart();

  // The top-level folders of every watched prefix; root files watched alone.
  const dirs = unique(
    [...BUILD, ...RESTART].filter((p) => p.includes("/")).map((p) => p.split("/")[0]),
  )
    .map((d) => join(root, d))
    .filter((d) => isDir(d));
  const watchers = [
    Deno.watchFs(dirs, { recursive: true }),
    Deno.watchFs(root, { recursive: false }), // sw.ts, main.ts, app.ts
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

function unique(list: string[]): string[] {
  return [...new Set(list)];
}

function isDir(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}
