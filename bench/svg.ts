/**
 * Minimal SVG charts for the report (no dependencies): grouped bars and
 * lines on linear or log axes. Text uses the system sans-serif font.
 * @module
 */

const COLORS = ["#0f6fae", "#7fb3d5", "#e67e22", "#7f8c8d", "#27ae60", "#8e44ad"];

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function shortNum(v: number): string {
  if (v >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toFixed(1)}`;
}

function frame(w: number, h: number, title: string, subtitle: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12">`,
    `<rect width="${w}" height="${h}" fill="#ffffff"/>`,
    `<text x="16" y="24" font-size="15" font-weight="600" fill="#222">${esc(title)}</text>`,
    `<text x="16" y="42" fill="#555">${esc(subtitle)}</text>`,
  ];
}

function legend(out: string[], names: string[], x: number, y: number): void {
  let cx = x;
  names.forEach((n, i) => {
    out.push(
      `<rect x="${cx}" y="${y - 10}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`,
    );
    out.push(`<text x="${cx + 16}" y="${y}" fill="#333">${esc(n)}</text>`);
    cx += 24 + n.length * 7;
  });
}

/** Grouped vertical bars: `groups` on the x axis, one bar per series. */
export function barChart(opts: {
  title: string;
  subtitle: string;
  groups: string[];
  series: { name: string; values: (number | null)[] }[];
  yLabel: string;
  /** Optional horizontal reference lines. */
  refs?: { value: number; label: string }[];
  width?: number;
  height?: number;
}): string {
  const w = opts.width ?? 760;
  const h = opts.height ?? 400;
  const m = { l: 70, r: 20, t: 80, b: 50 };
  const pw = w - m.l - m.r;
  const ph = h - m.t - m.b;
  const all = opts.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const ymax = niceMax(Math.max(...all, ...(opts.refs ?? []).map((r) => r.value), 1));
  const y = (v: number) => m.t + ph - (v / ymax) * ph;
  const out = frame(w, h, opts.title, opts.subtitle);
  legend(out, opts.series.map((s) => s.name), m.l, 62);
  for (let i = 0; i <= 5; i++) {
    const v = (ymax * i) / 5;
    out.push(`<line x1="${m.l}" x2="${w - m.r}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`);
    out.push(
      `<text x="${m.l - 6}" y="${y(v) + 4}" text-anchor="end" fill="#555">${shortNum(v)}</text>`,
    );
  }
  out.push(
    `<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle" fill="#555">${
      esc(opts.yLabel)
    }</text>`,
  );
  const gw = pw / opts.groups.length;
  const bw = Math.min(40, (gw * 0.8) / opts.series.length);
  opts.groups.forEach((g, gi) => {
    const x0 = m.l + gi * gw + (gw - bw * opts.series.length) / 2;
    opts.series.forEach((s, si) => {
      const v = s.values[gi];
      if (v === null || v === undefined) return;
      const x = x0 + si * bw;
      out.push(
        `<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${
          (m.t + ph - y(v)).toFixed(1)
        }" fill="${COLORS[si % COLORS.length]}"><title>${
          esc(`${s.name} ${g}: ${shortNum(v)}`)
        }</title></rect>`,
      );
      out.push(
        `<text x="${(x + bw / 2 - 1).toFixed(1)}" y="${
          (y(v) - 4).toFixed(1)
        }" text-anchor="middle" font-size="10" fill="#333">${shortNum(v)}</text>`,
      );
    });
    out.push(
      `<text x="${m.l + gi * gw + gw / 2}" y="${h - m.b + 18}" text-anchor="middle" fill="#333">${
        esc(g)
      }</text>`,
    );
  });
  for (const r of opts.refs ?? []) {
    out.push(
      `<line x1="${m.l}" x2="${w - m.r}" y1="${y(r.value)}" y2="${
        y(r.value)
      }" stroke="#c0392b" stroke-dasharray="5 4"/>`,
    );
    out.push(
      `<text x="${w - m.r}" y="${y(r.value) - 4}" text-anchor="end" fill="#c0392b">${
        esc(r.label)
      }</text>`,
    );
  }
  out.push(`<line x1="${m.l}" x2="${w - m.r}" y1="${m.t + ph}" y2="${m.t + ph}" stroke="#999"/>`);
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** Lines through (x, y) points; optional log-scale y. */
export function lineChart(opts: {
  title: string;
  subtitle: string;
  series: { name: string; points: [number, number][] }[];
  xLabel: string;
  yLabel: string;
  logY?: boolean;
  refs?: { value: number; label: string }[];
  width?: number;
  height?: number;
}): string {
  const w = opts.width ?? 760;
  const h = opts.height ?? 400;
  const m = { l: 70, r: 20, t: 80, b: 50 };
  const pw = w - m.l - m.r;
  const ph = h - m.t - m.b;
  const pts = opts.series.flatMap((s) => s.points);
  const xmax = niceMax(Math.max(...pts.map((p) => p[0]), 1));
  const ys = pts.map((p) => p[1]).concat((opts.refs ?? []).map((r) => r.value));
  const ymin = opts.logY
    ? Math.max(1, 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...ys)))))
    : 0;
  const ymax = opts.logY
    ? 10 ** Math.ceil(Math.log10(Math.max(...ys, 10)))
    : niceMax(Math.max(...ys, 1));
  const x = (v: number) => m.l + (v / xmax) * pw;
  const y = (v: number) =>
    opts.logY
      ? m.t + ph -
        ((Math.log10(Math.max(v, ymin)) - Math.log10(ymin)) /
            (Math.log10(ymax) - Math.log10(ymin))) * ph
      : m.t + ph - (v / ymax) * ph;
  const out = frame(w, h, opts.title, opts.subtitle);
  legend(out, opts.series.map((s) => s.name), m.l, 62);
  const yticks = opts.logY
    ? Array.from({ length: Math.round(Math.log10(ymax / ymin)) + 1 }, (_, i) => ymin * 10 ** i)
    : Array.from({ length: 6 }, (_, i) => (ymax * i) / 5);
  for (const v of yticks) {
    out.push(`<line x1="${m.l}" x2="${w - m.r}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`);
    out.push(
      `<text x="${m.l - 6}" y="${y(v) + 4}" text-anchor="end" fill="#555">${shortNum(v)}</text>`,
    );
  }
  for (let i = 0; i <= 5; i++) {
    const v = (xmax * i) / 5;
    out.push(
      `<text x="${x(v)}" y="${h - m.b + 18}" text-anchor="middle" fill="#555">${
        shortNum(v)
      }</text>`,
    );
  }
  out.push(
    `<text x="${m.l + pw / 2}" y="${h - 10}" text-anchor="middle" fill="#555">${
      esc(opts.xLabel)
    }</text>`,
  );
  out.push(
    `<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle" fill="#555">${
      esc(opts.yLabel)
    }</text>`,
  );
  for (const r of opts.refs ?? []) {
    out.push(
      `<line x1="${m.l}" x2="${w - m.r}" y1="${y(r.value)}" y2="${
        y(r.value)
      }" stroke="#c0392b" stroke-dasharray="5 4"/>`,
    );
    out.push(
      `<text x="${w - m.r}" y="${y(r.value) - 4}" text-anchor="end" fill="#c0392b">${
        esc(r.label)
      }</text>`,
    );
  }
  opts.series.forEach((s, si) => {
    const c = COLORS[si % COLORS.length];
    const sorted = [...s.points].sort((a, b) => a[0] - b[0]);
    if (!sorted.length) return;
    out.push(
      `<polyline fill="none" stroke="${c}" stroke-width="2" points="${
        sorted.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ")
      }"/>`,
    );
    if (sorted.length <= 40) {
      for (const p of sorted) {
        out.push(
          `<circle cx="${x(p[0]).toFixed(1)}" cy="${y(p[1]).toFixed(1)}" r="3" fill="${c}"><title>${
            esc(`${s.name}: ${shortNum(p[0])} → ${shortNum(p[1])}`)
          }</title></circle>`,
        );
      }
    }
  });
  out.push(`<line x1="${m.l}" x2="${w - m.r}" y1="${m.t + ph}" y2="${m.t + ph}" stroke="#999"/>`);
  out.push("</svg>");
  return out.join("\n") + "\n";
}
