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
import {
  browserTest,
  hydrated,
  launchBrowser,
  signIn,
  startAppServer,
} from "../support/browser.ts";
import { admin, resident, waitFor } from "../support/harness.ts";
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

browserTest(
  "e2e QR sheet: prints on A4; a scanned code opens the machine's card in view, walk-up start in two taps",
  async () => {
    const srv = await startAppServer();
    const browser = await launchBrowser();
    try {
      const boss = await admin(srv.url);
      const walker = await resident(srv.url, "qr02", "302");
      const bid = walker.user.buildingId;
      const machines = (await walker.get("/api/machines")).json.machines as Machine[];
      // The last machine: on a phone it is far below the fold of the board.
      const m = machines.at(-1)!;

      // The sheet prints on A4 (595 × 842 pt), its own @page size.
      const adminCtx = await browser.newContext();
      await signIn(adminCtx, boss);
      const sheet = await adminCtx.newPage();
      await sheet.goto(srv.url + "/admin/qr");
      await sheet.emulateMedia({ media: "print" });
      const pdf = new TextDecoder("latin1").decode(await sheet.pdf({ preferCSSPageSize: true }));
      const boxes = [...pdf.matchAll(/\/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]/g)];
      assert.ok(boxes.length >= 1, "the PDF has pages");
      for (const [, w, h] of boxes) {
        assert.ok(
          Math.abs(Number(w) - 595.28) < 1 && Math.abs(Number(h) - 841.89) < 1,
          `${w}×${h}`,
        );
      }
      await adminCtx.close();

      // A resident's phone opens what the code encodes.
      const ctx = await browser.newContext({
        viewport: { width: 390, height: 700 },
        isMobile: true,
        hasTouch: true,
        locale: "ko-KR",
      });
      await signIn(ctx, walker);
      const tab = await ctx.newPage();
      await tab.goto(machineCardUrl(srv.url, bid, m.id));
      await hydrated(tab);
      const card = tab.locator(`.card.focus[data-machine="${m.id}"]`);
      assert.equal(await card.count(), 1, "the scanned machine's card is marked");
      await tab.waitForFunction(
        (id) => {
          const r = document.querySelector(`[data-machine="${id}"]`)!.getBoundingClientRect();
          return r.top >= 0 && r.bottom <= innerHeight;
        },
        m.id,
        { timeout: 5000 },
      );
      // Tap 1: start; tap 2: the start form's submit (its default minutes).
      await card.locator('[data-action="start"]').tap();
      await card.locator(".start-form button[type=submit]").tap();
      await waitFor(
        async () => {
          const now = (await walker.get("/api/machines")).json.machines as Machine[];
          return now.find((x) => x.id === m.id)?.ownerId === walker.user.id ? true : null;
        },
        10_000,
        "started by the resident",
      );
      await ctx.close();
    } finally {
      await browser.close();
      await srv.close();
    }
  },
);
