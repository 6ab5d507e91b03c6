/**
 * Page weight and server start.
 *
 * Weight: after `deno task build`, the board page (`GET /` as a signed-in
 * resident) is fetched from a running server and parsed: the JS it loads at
 * start is every `<script src>` and `<link rel=modulepreload>`, their static
 * imports (transitively), and the island chunks of the islands present on
 * the page (`data-island`) with their static imports. Every file is fetched
 * from the server and gzipped here (level 9, as lib/build.ts does for the manifest).
 * Baselines measured in the same run: the framework floor (preact + hooks +
 * @preact/signals hydrating one component, bundled and minified by the same
 * esbuild) for JS, and the page's own data (`GET /api/machines`, gzipped)
 * for HTML.
 *
 * Start: spawn → first HTTP answer to `GET /api/machines` (401 expected),
 * polled every 5 ms, for `deno run -A main.ts` on a fresh KV file (which
 * includes first-start seeding) and for the bare Deno server.
 * @module
 */
import * as esbuild from "esbuild";
import { loadManifest } from "../lib/assets.ts";
import { gzipSync } from "node:zlib";
import { BENCH, median, ROOT, sleep, spawn, waitQuiet } from "./common.ts";
import { appEnv, registerResidents, startApp } from "./servers.ts";

export interface PageResult {
  buildMs: number;
  buildOk: boolean;
  html: { bytes: number; gzip: number };
  data: { bytes: number; gzip: number };
  js: {
    files: { path: string; bytes: number; gzip: number; why: string }[];
    bytes: number;
    gzip: number;
  };
  css: { bytes: number; gzip: number };
  floor: { bytes: number; gzip: number };
  islands: string[];
  manifestAgrees: boolean;
  start: {
    app: number[];
    bare: number[];
    appMedian: number | null;
    bareMedian: number | null;
    /** The app restarted on a KV file it already initialised (no seeding). */
    restart?: number[];
    restartMedian?: number | null;
  };
}

const gz = (b: Uint8Array | string) =>
  gzipSync(typeof b === "string" ? new TextEncoder().encode(b) : b, { level: 9 }).byteLength;

async function buildApp(): Promise<{ ms: number; ok: boolean; out: string }> {
  const t0 = performance.now();
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["task", "build"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    ms: performance.now() - t0,
    ok: o.success,
    out: dec.decode(o.stdout) + dec.decode(o.stderr),
  };
}

async function frameworkFloor(): Promise<{ bytes: number; gzip: number }> {
  const r = await esbuild.build({
    stdin: {
      contents: `
        import { h, hydrate } from "preact";
        import { useState } from "preact/hooks";
        import { signal } from "@preact/signals";
        const count = signal(0);
        function App() {
          const [x, setX] = useState(0);
          return h("button", { onClick: () => { count.value++; setX(x + 1); } }, count.value);
        }
        hydrate(h(App, null), document.getElementById("app"));
      `,
      resolveDir: ROOT,
      loader: "js",
    },
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2020",
    write: false,
    nodePaths: [`${ROOT}/node_modules`],
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "silent",
  });
  await esbuild.stop();
  const bytes = r.outputFiles[0].contents;
  return { bytes: bytes.byteLength, gzip: gz(bytes) };
}

/** A free loopback port (bound then released). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * ms from spawn to the first HTTP answer on /api/machines. The app gets a
 * fresh KV file, or `kvDir` (a store it already initialised: a restart).
 */
async function coldStart(kind: "app" | "bare", kvDir?: string): Promise<number> {
  const port = freePort();
  const dir = kind === "app"
    ? kvDir ?? await Deno.makeTempDir({ prefix: "laundrylive-start-" })
    : "";
  const t0 = performance.now();
  const procP = kind === "app"
    ? spawn("app-start", Deno.execPath(), ["run", "-A", "main.ts"], {
      env: appEnv(`${dir}/kv.sqlite`, { PORT: String(port) }),
    })
    : spawn("bare-start", Deno.execPath(), ["run", "-A", `${BENCH}/baseline_deno_ws.ts`], {
      env: { PORT: String(port) },
    });
  let ms = NaN;
  try {
    while (performance.now() - t0 < 30_000) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/api/machines`);
        await r.body?.cancel();
        ms = performance.now() - t0;
        break;
      } catch {
        await sleep(5);
      }
    }
  } finally {
    await (await procP).kill();
    if (dir && !kvDir) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return ms;
}

export async function runPage(
  opts: { startTrials: number; log: (s: string) => void },
): Promise<PageResult> {
  const build = await buildApp();
  opts.log(`    deno task build: ${build.ok ? "ok" : "FAILED"} in ${Math.round(build.ms)} ms`);
  if (!build.ok) opts.log(build.out.slice(-2000));
  const manifest = await loadManifest();

  const app = await startApp();
  let html = "";
  let dataText = "";
  const files: { path: string; bytes: number; gzip: number; why: string }[] = [];
  let css = { bytes: 0, gzip: 0 };
  let islands: string[] = [];
  try {
    const [r] = await registerResidents(app.base, 1, "page");
    html = (await r.req("GET", "/")).text;
    dataText = (await r.req("GET", "/api/machines")).text;
    islands = [...new Set([...html.matchAll(/data-island="([^"]+)"/g)].map((m) => m[1]))];
    const attr = (tag: string, name: string) => new RegExp(`${name}="([^"]+)"`).exec(tag)?.[1];
    const roots: { path: string; why: string }[] = [];
    for (const m of html.matchAll(/<script\b[^>]*>/g)) {
      const src = attr(m[0], "src");
      if (src) roots.push({ path: src, why: "script" });
    }
    for (const m of html.matchAll(/<link\b[^>]*>/g)) {
      const rel = attr(m[0], "rel");
      const href = attr(m[0], "href");
      if (!href) continue;
      if (rel === "modulepreload") roots.push({ path: href, why: "modulepreload" });
      if (rel === "stylesheet") {
        const t = new Uint8Array(await (await fetch(new URL(href, app.base))).arrayBuffer());
        css = { bytes: css.bytes + t.byteLength, gzip: css.gzip + gz(t) };
      }
    }
    const seen = new Set<string>();
    const queue = [...roots];
    while (queue.length) {
      const { path, why } = queue.shift()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const res = await fetch(new URL(path, app.base));
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (!res.ok) throw new Error(`GET ${path}: ${res.status}`);
      files.push({ path, bytes: bytes.byteLength, gzip: gz(bytes), why });
      const text = new TextDecoder().decode(bytes);
      const dir = path.slice(0, path.lastIndexOf("/") + 1);
      for (const m of text.matchAll(/(?:\bfrom|\bimport)\s*"(\.\.?\/[^"]+)"/g)) {
        queue.push({ path: new URL(m[1], `http://x${dir}`).pathname, why: `import from ${path}` });
      }
      for (const m of text.matchAll(/([A-Za-z_$][\w$]*):\(\)=>import\("(\.\.?\/[^"]+)"\)/g)) {
        if (islands.includes(m[1])) {
          queue.push({ path: new URL(m[2], `http://x${dir}`).pathname, why: `island ${m[1]}` });
        }
      }
    }
  } finally {
    await app.stop();
  }
  const manifestAgrees = files.every((f) => {
    const mf = manifest.files?.[f.path];
    return !mf || Math.abs(mf.gzip - f.gzip) <= 2;
  });
  const floor = await frameworkFloor();

  const appStarts: number[] = [];
  const bareStarts: number[] = [];
  const restarts: number[] = [];
  const kept = await Deno.makeTempDir({ prefix: "laundrylive-start-" });
  try {
    await coldStart("app", kept); // first run may compile/cache modules, and seeds `kept`: not counted
    await coldStart("bare");
    for (let i = 0; i < opts.startTrials; i++) {
      await waitQuiet(() => []);
      appStarts.push(await coldStart("app"));
      await waitQuiet(() => []);
      restarts.push(await coldStart("app", kept));
      await waitQuiet(() => []);
      bareStarts.push(await coldStart("bare"));
    }
  } finally {
    await Deno.remove(kept, { recursive: true }).catch(() => {});
  }
  return {
    buildMs: build.ms,
    buildOk: build.ok,
    html: { bytes: new TextEncoder().encode(html).byteLength, gzip: gz(html) },
    data: { bytes: new TextEncoder().encode(dataText).byteLength, gzip: gz(dataText) },
    js: {
      files,
      bytes: files.reduce((a, f) => a + f.bytes, 0),
      gzip: files.reduce((a, f) => a + f.gzip, 0),
    },
    css,
    floor,
    islands,
    manifestAgrees,
    start: {
      app: appStarts,
      bare: bareStarts,
      appMedian: median(appStarts),
      bareMedian: median(bareStarts),
      restart: restarts,
      restartMedian: median(restarts),
    },
  };
}
