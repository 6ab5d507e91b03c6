/**
 * The asset build: generates the islands registry and bundles the browser
 * code with esbuild.
 *
 * Inputs (relative to the project root):
 * - `client/entry.ts`, the app bundle's entry, with every island in
 *   `islands/` split into its own lazily loaded chunk;
 * - `static/style.css` (optional), bundled and hashed;
 * - `sw.ts` (optional), the service worker, built alone as an IIFE after the
 *   app, with two compile-time constants (declare them in sw.ts):
 *   `__LL_VERSION__` (string, {@linkcode Manifest.version}: name the cache
 *   after it) and `__LL_ASSETS__` (string[], every `/_app/` URL to precache).
 *   Any app change thus changes sw.js, and browsers install the new worker.
 *
 * Outputs, under `outDir` (default `_build/`): `static/_app/*` (content-hashed
 * names, served at `/_app/*`), `static/sw.js` (served at `/sw.js`, never
 * hashed: its URL fixes its scope) and `manifest.json` (see {@linkcode Manifest}).
 *
 * esbuild resolves bare imports (`preact`, `@preact/signals`, …) through this
 * repository's `node_modules/`, which Deno fills from the import map in
 * deno.json (`"nodeModulesDir": "auto"`). Browser code must use those bare
 * specifiers: `npm:`/`jsr:` specifiers, `Deno.*` and `node:*` do not bundle.
 * @module
 */
import * as esbuild from "esbuild";
import { gzipSync } from "node:zlib";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { type Manifest, PUBLIC_PREFIX } from "./assets.ts";

export type { BuiltFile, Manifest } from "./assets.ts";

/** File name of the generated islands registry, inside `islands/`. */
export const REGISTRY_FILE = "_registry.gen.ts";
/** CSS the islands framework needs: the marker must not affect layout. */
export const MARKER_CSS = "ll-island{display:contents}";

const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));
const NODE_MODULES = join(PROJECT_ROOT, "node_modules");

/** Options of {@linkcode buildAssets} and {@linkcode createAssetBuilder}. */
export interface BuildOptions {
  /** Project directory (holding client/, islands/, static/, sw.ts). Default: this repository. */
  root?: string;
  /** Output directory, relative to `root`. Default `_build`. */
  outDir?: string;
  /** Development build: unminified, source maps, unhashed entry names. Default false. */
  dev?: boolean;
  /** Write the files and manifest.json. Default true; false only computes the manifest. */
  write?: boolean;
}

/** An incremental builder, for the dev watcher. */
export interface AssetBuilder {
  /** Regenerates the registry, builds, writes (unless `write: false`). */
  rebuild(): Promise<Manifest>;
  /** Releases esbuild's contexts. */
  dispose(): Promise<void>;
}

/** Builds the assets once; see the module doc. */
export async function buildAssets(options: BuildOptions = {}): Promise<Manifest> {
  const builder = await createAssetBuilder(options);
  try {
    return await builder.rebuild();
  } finally {
    await builder.dispose();
  }
}

/** Creates an incremental builder (esbuild contexts kept between rebuilds). */
export async function createAssetBuilder(options: BuildOptions = {}): Promise<AssetBuilder> {
  const root = resolve(options.root ?? PROJECT_ROOT);
  const outDir = resolve(root, options.outDir ?? "_build");
  const staticOut = join(outDir, "static");
  const dev = options.dev ?? false;
  await ensureNodeModules();
  const common: esbuild.BuildOptions = {
    absWorkingDir: root,
    bundle: true,
    write: false,
    metafile: true,
    target: "es2020",
    charset: "utf8",
    minify: !dev,
    sourcemap: dev ? "linked" : false,
    jsx: "automatic",
    jsxImportSource: "preact",
    nodePaths: [NODE_MODULES],
    define: { "process.env.NODE_ENV": JSON.stringify(dev ? "development" : "production") },
    loader: { ".png": "file", ".svg": "file", ".webp": "file", ".woff2": "file" },
    logLevel: "warning",
    plugins: [keepRootUrls],
  };
  let app: esbuild.BuildContext | null = null;
  let appHasStyle = false;

  async function appContext(): Promise<esbuild.BuildContext> {
    const hasStyle = await isFile(join(root, "static/style.css"));
    if (app && appHasStyle === hasStyle) return app;
    await dispose();
    appHasStyle = hasStyle;
    return app = await esbuild.context({
      ...common,
      entryPoints: hasStyle
        ? { entry: "client/entry.ts", style: "static/style.css" }
        : { entry: "client/entry.ts" },
      splitting: true,
      format: "esm",
      outdir: join(staticOut, PUBLIC_PREFIX),
      entryNames: dev ? "[name]" : "[name]-[hash]",
      chunkNames: "[name]-[hash]",
      assetNames: "[name]-[hash]",
      banner: { css: MARKER_CSS },
      plugins: [keepRootUrls, catalogueSplit(root)],
    });
  }

  async function dispose(): Promise<void> {
    await app?.dispose();
    app = null;
  }

  async function rebuild(): Promise<Manifest> {
    await generateRegistry(join(root, "islands"));
    const urlOf = (path: string) =>
      "/" + relative(staticOut, resolve(root, path)).split(sep).join("/");
    const manifest: Manifest = {
      dev,
      version: "",
      entry: "",
      sw: null,
      style: null,
      preload: [],
      files: {},
      dir: outDir,
    };
    const appResult = await (await appContext()).rebuild();
    for (const [path, meta] of Object.entries(appResult.metafile!.outputs)) {
      if (meta.entryPoint === "client/entry.ts") {
        manifest.entry = urlOf(path);
        if (!dev) {
          manifest.preload = meta.imports
            .filter((i) => i.kind === "import-statement" && !i.external)
            .map((i) => urlOf(i.path));
        }
      } else if (meta.entryPoint === "static/style.css") manifest.style = urlOf(path);
    }
    const messages = await messageFiles(root, join(staticOut, PUBLIC_PREFIX), dev);
    if (messages.length) {
      manifest.messages = Object.fromEntries(messages.map((m) => [m.lang, urlOf(m.file.path)]));
    }
    const appFiles = [
      ...appResult.outputFiles!.filter((f) => !f.path.endsWith(".map")),
      ...messages.map((m) => m.file),
    ];
    const assets = appFiles.map((f) => urlOf(f.path)).sort();
    manifest.version = await versionOf(appFiles.map((f) => `${urlOf(f.path)}\0${f.hash}`));
    const outputs = [...appResult.outputFiles!, ...messages.map((m) => m.file)];
    if (await isFile(join(root, "sw.ts"))) {
      const sw = await esbuild.build({
        ...common,
        entryPoints: { sw: "sw.ts" },
        format: "iife",
        outdir: staticOut,
        entryNames: "[name]",
        define: {
          ...common.define,
          __LL_VERSION__: JSON.stringify(manifest.version),
          __LL_ASSETS__: JSON.stringify(assets),
        },
      });
      manifest.sw = "/sw.js";
      outputs.push(...sw.outputFiles!);
    }
    for (const file of outputs) {
      manifest.files[urlOf(file.path)] = {
        size: file.contents.length,
        gzip: gzipSync(file.contents, { level: 9 }).length,
      };
    }
    if (options.write ?? true) await writeOutput(outDir, outputs, manifest);
    return manifest;
  }

  return { rebuild, dispose };
}

/**
 * Writes `islands/_registry.gen.ts` for the island files in `islandsDir`
 * (creating the folder if needed; rewriting the file only if it changes).
 * Island files are `PascalCase.tsx` (or .ts/.jsx/.js); files starting with
 * `_` or `.`, tests and non-code files are skipped. Returns the sorted names.
 */
export async function generateRegistry(islandsDir: string): Promise<string[]> {
  await Deno.mkdir(islandsDir, { recursive: true });
  const files = new Map<string, string>();
  for await (const entry of Deno.readDir(islandsDir)) {
    const match = /^([^._].*)\.(tsx|ts|jsx|js)$/.exec(entry.name);
    if (!entry.isFile || !match || /[._]test$/.test(match[1])) continue;
    const name = match[1];
    if (!/^[A-Z][A-Za-z0-9]*$/.test(name)) {
      throw new Error(`islands/${entry.name}: island files must be named PascalCase.tsx`);
    }
    if (files.has(name)) throw new Error(`islands/: two files for island "${name}"`);
    files.set(name, entry.name);
  }
  const names = [...files.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const lines = names.map((name) => `  ${name}: () => import("./${files.get(name)}"),\n`);
  const text = "// Generated by lib/build.ts from the files in this folder. Do not edit.\n" +
    "export const islands: Record<string, () => Promise<{ default: unknown }>> = {" +
    (lines.length ? "\n" + lines.join("") : "") + "};\n";
  const path = join(islandsDir, REGISTRY_FILE);
  const old = await Deno.readTextFile(path).catch(() => null);
  if (old !== text) await writeAtomic(path, text);
  return names;
}

/** Renders the manifest's file sizes as a table (source maps left out). */
export function formatSizes(manifest: Manifest): string {
  const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`.padStart(9);
  return Object.entries(manifest.files)
    .filter(([url]) => !url.endsWith(".map"))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([url, f]) => `  ${url.padEnd(36)} ${kb(f.size)} ${kb(f.gzip)} gzip`)
    .join("\n");
}

/** The message catalogue (see {@linkcode catalogueSplit}), relative to the root. */
export const CATALOGUE_FILE = "lib/i18n.ts";
/** Languages of the per-language message files. */
const MESSAGE_LANGS = ["ko", "en"];

/**
 * Ships each page only its own language's messages. In the browser bundle,
 * `lib/i18n.ts` is loaded without its two message literals (`const ko = {…}
 * as const;` and `const en: Record<MessageKey, string> = {…};`): they read
 * `globalThis.__LL_MSGS__[lang]` instead, which `/_app/msgs-<lang>-HASH.js`
 * sets (the page's head loads it before the entry; see
 * {@linkcode Manifest.messages} and `assetTags`). Without this, every page
 * carried both catalogues, the largest part of the board page's JavaScript.
 * If the file no longer has that shape, the whole module is bundled (correct,
 * just heavier) with a warning. The service worker keeps the full module.
 */
function catalogueSplit(root: string): esbuild.Plugin {
  const target = resolve(root, CATALOGUE_FILE);
  return {
    name: "catalogue-split",
    setup(build) {
      build.onLoad({ filter: /[\\/]i18n\.ts$/ }, async (args) => {
        if (resolve(args.path) !== target) return undefined;
        const stripped = stripCatalogue(await Deno.readTextFile(args.path));
        if (stripped === null) {
          console.warn(`${CATALOGUE_FILE}: catalogue literals not found; bundling both languages`);
          return undefined;
        }
        return { contents: stripped, loader: "ts" };
      });
    },
  };
}

/**
 * `lib/i18n.ts` source with the message literals replaced by lookups of
 * `globalThis.__LL_MSGS__`; null if either literal is not found.
 */
export function stripCatalogue(source: string): string | null {
  const ko = /^const ko = \{\n[\s\S]*?^\} as const;$/m;
  const en = /^const en: Record<MessageKey, string> = \{\n[\s\S]*?^\};$/m;
  if (!ko.test(source) || !en.test(source)) return null;
  return source
    .replace(ko, 'const ko = __llMessages("ko") as Record<string, string>;')
    .replace(en, 'const en = __llMessages("en") as Record<string, string>;') +
    "\nfunction __llMessages(lang: string): Record<string, string> {\n" +
    "  const all = (globalThis as { __LL_MSGS__?: Record<string, Record<string, string>> })\n" +
    "    .__LL_MSGS__;\n" +
    "  return all?.[lang] ?? {};\n}\n";
}

/**
 * One small script per language that puts that language's messages on
 * `globalThis.__LL_MSGS__` (evaluated from the real catalogue module).
 */
async function messageFiles(
  root: string,
  outDir: string,
  dev: boolean,
): Promise<{ lang: string; file: esbuild.OutputFile }[]> {
  const path = join(root, CATALOGUE_FILE);
  if (!(await isFile(path))) return [];
  const bundled = await esbuild.build({
    entryPoints: [path],
    bundle: true,
    format: "esm",
    platform: "neutral",
    write: false,
    logLevel: "warning",
  });
  const code = bundled.outputFiles[0].contents;
  const mod = await import(
    "data:text/javascript;base64," + btoa(Array.from(code, (b) => String.fromCharCode(b)).join(""))
  );
  if (typeof mod.catalogue !== "function") return [];
  const out: { lang: string; file: esbuild.OutputFile }[] = [];
  for (const lang of MESSAGE_LANGS) {
    const messages = mod.catalogue(lang) as Record<string, string> | undefined;
    if (!messages) continue;
    for (const part of ["", ...MESSAGE_PARTS]) {
      const picked = Object.fromEntries(
        Object.entries(messages).filter(([key]) => messagePart(key) === part),
      );
      const text = "(globalThis.__LL_MSGS__=globalThis.__LL_MSGS__||{})," +
        `Object.assign(globalThis.__LL_MSGS__[${JSON.stringify(lang)}]||=` +
        `{},${JSON.stringify(picked)});\n`;
      const contents = new TextEncoder().encode(text);
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", contents));
      const hash = Array.from(digest.subarray(0, 5), (b) => b.toString(16).padStart(2, "0"))
        .join("").toUpperCase();
      const name = `msgs-${lang}${part}`;
      const file = join(outDir, dev ? `${name}.js` : `${name}-${hash}.js`);
      out.push({
        lang: lang + part,
        file: { path: file, contents, hash, text } as esbuild.OutputFile,
      });
    }
  }
  return out;
}

/** Error codes only the sign-in, sign-up and reset pages show. */
const AUTH_ERRORS = new Set([
  "bad_credentials",
  "login_taken",
  "invalid_invite",
  "invalid_reset",
  "weak_password",
  "disabled",
]);
/** Error codes only the admin page shows. */
const ADMIN_ERRORS = new Set([
  "duplicate_name",
  "machine_in_use",
  "invite_exists",
  "notice_exists",
  "not_cancellable",
  "in_the_past",
  "too_far",
  "unknown_machine",
  "self",
]);
/** Refusals of requests no page of ours makes (bad hosts, handshakes, frames). */
const SERVER_ONLY_ERRORS = new Set([
  "bad_host",
  "uri_too_long",
  "bad_upgrade",
  "upgrade_required",
  "bad_frame",
  "bad_message",
]);

/** The per-page message files besides the common one (see {@linkcode messagePart}). */
export const MESSAGE_PARTS = ["-admin", "-settings", "-auth"] as const;

/**
 * Which browser message file a key ships in: "" for the common file every
 * page loads, a part of {@linkcode MESSAGE_PARTS} for keys only one kind of
 * page uses (`admin.*`/`notice.*` on /admin; `settings.*`/`kindname.*` on
 * /settings; `login.*`/`register.*`/`reset.*` on the sign-in pages), or null
 * for keys only the server and the service worker use (`n.*`, `push.*`,
 * `offline.*`, `notfound.*`: the worker bundles the whole catalogue).
 */
export function messagePart(key: string): "" | (typeof MESSAGE_PARTS)[number] | null {
  const prefix = key.slice(0, key.indexOf("."));
  // Errors only one kind of page can meet ship with that page's texts; those
  // no page shows (protocol and transport refusals) stay on the server.
  if (prefix === "err") {
    const code = key.slice(4);
    if (AUTH_ERRORS.has(code)) return "-auth";
    if (ADMIN_ERRORS.has(code)) return "-admin";
    if (SERVER_ONLY_ERRORS.has(code)) return null;
    return "";
  }
  if (prefix === "admin" || prefix === "notice") return "-admin";
  // The bell's panel links to Settings on every page.
  if ((prefix === "settings" && key !== "settings.title") || prefix === "kindname") {
    return "-settings";
  }
  if (prefix === "login" || prefix === "register" || prefix === "reset") return "-auth";
  if (["n", "push", "offline", "notfound"].includes(prefix)) return null;
  return "";
}

/** Leaves root-relative `url(/icons/x.png)` in CSS to the server. */
const keepRootUrls: esbuild.Plugin = {
  name: "keep-root-urls",
  setup(build) {
    build.onResolve({ filter: /^\// }, (args) => {
      if (args.kind === "url-token" || args.kind === "import-rule") {
        return { path: args.path, external: true };
      }
      return undefined;
    });
  },
};

/** A short hash of the app's output files (given as "url\0contenthash"). */
async function versionOf(files: string[]): Promise<string> {
  const parts = files.sort().join("\0");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(parts));
  return Array.from(new Uint8Array(digest).subarray(0, 6), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** Makes sure Deno has put the browser packages into node_modules/. */
async function ensureNodeModules(): Promise<void> {
  const ready = async () =>
    (await isFile(join(NODE_MODULES, "preact/package.json"))) &&
    (await isFile(join(NODE_MODULES, "@preact/signals/package.json"))) &&
    // The lazily loaded FCM chunk (client/fcm.ts) bundles the Firebase SDK.
    (await isFile(join(NODE_MODULES, "@firebase/messaging/package.json")));
  if (await ready()) return;
  const { success } = await new Deno.Command(Deno.execPath(), {
    args: ["install", "--quiet"],
    cwd: PROJECT_ROOT,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!success || !(await ready())) {
    throw new Error(`preact is not in ${NODE_MODULES}: run \`deno install\` in ${PROJECT_ROOT}`);
  }
}

/** Writes the output files, deletes stale ones, then writes manifest.json. */
async function writeOutput(outDir: string, files: esbuild.OutputFile[], manifest: Manifest) {
  const keep = new Set(files.map((f) => resolve(f.path)));
  for (const file of files) {
    await Deno.mkdir(dirname(file.path), { recursive: true });
    await Deno.writeFile(file.path, file.contents);
  }
  await removeStale(join(outDir, "static"), keep);
  const { dir: _, ...json } = manifest;
  await writeAtomic(join(outDir, "manifest.json"), JSON.stringify(json, null, 2) + "\n");
}

async function removeStale(dir: string, keep: Set<string>): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) await removeStale(path, keep);
    else if (!keep.has(path)) await Deno.remove(path);
  }
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, path);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}
