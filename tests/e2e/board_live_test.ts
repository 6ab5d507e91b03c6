/**
 * Two residents in two real browser contexts: a change made by one reaches
 * the other's board without a reload; a board that was offline while things
 * changed shows 재연결 중… then 연결됨 and the correct state when it is back.
 * Also: the app shell works offline after a first visit (board from the
 * service worker's cache, marked stale; an unvisited page gets the offline
 * page; the last /api/machines snapshot answers).
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import {
  browserTest,
  collectErrors,
  controlled,
  hydrated,
  launchBrowser,
  signIn,
  startAppServer,
} from "../support/browser.ts";
import { resident, waitFor } from "../support/harness.ts";
import { t } from "../../lib/i18n.ts";

/** Wait until a machine card shows `state`. */
async function machineState(page: Page, id: string, state: string): Promise<void> {
  await page.waitForSelector(`[data-machine="${id}"][data-state="${state}"]`, { timeout: 10_000 });
}

async function connected(page: Page): Promise<void> {
  await page.waitForSelector('.conn[data-status="connected"]', { timeout: 10_000 });
}

browserTest("e2e board: live updates across residents, offline and back", async () => {
  const srv = await startAppServer();
  const browser = await launchBrowser();
  try {
    const alice = await resident(srv.url, "alice", "101");
    const bob = await resident(srv.url, "bob", "102");
    const machines = (await alice.get("/api/machines")).json.machines;
    const washer = machines.find((m: { kind: string }) => m.kind === "washer").id as string;

    const ctxA = await browser.newContext({ locale: "ko-KR" });
    const ctxB = await browser.newContext({ locale: "ko-KR" });
    await signIn(ctxA, alice);
    await signIn(ctxB, bob);
    const pageA = await ctxA.newPage();
    const pageB = await ctxB.newPage();
    const errors = [...collectErrors(pageA), ...collectErrors(pageB)];
    await Promise.all([pageA.goto(srv.url + "/"), pageB.goto(srv.url + "/")]);
    await Promise.all([hydrated(pageA), hydrated(pageB)]);
    await Promise.all([connected(pageA), connected(pageB)]);
    assert.equal(await pageB.textContent(".conn"), t("ko", "conn.connected"));

    // A starts the washer through the UI; B's board follows without a reload.
    await pageA.click(`[data-machine="${washer}"] [data-action="start"]`);
    await pageA.fill(`[data-machine="${washer}"] .start-form input`, "30");
    await pageA.click(`[data-machine="${washer}"] .start-form button[type="submit"]`);
    await machineState(pageA, washer, "in_use");
    await machineState(pageB, washer, "in_use");
    const owner = await pageB.textContent(`[data-machine="${washer}"] .owner`);
    assert.equal(owner, t("ko", "owner.neighbour"));

    // B goes offline; meanwhile A finishes and collects (through the API). B's page keeps its
    // cursor from the events (protocol 2: none in them): it must be where the server says B is.
    const cursorBefore = (await bob.get("/api/machines")).json.cursor;
    const socketUrls: string[] = [];
    pageB.on("websocket", (ws) => socketUrls.push(ws.url()));
    await ctxB.setOffline(true);
    await pageB.waitForSelector('.conn[data-status="offline"]', { timeout: 10_000 });
    assert.equal(await pageB.textContent(".conn"), t("ko", "conn.offline"));
    assert.equal((await alice.post(`/api/machines/${washer}/finish`, {})).status, 200);
    assert.equal((await alice.post(`/api/machines/${washer}/collect`, {})).status, 200);
    await machineState(pageA, washer, "available");
    // B still shows what it last knew.
    await pageB.waitForTimeout(300);
    assert.equal(
      await pageB.getAttribute(`[data-machine="${washer}"]`, "data-state"),
      "in_use",
    );

    // Record every connection label B shows from now on.
    await pageB.evaluate(() => {
      const seen: string[] = [];
      (globalThis as unknown as { __conn: string[] }).__conn = seen;
      const el = document.querySelector(".conn")!;
      const note = () => seen.push(`${el.getAttribute("data-status")}|${el.textContent}`);
      new MutationObserver(note).observe(el, {
        attributes: true,
        childList: true,
        subtree: true,
        characterData: true,
      });
    });
    await ctxB.setOffline(false);
    await connected(pageB);
    await machineState(pageB, washer, "available");
    const seen = await pageB.evaluate(() => (globalThis as unknown as { __conn: string[] }).__conn);
    const reconnecting = seen.indexOf(`reconnecting|${t("ko", "conn.reconnecting")}`);
    const connectedAt = seen.lastIndexOf(`connected|${t("ko", "conn.connected")}`);
    assert.ok(reconnecting >= 0, `재연결 중… was shown: ${JSON.stringify(seen)}`);
    assert.ok(connectedAt > reconnecting, `then 연결됨: ${JSON.stringify(seen)}`);
    assert.equal(await pageB.$(".banner.warn"), null, "no stale banner once resynced");
    // It resumed from there, speaking protocol 2.
    const resumed = new URL(socketUrls.at(-1)!).searchParams;
    assert.equal(resumed.get("v"), "2");
    assert.equal(resumed.get("since"), cursorBefore, "the page's own cursor, moved by the events");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await srv.close();
  }
});

browserTest("e2e offline shell: board from cache after a first visit, marked stale", async () => {
  const srv = await startAppServer();
  const browser = await launchBrowser();
  try {
    const alice = await resident(srv.url, "alice", "101");
    const machines = (await alice.get("/api/machines")).json.machines;
    const dryer = machines.find((m: { kind: string }) => m.kind === "dryer").id as string;
    assert.equal((await alice.post(`/api/machines/${dryer}/start`, { minutes: 50 })).status, 200);

    const ctx = await browser.newContext({ locale: "ko-KR" });
    await signIn(ctx, alice);
    const page = await ctx.newPage();
    await page.goto(srv.url + "/");
    await hydrated(page);
    await controlled(page);
    // The first load happened before the worker existed: load once more under it,
    // so the page (and the board snapshot) are in its cache.
    await page.reload();
    await hydrated(page);
    await connected(page);
    const live = await page.evaluate(async () => (await fetch("/api/machines")).status);
    assert.equal(live, 200);

    await ctx.setOffline(true);
    await page.reload();
    await hydrated(page);
    await machineState(page, dryer, "in_use");
    assert.equal(await page.locator("[data-machine]").count(), machines.length);
    await page.waitForSelector(".banner.warn", { timeout: 10_000 });
    assert.equal(await page.textContent(".banner.warn"), t("ko", "board.stale"));
    await page.waitForSelector('.conn[data-status="offline"]', { timeout: 10_000 });

    // The last board snapshot answers GET /api/machines, marked stale.
    const snap = await page.evaluate(async () => {
      const res = await fetch("/api/machines");
      return {
        status: res.status,
        stale: res.headers.get("x-ll-stale"),
        n: (await res.json()).machines.length,
      };
    });
    assert.deepEqual(snap, { status: 200, stale: "1", n: machines.length });
    // Other API calls are never cached.
    const other = await page.evaluate(() =>
      fetch("/api/notifications").then(() => "answered", () => "failed")
    );
    assert.equal(other, "failed");

    // A page never visited gets the offline page, not the browser's error.
    await page.goto(srv.url + "/settings");
    assert.equal(await page.textContent("h1"), t("ko", "offline.title"));

    // Back online, the board is live again.
    await ctx.setOffline(false);
    await page.goto(srv.url + "/");
    await hydrated(page);
    await connected(page);
    assert.equal(await page.$(".banner.warn"), null);
  } finally {
    await browser.close();
    await srv.close();
  }
});

browserTest("e2e offline page: speaks the saved language, not the browser's", async () => {
  const srv = await startAppServer();
  const browser = await launchBrowser();
  try {
    const bob = await resident(srv.url, "bob", "102");
    assert.equal((await bob.put("/api/preferences", { lang: "en" })).status, 200);
    // A Korean browser; the account's language is English.
    const ctx = await browser.newContext({ locale: "ko-KR" });
    await signIn(ctx, bob);
    const page = await ctx.newPage();
    await page.goto(srv.url + "/");
    await hydrated(page);
    await controlled(page);
    await page.reload(); // a page the worker itself fetched: it learns the language
    await hydrated(page);
    await ctx.setOffline(true);
    await page.goto(srv.url + "/settings");
    assert.equal(await page.textContent("h1"), t("en", "offline.title"));
    assert.equal(await page.getAttribute("html", "lang"), "en");
  } finally {
    await browser.close();
    await srv.close();
  }
});

browserTest(
  "e2e inbox: a live notification pops a toast, lands in the inbox, is marked read",
  async () => {
    const srv = await startAppServer();
    const browser = await launchBrowser();
    try {
      const alice = await resident(srv.url, "alice", "101");
      const ctx = await browser.newContext({ locale: "ko-KR" });
      await signIn(ctx, alice);
      const page = await ctx.newPage();
      const errors = collectErrors(page);
      await page.goto(srv.url + "/inbox");
      await hydrated(page);
      await page.waitForSelector(".bell");
      assert.equal(await page.$(".bell .badge"), null);
      assert.equal(await page.textContent(".empty"), t("ko", "inbox.empty"));
      await page.waitForFunction(() => document.querySelector(".conn") === null);
      // The bell's live connection is up (and reported the page visible).
      await waitFor(() => srv.ctx.hub.localPresence(alice.user.id).visible, 10_000, "presence");

      // A notification created while the page is open (the test push, which
      // also lands in the inbox): toast, inbox row and unread badge, live.
      assert.equal((await alice.post("/api/push/test", {})).status, 200);
      const toast = await page.waitForSelector("[data-toast]", { timeout: 10_000 });
      assert.match(await toast.innerText(), new RegExp(t("ko", "n.test.title")));
      assert.equal(await page.getAttribute(".toasts", "role"), "status");
      assert.equal(await page.getAttribute(".toasts", "aria-live"), "polite");
      await page.waitForSelector('.inbox li[data-read="0"]');
      await page.waitForSelector('.bell .badge[data-unread="1"]');
      assert.equal(
        await page.textContent("[data-unread-count]"),
        t("ko", "inbox.unread_count", { n: 1 }),
      );

      // The toast's close button (keyboard reachable) dismisses it.
      await page.focus("[data-toast] button");
      await page.keyboard.press("Enter");
      await page.waitForSelector("[data-toast]", { state: "detached" });

      // Mark all read: the row, the count and the bell's badge follow.
      await page.click('[data-action="mark-all"]');
      await page.waitForSelector('.inbox li[data-read="1"]');
      await page.waitForSelector(".bell .badge", { state: "detached" });
      const items = (await alice.get("/api/notifications")).json;
      assert.equal(items.unread, 0);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await srv.close();
    }
  },
);
