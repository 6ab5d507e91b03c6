/**
 * The dryer queue as several residents see it live: on a phone (360 px, in
 * Korean and in English) the group's line length and the resident's own place
 * follow neighbours joining and leaving through the API, and the resident's
 * own join and leave through the page, without a reload.
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
import { resident } from "../support/harness.ts";
import { t } from "../../lib/i18n.ts";

const VIEWPORT = { width: 360, height: 740 };

/** Wait until the dryer group shows a line of `n` with `place` (0: not in it), and return its text. */
async function line(page: Page, n: number, place: number): Promise<string> {
  const sel = `[data-group="dryer"] [data-queue="${n}"]` +
    (place ? `[data-place="${place}"]` : ":not([data-place])");
  await page.waitForSelector(sel, { timeout: 10_000 });
  return (await page.textContent(sel))!;
}

for (const lang of ["ko", "en"] as const) {
  browserTest(`e2e queue (${lang}): the line and my place follow neighbours live`, async () => {
    const srv = await startAppServer();
    const browser = await launchBrowser();
    try {
      const me = await resident(srv.url, `me${lang}`, "101");
      await me.put("/api/preferences", { lang });
      const [bob, cat, dan] = await Promise.all(
        ["bob", "cat", "dan"].map((n, i) => resident(srv.url, `${n}${lang}`, `10${i + 2}`)),
      );
      const list = (await me.get("/api/machines")).json.machines;
      const dryers = list.filter((m: { kind: string }) => m.kind === "dryer");
      const room = dryers[0].room as string;
      for (const d of dryers) {
        assert.equal((await dan.post(`/api/machines/${d.id}/start`, { minutes: 60 })).status, 200);
      }

      const ctx = await browser.newContext({ viewport: VIEWPORT });
      await signIn(ctx, me);
      const page = await ctx.newPage();
      const errors = collectErrors(page);
      await page.goto(`${srv.url}/`);
      await hydrated(page);
      await page.waitForSelector('.conn[data-status="connected"]', { timeout: 10_000 });
      await line(page, 0, 0);

      // Bob joins: one waiting, and I am not in the line.
      assert.equal((await bob.post("/api/waitlist", { room, kind: "dryer" })).status, 201);
      assert.equal(
        await line(page, 1, 0),
        t(lang, "board.queue_len", { n: 1 }) +
          t(lang, "action.queue", { kind: t(lang, "kind.dryer") }),
      );
      // I join through the page: second in a line of two.
      await page.click('[data-queue-btn="dryer"]');
      assert.ok((await line(page, 2, 2)).startsWith(
        t(lang, "board.queue_place", { n: 2, place: 2 }),
      ));
      // Cat joins behind me; then Bob leaves: I move up to first.
      assert.equal((await cat.post("/api/waitlist", { room, kind: "dryer" })).status, 201);
      assert.ok((await line(page, 3, 2)).startsWith(
        t(lang, "board.queue_place", { n: 3, place: 2 }),
      ));
      assert.equal((await bob.del("/api/waitlist/dryer")).status, 200);
      assert.ok((await line(page, 2, 1)).startsWith(
        t(lang, "board.queue_place", { n: 2, place: 1 }),
      ));
      // I leave through the page: Cat is the line, I am out of it.
      await page.click('[data-queue-btn="dryer"]');
      assert.ok((await line(page, 1, 0)).startsWith(t(lang, "board.queue_len", { n: 1 })));
      assert.deepEqual(
        ((await cat.get("/api/waitlist")).json.queues as { place: number }[]).map((q) => q.place),
        [1],
      );
      // Nothing scrolls sideways on the phone, and the page logged no error.
      const overflow = await page.evaluate(() =>
        document.documentElement.scrollWidth - document.documentElement.clientWidth
      );
      assert.equal(overflow, 0);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await srv.close();
    }
  });
}
