/**
 * Accessibility in Chromium at 360 px: axe-core (WCAG 2.1 A/AA rules, which
 * include colour contrast ≥ 4.5:1) finds nothing on any page (board, inbox,
 * settings, admin, login, register, reset, offline, 404) in Korean and
 * English, light and dark (`prefers-color-scheme`); and every control a
 * thumb uses is at least 44 px tall.
 */
import assert from "node:assert/strict";
import {
  browserTest,
  hydrated,
  launchBrowser,
  signIn,
  startAppServer,
} from "../support/browser.ts";
import { admin, resident } from "../support/harness.ts";
import { offlinePage } from "../../lib/sw_logic.ts";
import { loadManifest } from "../../lib/assets.ts";
import { axe, smallTargets } from "../support/a11y.ts";

const VIEWPORT = { width: 360, height: 740 };

for (const scheme of ["light", "dark"] as const) {
  browserTest(`e2e a11y: axe finds nothing on any page (${scheme})`, async () => {
    const srv = await startAppServer();
    const browser = await launchBrowser();
    const style = (await loadManifest()).style;
    const problems: string[] = [];
    try {
      const boss = await admin(srv.url);
      const someone = await resident(srv.url, "axe01", "101");
      const list = (await someone.get("/api/machines")).json.machines;
      // Something on the board and in the inbox: a cycle in use, one done, a notice.
      await someone.post(`/api/machines/${list[0].id}/start`, { minutes: 30 });
      await someone.post(`/api/machines/${list[1].id}/hold`, {});
      await boss.post("/api/admin/announcements", {
        title: "점검 안내",
        body: "내일 오전에 점검해요.",
        target: { type: "all" },
      });
      for (const lang of ["ko", "en"] as const) {
        await boss.put("/api/preferences", { lang });
        const ctx = await browser.newContext({
          viewport: VIEWPORT,
          colorScheme: scheme,
          locale: lang === "ko" ? "ko-KR" : "en-US",
        });
        const page = await ctx.newPage();
        for (const path of ["/login", "/register", "/reset", "/no-such-page"]) {
          await page.goto(srv.url + path);
          await hydrated(page);
          problems.push(...await axe(page, `${lang} ${path}`));
          problems.push(...await smallTargets(page, `${lang} ${path}`));
        }
        // The service worker's offline page, as it serves it.
        await page.route(`${srv.url}/offline-check`, (route) =>
          route.fulfill({
            status: 503,
            contentType: "text/html; charset=utf-8",
            body: offlinePage(lang, style, { path: "/settings", reason: "unreachable" }),
          }));
        await page.goto(`${srv.url}/offline-check`);
        problems.push(...await axe(page, `${lang} offline`));
        problems.push(...await smallTargets(page, `${lang} offline`));
        await signIn(ctx, boss);
        for (const path of ["/", "/inbox", "/settings", "/admin", `/report?m=${list[2].id}`]) {
          await page.goto(srv.url + path);
          await hydrated(page);
          await page.waitForTimeout(200);
          problems.push(...await axe(page, `${lang} ${path}`));
          problems.push(...await smallTargets(page, `${lang} ${path}`));
        }
        // The push panel open, too.
        await page.goto(srv.url + "/");
        await hydrated(page);
        await page.click(".push-toggle");
        await page.locator("#push-panel").waitFor();
        problems.push(...await axe(page, `${lang} push panel`));
        await ctx.close();
      }
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
      await srv.close();
    }
  });
}
