/**
 * The asset build: generates the islands registry and bundles the browser
 * code with esbuild, as `fresh.config.ts` (a {@linkcode FreshConfig}) says.
 * This module has no paths or esbuild options of its own: callers pass the
 * config (`build.ts`, `dev.ts`, the tests).
 *
 * Inputs (config fields, relative to `root`):
 * - `clientEntry`, the app bundle's entry, with every island in `islandsDir`
 *   split into its own lazily loaded chunk;
 * - `style` (optional), bundled and hashed;
 * - `serviceWorker` (optional), built alone as an IIFE after the app, with
 *   two compile-time constants (declare them in sw.ts): `__LL_VERSION__`
 *   (string, {@linkcode Manifest.version}: name the cache after it) and
 *   `__LL_ASSETS__` (string[], every `/_app/` URL to precache). Any app change
 *   thus changes sw.js, and browsers install the new worker;
 * - `catalogue` (optional): the per-language message files; the app bundle
 *   gets a stub instead (see {@linkcode catalogueStub}) and each language's
 *   messages ship as small `msgs-<lang>` scripts.
 *
 * Outputs, under `outDir`: `static/_app/*` (content-hashed names, served at
 * `/_app/*`), `static/sw.js` (served at `/sw.js`, never hashed: its URL fixes
 * its scope) and `manifest.json` (see {@linkcode Manifest}).
 *
 * esbuild resolves bare imports (`preact`, `@preact/signals`, …) through this
 * repository's `node_modules/`, which `deno install` fills from the import
 * map in deno.json (`"nodeModulesDir": "manual"`; every task runs it first). Browser code must use those bare
 * specifiers: `npm:`/`jsr:` specifiers, `Deno.*` and `node:*` do not bundle.
 * @module
 */
import * as esbuild from "esbuild";
import { gzipSync } from "node:zlib";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { type Manifest, PUBLIC_PREFIX } from "./assets.ts";
import type { FreshConfig } from "./fresh_config.ts";

export type { BuiltFile, Manifest } from "./assets.ts";
export type { CatalogueConfig, FreshConfig } from "./fresh_config.ts";

/** File name of the generated islands registry, inside the islands folder. */
export const REGISTRY_FILE = "_registry.gen.ts";
/** CSS the islands framework needs: the marker must not affect layout. */
export const MARKER_CSS = "ll-island{display:contents}";

/** This repository, whose node_modules/ holds the browser packages (any root builds with them). */
const PACKAGES_ROOT = fileURLToPath(new URL("..", import.meta.url));
const NODE_MODULES = join(PACKAGES_ROOT, "node_modules");

/** Options of one build run ({@linkcode buildAssets}, {@linkcode createAssetBuilder}). */
export interface BuildOptions {
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

/** Builds the assets of `config` once; see the module doc. */
export async function buildAssets(
  config: FreshConfig,
  options: BuildOptions = {},
): Promise<Manifest> {
  const builder = await createAssetBuilder(config, options);
  try {
    return await builder.rebuild();
  } finally {
    await builder.dispose();
  }
}

/** Creates an incremental builder (esbuild contexts kept between rebuilds). */
export async function createAssetBuilder(
  config: FreshConfig,
  options: BuildOptions = {},
): Promise<AssetBuilder> {
  const root = resolve(config.root);
  const outDir = resolve(root, config.outDir);
  const staticOut = join(outDir, "static");
  const dev = options.dev ?? false;
  const { plugins: userPlugins = [], ...esbuildConfig } = config.esbuild;
  await ensureNodeModules();
  const common: esbuild.BuildOptions = {
    ...esbuildConfig,
    absWorkingDir: root,
    bundle: true,
    write: false,
    metafile: true,
    minify: !dev,
    sourcemap: dev ? "linked" : false,
    nodePaths: [NODE_MODULES],
    define: { "process.env.NODE_ENV": JSON.stringify(dev ? "development" : "production") },
    logLevel: "warning",
    plugins: [...userPlugins, keepRootUrls],
  };
  const entryPoint = entryName(config.clientEntry);
  const stylePoint = config.style === null ? null : entryName(config.style);
  let app: esbuild.BuildContext | null = null;
  let appHasStyle = false;

  async function appContext(): Promise<esbuild.BuildContext> {
    const hasStyle = config.style !== null && await isFile(join(root, config.style));
    if (app && appHasStyle === hasStyle) return app;
    await dispose();
    appHasStyle = hasStyle;
    return app = await esbuild.context({
      ...common,
      entryPoints: hasStyle
        ? { entry: config.clientEntry, style: config.style! }
        : { entry: config.clientEntry },
      splitting: true,
      format: "esm",
      outdir: join(staticOut, PUBLIC_PREFIX),
      entryNames: dev ? "[name]" : "[name]-[hash]",
      chunkNames: "[name]-[hash]",
      assetNames: "[name]-[hash]",
      banner: { css: MARKER_CSS },
      plugins: [...common.plugins!, catalogueStub(config)],
    });
  }

  async function dispose(): Promise<void> {
    await app?.dispose();
    app = null;
  }

  async function rebuild(): Promise<Manifest> {
    await generateRegistry(join(root, config.islandsDir));
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
      if (meta.entryPoint === entryPoint) {
        manifest.entry = urlOf(path);
        if (!dev) {
          manifest.preload = meta.imports
            .filter((i) => i.kind === "import-statement" && !i.external)
            .map((i) => urlOf(i.path));
        }
      } else if (meta.entryPoint === stylePoint) manifest.style = urlOf(path);
    }
    const messages = await messageFiles(config, join(staticOut, PUBLIC_PREFIX), dev);
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
    if (config.serviceWorker !== null && await isFile(join(root, config.serviceWorker))) {
      const sw = await esbuild.build({
        ...common,
        entryPoints: { sw: config.serviceWorker },
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

/** How esbuild's metafile names an entry point given relative to the root. */
function entryName(path: string): string {
  return path.replace(/^\.\//, "");
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

/** Namespace of the catalogue stubs in the browser bundle. */
const CATALOGUE_NS = "ll-catalogue";

/**
 * Ships each page only its own language's messages. In the app bundle, an
 * import of a catalogue data file (`<catalogue.dir>/<lang>.json`, see
 * {@linkcode CatalogueConfig}) resolves to a stub whose default export is
 * `globalThis.__LL_MSGS__[lang]`, which `/_app/msgs-<lang>[-part]-HASH.js`
 * fills (the page's head loads them before the entry; see
 * {@linkcode Manifest.messages} and `assetTags`). `lib/i18n.ts` itself is
 * bundled unchanged, so `t()`, `catalogue()` and `messageKeys()` work the
 * same in the browser over the messages the page loaded. Other JSON imports
 * are left to esbuild. The service worker build does not use this plugin:
 * it bundles the whole catalogue (its pushes may be in either language).
 */
export function catalogueStub(config: FreshConfig): esbuild.Plugin {
  const catalogue = config.catalogue;
  const files = new Map(
    (catalogue?.languages ?? []).map((lang) => [catalogueFile(config, lang), lang]),
  );
  return {
    name: "catalogue-stub",
    setup(build) {
      if (!files.size) return;
      build.onResolve({ filter: /\.json$/ }, (args) => {
        const lang = args.resolveDir ? files.get(resolve(args.resolveDir, args.path)) : undefined;
        return lang === undefined ? undefined : { path: lang, namespace: CATALOGUE_NS };
      });
      build.onLoad({ filter: /.*/, namespace: CATALOGUE_NS }, (args) => ({
        contents: "const all = globalThis.__LL_MSGS__ || (globalThis.__LL_MSGS__ = {});\n" +
          `export default all[${JSON.stringify(args.path)}] || ` +
          `(all[${JSON.stringify(args.path)}] = {});\n`,
        loader: "js",
      }));
    },
  };
}

/** Absolute path of one language's catalogue data file. */
export function catalogueFile(config: FreshConfig, lang: string): string {
  if (!config.catalogue) throw new Error("fresh.config: no catalogue configured");
  return resolve(config.root, config.catalogue.dir, `${lang}.json`);
}

/**
 * Reads every language's catalogue data file (the first language's keys are
 * the key set); throws if a file is missing, is not a flat object of
 * strings, or has other keys than the first language, or in another order.
 */
export async function readCatalogue(
  config: FreshConfig,
): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>();
  let keys: string | null = null;
  for (const lang of config.catalogue?.languages ?? []) {
    const path = catalogueFile(config, lang);
    const data: unknown = JSON.parse(await Deno.readTextFile(path));
    if (
      !data || typeof data !== "object" || Array.isArray(data) ||
      Object.values(data).some((v) => typeof v !== "string")
    ) {
      throw new Error(`${path}: a catalogue file is one object of "key": "text" strings`);
    }
    const these = Object.keys(data).join("\n");
    if (keys === null) keys = these;
    else if (these !== keys) {
      throw new Error(`${path}: keys differ from ${config.catalogue!.languages[0]}.json`);
    }
    out.set(lang, data as Record<string, string>);
  }
  return out;
}

/**
 * One small script per language and page part (see {@linkcode messagePart})
 * that adds those messages to `globalThis.__LL_MSGS__[lang]`.
 */
async function messageFiles(
  config: FreshConfig,
  outDir: string,
  dev: boolean,
): Promise<{ lang: string; file: esbuild.OutputFile }[]> {
  const out: { lang: string; file: esbuild.OutputFile }[] = [];
  for (const [lang, messages] of await readCatalogue(config)) {
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
  "no_sensor",
  "self",
  "admin_account",
]);
/**
 * Refusals of requests no page of ours makes (bad hosts, handshakes, frames,
 * foreign origins, non-JSON bodies: our pages always send same-origin JSON).
 * Should a page ever meet one, it shows the generic translated error.
 */
const SERVER_ONLY_ERRORS = new Set([
  // The service worker's own refusal of a notification button while offline (it bundles all).
  "offline",
  // No page sends an unknown action or a cursor over HTTP.
  "unknown_action",
  "bad_cursor",
  "cross_origin",
  "bad_origin",
  "unsupported_media_type",
  "bad_json",
  "bad_device_id",
  "bad_host",
  "uri_too_long",
  "bad_upgrade",
  "upgrade_required",
  "bad_frame",
  "bad_message",
  // The sensor webhook's refusals: a plug or Home Assistant reads them, no page.
  "bad_sensor_token",
  "bad_reading_time",
  // Only the service worker's action buttons send Idempotency-Key (it bundles every text).
  "in_progress",
  "bad_idempotency_key",
]);

/** Error codes only the settings page shows (the email fallback, routes/api/email.ts). */
const SETTINGS_ERRORS = new Set([
  "email_not_configured",
  "email_token_invalid",
  "email_token_expired",
  "email_not_verified",
  "email_rejected",
  "mail_unavailable",
  "field.address",
]);
/** Error codes only the operator console shows (routes/api/operator.ts, the building choice). */
const OPERATOR_ERRORS = new Set(["no_building", "building_exists", "not_admin", "no_user"]);
/** Field rules only the sign-in pages show (the admin page's own: `code`). */
const AUTH_FIELDS = new Set(["loginId", "password", "inviteCode", "resetCode"]);
/** Texts only the server renders (the top bar and its tabs): no page script reads them. */
const SERVER_ONLY_KEYS = new Set([
  "app.short",
  "lang.toggle",
  "nav.board",
  "nav.inbox",
  "nav.settings",
  "nav.admin",
  "nav.operator",
  "nav.busy",
]);

/** The per-page message files besides the common one (see {@linkcode messagePart}). */
export const MESSAGE_PARTS = [
  "-admin",
  "-settings",
  "-auth",
  "-operator",
  "-inbox",
  "-report",
  "-ios",
] as const;

/**
 * Which browser message file a key ships in: "" for the common file every
 * page loads, a part of {@linkcode MESSAGE_PARTS} for keys only one kind of
 * page uses (`admin.*`/`notice.*` on /admin; `settings.*`/`kindname.*` on
 * /settings; `login.*`/`register.*`/`reset.*` on the sign-in pages;
 * `operator.*` on /operator; `inbox.*` but the bell's `inbox.title` on
 * /inbox; the bell's `ios.*` guidance for Apple user agents), or null for keys only the server and the
 * service worker use (`n.*`, `push.*`, `offline.*`, `notfound.*`, `busy.*`, the
 * top bar's tabs: the worker bundles the whole catalogue).
 */
export function messagePart(key: string): "" | (typeof MESSAGE_PARTS)[number] | null {
  const prefix = key.slice(0, key.indexOf("."));
  // Errors only one kind of page can meet ship with that page's texts; those
  // no page shows (protocol and transport refusals) stay on the server.
  if (SERVER_ONLY_KEYS.has(key)) return null;
  if (prefix === "err") {
    const code = key.slice(4);
    if (AUTH_ERRORS.has(code) || (code.startsWith("field.") && AUTH_FIELDS.has(code.slice(6)))) {
      return "-auth";
    }
    if (ADMIN_ERRORS.has(code) || code === "field.code") return "-admin";
    if (OPERATOR_ERRORS.has(code)) return "-operator";
    if (SETTINGS_ERRORS.has(code)) return "-settings";
    if (SERVER_ONLY_ERRORS.has(code)) return null;
    return "";
  }
  if (prefix === "admin" || prefix === "notice") return "-admin";
  // The bell's panel links to Settings on every page.
  if ((prefix === "settings" && key !== "settings.title") || prefix === "kindname") {
    return "-settings";
  }
  if (prefix === "login" || prefix === "register" || prefix === "reset") return "-auth";
  if (prefix === "operator") return "-operator";
  // The fault-report form and the admin's report list; the card's link is common.
  if ((prefix === "report" && key !== "report.button") || prefix === "fault") return "-report";
  if (prefix === "inbox" && key !== "inbox.title") return "-inbox";
  // The bell's iPhone/iPad guidance: pages load it for Apple user agents only.
  if (prefix === "ios") return "-ios";
  // Busy hours and the QR label sheet are server-rendered pages (routes/pages/busy.tsx,
  // routes/pages/qr.tsx) and mail is composed on the server: no script reads them.
  if (["n", "push", "offline", "notfound", "busy", "mail", "qr"].includes(prefix)) return null;
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
    cwd: PACKAGES_ROOT,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!success || !(await ready())) {
    throw new Error(`preact is not in ${NODE_MODULES}: run \`deno install\` in ${PACKAGES_ROOT}`);
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
