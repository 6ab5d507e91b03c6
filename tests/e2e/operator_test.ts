/**
 * The operator console (/operator) in Chromium, against a real server:
 * - the operator creates a building (its invite codes are shown once and
 *   work: a resident registers into it), renames it, appoints an admin by
 *   login id (an unknown id is refused in the page's language), removes
 *   them, and opens the building's board through its link, where the
 *   building switcher names it;
 * - anyone else gets the translated 403 page;
 * - axe-core (WCAG 2.1 A/AA) finds nothing on /operator with a building's
 *   admins open and a creation's codes shown, in Korean and English, light
 *   and dark; every control is at least 44 px; nothing scrolls sideways at
 *   360 px.
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
import { admin, Client, resident } from "../support/harness.ts";
import { t } from "../../lib/i18n.ts";
import { axe, smallTargets } from "../support/a11y.ts";

const VIEWPORT = { width: 360, height: 740 };

/** Elements wider than the viewport make the page scroll sideways: none may. */
async function sideScroll(page: Page): Promise<number> {
  return await page.evaluate(() =>
    document.documentElement.scrollWidth - document.documentElement.clientWidth
  );
}

browserTest("e2e operator: create a building, appoint an admin, open its board", async () => {
  const srv = await startAppServer();
  const browser = await launchBrowser();
  try {
    const boss = await admin(srv.url);
    const carol = await resident(srv.url, "carol", "301");
    const ctx = await browser.newContext({ viewport: VIEWPORT, locale: "ko-KR" });
    await signIn(ctx, boss);
    const page = await ctx.newPage();
    const errors = collectErrors(page);
    const notFound: string[] = [];
    page.on("response", (r) => {
      if (r.status() === 404) notFound.push(new URL(r.url()).pathname);
    });
    await page.goto(srv.url + "/operator");
    await hydrated(page);
    assert.equal(await page.textContent("h1"), t("ko", "operator.title"));
    // The seeded demo building is listed with its health.
    assert.equal(await page.locator("[data-building]").count(), 1);
    assert.equal(await page.textContent('[data-building] [data-health="machines"] dd'), "6");

    // Create: two laundry rooms, 2 washers and 1 dryer (in the first room).
    const form = page.locator("[data-create-form]");
    await form.locator('input[name="name"]').fill("해오름 기숙사");
    await form.locator('input[name="washers"]').fill("2");
    await form.locator('input[name="dryers"]').fill("1");
    await form.locator('textarea[name="rooms"]').fill("1층 세탁실\nB동 지하");
    assert.equal(await form.locator('input[name="timeZone"]').inputValue(), "Asia/Seoul");
    await form.locator('button[type="submit"]').click();
    const created = page.locator("[data-created]");
    await created.waitFor();
    const id = await created.getAttribute("data-created");
    assert.ok(id);
    const code = await created.locator('[data-code="resident"]').textContent();
    const adminCode = await created.locator('[data-code="admin"]').textContent();
    assert.ok(code && adminCode && code !== adminCode, `two codes: ${code} ${adminCode}`);
    assert.equal(
      await page.locator("#new-building [data-note]").textContent(),
      t("ko", "operator.created", { name: "해오름 기숙사" }),
    );
    const row = page.locator(`[data-building="${id}"]`);
    await row.waitFor();
    assert.equal(await row.locator('[data-health="machines"] dd').textContent(), "3");
    assert.equal(await row.locator('[data-health="admins"] dd').textContent(), "0");
    assert.match(await row.textContent() ?? "", /1층 세탁실, B동 지하/);

    // The resident code registers into the new building.
    const dan = new Client(srv.url);
    assert.equal((await dan.register("dan", "Dan", "101", { inviteCode: code! })).status, 201);
    assert.equal(dan.user.buildingId, id);
    assert.equal((await dan.get("/api/machines")).json.machines.length, 3);

    // Rename.
    await row.locator('[data-action="rename"]').click();
    await row.locator('[data-rename-form] input[name="name"]').fill("해오름관");
    await row.locator('[data-rename-form] button[type="submit"]').click();
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent === "해오름관",
      `[data-building="${id}"] [data-building-name]`,
    );
    assert.equal((await boss.get(`/api/operator/buildings/${id}`)).json.building.name, "해오름관");

    // Appoint: an unknown login id is refused, translated; carol is appointed.
    await row.locator("[data-admins-panel] summary").click();
    await row.locator(`text=${t("ko", "operator.no_admins")}`).waitFor();
    const appoint = row.locator("[data-appoint-form]");
    await appoint.locator('input[name="loginId"]').fill("nobody");
    await appoint.locator('button[type="submit"]').click();
    await row.locator('[data-note][role="alert"]').waitFor();
    assert.equal(await row.locator("[data-note]").textContent(), t("ko", "err.no_user"));
    await appoint.locator('input[name="loginId"]').fill("carol");
    await appoint.locator('button[type="submit"]').click();
    await row.locator('[data-admin="carol"]').waitFor();
    assert.equal(
      await row.locator("[data-note]").textContent(),
      t("ko", "operator.appointed", { name: "carol" }),
    );
    assert.equal(await row.locator('[data-health="admins"] dd').textContent(), "1");
    // The server lists her too (a fresh page: health and the admins panel).
    await page.reload();
    await hydrated(page);
    assert.equal(await row.locator('[data-health="admins"] dd').textContent(), "1");
    await row.locator("[data-admins-panel] summary").click();
    await row.locator('[data-admin="carol"]').waitFor();
    // Carol now administers it (and keeps her own building's board).
    const me = (await carol.get(`/api/me`)).json;
    assert.deepEqual(me.user.adminOf, [id]);
    assert.equal((await carol.get(`/api/admin/machines?building=${id}`)).status, 200);

    // Remove (two presses), then the panel shows no admin again.
    await row.locator('[data-admin="carol"] [data-action="remove-admin"]').click();
    await row.locator('[data-admin="carol"] [data-action="remove-admin"]').click();
    await row.locator('[data-admin="carol"]').waitFor({ state: "detached" });
    assert.equal(await row.locator('[data-health="admins"] dd').textContent(), "0");
    assert.equal((await carol.get(`/api/me`)).json.user.role, "resident");
    assert.equal(await sideScroll(page), 0, "no sideways scroll at 360 px");

    // Open its board: the new building's machines, and the switcher names it.
    await row.locator('[data-open="board"]').click();
    await page.waitForURL(`${srv.url}/?building=${id}`);
    await hydrated(page);
    assert.equal(await page.locator("[data-machine]").count(), 3);
    assert.equal(await page.locator("#building-switch").inputValue(), id);
    // The choice is remembered (cookie): the board without a query stays on it.
    await page.goto(srv.url + "/");
    await hydrated(page);
    assert.equal(await page.locator("[data-machine]").count(), 3);
    // Switching back to the demo building with the switcher (a plain form).
    const demo = (await boss.get("/api/me")).json.user.buildingId;
    await page.selectOption("#building-switch", demo);
    await page.click("[data-switcher] button");
    await page.waitForURL(`${srv.url}/?building=${demo}`);
    await hydrated(page);
    assert.equal(await page.locator("[data-machine]").count(), 6);
    // Its admin page opens too.
    await page.goto(`${srv.url}/admin?building=${id}`);
    await hydrated(page);
    assert.equal(await page.locator("#machines li[data-machine]").count(), 3);
    // The one refusal (the unknown login id) is the only failed request.
    assert.deepEqual(notFound, [`/api/operator/buildings/${id}/admins`]);
    assert.deepEqual(errors.filter((e) => !/Failed to load resource.*404/.test(e)), []);
    await ctx.close();

    // A resident (and a building admin) may not open the console.
    for (const who of [dan, carol]) {
      const res = await who.get("/operator");
      assert.equal(res.status, 403);
    }
    const rctx = await browser.newContext({ viewport: VIEWPORT, locale: "ko-KR" });
    await signIn(rctx, dan);
    const rpage = await rctx.newPage();
    await rpage.goto(srv.url + "/operator");
    assert.match(await rpage.textContent("main") ?? "", new RegExp(t("ko", "operator.forbidden")));
    assert.equal(await rpage.locator('.tabs a[href="/operator"]').count(), 0);
    await rctx.close();
  } finally {
    await browser.close();
    await srv.close();
  }
});

for (const scheme of ["light", "dark"] as const) {
  browserTest(`e2e operator a11y: axe finds nothing on /operator (${scheme})`, async () => {
    const srv = await startAppServer();
    const browser = await launchBrowser();
    const problems: string[] = [];
    try {
      const boss = await admin(srv.url);
      await resident(srv.url, "erin", "202");
      const made = await boss.post("/api/operator/buildings", {
        name: "Maple Hall",
        washers: 2,
        dryers: 2,
        rooms: ["1F laundry", "Basement"],
      });
      assert.equal(made.status, 201);
      const id = made.json.building.id;
      assert.equal(
        (await boss.post(`/api/operator/buildings/${id}/admins`, { loginId: "erin" })).status,
        200,
      );
      for (const lang of ["ko", "en"] as const) {
        await boss.put("/api/preferences", { lang });
        const ctx = await browser.newContext({
          viewport: VIEWPORT,
          colorScheme: scheme,
          locale: lang === "ko" ? "ko-KR" : "en-US",
        });
        await signIn(ctx, boss);
        const page = await ctx.newPage();
        await page.goto(srv.url + "/operator");
        await hydrated(page);
        // Everything open: the admins of the new building, a rename form, a creation's codes.
        const row = page.locator(`[data-building="${id}"]`);
        await row.locator("[data-admins-panel] summary").click();
        await row.locator('[data-admin="erin"]').waitFor();
        await row.locator('[data-action="rename"]').click();
        const form = page.locator("[data-create-form]");
        await form.locator('input[name="name"]').fill(`Birch ${lang} ${scheme}`);
        await form.locator('button[type="submit"]').click();
        await page.locator("[data-created]").waitFor();
        problems.push(...await axe(page, `${lang} /operator`));
        problems.push(...await smallTargets(page, `${lang} /operator`));
        const wide = await sideScroll(page);
        if (wide > 0) problems.push(`${lang} /operator scrolls sideways by ${wide} px`);
        // The board with the switcher, and an error shown.
        await page.goto(`${srv.url}/?building=${id}`);
        await hydrated(page);
        problems.push(...await axe(page, `${lang} / (switcher)`));
        problems.push(...await smallTargets(page, `${lang} / (switcher)`));
        await ctx.close();
      }
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
      await srv.close();
    }
  });
}

browserTest("e2e operator: two tabs on two buildings each stay on their own board", async () => {
  const srv = await startAppServer();
  const browser = await launchBrowser();
  try {
    const boss = await admin(srv.url);
    const demo = (await boss.get("/api/me")).json.user.buildingId as string;
    const created = await boss.post("/api/operator/buildings", {
      name: "둘째 동",
      washers: 2,
      dryers: 1,
    });
    assert.equal(created.status, 201);
    const id = created.json.building.id as string;
    const ctx = await browser.newContext({ viewport: VIEWPORT, locale: "ko-KR" });
    await signIn(ctx, boss);
    const live = (p: Page) =>
      p.waitForSelector('.conn[data-status="connected"]', { timeout: 15_000 });
    // Tab 1: the new building's board (3 machines).
    const one = await ctx.newPage();
    const errors = collectErrors(one);
    await one.goto(`${srv.url}/?building=${id}`);
    await hydrated(one);
    await live(one);
    assert.equal(await one.locator("[data-machine]").count(), 3);
    // Tab 2 switches to the demo building: the cookie now remembers it, and
    // tab 2 saves the demo board for offline use.
    const two = await ctx.newPage();
    await two.goto(`${srv.url}/?building=${demo}`);
    await hydrated(two);
    await live(two);
    assert.equal(await two.locator("[data-machine]").count(), 6);
    // Tab 1's socket drops and comes back: still its own building.
    await ctx.setOffline(true);
    await one.waitForSelector('.conn[data-status="offline"]');
    await ctx.setOffline(false);
    await live(one);
    assert.equal(await one.locator("[data-machine]").count(), 3, "after a reconnect");
    // Reloaded, with the demo board saved by tab 2: its own building's board.
    await one.reload();
    await hydrated(one);
    await live(one);
    assert.equal(await one.locator("[data-machine]").count(), 3, "after a reload");
    // A change in tab 1's building reaches it live.
    const m = (await boss.get(`/api/machines?building=${id}`)).json.machines[0];
    const held = await boss.post(`/api/machines/${m.id}/hold?building=${id}`, {});
    assert.equal(held.status, 200, JSON.stringify(held.json));
    await one.waitForSelector(`[data-machine="${m.id}"][data-state="held"]`, { timeout: 10_000 });
    assert.deepEqual(errors, []);
    await ctx.close();
  } finally {
    await browser.close();
    await srv.close();
  }
});

browserTest(
  "e2e operator: an admin removed from a building while its board is open goes to her own board",
  async () => {
    const srv = await startAppServer();
    const browser = await launchBrowser();
    try {
      const boss = await admin(srv.url);
      const made = await boss.post("/api/operator/buildings", {
        name: "셋째 동",
        washers: 2,
        dryers: 1,
      });
      assert.equal(made.status, 201);
      const id = made.json.building.id as string;
      const carol = await resident(srv.url, "carol", "301");
      const appointed = await boss.post(`/api/operator/buildings/${id}/admins`, {
        loginId: "carol",
      });
      assert.equal(appointed.status, 200);
      const live = (p: Page) =>
        p.waitForSelector('.conn[data-status="connected"]', { timeout: 15_000 });
      // Two browsers of hers on B's board: one online, one offline at the moment of removal.
      const open = async () => {
        const ctx = await browser.newContext({ viewport: VIEWPORT, locale: "ko-KR" });
        await signIn(ctx, carol);
        const page = await ctx.newPage();
        const errors = collectErrors(page);
        await page.goto(`${srv.url}/?building=${id}`);
        await hydrated(page);
        await live(page);
        assert.equal(await page.locator("[data-machine]").count(), 3);
        return { ctx, page, errors };
      };
      const online = await open();
      const offline = await open();
      await offline.ctx.setOffline(true);
      await offline.page.waitForSelector('.conn[data-status="offline"]');

      const removed = await boss.del(`/api/operator/buildings/${id}/admins/${carol.user.id}`);
      assert.equal(removed.status, 200);
      // The open tab's socket is closed by the server (4403): off to her own board (6 machines).
      await online.page.waitForURL(`${srv.url}/`, { timeout: 10_000 });
      await hydrated(online.page);
      await live(online.page);
      assert.equal(await online.page.locator("[data-machine]").count(), 6);
      assert.deepEqual(online.errors, []);
      // The offline tab comes back: its socket to B is refused (404) a few times, then the
      // page asks whether B is still hers and goes to her own board instead of retrying forever.
      await offline.ctx.setOffline(false);
      await offline.page.waitForURL(`${srv.url}/`, { timeout: 20_000 });
      await hydrated(offline.page);
      await live(offline.page);
      assert.equal(await offline.page.locator("[data-machine]").count(), 6);
      // Only the refused handshakes (and the building check's 404) were logged.
      assert.deepEqual(
        offline.errors.filter((e) => !/WebSocket connection|Failed to load resource.*404/.test(e)),
        [],
      );
      await online.ctx.close();
      await offline.ctx.close();
    } finally {
      await browser.close();
      await srv.close();
    }
  },
);
