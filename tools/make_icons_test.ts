import assert from "node:assert/strict";

const DIR = new URL("../static/icons/", import.meta.url);

/** Width, height and colour type from a PNG's IHDR chunk. */
async function png(name: string): Promise<{ width: number; height: number; colorType: number }> {
  const bytes = await Deno.readFile(new URL(name, DIR));
  const view = new DataView(bytes.buffer);
  assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47], `${name} is a PNG`);
  return { width: view.getUint32(16), height: view.getUint32(20), colorType: bytes[25] };
}

Deno.test("committed icons have the sizes and transparency the manifest promises", async () => {
  const sizes: [string, number][] = [
    ["icon-192.png", 192],
    ["icon-512.png", 512],
    ["maskable-512.png", 512],
    ["apple-touch-icon.png", 180],
    ["badge-96.png", 96],
  ];
  for (const [name, size] of sizes) {
    const { width, height } = await png(name);
    assert.deepEqual([width, height], [size, size], name);
  }
  // Opaque where the platform masks the icon itself (colour type 2 = RGB, no alpha).
  assert.equal((await png("apple-touch-icon.png")).colorType, 2);
  assert.equal((await png("maskable-512.png")).colorType, 2);
  // Badge and "any" icons need alpha (6 = RGBA).
  assert.equal((await png("badge-96.png")).colorType, 6);
  assert.equal((await png("icon-512.png")).colorType, 6);
  const svg = await Deno.readTextFile(new URL("icon.svg", DIR));
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 512 512">/);
  const ico = new DataView((await Deno.readFile(new URL("favicon.ico", DIR))).buffer);
  assert.deepEqual([ico.getUint16(0, true), ico.getUint16(2, true), ico.getUint16(4, true)], [
    0,
    1,
    3,
  ]);
});
