/**
 * The board of a building with two laundry rooms, in Chromium: one section
 * per room in the building's order, each with its washers' and dryers' free
 * counts and only its own machines; counts follow live changes; a watch
 * button is drawn once per kind (a watch is building-wide); the room a
 * resident pins comes first, stays first after a reload (localStorage) and
 * unpinning restores the building's order. axe finds nothing on it (ko, en)
 * and nothing scrolls sideways at 360 px.
 */
import assert from "node:assert/strict";
import AxeBuilder from "@axe-core/playwright";
import type { Page } from "playwright-core";
import {
  browserTest,
  collectErrors,
  hydrated,
  launchBrowser,
  signIn,
  startAppServer,
} from "../support/browser.ts";
import { admin, Client } from "../support/harness.ts";
import { t } from "../../lib/i18n.ts";
import { DEMO_ROOM, demoMachineName } from "../../lib/seed.ts";

const ROOM_1 = DEMO_ROOM;
const ROOM_2 = "B동 지하";

/** The room names in the order the board shows them. */
async function roomOrder(page: Page): Promise<string[]> {
  return await page.locator("[data-room]").evaluateAll((els) =>
    els.map((e) => e.getAttribute("data-room") ?? "")
  );
}

/** The free-count text of `kind` in `room`. */
async function count(page: Page, room: string, kind: string): Promise<string | null> {
  return await page.locator(`[data-room="${room}"] [data-group="${kind}"] [data-free-count]`)
    .textContent();
}

browserTest("e2e board: two laundry rooms, counts per room, the pinned room first", async () => {
  const srv = await startAppServer();
  const browser = await launchBrowser();
  try {
    // A building with two rooms: room 1 gets 2 washers and 1 dryer, room 2 a washer and a dryer.
    const boss = await admin(srv.url);
    const made = await boss.post("/api/operator/buildings", {
      name: "해오름관",
      washers: 2,
      dryers: 1,
      rooms: [ROOM_1, ROOM_2],
    });
    assert.equal(made.status, 201);
    const bid = made.json.building.id;
    for (const [name, kind] of [["세탁기 3", "washer"], ["건조기 2", "dryer"]]) {
      const r = await boss.post(`/api/admin/machines?building=${bid}`, {
        name,
        kind,
        room: ROOM_2,
      });
      assert.equal(r.status, 201, JSON.stringify(r.json));
    }
    const ann = new Client(srv.url);
    const ben = new Client(srv.url);
    for (const [c, id] of [[ann, "ann"], [ben, "ben"]] as const) {
      const r = await c.register(id, id, "101", { inviteCode: made.json.inviteCode });
      assert.equal(r.status, 201);
    }
    const machines = (await ann.get("/api/machines")).json.machines as {
      id: string;
      name: string;
      room: string;
    }[];
    assert.equal(machines.length, 5);
    const byName = (n: string) => machines.find((m) => m.name === n)!.id;
    // Ben uses both dryers: no dryer is free anywhere in the building.
    for (const n of [demoMachineName("dryer", 1), "건조기 2"]) {
      assert.equal(
        (await ben.post(`/api/machines/${byName(n)}/start`, { minutes: 50 })).status,
        200,
      );
    }
    // Ann uses room 2's washer.
    assert.equal(
      (await ann.post(`/api/machines/${byName("세탁기 3")}/start`, { minutes: 30 })).status,
      200,
    );

    const ctx = await browser.newContext({
      viewport: { width: 360, height: 740 },
      locale: "ko-KR",
    });
    await signIn(ctx, ann);
    const page = await ctx.newPage();
    const errors = collectErrors(page);
    await page.goto(srv.url + "/");
    await hydrated(page);
    await page.waitForSelector('[data-status="connected"]');
    assert.deepEqual(await roomOrder(page), [ROOM_1, ROOM_2]);
    const free = (n: number, of: number) => t("ko", "board.free_count", { free: n, total: of });
    assert.equal(await count(page, ROOM_1, "washer"), free(2, 2));
    assert.equal(await count(page, ROOM_1, "dryer"), free(0, 1));
    assert.equal(await count(page, ROOM_2, "washer"), free(0, 1));
    assert.equal(await count(page, ROOM_2, "dryer"), free(0, 1));
    // Headings read "세탁기 2/2 비어 있음".
    assert.equal(
      (await page.locator(`[data-room="${ROOM_1}"] [data-group="washer"] .group-head h3`)
        .textContent())
        ?.replace(/\s+/g, " "),
      `${t("ko", "group.washer")} ${free(2, 2)}`,
    );
    // Each room lists only its machines.
    const names = async (room: string) =>
      await page.locator(`[data-room="${room}"] [data-machine] .name`).allTextContents();
    assert.deepEqual(await names(ROOM_1), [
      demoMachineName("washer", 1),
      demoMachineName("washer", 2),
      demoMachineName("dryer", 1),
    ]);
    assert.deepEqual(await names(ROOM_2), ["세탁기 3", "건조기 2"]);
    // No dryer free anywhere: each room offers its own dryer queue; room 1's washers are free:
    // no washer queue there.
    for (const room of [ROOM_1, ROOM_2]) {
      assert.equal(
        await page.locator(`[data-room="${room}"] [data-queue-btn="dryer"]`).count(),
        1,
        room,
      );
    }
    assert.equal(
      await page.locator(`[data-room="${ROOM_1}"] [data-queue-btn="washer"]`).count(),
      0,
    );
    // Unique ids (aria-labelledby stays right).
    const dupes = await page.evaluate(() => {
      const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
      return ids.filter((id, i) => ids.indexOf(id) !== i);
    });
    assert.deepEqual(dupes, []);

    // Live: Ben takes a washer in room 1; only room 1's count changes.
    assert.equal(
      (await ben.post(`/api/machines/${byName(demoMachineName("washer", 1))}/start`, {
        minutes: 30,
      })).status,
      200,
    );
    await page.waitForFunction(
      ([sel, want]) => document.querySelector(sel)?.textContent === want,
      [`[data-room="${ROOM_1}"] [data-group="washer"] [data-free-count]`, free(1, 2)] as const,
    );
    assert.equal(await count(page, ROOM_2, "washer"), free(0, 1));

    // Pin room 2: it comes first, pressed; and stays first after a reload.
    const pin2 = page.locator(`[data-pin="${ROOM_2}"]`);
    assert.equal(await pin2.getAttribute("aria-pressed"), "false");
    await pin2.click();
    assert.deepEqual(await roomOrder(page), [ROOM_2, ROOM_1]);
    assert.equal(await page.locator(`[data-pin="${ROOM_2}"]`).getAttribute("aria-pressed"), "true");
    assert.equal(await page.evaluate(() => localStorage.getItem("ll_room")), ROOM_2);
    await page.reload();
    await hydrated(page);
    await page.waitForFunction(
      (r) => document.querySelector("[data-room]")?.getAttribute("data-room") === r,
      ROOM_2,
    );
    assert.deepEqual(await roomOrder(page), [ROOM_2, ROOM_1]);
    // The first room shown has its own dryer queue button.
    assert.equal(
      await page.locator(`[data-room="${ROOM_2}"] [data-queue-btn="dryer"]`).count(),
      1,
    );
    const wide = await page.evaluate(() =>
      document.documentElement.scrollWidth - document.documentElement.clientWidth
    );
    assert.equal(wide, 0, "no sideways scroll at 360 px");
    // axe in Korean, then English.
    for (const lang of ["ko", "en"] as const) {
      if (lang === "en") {
        await ann.put("/api/preferences", { lang: "en" });
        await page.goto(srv.url + "/lang/en");
        await hydrated(page);
        await page.waitForSelector(`[data-room="${ROOM_2}"]:first-of-type`);
        assert.equal(
          await count(page, ROOM_1, "washer"),
          t("en", "board.free_count", { free: 1, total: 2 }),
        );
      }
      const r = await new AxeBuilder({ page })
        .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
        .analyze();
      assert.deepEqual(r.violations.map((v) => `${lang}: ${v.id} ${v.nodes[0]?.target}`), []);
    }
    // Unpin: back to the building's order.
    await page.locator(`[data-pin="${ROOM_2}"]`).click();
    assert.deepEqual(await roomOrder(page), [ROOM_1, ROOM_2]);
    assert.equal(await page.evaluate(() => localStorage.getItem("ll_room")), null);
    assert.deepEqual(errors, []);
    await ctx.close();
  } finally {
    await browser.close();
    await srv.close();
  }
});

browserTest("e2e board: a building with one laundry room shows no room sections", async () => {
  const srv = await startAppServer();
  const browser = await launchBrowser();
  try {
    const boss = await admin(srv.url);
    const ctx = await browser.newContext({ locale: "ko-KR" });
    await signIn(ctx, boss);
    const page = await ctx.newPage();
    await page.goto(srv.url + "/");
    await hydrated(page);
    assert.equal(await page.locator("[data-room]").count(), 0);
    assert.equal(await page.locator("[data-pin]").count(), 0);
    assert.equal(await page.locator("[data-group] h2").count(), 2, "kind groups as before");
    await ctx.close();
  } finally {
    await browser.close();
    await srv.close();
  }
});
