/**
 * The app's build and islands configuration, as a Fresh 1 app has one:
 * `build.ts` and `dev.ts` pass it to lib/build.ts, lib/assets.ts serves the
 * folders it names, and the tests read it. Paths are relative to this
 * file's folder. See lib/fresh_config.ts for what each field means.
 *
 * Server code imports this file: keep it free of run-time imports other
 * than lib/fresh_config.ts (esbuild must not enter the server's graph).
 * @module
 */
import { defineConfig } from "./lib/fresh_config.ts";

/** The LaundryLive build configuration. */
export default defineConfig({
  root: new URL(".", import.meta.url),
  islandsDir: "islands",
  staticDir: "static",
  clientEntry: "client/entry.ts",
  style: "static/style.css",
  serviceWorker: "sw.ts",
  outDir: "_build",
  esbuild: {
    // Native class fields (no helper chunk on every page): Safari 15 / iOS 15,
    // Chrome 94, Firefox 90. Every iPhone that ran iOS 13–14 runs iOS 15; push
    // itself needs iOS 16.4.
    target: "es2022",
    jsx: "automatic",
    jsxImportSource: "preact",
    charset: "utf8",
    loader: { ".png": "file", ".svg": "file", ".webp": "file", ".woff2": "file" },
  },
  // lib/i18n/ko.json is the source of the key set; en.json has exactly its keys.
  catalogue: { dir: "lib/i18n", languages: ["ko", "en"] },
});
