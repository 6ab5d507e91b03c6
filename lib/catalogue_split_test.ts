/**
 * The browser bundle's message catalogue split (lib/build.ts
 * `stripCatalogue`): the real lib/i18n.ts must keep the shape it recognises,
 * otherwise every page silently ships both languages again (the board page's
 * JavaScript budget is checked in tests/e2e/pwa_test.ts).
 */
import assert from "node:assert/strict";
import * as esbuild from "esbuild";
import { CATALOGUE_FILE, stripCatalogue } from "./build.ts";
import { catalogue, messageKeys, t } from "./i18n.ts";

const source = await Deno.readTextFile(new URL(`../${CATALOGUE_FILE}`, import.meta.url));

Deno.test("stripCatalogue recognises lib/i18n.ts and removes both message literals", () => {
  const stripped = stripCatalogue(source);
  assert.ok(stripped, "lib/i18n.ts keeps `const ko = {…} as const;` and `const en: … = {…};`");
  for (const key of ["board.title", "ios.install_steps", "bell.timeout"] as const) {
    assert.ok(!stripped.includes(catalogue("ko")[key]), `ko text of ${key} is gone`);
    assert.ok(!stripped.includes(catalogue("en")[key]), `en text of ${key} is gone`);
  }
  assert.ok(stripped.length < source.length / 3);
});

Deno.test("the stripped module translates with the messages a page loaded", async () => {
  const stripped = stripCatalogue(source)!;
  const out = await esbuild.transform(stripped, { loader: "ts", format: "esm" });
  const g = globalThis as { __LL_MSGS__?: Record<string, Record<string, string>> };
  g.__LL_MSGS__ = { en: catalogue("en") };
  try {
    const mod = await import(
      "data:text/javascript;base64," +
        btoa(String.fromCharCode(...new TextEncoder().encode(out.code)))
    );
    assert.equal(mod.t("en", "bell.unread", { n: 3 }), t("en", "bell.unread", { n: 3 }));
    assert.equal(mod.t("en", "conn.reconnecting"), "Reconnecting…");
    // A language the page did not load falls back to the key, never throws.
    assert.equal(mod.t("ko", "board.title"), "board.title");
    assert.equal(mod.formatDuration(61_000), "1:01");
  } finally {
    delete g.__LL_MSGS__;
  }
  assert.ok(messageKeys().length > 100);
});

Deno.test("stripCatalogue returns null for an unexpected shape", () => {
  assert.equal(stripCatalogue("export const x = 1;"), null);
});
