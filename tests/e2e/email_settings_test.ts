/**
 * The email section of Settings in Chromium, against a real SMTP peer: the
 * address form sends a link, the link opens Settings where one click
 * confirms it (and the token leaves the address bar), bounces are shown, and
 * axe finds nothing on the section in either state. With `UPDATE_SCREENSHOTS=1`
 * it also rewrites docs/screenshots/settings-email.png.
 * @module
 */
import assert from "node:assert/strict";
import {
  browserTest,
  hydrated,
  launchBrowser,
  signIn,
  startAppServer,
} from "../support/browser.ts";
import { Client, TEST_INVITE } from "../support/harness.ts";
import { axe, smallTargets } from "../support/a11y.ts";
import { K } from "../../lib/keys.ts";
import { due } from "../../lib/notify/plan.ts";
import { startSmtpPeer, tokenOf } from "../support/smtp_peer.ts";
import { sleep } from "../support/notify_kit.ts";

browserTest(
  "e2e email: ask for a link in Settings, confirm it with one click, see bounces",
  async () => {
    await using peer = await startSmtpPeer();
    await using srv = await startAppServer({
      SMTP_URL: peer.url,
      MAIL_RETRY_BASE_MS: "100",
      ACK_TIMEOUT_MS: "300",
    });
    const browser = await launchBrowser();
    const problems: string[] = [];
    try {
      const c = new Client(srv.url);
      assert.equal(
        (await c.register("eve", "Eve", "305", { inviteCode: TEST_INVITE })).status,
        201,
      );
      const ctx = await browser.newContext({
        viewport: { width: 360, height: 740 },
        locale: "ko-KR",
      });
      await signIn(ctx, c);
      let page = await ctx.newPage();
      await page.goto(`${srv.url}/settings`);
      await hydrated(page);
      const section = page.locator("[data-email]");
      await section.getByText("이메일 알림", { exact: true }).waitFor();
      problems.push(...await axe(page, "empty"), ...await smallTargets(page, "empty"));

      // The form sends a link.
      await page.fill("input[name=email]", "eve@example.org");
      await page.click("[data-form=email] button[type=submit]");
      await page.locator("[data-email-message]").getByText(
        "eve@example.org(으)로 확인 메일을 보냈어요",
      ).waitFor();
      const mail = await peer.waitFor((m) => m.to.includes("eve@example.org"));
      const token = tokenOf(mail);

      // The link: Settings asks for one click, then the token leaves the address bar.
      await page.goto(`${srv.url}/settings?verify=${token}`);
      await hydrated(page);
      await page.locator("[data-email-confirm]").waitFor();
      problems.push(...await axe(page, "confirm"), ...await smallTargets(page, "confirm"));
      await page.click("[data-action=email-confirm]");
      await page.locator("[data-email-message]").getByText("이메일 주소를 확인했어요.").waitFor();
      assert.equal(new URL(page.url()).search, "");
      assert.ok(await page.isChecked("input[name=emailEnabled]"));
      assert.match(await page.locator("[data-email-verified]").innerText(), /eve@example\.org/);

      // Three bounces while she is away (her context closed: no page to show them
      // in-app or confirm them): shown when she comes back, with the count.
      await ctx.close();
      peer.refuse.set("eve@example.org", 550);
      for (let i = 1; i <= 3; i++) {
        const op = srv.ctx.store.kv.atomic();
        srv.ctx.store.addDue(op, [due({
          t: "notify",
          userId: c.user.id,
          b: c.user.buildingId,
          n: {
            id: `use.done:e2e-${i}`,
            kind: "use.done",
            url: "/",
            text: { literal: { title: "완료", body: "끝" } },
          },
        }, Date.now())]);
        await op.commit();
      }
      const bounced = async () =>
        Number(
          (await srv.ctx.store.kv.get<Deno.KvU64>(K.stat("all", "email:bounced"))).value?.value ??
            0n,
        );
      const deadline = Date.now() + 8000;
      while (await bounced() < 3) {
        assert.ok(Date.now() < deadline, `three bounces (${await bounced()})`);
        await sleep(20);
      }
      const back = await browser.newContext({
        viewport: { width: 360, height: 740 },
        locale: "ko-KR",
      });
      await signIn(back, c);
      page = await back.newPage();
      await page.goto(`${srv.url}/settings`);
      await hydrated(page);
      await page.locator("[data-email-bouncing]").getByText("3번 반송돼서").waitFor();
      assert.equal(await page.locator("[data-email-bounces]").innerText(), "반송 3회");
      problems.push(...await axe(page, "bouncing"), ...await smallTargets(page, "bouncing"));
      // The section as docs/screenshots/settings-email.png shows it (rewritten with
      // UPDATE_SCREENSHOTS=1, so a test run leaves the tree as it was).
      const png = await page.locator("[data-email]").screenshot();
      assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG");
      if (Deno.env.get("UPDATE_SCREENSHOTS") === "1") {
        await Deno.writeFile(
          new URL("../../docs/screenshots/settings-email.png", import.meta.url),
          png,
        );
      }
      await back.close();
    } finally {
      await browser.close();
    }
    assert.deepEqual(problems, []);
  },
);
