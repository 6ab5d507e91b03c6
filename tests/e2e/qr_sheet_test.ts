/**
 * The QR label sheet (issue 9) in Chromium: an admin's `/admin/qr` shows one
 * label per machine of the current building (name, laundry room, code), and
 * every code, read back from the rendered page's pixels with a QR decoder,
 * is exactly that machine's card URL; axe-core finds nothing; a resident is
 * refused like on `/admin`; a machine of another building never appears.
 * @module
 */
import assert from "node:assert/strict";
import * as jsqr from "jsqr";
// @ts-types="@types/pngjs"
import { PNG } from "pngjs";
import { browserTest, launchBrowser, signIn, startAppServer } from "../support/browser.ts";
import { admin, resident } from "../support/harness.ts";
import { axe } from "../support/a11y.ts";
import { machineCardUrl } from "../../lib/qr.ts";
import type { Machine } from "../../lib/types.ts";

/** jsqr's CommonJS default export, however the npm interop presents it. */
const jsQR = ((jsqr as unknown as { default?: unknown }).default ?? jsqr) as (
  data: Uint8ClampedArray,
  width: number,
  height: number,
) => { data: string } | null;

/** A page as the signed-in client gets it (status and HTML). */
async function page(url: string, cookie: string): Promise<{ status: number; text: string }> {
  const r = await fetch(url, { headers: { cookie }, redirect: "manual" });
  return { status: r.status, text: await r.text() };
}

browserTest(
  "e2e QR sheet: one label per machine; every code decodes to its card; axe clean",
  async () => {
    const srv = await startAppServer();
    const browser = await launchBrowser();
    try {
      const boss = await admin(srv.url);
      const someone = await resident(srv.url, "qr01", "301");
      const bid = someone.user.buildingId;
      const machines = (await someone.get("/api/machines")).json.machines as Machine[];
      assert.ok(machines.length >= 2);
      // Another building's machines never appear on this building's sheet.
      const other = await boss.post("/api/operator/buildings", { name: "별관", washers: 1 });
      assert.equal(other.status, 201, JSON.stringify(other.json));
      const foreign = await srv.ctx.store.listMachines(other.json.building.id);
      assert.equal(foreign.length, 1);

      // A resident is refused as on /admin; the admin gets the sheet.
      const refused = await page(srv.url + "/admin/qr", someone.cookie);
      assert.equal(refused.status, (await page(srv.url + "/admin", someone.cookie)).status);
      assert.notEqual(refused.status, 200);
      const html = await page(srv.url + "/admin/qr", boss.cookie);
      assert.equal(html.status, 200);
      assert.equal(html.text.match(/<svg/g)?.length, machines.length, "one code per machine");
      assert.ok(!html.text.includes(foreign[0].id), "no machine of another building");

      const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const tab = await ctx.newPage();
      await signIn(ctx, boss);
      await tab.goto(srv.url + "/admin/qr");
      const labels = tab.locator(".qr-label");
      assert.equal(await labels.count(), machines.length);
      const origin = new URL(srv.url).origin;
      for (const m of machines) {
        const label = tab.locator(`.qr-label[data-machine="${m.id}"]`);
        assert.equal(await label.locator(".qr-name").innerText(), m.name);
        assert.equal(await label.locator(".qr-room-name").innerText(), m.room);
        const png = PNG.sync.read(Buffer.from(await label.locator(".qr-code").screenshot()));
        const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
        assert.ok(code, `${m.name}: the code decodes`);
        assert.equal(code.data, machineCardUrl(origin, bid, m.id), m.name);
      }
      const found = await axe(tab, "/admin/qr");
      assert.deepEqual(found, []);
      if (Deno.env.get("UPDATE_SCREENSHOTS") === "1") {
        await tab.screenshot({ path: "docs/screenshots/qr-sheet.png", fullPage: true });
      }
      await ctx.close();
    } finally {
      await browser.close();
      await srv.close();
    }
  },
);
