/**
 * The PWA as a browser sees it:
 * - installability: the manifest is served as application/manifest+json, has
 *   the names, start_url, scope, display and colours, its 192 and 512 icons
 *   exist with those PNG dimensions, and Chromium reports no installability
 *   errors with the service worker (which has a fetch handler) controlling
 *   the page;
 * - page weight: the board page loads at most 25 KB of gzipped JavaScript
 *   (measured from the responses the browser received);
 * - iOS: an iPhone user agent outside the home-screen app sees the "add to
 *   home screen" guidance; one before iOS 16.4 is told push is unavailable.
 */
import assert from "node:assert/strict";
import {
  browserTest,
  controlled,
  hydrated,
  launchBrowser,
  launchProfile,
  signIn,
  startAppServer,
} from "../support/browser.ts";
import { resident } from "../support/harness.ts";
import { t } from "../../lib/i18n.ts";

/**
 * Most gzipped JavaScript the board page may load. 25 KB until 2026-12-04,
 * when the board was 25,591 B; bringing a QR label's card into view and
 * leaving a building one may no longer enter (socket close 4403) took it to
 * 25,683 B, so the budget is 26 KB: a budget that moves only with a feature
 * named here.
 */
const BOARD_JS_BUDGET = 26 * 1024;

/** Width and height from a PNG's IHDR chunk. */
function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  assert.deepEqual([...bytes.subarray(0, 8)], sig, "PNG signature");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(new TextDecoder().decode(bytes.subarray(12, 16)), "IHDR");
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

const IPHONE_17 =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const IPHONE_16_1 =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 16_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.1 Mobile/15E148 Safari/604.1";

browserTest("e2e pwa: manifest, icons, installability, board page weight", async () => {
  const srv = await startAppServer();
  // A real profile: Chromium does not consider installing from incognito contexts.
  const browser = await launchProfile({ locale: "ko-KR" });
  try {
    // The manifest over HTTP.
    const res = await fetch(srv.url + "/manifest.webmanifest");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/manifest\+json/);
    const manifest = await res.json();
    assert.equal(manifest.name, "세탁실 라이브");
    assert.equal(manifest.short_name, "세탁실");
    assert.equal(manifest.start_url, "/");
    assert.equal(manifest.scope, "/");
    assert.equal(manifest.id, "/");
    assert.equal(manifest.display, "standalone");
    assert.equal(manifest.lang, "ko");
    assert.equal(manifest.theme_color, "#0f6fae");
    assert.equal(manifest.background_color, "#f4f7fb");
    const icons = manifest.icons as { src: string; sizes: string; type: string; purpose: string }[];
    for (const want of ["192x192:any", "512x512:any", "512x512:maskable"]) {
      assert.ok(
        icons.some((i) => `${i.sizes}:${i.purpose}` === want && i.type === "image/png"),
        `icon ${want}`,
      );
    }
    for (const icon of icons.filter((i) => i.type === "image/png")) {
      const r = await fetch(srv.url + icon.src);
      assert.equal(r.status, 200, icon.src);
      assert.equal(r.headers.get("content-type"), "image/png");
      const { width, height } = pngSize(new Uint8Array(await r.arrayBuffer()));
      assert.equal(`${width}x${height}`, icon.sizes, icon.src);
    }
    const svg = await fetch(srv.url + "/icons/icon.svg");
    assert.equal(svg.status, 200);
    await svg.body?.cancel();

    // The board page in the browser: JavaScript weight, then installability.
    const alice = await resident(srv.url, "alice");
    const ctx = browser.context;
    // With permission granted the bell also loads its push code (the heavier case).
    await ctx.grantPermissions(["notifications"], { origin: srv.url });
    await signIn(ctx, alice);
    const page = await ctx.newPage();
    const scripts: Promise<{ url: string; bytes: number }>[] = [];
    page.on("requestfinished", (req) => {
      if (req.resourceType() !== "script") return;
      scripts.push(req.sizes().then((s) => ({ url: req.url(), bytes: s.responseBodySize })));
    });
    await page.goto(srv.url + "/");
    await hydrated(page);
    await page.waitForLoadState("networkidle");
    const loaded = await Promise.all(scripts);
    const total = loaded.reduce((n, s) => n + s.bytes, 0);
    const list = loaded.map((s) => `${new URL(s.url).pathname} ${s.bytes}`).join(", ");
    console.log(`board page JavaScript: ${total} bytes gzipped in ${loaded.length} files`);
    assert.ok(loaded.length >= 3, `entry, messages and islands were measured: ${list}`);
    assert.ok(loaded.some((s) => /\/msgs-ko-/.test(s.url)), "the page's language only");
    assert.ok(!loaded.some((s) => /\/msgs-en-|\/fcm-/.test(s.url)), list);
    assert.ok(total > 10_000, `sizes were measured (${total} B): ${list}`);
    assert.ok(total <= BOARD_JS_BUDGET, `board page loads ${total} B of gzipped JS: ${list}`);

    await controlled(page);
    const cdp = await ctx.newCDPSession(page);
    const app = await cdp.send("Page.getAppManifest");
    assert.deepEqual(app.errors, [], "manifest parses without errors");
    const { installabilityErrors } = await cdp.send("Page.getInstallabilityErrors");
    assert.deepEqual(installabilityErrors, [], "Chromium sees an installable app");
  } finally {
    await browser.close();
    await srv.close();
  }
});

browserTest(
  "e2e ios: iPhone Safari outside the home-screen app sees install guidance",
  async () => {
    const srv = await startAppServer();
    const browser = await launchBrowser();
    try {
      const alice = await resident(srv.url, "alice");
      const phone = {
        locale: "ko-KR",
        viewport: { width: 390, height: 844 },
        isMobile: true,
        hasTouch: true,
      };

      const ctx = await browser.newContext({ ...phone, userAgent: IPHONE_17 });
      await signIn(ctx, alice);
      const page = await ctx.newPage();
      await page.goto(srv.url + "/");
      await hydrated(page);
      await page.waitForSelector('button[data-push-state="ios_install"] .push-dot');
      await page.click("button[data-push-state]");
      const guide = page.locator("#push-panel");
      assert.match(await guide.innerText(), new RegExp(t("ko", "ios.install_title")));
      assert.equal(await page.textContent('[data-ios="install"] p'), t("ko", "ios.install_steps"));
      assert.ok(t("ko", "ios.install_steps").includes("홈 화면에 추가"));
      // No permission prompt is offered before the app is installed.
      assert.equal(await page.$('[data-push-action="enable"]'), null);
      // Escape closes the panel and gives focus back to the switch.
      await page.keyboard.press("Escape");
      assert.equal(await page.$("#push-panel"), null);
      assert.equal(
        await page.evaluate(() => document.activeElement?.getAttribute("data-push-state")),
        "ios_install",
      );

      const old = await browser.newContext({ ...phone, userAgent: IPHONE_16_1 });
      await signIn(old, alice);
      const p2 = await old.newPage();
      await p2.goto(srv.url + "/");
      await hydrated(p2);
      await p2.click('button[data-push-state="ios_too_old"]');
      assert.equal(await p2.textContent('[data-ios="too_old"]'), t("ko", "ios.too_old"));
      // The board itself still works there.
      await p2.waitForSelector('.conn[data-status="connected"]');
    } finally {
      await browser.close();
      await srv.close();
    }
  },
);
