/**
 * The admin's side of sensors in Chromium (issue 10): attach a sensor to a
 * machine on the admin page, see its token once, feed readings through the
 * webhook with that token, and see the machine's sensor status (reporting,
 * then silent) and the board's "someone" on the machine; remove the sensor.
 * `MINUTE_MS` = 100, so a sensor is silent after 1 s without a reading.
 *
 * Without Chromium, tests/support/browser.ts skips it with a message (a
 * failure when CI=true).
 * @module
 */
import assert from "node:assert/strict";
import { admin as adminClient } from "../support/harness.ts";
import {
  browserTest,
  collectErrors,
  hydrated,
  launchBrowser,
  signIn,
  startAppServer,
} from "../support/browser.ts";

browserTest(
  "sensor admin (browser): attach, token shown once, status, silent, remove",
  async () => {
    await using srv = await startAppServer({ MINUTE_MS: "100" });
    const browser = await launchBrowser();
    try {
      const ctx = await browser.newContext({
        viewport: { width: 360, height: 780 },
        locale: "ko-KR",
      });
      ctx.setDefaultTimeout(7000);
      const api = await adminClient(srv.url);
      await signIn(ctx, api);
      const page = await ctx.newPage();
      const errors = collectErrors(page);
      const m = (await api.get("/api/admin/machines")).json.machines[0];
      await page.goto(`${srv.url}/admin`);
      await hydrated(page);
      const row = page.locator(`#machines li[data-machine="${m.id}"]`);
      assert.equal(await row.locator("[data-sensor]").count(), 0, "no sensor yet");

      await row.locator('button[data-action="sensor_attach"]').click();
      const token = (await row.locator("[data-sensor-token] code").first().textContent())!.trim();
      assert.match(token, /^[0-9a-z]+\.[0-9a-z]+\.[A-Za-z0-9_-]{43}$/);
      assert.equal(await row.locator("[data-sensor]").getAttribute("data-sensor"), "waiting");
      assert.equal(await row.locator("[data-sensor]").textContent(), "센서: 아직 측정값 없음");

      // Readings with the token from the page: a minute above 10 W starts someone's cycle.
      let facts: string[] = [];
      for (let i = 0; i < 15 && !facts.includes("started"); i++) {
        const r = await fetch(`${srv.url}/api/sensors/${m.id}`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ watts: 321 }),
        });
        assert.equal(r.status, 200);
        facts = (await r.json()).facts;
        await new Promise((res) => setTimeout(res, 30));
      }
      assert.deepEqual(facts, ["started"]);
      // The admin row follows the board live: in use, nobody's.
      await page.locator(`#machines li[data-machine="${m.id}"][data-state="in_use"]`).waitFor();

      // After a reload the token is gone for good; the status shows the last reading.
      await page.reload();
      await hydrated(page);
      assert.equal(await row.locator("[data-sensor-token]").count(), 0, "the token is shown once");
      assert.equal(await row.locator("[data-sensor]").getAttribute("data-sensor"), "ok");
      assert.match((await row.locator("[data-sensor]").textContent())!, /^센서: 321 W · /);
      const html = await page.content();
      assert.ok(!html.includes(token.split(".")[2]), "the secret is nowhere on the page");

      // Silent after 1 s without readings.
      await new Promise((res) => setTimeout(res, 1300));
      await page.reload();
      await hydrated(page);
      assert.equal(await row.locator("[data-sensor]").getAttribute("data-sensor"), "silent");

      // Remove it (press twice: 센서 해제 asks for confirmation).
      const detach = row.locator('button[data-action="sensor_detach"]');
      await detach.click();
      await detach.click();
      await row.locator('button[data-action="sensor_attach"]').waitFor();
      assert.equal(await row.locator("[data-sensor]").count(), 0);
      const r = await fetch(`${srv.url}/api/sensors/${m.id}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ watts: 1 }),
      });
      assert.equal(r.status, 401);
      await r.body?.cancel();
      assert.deepEqual(errors.filter((e) => !e.includes("Failed to load resource")), []);
    } finally {
      await browser.close();
    }
  },
);
