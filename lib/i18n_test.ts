import assert from "node:assert/strict";
import { catalogue, formatDuration, messageKeys, t } from "./i18n.ts";

Deno.test("both catalogues have every key, non-empty, with the same placeholders", () => {
  const ko = catalogue("ko");
  const en = catalogue("en");
  for (const key of messageKeys()) {
    assert.ok(ko[key]?.length, `ko ${key}`);
    assert.ok(en[key]?.length, `en ${key}`);
    const ph = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    assert.deepEqual(ph(en[key]), ph(ko[key]), `placeholders of ${key}`);
  }
  assert.deepEqual(Object.keys(en).sort(), Object.keys(ko).sort());
});

Deno.test("t fills placeholders and keeps unknown ones visible", () => {
  assert.equal(t("ko", "time.remaining", { time: "5:00" }), "5:00 남음");
  assert.equal(t("en", "n.ending_soon.title", { machine: "W1", n: 5 }), "W1: 5 min left");
  assert.equal(t("en", "time.remaining"), "{time} left");
});

Deno.test("formatDuration", () => {
  assert.equal(formatDuration(0), "0:00");
  assert.equal(formatDuration(65_000), "1:05");
  assert.equal(formatDuration(3_725_000), "1:02:05");
  assert.equal(formatDuration(-5_000), "0:00");
});
