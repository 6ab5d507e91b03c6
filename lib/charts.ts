/**
 * Small server-rendered SVG charts (no chart library): a heatmap and
 * horizontal bars, as Preact nodes. Each chart is an `<svg role="img">`
 * named by its `<title>` and described by its `<desc>`; pages put the same
 * numbers in a table beside it. Colours come from classes (`chart-*`,
 * `hm-0`…`hm-4` in static/style.css) so the light and dark themes apply; no
 * inline styles (the CSP forbids them). The natural width is about 320 px:
 * CSS scales a chart down on a narrower screen and never up.
 * @module
 */
import { type ComponentChild, h, type VNode } from "preact";

/** Props of {@link heatmapSvg}. */
export interface HeatmapProps {
  /** Unique on the page: the title and desc ids derive from it. */
  id: string;
  title: string;
  desc: string;
  /** Column labels, left to right (weekdays). */
  columns: string[];
  /** Row labels, top to bottom (hours). */
  rows: string[];
  /** Colour step (0–4) of each cell, `[column][row]`. */
  steps: number[][];
  /** Tooltip text of each cell. */
  cellLabel: (column: number, row: number) => string;
  /** A cell to outline (the current hour). */
  highlight?: { column: number; row: number };
}

/**
 * The `<svg>` of a chart of `kind`: named by its title and described by its
 * desc (ids from `p.id`), then `kids`.
 */
function chartSvg(
  kind: string,
  p: { id: string; title: string; desc: string },
  width: number,
  height: number,
  kids: ComponentChild[],
): VNode {
  return h("svg", {
    class: `chart ${kind}`,
    role: "img",
    "aria-labelledby": `${p.id}-title ${p.id}-desc`,
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    id: p.id,
  }, [
    h("title", { id: `${p.id}-title` }, p.title),
    h("desc", { id: `${p.id}-desc` }, p.desc),
    ...kids,
  ]);
}

/** Geometry of the heatmap, in SVG units (≈ CSS px at natural size). */
export const HEATMAP = { labelW: 46, headH: 22, cellW: 38, cellH: 15, gap: 2 } as const;

/** A weekday × hour heatmap: columns are days, rows are hours (fits a phone upright). */
export function heatmapSvg(p: HeatmapProps): VNode {
  const { labelW, headH, cellW, cellH, gap } = HEATMAP;
  const width = labelW + p.columns.length * cellW;
  const height = headH + p.rows.length * cellH;
  const kids: ComponentChild[] = [];
  p.columns.forEach((label, c) =>
    kids.push(
      h("text", {
        x: labelW + c * cellW + cellW / 2,
        y: headH - 7,
        "text-anchor": "middle",
        class: "chart-label",
      }, label),
    )
  );
  p.rows.forEach((label, r) =>
    kids.push(
      h("text", {
        x: labelW - 6,
        y: headH + r * cellH + cellH - 4,
        "text-anchor": "end",
        class: "chart-axis",
      }, label),
    )
  );
  for (let c = 0; c < p.columns.length; c++) {
    for (let r = 0; r < p.rows.length; r++) {
      const step = Math.max(0, Math.min(4, Math.round(p.steps[c]?.[r] ?? 0)));
      kids.push(
        h("rect", {
          x: labelW + c * cellW + gap / 2,
          y: headH + r * cellH + gap / 2,
          width: cellW - gap,
          height: cellH - gap,
          rx: 2,
          class: `hm-${step}`,
        }, h("title", null, p.cellLabel(c, r))),
      );
    }
  }
  if (p.highlight) {
    kids.push(h("rect", {
      x: labelW + p.highlight.column * cellW + 0.5,
      y: headH + p.highlight.row * cellH + 0.5,
      width: cellW - 1,
      height: cellH - 1,
      rx: 3,
      class: "chart-now",
      "data-now": "",
    }));
  }
  return chartSvg("heatmap", p, width, height, kids);
}

/** One bar of {@link barsSvg}. */
export interface Bar {
  label: string;
  value: number;
  /** The value as shown (units, percent). */
  text: string;
  /** Draw it in the quiet colour (a removed machine, a failure count). */
  muted?: boolean;
}

/** Props of {@link barsSvg}. */
export interface BarsProps {
  id: string;
  title: string;
  desc: string;
  bars: Bar[];
  /** The value of a full-width bar (default: the largest value). */
  max?: number;
}

/** Geometry of the bars, in SVG units. */
export const BARS = { width: 320, rowH: 36, barH: 12, labelMax: 26 } as const;

/** Shorten a label to `n` characters with an ellipsis (the table has it in full). */
export function clip(label: string, n: number = BARS.labelMax): string {
  const chars = [...label];
  return chars.length <= n ? label : chars.slice(0, n - 1).join("") + "…";
}

/**
 * Horizontal bars, one row each: the label and the value's text above a bar
 * whose length is `value / max` of the width (a track shows the rest).
 */
export function barsSvg(p: BarsProps): VNode {
  const { width, rowH, barH } = BARS;
  const max = p.max ?? Math.max(0, ...p.bars.map((b) => b.value));
  const height = Math.max(1, p.bars.length) * rowH + 4;
  const kids: ComponentChild[] = [];
  p.bars.forEach((b, i) => {
    const y = i * rowH;
    const share = max > 0 && Number.isFinite(b.value) ? Math.max(0, Math.min(1, b.value / max)) : 0;
    kids.push(
      h("text", { x: 0, y: y + 14, class: "chart-label" }, clip(b.label)),
      h("text", { x: width, y: y + 14, "text-anchor": "end", class: "chart-value" }, b.text),
      h("rect", { x: 0, y: y + 20, width, height: barH, rx: 3, class: "chart-track" }),
      h("rect", {
        x: 0,
        y: y + 20,
        width: Math.round(share * width * 10) / 10,
        height: barH,
        rx: 3,
        class: b.muted ? "chart-bar muted" : "chart-bar",
        "data-share": share.toFixed(3),
      }),
    );
  });
  return chartSvg("bars", p, width, height, kids);
}
