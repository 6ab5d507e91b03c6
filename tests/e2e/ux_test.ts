/**
 * Issue 12 in Chromium at 360 px, in Korean and in English: refusals are
 * translated and shown next to their cause (under the form field, on the
 * machine's card, in view), the machine card (groups with free counts, long
 * names wrap at 320 px, end clock, finish confirm, watch state), the language
 * toggle as the saved preference, and sign-in returning to a deep link.
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
import { admin, resident, TEST_ADMIN_PASSWORD } from "../support/harness.ts";
import { t } from "../../lib/i18n.ts";

const LONG_NAME = "3층 동쪽 세탁실 대형 드럼 세탁기 (LG 트롬 21kg) 2번"; // 40 characters
const VIEWPORT = { width: 360, height: 740 };

async function inView(page: Page, selector: string): Promise<void> {
  const box = await page.locator(selector).first().boundingBox();
  assert.ok(box, `${selector} is rendered`);
  assert.ok(box.y >= 0 && box.y + box.height <= VIEWPORT.height, `${selector} in view: ${box.y}`);
}

for (const lang of ["ko", "en"] as const) {
  browserTest(`e2e ux (${lang}): forms show translated errors under the field`, async () => {
    const srv = await startAppServer();
    const browser = await launchBrowser();
    try {
      const ctx = await browser.newContext({
        locale: lang === "ko" ? "ko-KR" : "en-US",
        viewport: VIEWPORT,
      });
      const page = await ctx.newPage();
      const errors = collectErrors(page);
      await page.goto(`${srv.url}/register`);
      await hydrated(page);
      await page.fill('[name="inviteCode"]', "WRONG-CODE");
      await page.fill('[name="loginId"]', `u${lang}01`);
      await page.fill('[name="password"]', "long-enough-1");
      await page.fill('[name="name"]', "Kim");
      await page.fill('[name="room"]', "101");
      await page.click('button[type="submit"]');
      const err = page.locator("#err-inviteCode");
      await err.waitFor({ timeout: 10_000 });
      assert.equal(await err.textContent(), t(lang, "err.invalid_invite"));
      // What was typed is still there.
      assert.equal(await page.inputValue('[name="inviteCode"]'), "WRONG-CODE");

      await page.goto(`${srv.url}/login`);
      await hydrated(page);
      await page.fill('[name="loginId"]', "nobody");
      await page.fill('[name="password"]', "wrong-password");
      await page.click('button[type="submit"]');
      const banner = page.locator("[data-error]");
      await banner.waitFor({ timeout: 10_000 });
      assert.equal(await banner.textContent(), t(lang, "err.bad_credentials"));
      if (lang === "ko") assert.ok(!(await page.content()).includes("Wrong login id"));
      assert.deepEqual(errors.filter((e) => !/401|Failed to load resource/.test(e)), []);
    } finally {
      await browser.close();
      await srv.close();
    }
  });

  browserTest(`e2e ux (${lang}): the machine card at 320–360 px`, async () => {
    const srv = await startAppServer();
    const browser = await launchBrowser();
    try {
      const me = await resident(srv.url, `card${lang}`, "101");
      const other = await resident(srv.url, `other${lang}`, "102");
      await me.put("/api/preferences", { lang });
      const boss = await admin(srv.url);
      const list = (await me.get("/api/machines")).json.machines;
      const washers = list.filter((m: { kind: string }) => m.kind === "washer");
      const dryers = list.filter((m: { kind: string }) => m.kind === "dryer");
      const w1 = washers[0].id as string;
      assert.equal(
        (await boss.patch(`/api/admin/machines/${w1}`, { name: LONG_NAME })).status,
        200,
      );
      // Both dryers busy, so queueing for dryers makes sense.
      for (const d of dryers) {
        assert.equal(
          (await other.post(`/api/machines/${d.id}/start`, { minutes: 30 })).status,
          200,
        );
      }

      const ctx = await browser.newContext({ viewport: { width: 320, height: 740 } });
      await signIn(ctx, me);
      const page = await ctx.newPage();
      const errors = collectErrors(page);
      await page.goto(`${srv.url}/`);
      await hydrated(page);
      await page.waitForSelector('.conn[data-status="connected"]', { timeout: 10_000 });
      // Long names wrap: nothing scrolls sideways at 320 px.
      const [overflow, wide] = await page.evaluate(() => {
        const d = document.documentElement;
        const wide = [...document.querySelectorAll("body *")].filter((el) =>
          el.getBoundingClientRect().right > d.clientWidth + 0.5
        ).map((el) =>
          `${el.tagName}.${el.className} ${Math.round(el.getBoundingClientRect().right)}`
        )
          .slice(0, 8).join(" | ");
        return [d.scrollWidth - d.clientWidth, wide] as const;
      });
      assert.equal(overflow, 0, `no horizontal scroll at 320 px: ${wide}`);
      // Groups with free counts.
      const free = (kind: string) => page.textContent(`[data-group="${kind}"] [data-free-count]`);
      assert.equal(
        await free("washer"),
        t(lang, "board.free_count", { free: washers.length, total: washers.length }),
      );
      assert.equal(await free("dryer"), t(lang, "board.free_count", { free: 0, total: 2 }));
      assert.equal(await page.locator('[data-queue-btn="washer"]').count(), 0, "washers are free");

      await page.setViewportSize(VIEWPORT);
      // Start the long-named washer through the UI: the countdown with its end clock.
      const card = `[data-machine="${w1}"]`;
      await page.click(`${card} [data-action="start"]`);
      await page.fill(`${card} .start-form input`, "30");
      await page.click(`${card} .start-form button[type="submit"]`);
      await page.waitForSelector(`${card}[data-state="in_use"] [data-end-clock]`, {
        timeout: 10_000,
      });
      const clock = await page.textContent(`${card} [data-end-clock]`);
      assert.match(clock!, lang === "ko" ? /^\d\d:\d\d 종료$/ : /^ends \d\d:\d\d$/);

      // 지금 종료 needs a second press; the first one only arms it.
      await page.click(`${card} [data-action="finish"]`);
      await page.waitForSelector(`${card} [data-action="finish"][data-armed="true"]`);
      assert.equal(await page.getAttribute(card, "data-state"), "in_use");
      assert.equal(
        await page.textContent(`${card} [data-note]`),
        t(lang, "board.finish_confirm"),
      );
      await page.click(`${card} [data-action="finish"]`);
      await page.waitForSelector(`${card}[data-state="done"]`, { timeout: 10_000 });

      // A lost race is explained on the card, in view, in the page's language.
      const w2 = washers[1].id as string;
      const card2 = `[data-machine="${w2}"]`;
      await page.locator(card2).scrollIntoViewIfNeeded();
      // The neighbour's hold lands just before ours reaches the server (a real race).
      await page.route(`**/api/machines/${w2}/hold`, async (route) => {
        assert.equal((await other.post(`/api/machines/${w2}/hold`, {})).status, 200);
        await route.continue();
      });
      await page.click(`${card2} [data-action="hold"]`);
      await page.waitForSelector(`${card2} [data-note]`, { timeout: 10_000 });
      assert.equal(await page.textContent(`${card2} [data-note]`), t(lang, "err.invalid_state"));
      await inView(page, `${card2} [data-note]`);

      // Queue for dryers (none free): the group shows the line and our place; when
      // one frees up it is offered to us (잡기 / 양보하기), and taking it leaves the line.
      await page.locator('[data-queue-btn="dryer"]').scrollIntoViewIfNeeded();
      await page.click('[data-queue-btn="dryer"]');
      await page.waitForSelector('[data-queue-btn="dryer"][aria-pressed="true"]');
      await inView(page, '[data-group="dryer"] [data-note]');
      assert.equal(
        await page.textContent('[data-group="dryer"] [data-note]'),
        t(lang, "board.queued"),
      );
      assert.ok(
        (await page.textContent('[data-group="dryer"] [data-queue]'))!.includes(
          t(lang, "board.queue_place", { n: 1, place: 1 }),
        ),
      );
      assert.equal((await other.post(`/api/machines/${dryers[0].id}/finish`, {})).status, 200);
      assert.equal((await other.post(`/api/machines/${dryers[0].id}/collect`, {})).status, 200);
      const dcard = `[data-machine="${dryers[0].id}"]`;
      await page.waitForSelector(`${dcard}.offered [data-action="take"]`, { timeout: 10_000 });
      assert.equal(
        await page.textContent(`${dcard} .owner`),
        t(lang, "owner.offer_mine"),
      );
      await page.click(`${dcard} [data-action="take"]`);
      await page.waitForSelector(`${dcard}[data-state="held"].mine`, { timeout: 10_000 });
      // Taken: out of the line.
      await page.waitForSelector('[data-queue-btn="dryer"][aria-pressed="false"]', {
        timeout: 10_000,
      });
      assert.deepEqual((await me.get("/api/waitlist")).json.queues, []);
      // Offline: the buttons are off, and the board says why.
      await ctx.setOffline(true);
      await page.waitForSelector("[data-offline-actions]", { timeout: 15_000 });
      assert.equal(
        await page.textContent("[data-offline-actions]"),
        t(lang, "board.offline_actions"),
      );
      const enabled = await page.locator(".card .actions button:not([disabled])").count();
      assert.equal(enabled, 0, "no enabled card button offline");
      await ctx.setOffline(false);
      assert.deepEqual(
        errors.filter((e) =>
          !/409|Failed to load resource|ERR_INTERNET_DISCONNECTED|WebSocket/.test(e)
        ),
        [],
      );
    } finally {
      await browser.close();
      await srv.close();
    }
  });
}

browserTest(
  "e2e ux: the language toggle is the saved preference; deep links survive sign-in",
  async () => {
    const srv = await startAppServer();
    const browser = await launchBrowser();
    try {
      const me = await resident(srv.url, "toggle1", "101");
      const ctx = await browser.newContext({ locale: "ko-KR", viewport: VIEWPORT });
      await signIn(ctx, me);
      const page = await ctx.newPage();
      await page.goto(`${srv.url}/settings`);
      await hydrated(page);
      assert.equal(await page.getAttribute("html", "lang"), "ko");
      await page.click("a.lang");
      await page.waitForFunction(() => document.documentElement.lang === "en");
      await hydrated(page);
      assert.equal((await me.get("/api/preferences")).json.preferences.lang, "en");
      assert.equal(await page.inputValue('select[name="lang"]'), "en");
      // Saving another setting keeps English.
      await page.click('form button[type="submit"]');
      await page.waitForTimeout(500);
      assert.equal(await page.getAttribute("html", "lang"), "en");
      assert.equal((await me.get("/api/preferences")).json.preferences.lang, "en");

      // A deep link: signed out, /admin asks for sign-in and then opens /admin.
      const anon = await browser.newContext({ locale: "en-US", viewport: VIEWPORT });
      const p2 = await anon.newPage();
      await p2.goto(`${srv.url}/admin`);
      assert.match(p2.url(), /\/login\?next=%2Fadmin$/);
      await hydrated(p2);
      await p2.fill('[name="loginId"]', "admin");
      await p2.fill('[name="password"]', TEST_ADMIN_PASSWORD);
      await p2.click('button[type="submit"]');
      await p2.waitForURL(`${srv.url}/admin`, { timeout: 10_000 });
    } finally {
      await browser.close();
      await srv.close();
    }
  },
);

for (const lang of ["ko", "en"] as const) {
  browserTest(
    `e2e ux (${lang}): admin reorders machines, one flash at a time, duplicates refused`,
    async () => {
      const srv = await startAppServer();
      const browser = await launchBrowser();
      try {
        const boss = await admin(srv.url);
        await boss.put("/api/preferences", { lang });
        const before = (await boss.get("/api/admin/machines")).json.machines;
        const ctx = await browser.newContext({ viewport: VIEWPORT });
        await signIn(ctx, boss);
        const page = await ctx.newPage();
        await page.goto(`${srv.url}/admin`);
        await hydrated(page);
        const panel = page.locator("#machines");
        // Move the second machine up: the board order follows.
        await panel.locator(`li[data-machine="${before[1].id}"] [data-action="up"]`).click();
        await panel.locator(".banner.ok").waitFor({ timeout: 10_000 });
        assert.equal(
          await panel.locator(".banner.ok").textContent(),
          t(lang, "admin.moved", { name: before[1].name }),
        );
        const after = (await boss.get("/api/machines")).json.machines.map((m: { id: string }) =>
          m.id
        );
        assert.deepEqual(after.slice(0, 2), [before[1].id, before[0].id]);
        // A duplicate name is explained under the add form's name field, translated.
        await panel.locator('.add-form [name="name"]').fill(before[2].name);
        await panel.locator('.add-form [name="room"]').fill(before[2].room);
        await panel.locator('.add-form button[type="submit"]').click();
        const err = panel.locator("#add-name-error");
        await err.waitFor({ timeout: 10_000 });
        assert.equal(await err.textContent(), t(lang, "err.duplicate_name"));
        // A success elsewhere on the page replaces the earlier banner: one at a time.
        await panel.locator(`li[data-machine="${before[3].id}"] [data-action="up"]`).click();
        await page.waitForFunction(
          (text) => document.querySelector("#machines .banner.ok")?.textContent === text,
          t(lang, "admin.moved", { name: before[3].name }),
        );
        await page.locator("#invites").scrollIntoViewIfNeeded();
        await page.locator('#invites form button[type="submit"]').first().click();
        await page.waitForFunction(
          () =>
            document.querySelectorAll(".admin-section .banner.ok, .admin-section .banner.error")
                .length === 1 && !document.querySelector("#machines .banner.ok"),
          undefined,
          { timeout: 10_000 },
        );
        assert.equal(await page.locator("main .banner.ok").count(), 1);
      } finally {
        await browser.close();
        await srv.close();
      }
    },
  );
}

for (const lang of ["ko", "en"] as const) {
  browserTest(`e2e ux (${lang}): account recovery from the admin's code to the board`, async () => {
    const srv = await startAppServer();
    const browser = await launchBrowser();
    try {
      const boss = await admin(srv.url);
      await boss.put("/api/preferences", { lang });
      await resident(srv.url, `lost${lang}`, "204");
      const actx = await browser.newContext({ viewport: VIEWPORT });
      await signIn(actx, boss);
      const ap = await actx.newPage();
      await ap.goto(`${srv.url}/admin`);
      await hydrated(ap);
      await ap.click(`[data-resident="lost${lang}"] [data-action="reset"]`);
      const box = ap.locator("[data-reset-code]");
      await box.waitFor({ timeout: 10_000 });
      const code = (await box.locator("code").textContent())!;
      const link = (await box.locator("a").getAttribute("href"))!;
      assert.match(code, /^RSET-/);

      const rctx = await browser.newContext({
        viewport: VIEWPORT,
        locale: lang === "ko" ? "ko-KR" : "en-US",
      });
      const rp = await rctx.newPage();
      await rp.goto(`${srv.url}/login`);
      await hydrated(rp);
      await rp.click('a[href="/reset"]');
      await rp.waitForURL(`${srv.url}/reset`);
      assert.equal(await rp.textContent("h1"), t(lang, "reset.title"));
      await rp.goto(srv.url + link);
      await hydrated(rp);
      assert.equal(await rp.inputValue('[name="resetCode"]'), code);
      await rp.fill('[name="password"]', "brand-new-pass-1");
      await rp.click('button[type="submit"]');
      await rp.waitForURL(`${srv.url}/`, { timeout: 10_000 });
      await rp.waitForSelector(".board");
      // The code is spent: using the link again explains it under the field.
      const again = await rctx.newPage();
      await rctx.clearCookies();
      await again.goto(srv.url + link);
      await hydrated(again);
      await again.fill('[name="password"]', "brand-new-pass-2");
      await again.click('button[type="submit"]');
      await again.locator("#err-resetCode").waitFor({ timeout: 10_000 });
      assert.equal(await again.textContent("#err-resetCode"), t(lang, "err.invalid_reset"));
    } finally {
      await browser.close();
      await srv.close();
    }
  });
}

for (const lang of ["ko", "en"] as const) {
  browserTest(
    `e2e ux (${lang}): one question about notifications after sign-up and at a first start`,
    async () => {
      const srv = await startAppServer();
      const browser = await launchBrowser();
      try {
        const ctx = await browser.newContext({
          viewport: VIEWPORT,
          locale: lang === "ko" ? "ko-KR" : "en-US",
        });
        const page = await ctx.newPage();
        await page.goto(`${srv.url}/register`);
        await hydrated(page);
        await page.fill('[name="inviteCode"]', "TEST-INVITE");
        await page.fill('[name="loginId"]', `ask${lang}`);
        await page.fill('[name="password"]', "long-enough-1");
        await page.fill('[name="name"]', "Park");
        await page.fill('[name="room"]', "301");
        await page.click('button[type="submit"]');
        await page.waitForURL(/\/\?welcome$/, { timeout: 10_000 });
        await hydrated(page);
        const ask = page.locator("[data-push-ask]");
        await ask.waitFor({ timeout: 10_000 });
        assert.equal(await ask.locator(".push-ask-q").textContent(), t(lang, "ask.question"));
        await inView(page, "[data-push-ask]");
        // One clearly labelled control each: the inbox is an envelope, the switch a bell.
        assert.equal(await page.textContent(".bell [aria-hidden]"), "✉");
        // "Turn on" leads to the browser's permission question (headless answers no) and the
        // panel, which explains the block once.
        await ask.locator('[data-ask="yes"]').click();
        await page.locator("#push-panel").waitFor({ timeout: 10_000 });
        await page.waitForFunction(() =>
          document.querySelector(".push-toggle")?.getAttribute("data-push-state") !== "busy"
        );
        const help = await page.locator('#push-panel [data-help="blocked"]').count();
        const errors = await page.locator("#push-panel [data-push-message].error").count();
        assert.ok(help + errors <= 1, "one explanation, not two");
        // Asked once: starting a cycle later does not ask again in this browser.
        await page.goto(`${srv.url}/`);
        await hydrated(page);
        const card = page.locator('[data-machine][data-state="available"]').first();
        await card.locator('[data-action="start"]').click();
        await card.locator('.start-form button[type="submit"]').click();
        await page.waitForSelector('[data-state="in_use"]', { timeout: 10_000 });
        await page.waitForTimeout(300);
        assert.equal(await page.locator("[data-push-ask]").count(), 0);

        // Another browser of a resident who never answered: the first start asks.
        const other = await resident(srv.url, `ask2${lang}`, "302");
        await other.put("/api/preferences", { lang });
        const ctx2 = await browser.newContext({ viewport: VIEWPORT });
        await signIn(ctx2, other);
        const p2 = await ctx2.newPage();
        await p2.goto(`${srv.url}/`);
        await hydrated(p2);
        assert.equal(await p2.locator("[data-push-ask]").count(), 0, "not on every visit");
        const c2 = p2.locator('[data-machine][data-state="available"]').first();
        await c2.locator('[data-action="start"]').click();
        await c2.locator('.start-form button[type="submit"]').click();
        await p2.locator("[data-push-ask]").waitFor({ timeout: 10_000 });
        await p2.click('[data-ask="later"]');
        assert.equal(await p2.locator("[data-push-ask]").count(), 0);
      } finally {
        await browser.close();
        await srv.close();
      }
    },
  );
}
