import assert from "node:assert/strict";
import { renderToString } from "preact-render-to-string";
import { BARS, barsSvg, clip, HEATMAP, heatmapSvg } from "./charts.ts";

const count = (html: string, re: RegExp) => (html.match(re) ?? []).length;

Deno.test("heatmapSvg: named and described, one cell per day and hour, steps as classes", () => {
  const steps = Array.from(
    { length: 7 },
    (_, c) => Array.from({ length: 24 }, (_, r) => (c + r) % 5),
  );
  const html = renderToString(heatmapSvg({
    id: "hm-1",
    title: "1층 <세탁실>",
    desc: "진할수록 붐벼요",
    columns: ["월", "화", "수", "목", "금", "토", "일"],
    rows: Array.from({ length: 24 }, (_, r) => `${r}시`),
    steps,
    cellLabel: (c, r) => `${c}/${r}`,
    highlight: { column: 2, row: 21 },
  }));
  assert.match(
    html,
    /^<svg class="chart heatmap" role="img" aria-labelledby="hm-1-title hm-1-desc"/,
  );
  assert.match(html, /<title id="hm-1-title">1층 &lt;세탁실><\/title><desc id="hm-1-desc">/);
  assert.equal(count(html, /<rect [^>]*class="hm-\d"/g), 7 * 24);
  assert.equal(count(html, /class="hm-0"/g), steps.flat().filter((s) => s === 0).length);
  assert.match(html, /<title>6\/23<\/title>/);
  const width = HEATMAP.labelW + 7 * HEATMAP.cellW;
  assert.match(html, new RegExp(`viewBox="0 0 ${width} ${HEATMAP.headH + 24 * HEATMAP.cellH}"`));
  assert.ok(width <= 330, "fits a 360 px screen at natural size");
  // The current hour is outlined at its cell.
  const now = html.match(/<rect x="([\d.]+)" y="([\d.]+)"[^>]*class="chart-now"/)!;
  assert.equal(Number(now[1]), HEATMAP.labelW + 2 * HEATMAP.cellW + 0.5);
  assert.equal(Number(now[2]), HEATMAP.headH + 21 * HEATMAP.cellH + 0.5);
});

Deno.test("heatmapSvg: missing or out-of-range steps are clamped; no highlight, no outline", () => {
  const html = renderToString(heatmapSvg({
    id: "x",
    title: "t",
    desc: "d",
    columns: ["a", "b"],
    rows: ["0", "1"],
    steps: [[9, -2]],
    cellLabel: () => "c",
  }));
  assert.deepEqual([...html.matchAll(/class="(hm-\d)"/g)].map((m) => m[1]), [
    "hm-4",
    "hm-0",
    "hm-0",
    "hm-0",
  ]);
  assert.doesNotMatch(html, /chart-now/);
});

Deno.test("barsSvg: bar lengths are shares of the max; labels escaped and clipped", () => {
  const html = renderToString(barsSvg({
    id: "util",
    title: "이용률",
    desc: "기계별",
    bars: [
      { label: "세탁기 1", value: 0.5, text: "50%" },
      { label: "<script>alert(1)</script> and a very long machine name", value: 0.25, text: "25%" },
      { label: "옛 건조기", value: 0, text: "0%", muted: true },
    ],
    max: 1,
  }));
  assert.match(html, /role="img" aria-labelledby="util-title util-desc"/);
  assert.doesNotMatch(html, /<script>/);
  assert.match(html, />&lt;script>alert\(1\)&lt;\/script>…<\/text>/);
  const widths = [...html.matchAll(/width="([\d.]+)"[^>]*class="chart-bar[^"]*"/g)].map((m) =>
    Number(m[1])
  );
  assert.deepEqual(widths, [BARS.width * 0.5, BARS.width * 0.25, 0]);
  assert.match(html, /class="chart-bar muted"/);
  assert.match(html, />50%<\/text>/);
});

Deno.test("barsSvg: the largest value is full width by default; all zero or NaN draws empty bars", () => {
  const full = renderToString(barsSvg({
    id: "a",
    title: "t",
    desc: "d",
    bars: [{ label: "x", value: 4, text: "4" }, { label: "y", value: 2, text: "2" }],
  }));
  assert.deepEqual(
    [...full.matchAll(/data-share="([\d.]+)"/g)].map((m) => m[1]),
    ["1.000", "0.500"],
  );
  const empty = renderToString(barsSvg({
    id: "b",
    title: "t",
    desc: "d",
    bars: [{ label: "x", value: 0, text: "0" }, { label: "y", value: Number.NaN, text: "–" }],
  }));
  assert.deepEqual([...empty.matchAll(/data-share="([\d.]+)"/g)].map((m) => m[1]), [
    "0.000",
    "0.000",
  ]);
  const none = renderToString(barsSvg({ id: "c", title: "t", desc: "d", bars: [] }));
  assert.match(none, /viewBox="0 0 320 40"/, "an empty chart keeps a height");
});

Deno.test("clip: keeps short labels, cuts long ones by characters (Korean too)", () => {
  assert.equal(clip("세탁기 1"), "세탁기 1");
  assert.equal(clip("가나다라마바사", 4), "가나다…");
  assert.equal([...clip("x".repeat(40))].length, BARS.labelMax);
});
