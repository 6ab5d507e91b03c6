/**
 * `deno task build`: generates `islands/_registry.gen.ts` and builds the
 * browser assets into `_build/` (see lib/build.ts). `--dev` makes a dev build.
 * @module
 */
import { buildAssets, formatSizes } from "./lib/build.ts";

if (import.meta.main) {
  const started = performance.now();
  const manifest = await buildAssets({ dev: Deno.args.includes("--dev") });
  const ms = Math.round(performance.now() - started);
  console.log(`Built ${manifest.dev ? "dev " : ""}assets into _build/ in ${ms} ms:`);
  console.log(formatSizes(manifest));
}
