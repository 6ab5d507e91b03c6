/**
 * `fresh.config.ts` and lib/fresh_config.ts: the app's config names files
 * that exist, the server serves the folders it names, bad configs are
 * refused, and lib/build.ts takes every path from the config (a project with
 * other folder names builds).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import config from "../fresh.config.ts";
import { loadManifest } from "./assets.ts";
import { buildAssets, REGISTRY_FILE } from "./build.ts";
import { defineConfig, type FreshConfigInput } from "./fresh_config.ts";

const ISLANDS_TS = new URL("./islands.ts", import.meta.url).pathname;

async function kind(path: string): Promise<"file" | "dir" | null> {
  try {
    const info = await Deno.stat(path);
    return info.isFile ? "file" : info.isDirectory ? "dir" : null;
  } catch {
    return null;
  }
}

Deno.test("fresh.config.ts: root is this repository; every path it names exists", async () => {
  assert.equal(config.root, new URL("..", import.meta.url).pathname.replace(/\/$/, ""));
  assert.equal(await kind(join(config.root, "deno.json")), "file");
  assert.equal(await kind(join(config.root, config.islandsDir)), "dir");
  assert.equal(await kind(join(config.root, config.staticDir)), "dir");
  assert.equal(await kind(join(config.root, config.clientEntry)), "file");
  assert.equal(await kind(join(config.root, config.style!)), "file");
  assert.equal(await kind(join(config.root, config.serviceWorker!)), "file");
  assert.deepEqual(config.catalogue?.languages, ["ko", "en"], "Korean is the source language");
  for (const lang of config.catalogue!.languages) {
    assert.equal(await kind(join(config.root, config.catalogue!.dir, `${lang}.json`)), "file");
  }
  assert.equal(config.esbuild.jsxImportSource, "preact");
});

Deno.test("the server reads the build from the config's outDir", async () => {
  // `deno task build` wrote it; the default of loadManifest is the config's folder.
  const m = await loadManifest();
  assert.equal(m.dir, join(config.root, config.outDir));
  assert.ok(m.entry.startsWith("/_app/entry"));
});

Deno.test("defineConfig: file URL or absolute path roots; refuses escaping paths", () => {
  const base: FreshConfigInput = { ...config, root: "/srv/app/" };
  assert.equal(defineConfig(base).root, "/srv/app");
  assert.equal(defineConfig({ ...base, root: new URL("file:///srv/a%20b/") }).root, "/srv/a b");
  assert.equal(defineConfig({ ...base, root: "file:///srv/x/" }).root, "/srv/x");
  assert.throws(() => defineConfig({ ...base, root: "srv/app" }), /root must be absolute/);
  assert.throws(() => defineConfig({ ...base, outDir: "../elsewhere" }), /outDir must be/);
  assert.throws(() => defineConfig({ ...base, islandsDir: "/abs" }), /islandsDir must be/);
  assert.throws(() => defineConfig({ ...base, clientEntry: "" }), /clientEntry must be/);
  assert.throws(
    () => defineConfig({ ...base, catalogue: { dir: "a/../../b", languages: ["ko"] } }),
    /catalogue\.dir must be/,
  );
  assert.equal(defineConfig({ ...base, style: null, serviceWorker: null }).style, null);
});

Deno.test("build: every folder and file comes from the config", async () => {
  const root = await Deno.makeTempDir({ prefix: "ll_config_test_" });
  const files: Record<string, string> = {
    "ui/parts/Hello.tsx": `import { island } from "${ISLANDS_TS}";\n` +
      `import { t } from "../../text.ts";\n` +
      `export default island("Hello", () => <p>{t("hi")}</p>);\n`,
    "text.ts": `import en from "./words/en.json" with { type: "json" };\n` +
      `import fr from "./words/fr.json" with { type: "json" };\n` +
      `import other from "./other.json" with { type: "json" };\n` +
      `const all: Record<string, Record<string, string>> = { en, fr };\n` +
      `export const t = (k: string) => (all.en[k] ?? k) + other.tag;\n`,
    "words/en.json": `{ "hi": "Hello from the catalogue" }\n`,
    "words/fr.json": `{ "hi": "Bonjour du catalogue" }\n`,
    "other.json": `{ "tag": "plain-json-bundled" }\n`,
    "web/main.ts": `import { hydrateIslands } from "${ISLANDS_TS}";\n` +
      `import { islands } from "../ui/parts/${REGISTRY_FILE}";\nhydrateIslands(islands);\n`,
    "worker.ts": `import { t } from "./text.ts";\nconsole.log(t("hi"));\n`,
    "assets/site.css": "body { color: #abcdef }\n",
  };
  try {
    for (const [path, text] of Object.entries(files)) {
      await Deno.mkdir(join(root, path, ".."), { recursive: true });
      await Deno.writeTextFile(join(root, path), text);
    }
    const m = await buildAssets(defineConfig({
      ...config,
      root,
      islandsDir: "ui/parts",
      staticDir: "assets",
      clientEntry: "web/main.ts",
      style: "assets/site.css",
      serviceWorker: "worker.ts",
      outDir: "dist",
      catalogue: { dir: "words", languages: ["en", "fr"] },
    }));
    assert.equal(m.dir, join(root, "dist"));
    assert.match(m.entry, /^\/_app\/entry-[A-Z0-9]{8}\.js$/);
    assert.match(m.style!, /^\/_app\/style-[A-Z0-9]{8}\.css$/);
    assert.equal(m.sw, "/sw.js");
    assert.deepEqual(Object.keys(m.messages!).sort(), [
      "en",
      "en-admin",
      "en-auth",
      "en-inbox",
      "en-ios",
      "en-operator",
      "en-report",
      "en-settings",
      "fr",
      "fr-admin",
      "fr-auth",
      "fr-inbox",
      "fr-ios",
      "fr-operator",
      "fr-report",
      "fr-settings",
    ]);
    assert.ok((await Deno.readTextFile(join(root, "ui/parts", REGISTRY_FILE))).includes("Hello:"));
    const read = (url: string) => Deno.readTextFile(join(root, "dist/static", url));
    const app = await Promise.all(
      Object.keys(m.files).filter((u) => /^\/_app\/(entry|Hello|chunk)-/.test(u)).map(read),
    );
    const bundled = app.join("\n");
    assert.ok(!bundled.includes("Hello from the catalogue"), "catalogue stubbed in the app");
    assert.ok(!bundled.includes("Bonjour"), "no language of the catalogue in the app");
    assert.ok(bundled.includes("plain-json-bundled"), "other JSON is bundled as usual");
    assert.ok(bundled.includes("__LL_MSGS__"), "the stub reads the page's messages");
    assert.ok((await read(m.messages!.fr)).includes("Bonjour du catalogue"));
    assert.ok((await read("/sw.js")).includes("Hello from the catalogue"), "sw keeps it all");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
