/**
 * `deno task build`: generates `islands/_registry.gen.ts` and builds the
 * browser assets into `_build/` (see lib/build.ts). `--dev` makes a dev build;
 * `--quiet` prints one line instead of the size table (`deno task start`, so
 * the server's URL, admin login and invite code stay the last lines on screen).
 * @module
 */
import { buildAssets, formatSizes } from "./lib/build.ts";

if (import.meta.main) {
  const started = performance.now();
  const manifest = await buildAssets({ dev: Deno.args.includes("--dev") });
  const ms = Math.round(performance.now() - started);
  const files = Object.keys(manifest.files).filter((u) => !u.endsWith(".map")).length;
  if (Deno.args.includes("--quiet")) {
    console.log(
      `Built ${files} asset files into _build/ in ${ms} ms (deno task build lists them).`,
    );
  } else {
    console.log(`Built ${manifest.dev ? "dev " : ""}assets into _build/ in ${ms} ms:`);
    console.log(formatSizes(manifest));
  }
}
