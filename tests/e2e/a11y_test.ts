/**
 * Accessibility in Chromium at 360 px: axe-core (WCAG 2.1 A/AA rules, which
 * include colour contrast ≥ 4.5:1) finds nothing on any page (board, inbox,
 * settings, admin, login, register, reset, offline, 404) in Korean and
 * English, light and dark (`prefers-color-scheme`); and every control a
 * thumb uses is at least 44 px tall.
 */
import assert from "node:assert/strict";
import AxeBuilder from "@axe-core/playwright";
import type { Page } from "playwright-core";
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

const VIEWPORT = { width: 360, height: 740 };

async function axe(page: Page, what: string): Promise<string[]> {
  const r = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  return r.violations.map((v) =>
    `${what}: ${v.id} (${v.impact}) ${
      v.nodes.slice(0, 3).map((n) => `${n.target.join(" ")} ${n.failureSummary ?? ""}`).join(" | ")
    }`
  );
}

/** Controls under 44 px tall (visible ones; links inside running text excepted). */
async function smallTargets(page: Page, what: string): Promise<string[]> {
  const small = await page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>(
      "button, .button, .tabs a, .bell, a.lang, input:not([type=checkbox]):not([type=radio]), select",
    )].filter((el) => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && (r.height < 44 || r.width < 44);
    }).map((el) => {
      const r = el.getBoundingClientRect();
      return `${el.tagName}.${el.className} "${(el.textContent ?? "").trim().slice(0, 20)}" ${
        Math.round(r.width)
      }×${Math.round(r.height)}`;
    })
  );
  return small.map((s) => `${what}: ${s}`);
}

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
