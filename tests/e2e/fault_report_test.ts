/**
 * Fault reports in Chromium at 360 px (issue 10): a resident reports a
 * problem from the machine's card; the admin sees it under the machine,
 * marks it out of order with an expected repair day, which every board shows
 * ("수리 예정: 12월 4일"); the repair tells the reporter and the residents
 * queued for that room's washers (a toast, the inbox); the first in line
 * gets the offer instead.
 * @module
 */
import assert from "node:assert/strict";
import {
  browserTest,
  collectErrors,
  hydrated,
  launchBrowser,
  signIn,
  startAppServer,
} from "../support/browser.ts";
import { admin, resident, waitFor } from "../support/harness.ts";
import { t } from "../../lib/i18n.ts";

browserTest(
  "e2e fault report: card → report → out of order until a day → repaired → reporter and queue told",
  async () => {
    const srv = await startAppServer();
    const browser = await launchBrowser();
    try {
      const alice = await resident(srv.url, "alice", "501");
      const boss = await admin(srv.url);
      const w = (await alice.get("/api/machines")).json.machines[0];
      const ctx = await browser.newContext({
        viewport: { width: 360, height: 740 },
        locale: "ko-KR",
      });
      await signIn(ctx, alice);
      const page = await ctx.newPage();
      const errors = collectErrors(page);
      await page.goto(srv.url + "/");
      await hydrated(page);

      // From the card to the report page.
      await page.click(`[data-machine="${w.id}"] .report-link`);
      await page.waitForURL(`**/report?m=${w.id}`);
      await hydrated(page);
      assert.equal(await page.textContent("h1"), t("ko", "report.title", { machine: w.name }));
      // Sending without a category says what is missing.
      await page.click('button[type="submit"]');
      assert.equal(await page.textContent(".banner.error"), t("ko", "report.category"));
      await page.check('input[name="category"][value="leak"]');
      await page.fill('textarea[name="note"]', "바닥에 물이 고여요");
      await page.click('button[type="submit"]');
      await page.waitForSelector("[data-report-sent]");

      // The admin sees it under the machine and sets the repair day.
      const reports = (await boss.get("/api/admin/reports")).json.reports;
      assert.deepEqual(reports[w.id].map((r: { category: string; note: string }) => r.note), [
        "바닥에 물이 고여요",
      ]);
      const adminCtx = await browser.newContext({
        viewport: { width: 360, height: 740 },
        locale: "ko-KR",
      });
      await signIn(adminCtx, boss);
      const adminPage = await adminCtx.newPage();
      await adminPage.goto(srv.url + "/admin");
      await hydrated(adminPage);
      const row = adminPage.locator(`li[data-machine="${w.id}"]`);
      await row.locator("[data-reports] summary").click();
      assert.match(await row.locator("[data-reports]").textContent() ?? "", /바닥에 물이 고여요/);
      await row.locator('[data-action="out_of_order"]').click();
      await row.locator('input[name="reason"]').fill("누수");
      await row.locator('input[name="repairDate"]').fill("2026-12-04");
      await row.locator('button[type="submit"]').click();
      await row.locator("[data-repair]").waitFor();

      // The other washers run, and two residents queue for one: the first will get the
      // offer, the second watches the board in their own browser.
      const ws = (await alice.get("/api/machines")).json.machines.filter((
        m: { kind: string; room: string },
      ) => m.kind === "washer" && m.room === w.room);
      const others = await Promise.all(
        ws.slice(1).map((_: unknown, i: number) => resident(srv.url, `runner${i}`, `60${i}`)),
      );
      for (const [i, r] of others.entries()) {
        assert.equal(
          (await r.post(`/api/machines/${ws[i + 1].id}/start`, { minutes: 60 })).status,
          200,
        );
      }
      const first = await resident(srv.url, "queue1", "701");
      const second = await resident(srv.url, "queue2", "702");
      for (const q of [first, second]) {
        const j = await q.post("/api/waitlist", { room: w.room, kind: "washer" });
        assert.equal(j.status, 201, JSON.stringify(j.json));
      }
      const qCtx = await browser.newContext({
        viewport: { width: 360, height: 740 },
        locale: "ko-KR",
      });
      await signIn(qCtx, second);
      const qPage = await qCtx.newPage();
      const qErrors = collectErrors(qPage);
      await qPage.goto(srv.url + "/");
      await hydrated(qPage);
      assert.ok(
        (await qPage.textContent('[data-group="washer"] [data-queue]'))!.includes(
          t("ko", "board.queue_place", { n: 2, place: 2 }),
        ),
        "the line and my place",
      );

      // The resident's board shows the repair day, live.
      await page.goto(srv.url + "/");
      await hydrated(page);
      const card = page.locator(`[data-machine="${w.id}"]`);
      await card.locator("[data-repair]").waitFor({ timeout: 10_000 });
      assert.equal(
        (await card.locator("[data-repair]").textContent())?.trim(),
        t("ko", "board.repair_eta", { m: 12, d: 4 }),
      );
      assert.equal(
        await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth),
        true,
        "no sideways scroll at 360 px",
      );

      // Repaired: the card is free again and the reporter is told.
      await row.locator('[data-action="repair"]').click();
      await page.waitForSelector(`[data-machine="${w.id}"][data-state="available"]`, {
        timeout: 10_000,
      });
      const title = t("ko", "n.repaired.title", { machine: w.name });
      await page.waitForFunction(
        (text) => document.body.textContent?.includes(text),
        title,
        { timeout: 10_000 },
      );
      const inbox = (await alice.get("/api/notifications")).json.items;
      assert.equal(inbox.filter((i: { kind: string }) => i.kind === "machine.repaired").length, 1);
      // The second in line is told on their board (a toast), and still in line.
      const queuedBody = t("ko", "n.repaired.queued_body", { machine: w.name });
      const toast = qPage.locator('[data-toast][data-kind="machine.repaired"]');
      await toast.waitFor({ timeout: 10_000 });
      assert.equal(await toast.locator("strong").textContent(), title);
      assert.equal(await toast.locator(".toast-text span").textContent(), queuedBody);
      assert.ok(
        (await qPage.textContent('[data-group="washer"] [data-queue]'))!.includes(
          t("ko", "board.queue_place", { n: 2, place: 2 }),
        ),
      );
      // The first in line has the offer, not a second notice.
      const kindsOf = async () =>
        (await first.get("/api/notifications")).json.items.map((i: { kind: string }) => i.kind);
      await waitFor(async () => (await kindsOf()).length > 0 || undefined, 10_000, "the offer");
      assert.deepEqual(await kindsOf(), ["waitlist.offer"]);
      assert.deepEqual(errors, []);
      assert.deepEqual(qErrors, []);
    } finally {
      await browser.close();
      await srv.close();
    }
  },
);
