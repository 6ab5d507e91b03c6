/**
 * Notifications that act, in a real Chromium with the real service worker:
 * - a declarative Web Push message (as the notifier builds it for a real
 *   inbox item) delivered through CDP (`ServiceWorker.deliverPushMessage`)
 *   is shown with its action buttons ("+10분", "수거 완료"), the click data
 *   and the app badge (read back in the worker: `registration
 *   .getNotifications()` and the badge the worker set);
 * - the worker's own `notificationclick` handler, given the "+10분" action
 *   twice at once (a synthetic event: headless Chromium cannot press a
 *   notification button), extends the cycle by exactly 10 minutes with the
 *   user's cookies, shows the outcome as a follow-up notification in Korean,
 *   and its report counts one click and one action; the item is read and the
 *   badge goes to 0, and the admin page's server-rendered chart counts it;
 * - the "잡기" action on a free machine holds it.
 * - the inbox page sets the app badge (Badging API) to the unread count and
 *   clears it once everything is read.
 */
import assert from "node:assert/strict";
import type { BrowserContext, Page, Worker } from "playwright-core";
import {
  browserTest,
  collectErrors,
  controlled,
  hydrated,
  launchBrowser,
  signIn,
  startAppServer,
  waitForShown,
} from "../support/browser.ts";
import { admin, type Client, resident, waitFor } from "../support/harness.ts";
import { act, type Json, machineOf, ok } from "../support/notify_kit.ts";
import { machineUrl, type NotificationSpec } from "../../lib/notify/plan.ts";
import { declarativeMessage } from "../../lib/push/declarative.ts";
import { t } from "../../lib/i18n.ts";
import type { TestServer } from "../support/harness.ts";

/** The page's service worker (Playwright's handle to run code in it). */
async function serviceWorker(ctx: BrowserContext): Promise<Worker> {
  return ctx.serviceWorkers()[0] ?? await ctx.waitForEvent("serviceworker");
}

/** Deliver a push to the page's registration through CDP; returns the sender. */
async function pushSender(ctx: BrowserContext, page: Page, origin: string) {
  const cdp = await ctx.newCDPSession(page);
  const registrations = new Map<string, string>();
  cdp.on("ServiceWorker.workerRegistrationUpdated", (e) => {
    for (const r of e.registrations) {
      if (!r.isDeleted) registrations.set(r.scopeURL, r.registrationId);
    }
  });
  await cdp.send("ServiceWorker.enable");
  return async (data: unknown) => {
    const registrationId = await waitFor(
      () => Promise.resolve(registrations.get(origin + "/")),
      15_000,
      "registration",
    );
    await cdp.send("ServiceWorker.deliverPushMessage", {
      origin,
      registrationId: registrationId!,
      data: JSON.stringify(data),
    });
  };
}

/** A real inbox item for `c` and the declarative message the notifier would send for it. */
async function owed(srv: TestServer, c: Client, spec: NotificationSpec) {
  const item = await srv.ctx.notifier!.toInbox(c.user.id, c.user.buildingId, spec);
  return declarativeMessage(item, {
    silent: false,
    lang: "ko",
    unread: await srv.ctx.store.unreadCount(c.user.id),
    b: c.user.buildingId,
    channel: "webpush",
  });
}

/** The notifications the worker shows now, read in the worker. */
function shownInWorker(sw: Worker): Promise<Json[]> {
  return sw.evaluate(async () => {
    // deno-lint-ignore no-explicit-any
    const reg = (globalThis as any).registration as ServiceWorkerRegistration;
    return (await reg.getNotifications()).map((n) => ({
      title: n.title,
      body: n.body,
      tag: n.tag,
      lang: n.lang,
      data: n.data,
      // deno-lint-ignore no-explicit-any
      actions: (n as any).actions,
    }));
  });
}

/** What the worker last set as the app badge (kept in its meta cache). */
function badgeInWorker(sw: Worker): Promise<string | null> {
  return sw.evaluate(async () => {
    const res = await (await caches.open("ll-meta")).match("/__ll/badge");
    return res ? await res.text() : null;
  });
}

/** Run the worker's `notificationclick` handler for the notification tagged `tag`, `times` at once. */
function clickInWorker(sw: Worker, tag: string, action: string, times: number): Promise<number> {
  return sw.evaluate(async ({ tag, action, times }) => {
    // deno-lint-ignore no-explicit-any
    const g = globalThis as any;
    const [n] = await (g.registration as ServiceWorkerRegistration).getNotifications({ tag });
    if (!n) return 0;
    for (let i = 0; i < times; i++) {
      g.dispatchEvent(new g.NotificationEvent("notificationclick", { notification: n, action }));
    }
    return times;
  }, { tag, action, times });
}

browserTest(
  "e2e push actions: a declarative push shows its buttons and badge; +10분 applies once",
  async () => {
    const srv = await startAppServer();
    const browser = await launchBrowser();
    try {
      const alice = await resident(srv.url, "alice");
      const ctx = await browser.newContext({ locale: "ko-KR" });
      await ctx.grantPermissions(["notifications"], { origin: srv.url });
      await signIn(ctx, alice);
      const page = await ctx.newPage();
      const errors = collectErrors(page);
      const push = await pushSender(ctx, page, srv.url);
      await page.goto(srv.url + "/");
      await hydrated(page);
      await controlled(page);
      const sw = await serviceWorker(ctx);

      const m = await machineOf(alice, "washer");
      const started = await act(alice, m.id, "start", { minutes: 30 });
      const message = await owed(srv, alice, {
        id: `use.ending_soon:${started.useId}:${started.gen}`,
        kind: "use.ending_soon",
        text: {
          key: { title: "n.ending_soon.title", body: "n.ending_soon.body" },
          params: { machine: m.name, n: 5 },
        },
        url: machineUrl(m.id, m.buildingId),
        machineId: m.id,
      });
      assert.equal(message.mutable, true);
      assert.equal(message.app_badge, 1);
      await push(message);

      const tag = `m-${m.id}`;
      const [n] = await waitForShown(
        () => shownInWorker(sw),
        (l) => {
          const list = l.filter((x) => x.tag === tag);
          return list.length ? list : null;
        },
        "the notification",
      );
      assert.equal(n.title, `${m.name} 5분 남았어요`);
      assert.equal(n.lang, "ko");
      assert.deepEqual(n.actions.map((a: Json) => [a.action, a.title]), [
        ["extend", "+10분"],
        ["collect", "수거 완료"],
      ]);
      assert.equal(
        n.data.url,
        `/?building=${m.buildingId}&m=${m.id}`,
        "iOS and Firefox: the same actions one tap away",
      );
      assert.equal(n.data.machineId, m.id);
      assert.equal(n.data.badge, 1);
      assert.equal(await badgeInWorker(sw), "1", "the app badge the worker set");

      // "+10분", delivered twice at once: one extension, one follow-up, one report.
      assert.equal(await clickInWorker(sw, tag, "extend", 2), 2);
      const followUp = await waitForShown(
        () => shownInWorker(sw),
        (l) => l.find((x) => x.tag === tag && x.title === t("ko", "push.done.extend", { n: 10 })),
        "the follow-up notification",
      );
      assert.equal(followUp.body, n.title);
      assert.equal(followUp.actions.length, 0, "no buttons left to press twice");
      const after = await waitFor(
        async () => {
          const w = await machineOf(alice, "washer");
          return w.endsAt !== started.endsAt ? w : null;
        },
        10_000,
        "extended",
      );
      assert.equal(after.endsAt, started.endsAt + 10 * 60_000, "+10 minutes");
      // A later third delivery of the same click does nothing either.
      await clickInWorker(sw, tag, "extend", 1);
      const adm = await admin(srv.url);
      const web = await waitFor(
        async () => {
          const s = ok(await adm.get("/api/admin/stats")).channels.webpush;
          return s.acted >= 1 && s.clicked >= 1 ? s : null;
        },
        10_000,
        "the report",
      );
      await new Promise((r) => setTimeout(r, 500));
      assert.equal((await machineOf(alice, "washer")).endsAt, started.endsAt + 10 * 60_000, "once");
      const final = ok(await adm.get("/api/admin/stats")).channels.webpush;
      assert.equal(final.acted, 1);
      assert.equal(final.clicked, 1);
      assert.deepEqual(final, web);
      const item = ok(await alice.get("/api/notifications")).items.find((i: Json) =>
        i.id === message.notification.data.id
      );
      assert.ok(item.readAt, "acting on it read it");
      assert.equal(await badgeInWorker(sw), "0", "and the badge went with it");
      assert.deepEqual(errors, []);

      // The admin page draws it: today's column of the server-rendered 30-day chart.
      const html = await (await fetch(srv.url + "/admin", { headers: { cookie: adm.cookie } }))
        .text();
      assert.match(html, /<figure class="delivery-chart" data-delivery-chart/);
      assert.equal((html.match(/<g data-day="/g) ?? []).length, 30, "30 days");
      const today = new Date().toISOString().slice(0, 10);
      assert.match(html, new RegExp(`<g data-day="${today}" data-sent="0" data-clicked="1">`));
      assert.match(html, /<tr data-channel="webpush">.*?<td data-outcome="acted">1<\/td>/s);
    } finally {
      await browser.close();
      await srv.close();
    }
  },
);

browserTest("e2e push actions: 잡기 on a free machine holds it for the resident", async () => {
  const srv = await startAppServer();
  const browser = await launchBrowser();
  try {
    const bob = await resident(srv.url, "bob");
    const ctx = await browser.newContext({ locale: "ko-KR" });
    await ctx.grantPermissions(["notifications"], { origin: srv.url });
    await signIn(ctx, bob);
    const page = await ctx.newPage();
    const push = await pushSender(ctx, page, srv.url);
    await page.goto(srv.url + "/inbox");
    await hydrated(page);
    await controlled(page);
    const sw = await serviceWorker(ctx);
    const d = await machineOf(bob, "dryer");
    const message = await owed(srv, bob, {
      id: `machine.free:${d.id}:e2e`,
      kind: "machine.free",
      text: {
        literal: { title: "빈 건조기가 생겼어요", body: `${d.name}을(를) 지금 사용할 수 있어요.` },
      },
      url: machineUrl(d.id, d.buildingId),
      machineId: d.id,
    });
    await push(message);
    const [n] = await waitForShown(
      () => shownInWorker(sw),
      (l) => {
        const list = l.filter((x) => x.tag === "free");
        return list.length ? list : null;
      },
      "the notification",
    );
    assert.deepEqual(n.actions.map((a: Json) => [a.action, a.title]), [[
      "hold",
      "잡기 (출발해요)",
    ]]);
    await clickInWorker(sw, "free", "hold", 1);
    const held = await waitFor(
      async () => {
        const m = await machineOf(bob, "dryer");
        return m.state === "held" ? m : null;
      },
      10_000,
      "held",
    );
    assert.equal(held.ownerId, bob.user.id);
    await waitForShown(
      () => shownInWorker(sw),
      (l) => l.find((x) => x.tag === "free" && x.title === t("ko", "push.done.hold")),
      "the follow-up notification",
    );
    // The inbox page keeps the app badge: the item is read, so it shows 0 unread.
    await page.reload();
    await hydrated(page);
    assert.equal(await page.getAttribute("[data-unread-count]", "data-unread-count"), "0");
  } finally {
    await browser.close();
    await srv.close();
  }
});

browserTest(
  "e2e app badge: the inbox page sets the unread count on the app icon and clears it once read",
  async () => {
    const srv = await startAppServer();
    const browser = await launchBrowser();
    try {
      const cy = await resident(srv.url, "cyd");
      for (const n of [1, 2]) {
        await srv.ctx.notifier!.toInbox(cy.user.id, cy.user.buildingId, {
          id: `notice:badge${n}`,
          kind: "notice",
          text: { literal: { title: `공지 ${n}`, body: "본문" } },
          url: "/inbox",
        });
      }
      const ctx = await browser.newContext({ locale: "ko-KR" });
      await signIn(ctx, cy);
      // Record the Badging API calls the page makes (the icon itself is not observable headless).
      await ctx.addInitScript(() => {
        // deno-lint-ignore no-explicit-any
        const calls: unknown[] = ((globalThis as any).__badge = []);
        Object.defineProperty(Navigator.prototype, "setAppBadge", {
          configurable: true,
          value: (n?: number) => (calls.push(n ?? null), Promise.resolve()),
        });
        Object.defineProperty(Navigator.prototype, "clearAppBadge", {
          configurable: true,
          value: () => (calls.push(0), Promise.resolve()),
        });
      });
      const page = await ctx.newPage();
      // deno-lint-ignore no-explicit-any
      const calls = () => page.evaluate(() => (globalThis as any).__badge as unknown[]);
      await page.goto(srv.url + "/inbox");
      await hydrated(page);
      await page.waitForFunction(() => {
        // deno-lint-ignore no-explicit-any
        const c = (globalThis as any).__badge as unknown[];
        return c.length > 0;
      });
      assert.equal((await calls()).at(-1), 2, "two unread on the icon");
      await page.click('[data-action="mark-all"]');
      await page.waitForSelector('[data-unread-count="0"]');
      await page.waitForFunction(() => {
        // deno-lint-ignore no-explicit-any
        return ((globalThis as any).__badge as unknown[]).at(-1) === 0;
      });
      assert.equal((await calls()).at(-1), 0, "cleared (clearAppBadge) once everything is read");
      assert.equal(await srv.ctx.store.unreadCount(cy.user.id), 0);
    } finally {
      await browser.close();
      await srv.close();
    }
  },
);
