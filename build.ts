/**
 * `deno task build`: generates the islands registry and builds the browser
 * assets as `fresh.config.ts` says (into `_build/`; see lib/build.ts). `--dev` makes a dev build;
 * `--quiet` prints one line instead of the size table (`deno task start`, so
 * the server's URL, admin login and invite code stay the last lines on screen).
 * @module
 */
import config from "./fresh.config.ts";
import { buildAssets, formatSizes } from "./lib/build.ts";

if (import.meta.main) {
  const started = performance.now();
  const manifest = await buildAssets(config, { dev: Deno.args.includes("--dev") });
  const ms = Math.round(performance.now() - started);
  const files = Object.keys(manifest.files).filter((u) => !u.endsWith(".map")).length;
  if (Deno.args.includes("--quiet")) {
    console.log(
      `Built ${files} asset files into ${config.outDir}/ in ${ms} ms (deno task build lists them).`,
    );
  } else {
    console.log(`Built ${manifest.dev ? "dev " : ""}assets into ${config.outDir}/ in ${ms} ms:`);
    console.log(formatSizes(manifest));
  }
}
