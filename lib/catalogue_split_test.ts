/**
 * The message catalogue's data files (`fresh.config.ts` `catalogue`:
 * lib/i18n/ko.json, lib/i18n/en.json) and how the browser bundle ships only
 * the page's language (lib/build.ts `catalogueStub`, `readCatalogue`; the
 * board page's JavaScript budget is checked in tests/e2e/pwa_test.ts).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as esbuild from "esbuild";
import config from "../fresh.config.ts";
import { buildAssets, catalogueFile, catalogueStub, readCatalogue } from "./build.ts";
import { defineConfig } from "./fresh_config.ts";
import { catalogue, messageKeys, t } from "./i18n.ts";

const I18N_TS = new URL("./i18n.ts", import.meta.url).pathname;

Deno.test("the data files: Korean's keys, English has exactly them in the same order", async () => {
  const [source, ...others] = config.catalogue!.languages;
  const raw = (lang: string) => Deno.readTextFile(catalogueFile(config, lang)).then(JSON.parse);
  const ko = await raw(source);
  assert.deepEqual(Object.keys(ko), messageKeys(), "MessageKey comes from ko.json");
  assert.ok(messageKeys().length > 300);
  for (const lang of others) {
    const data = await raw(lang);
    assert.deepEqual(Object.keys(data), Object.keys(ko), `${lang}.json keys and order`);
    assert.deepEqual(data, catalogue(lang as "en"), `lib/i18n.ts serves ${lang}.json`);
  }
  const read = await readCatalogue(config);
  assert.deepEqual([...read.keys()], ["ko", "en"]);
  assert.equal(read.get("ko")!["app.name"], "세탁실 라이브");
});

Deno.test("readCatalogue refuses a language with other keys, another order or non-strings", async () => {
  const root = await Deno.makeTempDir({ prefix: "ll_catalogue_test_" });
  const cfg = defineConfig({ ...config, root, catalogue: { dir: "m", languages: ["ko", "en"] } });
  const write = (ko: unknown, en: unknown) =>
    Promise.all([
      Deno.writeTextFile(join(root, "m/ko.json"), JSON.stringify(ko)),
      Deno.writeTextFile(join(root, "m/en.json"), JSON.stringify(en)),
    ]);
  try {
    await Deno.mkdir(join(root, "m"));
    await write({ a: "가", b: "나" }, { a: "A", b: "B" });
    assert.deepEqual((await readCatalogue(cfg)).get("en"), { a: "A", b: "B" });
    await write({ a: "가", b: "나" }, { a: "A" });
    await assert.rejects(readCatalogue(cfg), /en\.json: keys differ from ko\.json/);
    await write({ a: "가", b: "나" }, { a: "A", b: "B", c: "C" });
    await assert.rejects(readCatalogue(cfg), /keys differ/);
    await write({ a: "가", b: "나" }, { b: "B", a: "A" });
    await assert.rejects(readCatalogue(cfg), /keys differ/);
    await write({ a: "가", b: 2 }, { a: "A", b: "B" });
    await assert.rejects(readCatalogue(cfg), /ko\.json: a catalogue file is one object/);
    await write(["가"], ["A"]);
    await assert.rejects(readCatalogue(cfg), /one object/);
    await write({ a: "가" }, { a: "A" });
    await Deno.remove(join(root, "m/en.json"));
    await assert.rejects(readCatalogue(cfg), Deno.errors.NotFound);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** lib/i18n.ts bundled for the browser as the app build does it, then evaluated. */
async function browserI18n(): Promise<{ code: string; mod: typeof import("./i18n.ts") }> {
  const out = await esbuild.build({
    entryPoints: [I18N_TS],
    bundle: true,
    format: "esm",
    write: false,
    logLevel: "warning",
    plugins: [catalogueStub(config)],
  });
  const code = out.outputFiles[0].text;
  const bytes = new TextEncoder().encode(code);
  const mod = await import(
    "data:text/javascript;base64," + btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""))
  );
  return { code, mod };
}

Deno.test("in the browser bundle lib/i18n.ts carries no message, reads the page's", async () => {
  const g = globalThis as { __LL_MSGS__?: Record<string, Record<string, string>> };
  // What the page's msgs-en script does before the entry runs.
  g.__LL_MSGS__ = { en: { ...catalogue("en") } };
  try {
    const { code, mod } = await browserI18n();
    for (const key of ["board.title", "ios.install_steps", "bell.timeout"] as const) {
      assert.ok(!code.includes(catalogue("ko")[key]), `ko text of ${key} is not bundled`);
      assert.ok(!code.includes(catalogue("en")[key]), `en text of ${key} is not bundled`);
    }
    assert.ok(code.length < 4096, `lib/i18n.ts bundles to ${code.length} bytes`);
    assert.equal(mod.t("en", "bell.unread", { n: 3 }), t("en", "bell.unread", { n: 3 }));
    assert.equal(mod.t("en", "conn.reconnecting"), "Reconnecting…");
    // A language the page did not load falls back to the key, never throws.
    assert.equal(mod.t("ko", "board.title"), "board.title");
    assert.equal(mod.formatDuration(61_000), "1:01");
    // A part loaded later (msgs-en-admin) lands in the same object the module reads.
    Object.assign(g.__LL_MSGS__.en, { "x.late": "late" });
    assert.equal(mod.catalogue("en")["x.late" as "board.title"], "late");
    assert.ok(g.__LL_MSGS__.ko, "the stub made an empty ko entry for later scripts");
  } finally {
    delete g.__LL_MSGS__;
  }
});

Deno.test("the app's build: no catalogue text outside msgs-*; sw.js keeps both", async () => {
  const outDir = `_build_catalogue_test_${crypto.randomUUID().slice(0, 8)}`;
  try {
    const built = await buildAssets({ ...config, outDir });
    assert.ok(built.messages?.ko && built.messages.en && built.messages["en-admin"]);
    const ko = catalogue("ko")["ios.install_steps"];
    const en = catalogue("en")["ios.install_steps"];
    let checked = 0;
    for (const url of Object.keys(built.files)) {
      if (url.endsWith(".map") || url.endsWith(".css")) continue;
      const text = await Deno.readTextFile(join(built.dir, "static", url));
      if (url === "/sw.js") {
        assert.ok(text.includes(ko) && text.includes(en), "the worker has both languages");
      } else if (!url.startsWith("/_app/msgs-")) {
        assert.ok(!text.includes(ko) && !text.includes(en), `${url} has no catalogue text`);
        checked++;
      }
    }
    assert.ok(checked > 10, `${checked} app files checked`);
    const common = await Deno.readTextFile(join(built.dir, "static", built.messages!.ko));
    assert.ok(common.includes(catalogue("ko")["board.title"]));
  } finally {
    await Deno.remove(join(config.root, outDir), { recursive: true });
  }
});
