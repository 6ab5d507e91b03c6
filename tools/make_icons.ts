/**
 * Regenerates the app icons in `static/icons/` (the PNGs are committed; the
 * build does not run this). The SVG source is written here and rasterised
 * with headless Chromium (`/usr/bin/chromium`, Debian's `chromium` package)
 * through playwright-core:
 *
 *     deno run -A tools/make_icons.ts
 *
 * Outputs: `icon.svg` (also the SVG favicon), `icon-192.png`, `icon-512.png`
 * (purpose "any": rounded square), `maskable-512.png` (full-bleed, glyph in
 * the central 80% safe zone), `apple-touch-icon.png` (180×180, opaque),
 * `badge-96.png` (white on transparent, for notifications) and
 * `favicon.ico` (16, 32 and 48 px PNGs).
 * @module
 */
import { chromium } from "playwright-core";

const OUT = new URL("../static/icons/", import.meta.url);

/** Palette: blue to teal background, white machine, navy door rim. */
const DEFS = `<defs>
  <linearGradient id="bg" x1="0" y1="0" x2="1" y2="1">
    <stop offset="0" stop-color="#2A7DE1"/><stop offset="1" stop-color="#0FA3A3"/>
  </linearGradient>
  <linearGradient id="water" x1="0" y1="0" x2="0" y2="1">
    <stop offset="0" stop-color="#3CC6E8"/><stop offset="1" stop-color="#1479C9"/>
  </linearGradient>
  <clipPath id="glass"><circle cx="256" cy="292" r="70"/></clipPath>
</defs>`;

/** Wave across the door glass: the water line of the drum. */
const WAVE = "M176 300 C200 282 224 282 248 298 S296 316 320 298 S344 284 344 292 V372 H176 Z";

/** The washing machine in a 512×512 box, scaled about the centre. */
function machine(scale: number): string {
  return `<g transform="translate(256 256) scale(${scale}) translate(-256 -256)">
  <rect x="136" y="112" width="240" height="300" rx="38" fill="#0B2E59" opacity=".18" transform="translate(0 10)"/>
  <rect x="136" y="104" width="240" height="300" rx="38" fill="#FFFFFF"/>
  <path d="M136 142 a38 38 0 0 1 38 -38 h164 a38 38 0 0 1 38 38 v24 h-240 z" fill="#DCEEFB"/>
  <rect x="160" y="126" width="72" height="18" rx="9" fill="#FFFFFF" stroke="#9CC3E6" stroke-width="4"/>
  <circle cx="312" cy="135" r="12" fill="#2A7DE1"/>
  <circle cx="348" cy="135" r="12" fill="#0FA3A3"/>
  <circle cx="256" cy="292" r="92" fill="#163D6B"/>
  <circle cx="256" cy="292" r="70" fill="#E3F5FF"/>
  <path d="${WAVE}" fill="url(#water)" clip-path="url(#glass)"/>
  <path d="M214 250 a58 58 0 0 1 34 -18" fill="none" stroke="#FFFFFF" stroke-width="10" stroke-linecap="round" opacity=".85"/>
</g>`;
}

/** Monochrome silhouette: white body with the door and buttons cut out. */
function badge(): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">
<defs><clipPath id="g"><circle cx="256" cy="304" r="84"/></clipPath><mask id="m">
  <rect x="104" y="56" width="304" height="400" rx="56" fill="#fff"/>
  <rect x="136" y="150" width="240" height="16" fill="#000"/>
  <rect x="144" y="96" width="96" height="28" rx="14" fill="#000"/>
  <circle cx="312" cy="110" r="18" fill="#000"/><circle cx="360" cy="110" r="18" fill="#000"/>
  <circle cx="256" cy="304" r="112" fill="#000"/>
  <path d="M160 296 C192 262 224 262 256 292 S320 322 352 288 V400 H160 Z"
    fill="#fff" clip-path="url(#g)"/>
</mask></defs>
<rect width="512" height="512" fill="#fff" mask="url(#m)"/>
</svg>`;
}

/** The icon: `rounded` gives the "any" shape, otherwise a full-bleed square. */
function icon(options: { rounded: boolean; scale: number }): string {
  const bg = options.rounded
    ? `<rect width="512" height="512" rx="112" fill="url(#bg)"/>`
    : `<rect width="512" height="512" fill="url(#bg)"/>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">\n${DEFS}\n${bg}\n${
    machine(options.scale)
  }\n</svg>\n`;
}

/** Packs PNG images into an .ico file (PNG-compressed entries). */
function ico(images: { size: number; png: Uint8Array }[]): Uint8Array {
  const header = 6 + 16 * images.length;
  const total = header + images.reduce((n, i) => n + i.png.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint16(2, 1, true); // type: icon
  view.setUint16(4, images.length, true);
  let offset = header;
  images.forEach(({ size, png }, i) => {
    const at = 6 + 16 * i;
    out[at] = size >= 256 ? 0 : size;
    out[at + 1] = size >= 256 ? 0 : size;
    view.setUint16(at + 4, 1, true); // colour planes
    view.setUint16(at + 6, 32, true); // bits per pixel
    view.setUint32(at + 8, png.length, true);
    view.setUint32(at + 12, offset, true);
    out.set(png, offset);
    offset += png.length;
  });
  return out;
}

if (import.meta.main) {
  const any = icon({ rounded: true, scale: 1 });
  const full = icon({ rounded: false, scale: 0.9 });
  const maskable = icon({ rounded: false, scale: 0.82 });
  const small = icon({ rounded: true, scale: 1.12 });
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
  });
  try {
    const page = await browser.newPage();
    const render = async (svg: string, size: number, opaque = false) => {
      await page.setViewportSize({ width: size, height: size });
      const img = svg.replace("<svg ", `<svg width="${size}" height="${size}" `);
      await page.setContent(`<html><body style="margin:0">${img}</body></html>`);
      return new Uint8Array(await page.screenshot({ omitBackground: !opaque, type: "png" }));
    };
    await Deno.mkdir(OUT, { recursive: true });
    const write = (name: string, data: Uint8Array | string) =>
      typeof data === "string"
        ? Deno.writeTextFile(new URL(name, OUT), data)
        : Deno.writeFile(new URL(name, OUT), data);
    await write("icon.svg", any);
    await write("icon-192.png", await render(any, 192));
    await write("icon-512.png", await render(any, 512));
    await write("maskable-512.png", await render(maskable, 512));
    await write("apple-touch-icon.png", await render(full, 180, true));
    await write("badge-96.png", await render(badge(), 96));
    const favicons = [];
    for (const size of [16, 32, 48]) favicons.push({ size, png: await render(small, size) });
    await write("favicon.ico", ico(favicons));
    console.log(`icons written to ${OUT.pathname}`);
  } finally {
    await browser.close();
  }
}
