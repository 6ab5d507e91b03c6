/**
 * Serving what `lib/build.ts` built, plus the files in `static/`. Server
 * code imports this module, never lib/build.ts (esbuild stays out of the
 * server's module graph). Both folders default to those `fresh.config.ts`
 * names (`outDir`, `staticDir`).
 *
 * ```ts
 * const manifest = await loadManifest();        // reads _build/manifest.json
 * const assets = serveBuilt(manifest);
 * app.use(async (c, next) => (await assets(c.req.raw)) ?? next());
 * ```
 *
 * In a layout's `<head>` (no inline scripts: the CSP forbids them):
 *
 * ```tsx
 * const { scripts, styles, preload } = assetTags(manifest);
 * {styles.map((href) => <link rel="stylesheet" href={href} />)}
 * {preload.map((href) => <link rel="modulepreload" href={href} />)}
 * {scripts.map((src) => <script type="module" src={src} />)}
 * ```
 * @module
 */
type NodePath = typeof import("node:path");
type NodeZlib = typeof import("node:zlib");
let nodePathP: Promise<NodePath> | null = null;
let nodeZlibP: Promise<NodeZlib> | null = null;
/**
 * `node:path` and `node:zlib` are imported when the first file is served, not
 * at start: the first `node:` module boots Deno's Node compatibility layer
 * (~50 ms of CPU), which a server start need not wait for.
 */
const nodePath = () => nodePathP ??= import("node:path");
const nodeZlib = () => nodeZlibP ??= import("node:zlib");

/**
 * An absolute, normalised POSIX path (what `node:path`'s `resolve` gives):
 * `.` and `..` segments and repeated or trailing slashes removed, relative
 * paths taken from the working directory.
 */
export function absolutePath(...parts: string[]): string {
  let joined = "";
  for (const p of parts) {
    if (!p) continue;
    joined = p.startsWith("/") ? p : `${joined}/${p}`;
  }
  if (!joined.startsWith("/")) joined = `${Deno.cwd()}/${joined}`;
  const out: string[] = [];
  for (const seg of joined.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return `/${out.join("/")}`;
}
import config from "../fresh.config.ts";

/** URL prefix of the built app files (`_build/static/_app/`). */
export const PUBLIC_PREFIX = "/_app/";
/** `Cache-Control` of content-hashed files under `/_app/` in production. */
export const IMMUTABLE = "public, max-age=31536000, immutable";
/** `Cache-Control` of files from `static/` (revalidated by ETag after an hour). */
export const STATIC_CACHE = "public, max-age=3600";

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".webmanifest": "application/manifest+json; charset=utf-8",
  ".html": "text/html; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".webp": "image/webp",
  ".jpg": "image/jpeg",
  ".woff2": "font/woff2",
};

/** Size of one built file, in bytes. */
export interface BuiltFile {
  size: number;
  /** Size gzipped at level 9. */
  gzip: number;
}

/** What a build produced; `_build/manifest.json` holds it, except `dir`. */
export interface Manifest {
  /** True for a dev build (unhashed entry names, serve with `no-cache`). */
  dev: boolean;
  /** Hash of all app files: changes whenever any of them changes. */
  version: string;
  /** URL of the client entry module, e.g. `/_app/entry-5XKQ3ZPA.js`. */
  entry: string;
  /** URL of the service worker (`/sw.js`), or null without `sw.ts`. */
  sw: string | null;
  /** URL of the stylesheet, or null without `static/style.css`. */
  style: string | null;
  /** Chunks the entry imports statically (for `<link rel="modulepreload">`); empty in dev. */
  preload: string[];
  /**
   * Per-language message scripts by language (`{ko: "/_app/msgs-ko-HASH.js"}`, and
   * `ko-admin`, `ko-settings`, `ko-auth` for one kind of page's messages),
   * loaded before the entry: the browser bundle carries no catalogue of its
   * own (lib/build.ts `catalogueSplit`). Absent without `lib/i18n.ts`.
   */
  messages?: Record<string, string>;
  /** Every built file by URL. */
  files: Record<string, BuiltFile>;
  /** Absolute build directory (set on load; not stored in the JSON). */
  dir: string;
}

/** Reads `<dir>/manifest.json` (default: the config's `outDir`; run `deno task build` first). */
export async function loadManifest(
  dir: string = absolutePath(config.root, config.outDir),
): Promise<Manifest> {
  const path = absolutePath(dir, "manifest.json");
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new Error(`cannot read ${path}: run \`deno task build\` first`, { cause: err });
  }
  return { ...JSON.parse(text), dir: absolutePath(dir) };
}

/** URLs for a page's `<head>`; see the module doc for the markup. */
export interface AssetTags {
  /** Module scripts: `<script type="module" src>`. */
  scripts: string[];
  /** Stylesheets: `<link rel="stylesheet" href>`. */
  styles: string[];
  /** Chunks to preload: `<link rel="modulepreload" href>`. */
  preload: string[];
}

/**
 * Returns the URLs a page's `<head>` must reference; with `lang`, the page
 * language's message script comes first (module scripts run in order).
 */
export function assetTags(
  manifest: Manifest,
  lang?: string,
  opts: { parts?: string[] } = {},
): AssetTags {
  const pick = (name: string) =>
    lang ? manifest.messages?.[`${lang}${name}`] ?? manifest.messages?.[`ko${name}`] : undefined;
  // The common messages, then the page's own part (lib/build.ts `messagePart`): "-admin", …
  const msgScripts = ["", ...(opts.parts ?? [])].map(pick).filter((u): u is string => !!u);
  return {
    scripts: [...msgScripts, manifest.entry],
    styles: manifest.style ? [manifest.style] : [],
    preload: manifest.preload,
  };
}

/** Options of {@linkcode serveBuilt}. */
export interface ServeOptions {
  /** Folder of plain static files served at `/` (icons, manifest.webmanifest). Default: the config's `staticDir`; null for none. */
  staticDir?: string | null;
}

interface Cached {
  mtime: number;
  body: Uint8Array<ArrayBuffer>;
  gzip: Uint8Array<ArrayBuffer> | null;
  etag: string;
}

/**
 * Returns a handler serving `/_app/*` and `/sw.js` from the build, and other
 * paths from `static/`. It answers GET and HEAD with ETag (304 on match),
 * gzip when accepted and worth it, and `Cache-Control`: immutable for
 * `/_app/*` (`no-cache` in a dev build), `no-cache` plus
 * `Service-Worker-Allowed: /` for `/sw.js`, {@linkcode STATIC_CACHE} for
 * static files. Unknown `/_app/*` paths get 404; any other request it does
 * not serve resolves to null, so the app's routes can take it. Files are
 * cached in memory and re-read when their modification time changes.
 */
export function serveBuilt(
  manifest: Manifest,
  options: ServeOptions = {},
): (req: Request) => Promise<Response | null> {
  const buildStatic = absolutePath(manifest.dir, "static");
  const staticDir = options.staticDir === undefined
    ? absolutePath(config.root, config.staticDir)
    : options.staticDir;
  const cache = new Map<string, Cached>();

  return async function serve(req: Request): Promise<Response | null> {
    if (req.method !== "GET" && req.method !== "HEAD") return null;
    const { extname, join, normalize } = await nodePath();
    const path = safePath(new URL(req.url).pathname, normalize);
    if (path === null) return null;
    const built = path.startsWith(PUBLIC_PREFIX) || path === "/sw.js";
    const base = built ? buildStatic : staticDir;
    const file = base === null ? null : await load(cache, join(base, path));
    if (!file) return built ? new Response("Not Found", { status: 404 }) : null;

    const headers = new Headers({
      "Content-Type": TYPES[extname(path)] ?? "application/octet-stream",
      "Cache-Control": path === "/sw.js" || (built && manifest.dev)
        ? "no-cache"
        : built
        ? IMMUTABLE
        : STATIC_CACHE,
      "ETag": file.etag,
      "X-Content-Type-Options": "nosniff",
    });
    if (path === "/sw.js") headers.set("Service-Worker-Allowed", "/");
    if (file.gzip) headers.set("Vary", "Accept-Encoding");
    const match = req.headers.get("If-None-Match")?.split(",").some((tag) =>
      tag.trim().replace(/^W\//, "") === file.etag.slice(2)
    );
    if (match) return new Response(null, { status: 304, headers });
    let body = file.body;
    if (file.gzip && acceptsGzip(req.headers.get("Accept-Encoding"))) {
      body = file.gzip;
      headers.set("Content-Encoding", "gzip");
    }
    headers.set("Content-Length", String(body.length));
    return new Response(req.method === "HEAD" ? null : body, { headers });
  };
}

/** Decodes and checks a URL path: null if it could escape its folder. */
function safePath(pathname: string, normalize: NodePath["normalize"]): string | null {
  let path: string;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (path.includes("\0") || path.includes("\\") || /\/\./.test(path)) return null;
  return normalize(path) === path && path !== "/" ? path : null;
}

/** Loads a regular file through the cache; null if there is none. */
async function load(cache: Map<string, Cached>, path: string): Promise<Cached | null> {
  let mtime: number;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) return null;
    mtime = info.mtime?.getTime() ?? 0;
  } catch {
    return null;
  }
  const hit = cache.get(path);
  if (hit && hit.mtime === mtime) return hit;
  const body = await Deno.readFile(path).catch(() => null);
  if (!body) return null;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
  const etag = `W/"${btoa(String.fromCharCode(...digest.subarray(0, 15)))}"`;
  const compressible = /\.(js|css|map|json|webmanifest|html|txt|svg)$/.test(path);
  const gz = compressible && body.length > 512
    ? new Uint8Array((await nodeZlib()).gzipSync(body, { level: 9 }))
    : null;
  const entry = { mtime, body, gzip: gz && gz.length < body.length * 0.9 ? gz : null, etag };
  cache.set(path, entry);
  return entry;
}

/** True if an Accept-Encoding header allows gzip. */
function acceptsGzip(header: string | null): boolean {
  return (header ?? "").split(",").some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(";");
    if (coding.trim() !== "gzip" && coding.trim() !== "*") return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}
