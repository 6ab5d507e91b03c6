/**
 * The shape of `fresh.config.ts`: where the app's islands, static files,
 * client entry, service worker and message catalogue are, where the build
 * goes and which esbuild options it uses. `build.ts`, `dev.ts`, lib/build.ts
 * (which takes a config, it has no defaults of its own), lib/assets.ts (the
 * build and static folders it serves) and the tests read the one config.
 *
 * This module and `fresh.config.ts` import nothing at run time but
 * `node:url`: server code imports the config, and esbuild must stay out of
 * the server's module graph (esbuild's types are imported as types only).
 * @module
 */
import type { BuildOptions as EsbuildOptions, Loader, Plugin } from "esbuild";

/**
 * The message catalogue: one JSON data file per language, `<dir>/<lang>.json`,
 * each a flat `{ "key": "text" }` object. The first language is the source of
 * the key set; every other language has exactly its keys, in its order.
 *
 * The browser bundle does not carry these files: lib/build.ts resolves their
 * imports to a stub that reads `globalThis.__LL_MSGS__[lang]`, which small
 * per-language scripts (`/_app/msgs-<lang>[-part]-HASH.js`) fill before the
 * entry runs. The service worker bundles the real files.
 */
export interface CatalogueConfig {
  /** Folder of the `<lang>.json` files, relative to the root. */
  dir: string;
  /** Languages, the source language (of the key set) first. */
  languages: readonly [string, ...string[]];
}

/** The esbuild options a config may set (the build sets the rest). */
export interface EsbuildConfig {
  /** Language target of the browser code, e.g. `"es2020"`. */
  target: string;
  /** How JSX compiles: `"automatic"` with {@linkcode EsbuildConfig.jsxImportSource}. */
  jsx: NonNullable<EsbuildOptions["jsx"]>;
  /** Package of the automatic JSX runtime, e.g. `"preact"`. */
  jsxImportSource: string;
  /** Output charset; `"utf8"` keeps Korean text unescaped (smaller). */
  charset?: "utf8" | "ascii";
  /** Loaders by file extension (`.png` → `"file"` hashes it into the build). */
  loader?: Record<string, Loader>;
  /** Plugins run before the build's own (root-URL keeping, catalogue stub). */
  plugins?: Plugin[];
}

/** A Fresh-1-style app configuration (see the module doc). */
export interface FreshConfig {
  /** Absolute project directory; every other path is relative to it. */
  root: string;
  /** Folder of the islands (`PascalCase.tsx`; its registry is generated there). */
  islandsDir: string;
  /** Folder of plain static files served at `/` (icons, web manifest). */
  staticDir: string;
  /** The app bundle's entry (it hydrates the islands). */
  clientEntry: string;
  /** Stylesheet bundled and hashed beside the entry; null for none (skipped if missing). */
  style: string | null;
  /** Service worker built as an IIFE and served at `/sw.js`; null for none (skipped if missing). */
  serviceWorker: string | null;
  /** Where the build goes (`<outDir>/static/…`, `<outDir>/manifest.json`). */
  outDir: string;
  /** esbuild options shared by the app and service-worker builds. */
  esbuild: EsbuildConfig;
  /** The message catalogue; null for an app without one. */
  catalogue: CatalogueConfig | null;
}

/**
 * The path of a `file:` URL (POSIX), as `node:url`'s `fileURLToPath` gives
 * it; written out so that loading the config does not boot Deno's Node
 * compatibility layer at start.
 */
function filePath(url: URL): string {
  if (url.protocol !== "file:") throw new TypeError(`fresh.config: root must be a file: URL`);
  if (url.hostname !== "" && url.hostname !== "localhost") {
    throw new TypeError(`fresh.config: root must be a local file: URL`);
  }
  if (/%2f/i.test(url.pathname)) throw new TypeError(`fresh.config: root has an encoded "/"`);
  return decodeURIComponent(url.pathname);
}

/** A config as written in `fresh.config.ts`: `root` is a `file:` URL (`import.meta.url` of a file in it) or a path. */
export type FreshConfigInput = Omit<FreshConfig, "root"> & { root: string | URL };

/**
 * Checks and normalises a config: `root` becomes an absolute path ending
 * without a slash; paths must be relative and stay inside the root.
 * Throws on a bad config (at start, not in the middle of a build).
 */
export function defineConfig(input: FreshConfigInput): FreshConfig {
  const url = typeof input.root === "string" && !input.root.startsWith("file:")
    ? null
    : new URL(input.root);
  const root = (url ? filePath(url) : input.root as string).replace(/(.)\/+$/, "$1");
  if (!root.startsWith("/")) throw new Error(`fresh.config: root must be absolute: ${root}`);
  const paths: [string, string | null][] = [
    ["islandsDir", input.islandsDir],
    ["staticDir", input.staticDir],
    ["clientEntry", input.clientEntry],
    ["style", input.style],
    ["serviceWorker", input.serviceWorker],
    ["outDir", input.outDir],
    ["catalogue.dir", input.catalogue?.dir ?? null],
  ];
  for (const [name, path] of paths) {
    if (path === null) continue;
    if (!path || path.startsWith("/") || path.split("/").includes("..")) {
      throw new Error(`fresh.config: ${name} must be a relative path inside the root: "${path}"`);
    }
  }
  return { ...input, root };
}
