/**
 * Busy hours in Chromium (issue 10): the residents' heatmap page (`/busy`)
 * and the admins' usage page (`/admin/usage`) render their server-side SVG
 * charts at 360 px and 1280 px, in light and dark, Korean and English, with
 * no horizontal scrolling of the page, nothing axe-core (WCAG 2.1 A/AA)
 * finds, every control at least 44 px, and the numbers in a table too.
 * Four weeks of history are written through the usage store; the delivery
 * funnel gets per-channel counters (`<channel>:<outcome>`) as another part
 * of the app will write them, and renders them without knowing them.
 * @module
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import {
  browserTest,
  collectErrors,
  hydrated,
  launchBrowser,
  signIn,
  startAppServer,
} from "../support/browser.ts";
import { admin, resident } from "../support/harness.ts";
import { axe, smallTargets } from "../support/a11y.ts";
import { seedHistory } from "../support/usage_kit.ts";
import { K, statScope } from "../../lib/keys.ts";
import { putUsageHistory } from "../../lib/usage_store.ts";
import type { Machine } from "../../lib/types.ts";

/** The page scrolls sideways (something is wider than the screen). */
async function overflows(page: Page): Promise<number> {
  return await page.evaluate(() =>
    document.documentElement.scrollWidth - document.documentElement.clientWidth
  );
}

browserTest(
  "e2e busy hours: heatmap and admin charts at 360 and 1280 px, light and dark, axe clean",
  async () => {
    const srv = await startAppServer();
    const browser = await launchBrowser();
    const problems: string[] = [];
    try {
      const boss = await admin(srv.url);
      const someone = await resident(srv.url, "busy01", "301");
      const bid = someone.user.buildingId;
      const machines = (await someone.get("/api/machines")).json.machines as Machine[];
      const kv = srv.ctx.store.kv;
      await seedHistory(kv, bid, machines, { seed: 3 });
      // A machine removed since: its history stays, by name.
      await putUsageHistory(kv, bid, [{
        machineId: "gone01",
        name: "옛 세탁기",
        room: machines[0].room,
        kind: "washer",
        useId: "old1",
        startedAt: Date.now() - 3 * 86_400_000,
        endedAt: Date.now() - 3 * 86_400_000 + 40 * 60_000,
        collectedAt: Date.now() - 3 * 86_400_000 + 55 * 60_000,
      }]);
      // Delivery counters: the overall ones, and per-channel fields the app does not name yet.
      const op = kv.atomic();
      for (
        const [field, n] of [
          ["recipients", 40],
          ["inApp", 12],
          ["pushed", 26],
          ["failed", 2],
          ["webpush:sent", 26],
          ["webpush:delivered", 24],
          ["webpush:clicked", 11],
          ["webpush:acted", 6],
          ["pigeon:sent", 3],
          ["pigeon:lost", 1],
        ] as const
      ) op.sum(K.stat(statScope(bid), field), BigInt(n));
      await op.commit();
      // Something live: a cycle running now.
      await someone.post(`/api/machines/${machines[0].id}/start`, { minutes: 50 });

      for (const scheme of ["light", "dark"] as const) {
        for (const width of [360, 1280]) {
          for (const lang of width === 360 ? ["ko", "en"] as const : ["ko"] as const) {
            const what = `${scheme} ${width}px ${lang}`;
            await boss.put("/api/preferences", { lang });
            await someone.put("/api/preferences", { lang });
            // The resident's heatmap.
            const ctx = await browser.newContext({
              viewport: { width, height: 800 },
              colorScheme: scheme,
              locale: lang === "ko" ? "ko-KR" : "en-US",
              timezoneId: "Asia/Seoul",
            });
            const page = await ctx.newPage();
            const errors = collectErrors(page);
            await signIn(ctx, someone);
            await page.goto(srv.url + "/");
            await hydrated(page);
            assert.equal(await page.locator('.tabs a[href="/busy"]').count(), 1, "in the nav");
            await page.click('.tabs a[href="/busy"]');
            await page.waitForURL(/\/busy$/);
            await hydrated(page);
            assert.equal(await page.locator(".busy-room").count(), 1, what);
            assert.equal(await page.locator("svg.heatmap rect[class^=hm-]").count(), 7 * 24);
            assert.equal(await page.locator("svg.heatmap [data-now]").count(), 1, "this hour");
            const sentence = await page.locator(".busy-now strong").innerText();
            assert.match(
              sentence,
              lang === "ko"
                ? /^지금은 (한산해요|보통이에요|붐벼요)$/
                : /^It's (quiet|moderately busy|busy) now$/,
            );
            // The chart's name and description are the SVG's own.
            const named = await page.locator("svg.heatmap").evaluate((svg) =>
              svg.getAttribute("aria-labelledby")!.split(" ").map((id) =>
                document.getElementById(id)?.textContent ?? ""
              )
            );
            assert.ok(named[0].includes(machines[0].room) && named[1].length > 20, what);
            const box = (await page.locator("svg.heatmap").boundingBox())!;
            assert.ok(box.width <= width - 24 && box.width >= 280, `${what}: heatmap ${box.width}`);
            assert.equal(await overflows(page), 0, `${what}: /busy scrolls sideways`);
            problems.push(...await axe(page, `${what} /busy`));
            problems.push(...await smallTargets(page, `${what} /busy`));
            // The same numbers as a table.
            await page.click(".busy-table summary");
            assert.equal(await page.locator(".busy-table tbody tr").count(), 24);
            assert.equal(await overflows(page), 0, `${what}: the table scrolls the page`);
            problems.push(...await axe(page, `${what} /busy table`));
            assert.equal(
              await page.locator('a[href="/admin/usage"]').count(),
              0,
              "not for residents",
            );
            assert.deepEqual(errors, [], what);

            // The admin's usage page.
            await ctx.clearCookies();
            await signIn(ctx, boss);
            await page.goto(srv.url + "/busy");
            await page.click('a[href="/admin/usage"]');
            await page.waitForURL(/\/admin\/usage$/);
            await hydrated(page);
            assert.equal(await page.locator("[data-chart] svg.bars").count(), 4, what);
            // One row per machine and the removed one, last.
            const rows = page.locator("[data-usage-table] tbody tr");
            assert.equal(await rows.count(), machines.length + 1);
            assert.equal(await rows.last().getAttribute("data-machine"), "gone01");
            assert.match(await rows.last().innerText(), lang === "ko" ? /삭제됨/ : /removed/);
            // The funnel: overall, then each channel in order; an unknown outcome keeps its name.
            assert.deepEqual(
              await page.locator("[data-channel]").evaluateAll((els) =>
                els.map((e) => e.getAttribute("data-channel"))
              ),
              ["all", "pigeon", "webpush"],
            );
            assert.deepEqual(
              await page.locator('[data-channel="webpush"] tbody tr').evaluateAll((els) =>
                els.map((e) => e.getAttribute("data-field"))
              ),
              ["webpush:sent", "webpush:delivered", "webpush:clicked", "webpush:acted"],
            );
            assert.match(await page.locator('[data-channel="pigeon"]').innerText(), /lost/);
            assert.equal(await overflows(page), 0, `${what}: /admin/usage scrolls sideways`);
            for (const svg of await page.locator("svg.chart").all()) {
              const b = (await svg.boundingBox())!;
              assert.ok(b.width <= width && b.width > 200, `${what}: chart ${b.width}`);
            }
            problems.push(...await axe(page, `${what} /admin/usage`));
            problems.push(...await smallTargets(page, `${what} /admin/usage`));
            await page.click('a[href="/admin/usage?days=7"]');
            await page.waitForURL(/days=7/);
            assert.equal(await page.locator('[aria-current="page"][href$="days=7"]').count(), 1);
            assert.deepEqual(errors, [], what);
            await ctx.close();
          }
        }
      }
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
      await srv.close();
    }
  },
);
