import assert from "node:assert/strict";
import { machineCardUrl, qrSvg } from "./qr.ts";

Deno.test("machineCardUrl: origin, building and machine, escaped", () => {
  assert.equal(
    machineCardUrl("https://laundry.example.org", "b1", "m 2&x"),
    "https://laundry.example.org/?building=b1&m=m+2%26x",
  );
});

Deno.test("qrSvg: an SVG with dark modules", async () => {
  const svg = await qrSvg("https://laundry.example.org/?building=b1&m=m2");
  assert(svg.startsWith("<svg"));
  assert(svg.includes("<path"));
});
