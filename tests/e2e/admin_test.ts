/**
 * End-to-end test of the admin area in Chromium (playwright-core): a full
 * server in-process (pages, notifications, queue listener) on a temporary KV
 * file; the admin works through the UI on a 360 px phone, a resident in a
 * second browser context watches the board, and the resident's API client
 * checks the inbox.
 *
 * Without Chromium, tests/support/browser.ts skips it with a message (a
 * failure when CI=true).
 * @module
 */
import assert from "node:assert/strict";
import type { Browser, BrowserContext, Locator } from "playwright-core";
import { features } from "../../app.ts";
import { catalogue } from "../../lib/i18n.ts";
import {
  admin as adminClient,
  Client,
  startTestServer,
  TEST_ADMIN_PASSWORD,
  TEST_PASSWORD,
} from "../support/harness.ts";
import { browserTest, ensureBuilt, hydrated, launchBrowser } from "../support/browser.ts";
import { DEMO_ROOM, demoMachineName } from "../../lib/seed.ts";

/** The browser's time zone: not UTC, so the datetime-local → ISO offset is exercised. */
const TZ = "Asia/Seoul";

/** Wait until `locator` has attribute `name` equal to `value`. */
async function waitAttr(
  locator: Locator,
  name: string,
  value: string,
  timeout?: number,
): Promise<void> {
  await locator.and(locator.page().locator(`[${name}="${value}"]`)).waitFor({ timeout });
}

async function newContext(
  browser: Browser,
  width: number,
): Promise<BrowserContext> {
  const ctx = await browser.newContext({
    viewport: { width, height: 780 },
    locale: "ko-KR",
    timezoneId: TZ,
  });
  ctx.setDefaultTimeout(7000);
  return ctx;
}

browserTest(
  "admin UI (browser): machines, invites, residents and notices end to end",
  async (t) => {
    await ensureBuilt();
    const srv = await startTestServer({
      BACKGROUND: "1",
      VAPID_SUBJECT: "mailto:e2e@example.com",
    }, { setup: features() });
    const browser = await launchBrowser();
    const errors: string[] = [];
    try {
      const adminCtx = await newContext(browser, 360);
      await adminCtx.grantPermissions(["clipboard-read", "clipboard-write"], {
        origin: srv.url,
      });
      const residentCtx = await newContext(browser, 390);
      const a = await adminCtx.newPage();
      const r = await residentCtx.newPage();
      for (const [who, p] of [["admin", a], ["resident", r]] as const) {
        p.on("pageerror", (e) => errors.push(`${who}: ${e.message}`));
        // Expected 4xx responses log "Failed to load resource"; anything else is a bug
        // (e.g. "island … failed to hydrate").
        p.on("console", (m) => {
          if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) {
            errors.push(`${who} console: ${m.text()}`);
          }
        });
      }
      const api = await adminClient(srv.url);
      const machinesPanel = a.locator("#machines");
      let machineId = "";
      const adminRow = () => machinesPanel.locator(`li[data-machine="${machineId}"]`);
      const boardCard = () => r.locator(`li.card[data-machine="${machineId}"]`);

      await t.step("the admin signs in through the form and opens /admin", async () => {
        await a.goto(`${srv.url}/login`);
        await hydrated(a);
        await a.getByLabel("아이디").fill("admin");
        await a.getByLabel("비밀번호").fill(TEST_ADMIN_PASSWORD);
        await a.getByRole("button", { name: "로그인" }).click();
        await a.waitForURL(`${srv.url}/`);
        await a.getByRole("link", { name: "관리", exact: true }).click();
        await a.waitForURL(`${srv.url}/admin`);
        await hydrated(a);
        assert.equal(await a.locator("h1").textContent(), "관리");
        await waitAttr(
          machinesPanel.locator("li[data-machine]").first(),
          "data-state",
          "available",
        );
        assert.equal(await machinesPanel.locator("li[data-machine]").count(), 6);
        // Usable on a 360 px phone: nothing sticks out sideways.
        const overflow = await a.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(overflow <= 360, `page is ${overflow} px wide at 360 px`);
      });

      await t.step("add a machine", async () => {
        const form = machinesPanel.locator("form.add-form");
        await form.getByLabel("이름").fill("E2E 건조기");
        await form.getByLabel("종류").selectOption("dryer");
        await form.getByLabel("세탁실").fill("2층 세탁실");
        await form.getByRole("button", { name: "추가" }).click();
        const row = machinesPanel.locator("li[data-machine]", { hasText: "E2E 건조기" });
        await row.waitFor();
        machineId = (await row.getAttribute("data-machine"))!;
        assert.match(await row.innerText(), /건조기 · 2층 세탁실/);
        assert.match(await machinesPanel.locator(".banner.ok").innerText(), /추가했어요/);
        const listed = (await api.get("/api/admin/machines")).json.machines;
        assert.ok(listed.some((m: { id: string; kind: string }) => m.id === machineId));
      });

      let link = "";
      await t.step("create an invite code and copy its sign-up link", async () => {
        const panel = a.locator("#invites");
        const form = panel.locator("form.add-form");
        await form.getByLabel("코드 (비우면 자동)").fill("e2e-code-1");
        await form.getByLabel("최대 사용 횟수").fill("5");
        await form.getByLabel("유효 기간(일)").fill("7");
        await form.getByRole("button", { name: "만들기" }).click();
        const row = panel.locator('li[data-invite="E2E-CODE-1"]');
        await row.waitFor();
        assert.match(await row.innerText(), /사용 0\/5/);
        await waitAttr(row, "data-invite-state", "active");
        await row.getByRole("button", { name: "가입 링크 복사" }).click();
        await panel.locator(".banner.ok").waitFor();
        link = await a.evaluate(() => navigator.clipboard.readText());
        assert.equal(link, `${srv.url}/register?invite=E2E-CODE-1`);
      });

      await t.step("a resident registers with the link and sees the board", async () => {
        await r.goto(link);
        await hydrated(r);
        assert.equal(await r.getByLabel("초대 코드").inputValue(), "E2E-CODE-1");
        await r.getByLabel("아이디").fill("hana");
        await r.getByLabel("비밀번호").fill(TEST_PASSWORD);
        await r.getByLabel("이름(표시 이름)").fill("박하나");
        await r.getByLabel("호실").fill("305");
        await r.getByRole("button", { name: "가입" }).click();
        // A new resident lands on the board, which asks once about notifications.
        await r.waitForURL(`${srv.url}/?welcome`);
        await hydrated(r);
        await waitAttr(boardCard(), "data-state", "available");
        await r.locator('.conn[data-status="connected"]').waitFor();
        await a.locator("#invites").getByRole("button", { name: "새로 고침" }).click();
        await a.locator('li[data-invite="E2E-CODE-1"]', { hasText: "사용 1/5" }).waitFor();
      });

      await t.step(
        "out of order shows 고장 on the resident's board at once; repair clears it",
        async () => {
          // Keyboard: the form takes focus, Escape closes it and gives focus back.
          await adminRow().getByRole("button", { name: "이름 바꾸기" }).click();
          assert.equal(
            await a.evaluate(() => document.activeElement?.getAttribute("name")),
            "name",
          );
          await a.keyboard.press("Escape");
          await adminRow().locator("form").waitFor({ state: "detached" });
          await a.waitForFunction(() =>
            document.activeElement?.getAttribute("data-action") === "rename"
          );

          await adminRow().getByRole("button", { name: "고장 처리" }).click();
          await adminRow().getByLabel("고장 사유").fill("문이 안 닫혀요");
          await adminRow().getByRole("button", { name: "고장으로 표시" }).click();
          await waitAttr(adminRow(), "data-state", "out_of_order");
          await waitAttr(boardCard(), "data-state", "out_of_order");
          const card = await boardCard().innerText();
          assert.match(card, /고장/);
          assert.match(card, /문이 안 닫혀요/);

          await adminRow().getByRole("button", { name: "수리 완료" }).click();
          await waitAttr(adminRow(), "data-state", "available");
          await waitAttr(boardCard(), "data-state", "available");
          assert.doesNotMatch(await boardCard().innerText(), /고장/);
        },
      );

      const hana = new Client(srv.url);
      assert.equal((await hana.login("hana")).status, 200);

      await t.step("removing a machine in use is refused, translated", async () => {
        assert.equal((await hana.post(`/api/machines/${machineId}/hold`)).status, 200);
        await waitAttr(adminRow(), "data-state", "held");
        const remove = adminRow().locator('button[data-action="remove"]');
        await remove.click();
        assert.equal(await remove.innerText(), "정말요?");
        await remove.click();
        const error = machinesPanel.locator(".banner.error");
        await error.waitFor();
        assert.equal(await error.innerText(), catalogue("ko")["err.machine_in_use"]);
        assert.equal(await adminRow().count(), 1);

        assert.equal((await hana.post(`/api/machines/${machineId}/release`)).status, 200);
        await waitAttr(adminRow(), "data-state", "available");
        await remove.click();
        await remove.click();
        await adminRow().waitFor({ state: "detached" });
        await boardCard().waitFor({ state: "detached" });
        assert.match(await machinesPanel.locator(".banner.ok").innerText(), /삭제했어요/);
      });

      await t.step("residents: refresh, search and filter by room", async () => {
        const panel = a.locator("#residents");
        await panel.getByRole("button", { name: "새로 고침" }).click();
        const row = panel.locator('li[data-resident="hana"]');
        await row.waitFor();
        const text = await row.innerText();
        for (const part of ["박하나", "305", "hana", "가입"]) {
          assert.ok(text.includes(part), text);
        }
        await panel.getByLabel("검색 (이름·호실·아이디)").fill("하나");
        await panel.locator("li[data-resident]").first().waitFor();
        assert.deepEqual(
          await panel.locator("li[data-resident]").evaluateAll((els) =>
            els.map((e) => e.getAttribute("data-resident"))
          ),
          ["hana"],
        );
        await panel.getByLabel("검색 (이름·호실·아이디)").fill("");
        await panel.getByRole("combobox", { name: "호실" }).selectOption("관리실");
        assert.deepEqual(
          await panel.locator("li[data-resident]").evaluateAll((els) =>
            els.map((e) => e.getAttribute("data-resident"))
          ),
          ["admin"],
        );
        await panel.getByRole("combobox", { name: "호실" }).selectOption("");
      });

      await t.step(
        "a notice to everyone reaches the resident's inbox and reports delivery",
        async () => {
          const composer = a.locator(".composer");
          // The machine target picks from the live machine list.
          await composer.getByLabel("기기 사용자").check();
          await composer.getByRole("combobox", { name: /^기기/ }).selectOption({
            label: `${demoMachineName("washer", 2)} · ${DEMO_ROOM}`,
          });
          assert.match(
            await composer.locator("[data-preview-to]").innerText(),
            new RegExp(`${demoMachineName("washer", 2)} 사용자`),
          );
          await composer.getByLabel("전체").check();
          await composer.getByLabel("제목").fill("E2E 공지: 세탁실 청소");
          await composer.getByLabel("내용").fill("오늘 오후 3시에 세탁실을 청소해요.");
          await composer.getByLabel("소리 있음").uncheck();
          const preview = composer.locator("[data-preview]");
          assert.equal(
            await preview.locator("[data-preview-title]").innerText(),
            "E2E 공지: 세탁실 청소",
          );
          await preview.locator('[data-badge="silent"]').waitFor();
          assert.match(await composer.locator("[data-preview-to]").innerText(), /전체 · 약 2명/);
          assert.match(await composer.locator("[data-preview-when]").innerText(), /지금 바로/);
          await composer.getByRole("button", { name: "보내기" }).click();
          await composer.locator(".banner.ok", { hasText: "공지를 보냈어요" }).waitFor();

          const row = a.locator("li[data-notice]", { hasText: "E2E 공지: 세탁실 청소" });
          await waitAttr(row, "data-status", "sent");
          assert.match(await row.locator("[data-status-label]").innerText(), /보냄/);
          // Sent means owed to everyone; the counters follow as each is delivered.
          await a.waitForFunction(
            (title) =>
              [...document.querySelectorAll("li[data-notice]")].some((li) =>
                li.textContent?.includes(title) &&
                Number(li.querySelector('[data-stat="recipients"]')?.textContent ?? 0) >= 1
              ),
            "E2E 공지: 세탁실 청소",
          );
          assert.match(await row.innerText(), /무음/);

          const inbox = await hana.get("/api/notifications");
          assert.equal(inbox.status, 200);
          const item = inbox.json.items.find((i: { title: string }) =>
            i.title === "E2E 공지: 세탁실 청소"
          );
          assert.ok(item, JSON.stringify(inbox.json.items));
          assert.equal(item.kind, "notice");
          // Overall statistics follow.
          await a.waitForFunction(() =>
            Number(
              document.querySelector('.overall [data-stat="recipients"]')?.textContent ?? 0,
            ) >= 1
          );
        },
      );

      await t.step(
        "schedule a notice an hour ahead (browser's offset), then cancel it",
        async () => {
          const composer = a.locator(".composer");
          await composer.getByLabel("제목").fill("E2E 예약 공지");
          await composer.getByLabel("내용").fill("한 시간 뒤에 보내요.");
          await composer.getByLabel("호실", { exact: true }).check();
          await composer.getByLabel("받을 호실").fill("305");
          await composer.getByLabel("예약", { exact: true }).check();
          const { local, ms } = await a.evaluate(() => {
            const d = new Date(Date.now() + 3600_000);
            d.setSeconds(0, 0);
            const p = (n: number) => String(n).padStart(2, "0");
            return {
              local: `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${
                p(d.getHours())
              }:${p(d.getMinutes())}`,
              ms: d.getTime(),
            };
          });
          await composer.getByLabel("보낼 날짜와 시간").fill(local);
          assert.match(
            await composer.locator("[data-preview-to]").innerText(),
            /305 호실 · 약 1명/,
          );
          assert.match(
            await composer.locator("[data-preview-when]").innerText(),
            /보낼 시간: .+/,
          );
          await composer.getByRole("button", { name: "예약하기" }).click();
          await composer.locator(".banner.ok", { hasText: "예약했어요" }).waitFor();

          const row = a.locator("li[data-notice]", { hasText: "E2E 예약 공지" });
          await waitAttr(row, "data-status", "scheduled");
          assert.match(await row.locator("[data-status-label]").innerText(), /예약됨/);
          const id = (await row.getAttribute("data-notice"))!;
          const stored = (await api.get(`/api/admin/announcements/${id}`)).json.notice;
          assert.equal(stored.sendAt, ms, "sendAt is the chosen wall time in the browser's zone");
          assert.deepEqual(stored.target, { type: "room", room: "305" });
          assert.equal(stored.status, "scheduled");

          // Keyboard: focus the cancel button, Enter arms it, Enter again confirms.
          const cancel = row.getByRole("button", { name: "예약 취소" });
          await cancel.focus();
          await a.keyboard.press("Enter");
          assert.equal(await row.locator('button[data-action="cancel"]').innerText(), "정말요?");
          await a.keyboard.press("Enter");
          await waitAttr(row, "data-status", "cancelled");
          assert.match(await row.locator("[data-status-label]").innerText(), /취소됨/);
          assert.equal(
            (await api.get(`/api/admin/announcements/${id}`)).json.notice.status,
            "cancelled",
          );
        },
      );

      // A notice due in 2 s, made elsewhere (the API): the open list must pick it up by
      // itself and show it sent (queue delivery + the page's periodic refresh).
      const soon = await api.post("/api/admin/announcements", {
        title: "E2E 곧 보낼 공지",
        body: "2초 뒤에 나가요.",
        target: { type: "all" },
        sendAt: new Date(Date.now() + 2000).toISOString(),
      });
      assert.equal(soon.status, 201, JSON.stringify(soon.json));
      assert.equal(soon.json.notice.status, "scheduled");

      await t.step("a resident opening /admin gets 403", async () => {
        const res = await r.goto(`${srv.url}/admin`);
        assert.equal(res?.status(), 403);
        assert.match(await r.locator("main").innerText(), /403/);
        assert.equal(await r.locator("#machines").count(), 0);
      });

      await t.step("disable the resident (two presses), then enable again", async () => {
        const panel = a.locator("#residents");
        const row = panel.locator('li[data-resident="hana"]');
        const disable = row.locator('button[data-action="disable"]');
        await disable.click();
        await disable.click();
        await row.locator(".pill", { hasText: "비활성" }).waitFor();
        assert.equal((await hana.get("/api/me")).status, 401);
        await row.getByRole("button", { name: "활성화" }).click();
        await row.locator('button[data-action="disable"]').waitFor();
        assert.equal((await new Client(srv.url).login("hana")).status, 200);
      });

      await t.step("a scheduled notice flips to 보냄 on the open page by itself", async () => {
        const row = a.locator(`li[data-notice="${soon.json.notice.id}"]`);
        await waitAttr(row, "data-status", "sent", 15_000);
        assert.match(await row.locator("[data-status-label]").innerText(), /보냄/);
        assert.ok(Number(await row.locator('[data-stat="recipients"]').innerText()) >= 1);
      });

      assert.deepEqual(errors, [], "no uncaught errors or console errors in the pages");
    } finally {
      await browser.close();
      await srv.close();
    }
  },
);
