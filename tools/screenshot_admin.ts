/**
 * `deno run -A tools/screenshot_admin.ts [out.png]`: renders the admin
 * notices section (composer with a filled-in preview, a sent and a scheduled
 * notice with their delivery reports) at phone size (390 px wide) in
 * Chromium and saves it, by default to `docs/screenshots/admin-notices.png`.
 *
 * Starts a throw-away server (temporary KV, demo building, two residents, a
 * sent and a scheduled notice). Needs `/usr/bin/chromium` (or `CHROMIUM_PATH`),
 * built assets (built here when `_build/manifest.json` is missing), and fonts
 * with Hangul and emoji, or the text renders as boxes (Debian:
 * `apt-get install -y fonts-nanum fonts-noto-color-emoji`). Saved at 2x
 * device pixels, or coarser if that would pass 300 KB.
 * @module
 */
import { dirname, join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import config from "../fresh.config.ts";
import { buildAssets } from "../lib/build.ts";
import { features } from "../app.ts";
import { admin, Client, startTestServer } from "../tests/support/harness.ts";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../tests/support/browser.ts";

const ROOT = new URL("../", import.meta.url);
const OUT = Deno.args[0] ?? new URL("docs/screenshots/admin-notices.png", ROOT).pathname;
const CHROMIUM = CHROMIUM_PATH;
const ARGS = [...CHROMIUM_ARGS, "--lang=ko-KR"];

/** The time zone the screenshot is taken in. */
const TZ = "Asia/Seoul";

/** "YYYY-MM-DD" in {@link TZ}, `days` from now. */
function dayInTz(days: number): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: TZ }).format(Date.now() + days * 86_400_000);
}

/** Size budget of the PNG. */
const MAX_BYTES = 300 * 1024;

/** Fill the composer on a phone-sized page and save the notices section; returns the PNG's size. */
async function shoot(
  browser: Browser,
  url: string,
  session: string,
  scale: number,
): Promise<number> {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: scale,
    isMobile: true,
    hasTouch: true,
    locale: "ko-KR",
    timezoneId: TZ,
  });
  try {
    await context.addCookies([{
      name: "ll_session",
      value: session,
      domain: new URL(url).hostname,
      path: "/",
    }]);
    const page = await context.newPage();
    await page.goto(`${url}/admin#notices`);
    await page.waitForSelector("html[data-hydrated]");
    const composer = page.locator(".composer");
    await composer.getByLabel("제목").fill("온수 공급 중단 안내");
    await composer.getByLabel("내용").fill(
      "보일러 교체로 내일 밤 11시부터 새벽 2시까지 온수가 나오지 않아요. 온수 세탁은 그 전에 마쳐 주세요.",
    );
    await composer.getByLabel("호실", { exact: true }).check();
    await composer.getByLabel("받을 호실").fill("301");
    await composer.getByLabel("예약", { exact: true }).check();
    await composer.getByLabel("보낼 날짜와 시간").fill(`${dayInTz(1)}T21:00`);
    await composer.getByLabel("긴급(방해 금지 무시)").check();
    await page.waitForSelector('[data-notice][data-status="sent"]');
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    // From the top, so the sticky top bar stays out of the shot.
    await page.evaluate(() => scrollTo(0, 0));
    const box = (await page.locator("#notices").boundingBox())!;
    await Deno.mkdir(dirname(OUT), { recursive: true });
    // The section plus the page's margin around it.
    await page.screenshot({
      path: OUT,
      fullPage: true,
      animations: "disabled",
      clip: { x: 0, y: box.y - 12, width: 390, height: box.height + 24 },
    });
    return (await Deno.stat(OUT)).size;
  } finally {
    await context.close();
  }
}

if (import.meta.main) {
  try {
    await Deno.stat(join(config.root, config.outDir, "manifest.json"));
  } catch {
    await buildAssets(config);
  }
  const srv = await startTestServer(
    { BACKGROUND: "0", VAPID_SUBJECT: "mailto:shots@example.com" },
    { setup: features() },
  );
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    for (const [login, name, room] of [["minji", "김민지", "301"], ["jun", "이준", "302"]]) {
      const r = await new Client(srv.url).register(login, name, room);
      if (r.status !== 201) throw new Error(`register ${login}: ${JSON.stringify(r.json)}`);
    }
    const a = await admin(srv.url);
    for (
      const body of [
        {
          title: "세탁실 정기 점검",
          body:
            "내일 오전 9시부터 11시까지 세탁기 배수관 점검이 있어요. 점검 중에는 세탁기를 쓸 수 없어요.",
          target: { type: "all" },
          sendAt: `${dayInTz(1)}T09:00:00+09:00`,
          sound: true,
          critical: false,
        },
        {
          title: "건조기 필터를 비워 주세요",
          body: "건조 후 먼지 필터를 꼭 비워 주세요. 다음 사람을 위한 작은 배려예요.",
          target: { type: "all" },
          sound: false,
          critical: false,
        },
      ]
    ) {
      const r = await a.post("/api/admin/announcements", body);
      if (r.status !== 201) throw new Error(`notice: ${JSON.stringify(r.json)}`);
    }

    // Sharpest first; a coarser scale only if the PNG would pass the size budget.
    for (const scale of [2, 1.5, 1]) {
      const size = await shoot(browser, srv.url, a.sessionToken!, scale);
      console.log(`Saved ${OUT} at ${scale}x (${(size / 1024).toFixed(0)} KB)`);
      if (size <= MAX_BYTES) break;
    }
  } finally {
    await browser.close();
    await srv.close();
  }
}
