/**
 * Push in a real browser:
 * - the service worker installs and controls the page, and a push delivered
 *   through CDP (`ServiceWorker.deliverPushMessage`) shows a notification
 *   with the expected title, tag, icon and click URL — for our JSON payload,
 *   an FCM data message (string fields) and a malformed one (generic);
 * - the bell: permission granted, `pushManager.subscribe()` stubbed to resolve
 *   with a REAL subscription of a web-push-testing service, the device is
 *   registered, re-sent on the next app open, "send test" reaches the push
 *   service, and logout deletes the device;
 * - the timeout message when `subscribe()` never settles.
 *
 * (The click handler is tested as a plain function in lib/sw_logic_test.ts:
 * headless Chromium cannot click a notification.)
 */
import assert from "node:assert/strict";
import type { BrowserContext, Page } from "playwright-core";
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
import { startWebPushTesting, type TestSubscription } from "../support/push_service.ts";
import { resident, waitFor } from "../support/harness.ts";
import { t } from "../../lib/i18n.ts";
import type { PushPayload } from "../../lib/types.ts";
import { SUBSCRIBE_TIMEOUT_MS } from "../../client/push.ts";

interface ShownNotification {
  title: string;
  body: string;
  tag: string;
  icon: string;
  data: { url: string; id: string };
  requireInteraction: boolean;
}

/** The notifications the service worker shows now. */
function shown(page: Page): Promise<ShownNotification[]> {
  return page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    return (await reg.getNotifications()).map((n) => ({
      title: n.title,
      body: n.body,
      tag: n.tag,
      icon: n.icon,
      data: n.data,
      requireInteraction: n.requireInteraction,
    }));
  });
}

/**
 * Replace `pushManager.subscribe()`/`getSubscription()` in every page of the
 * context: with `sub`, subscribing resolves with it (there is no route to a
 * real push service here, so the real call never settles); with null,
 * subscribe never settles. Each call of subscribe sets
 * `localStorage["stub.subscribeCalls"]`.
 */
async function stubPushManager(ctx: BrowserContext, sub: TestSubscription | null) {
  await ctx.addInitScript((s) => {
    const key = "stub.subscribed";
    const fake = s && {
      endpoint: s.endpoint,
      expirationTime: null,
      options: { userVisibleOnly: true },
      getKey: () => null,
      toJSON: () => ({ endpoint: s.endpoint, expirationTime: null, keys: s.keys }),
      unsubscribe: () => {
        localStorage.removeItem(key);
        return Promise.resolve(true);
      },
    };
    const proto = PushManager.prototype as unknown as Record<string, unknown>;
    proto.getSubscription = () => Promise.resolve(localStorage.getItem(key) ? fake : null);
    proto.subscribe = () => {
      localStorage.setItem(
        "stub.subscribeCalls",
        String(Number(localStorage.getItem("stub.subscribeCalls")) + 1),
      );
      if (!fake) return new Promise(() => {});
      localStorage.setItem(key, "1");
      return Promise.resolve(fake);
    };
  }, sub);
}

/** Like waitFor, for a value that may be absent until it appears. */
async function found<T>(fn: () => Promise<T | null | undefined>, what: string): Promise<T> {
  // Generous: several browsers share two cores when the whole suite runs.
  return (await waitFor(fn, 15_000, what)) as T;
}

async function openPanel(page: Page): Promise<void> {
  if (await page.getAttribute("button[data-push-state]", "aria-expanded") !== "true") {
    await page.click("button[data-push-state]");
  }
  await page.waitForSelector("#push-panel");
}

browserTest("e2e push: the service worker shows pushes delivered through CDP", async () => {
  const srv = await startAppServer();
  const browser = await launchBrowser();
  try {
    const alice = await resident(srv.url, "alice");
    const ctx = await browser.newContext({ locale: "ko-KR" });
    await ctx.grantPermissions(["notifications"], { origin: srv.url });
    await signIn(ctx, alice);
    const page = await ctx.newPage();
    const errors = collectErrors(page);
    const cdp = await ctx.newCDPSession(page);
    const registrations = new Map<string, string>();
    cdp.on("ServiceWorker.workerRegistrationUpdated", (e) => {
      for (const r of e.registrations) {
        if (!r.isDeleted) registrations.set(r.scopeURL, r.registrationId);
      }
    });
    await cdp.send("ServiceWorker.enable");
    await page.goto(srv.url + "/");
    await hydrated(page);
    await controlled(page);
    const scope = srv.url + "/";
    const registrationId = await found(
      () => Promise.resolve(registrations.get(scope)),
      "registration",
    );
    const script = await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL);
    assert.equal(script, srv.url + "/sw.js");

    const push = (data: string) =>
      cdp.send("ServiceWorker.deliverPushMessage", { origin: srv.url, registrationId, data });

    // 1. Our JSON payload.
    const payload: PushPayload = {
      id: "use.done:x:1",
      kind: "use.done",
      title: "세탁기 1 완료!",
      body: "세탁이 끝났어요.",
      tag: "m-w1",
      url: "/?m=w1",
      silent: false,
      ts: Date.now(),
    };
    await push(JSON.stringify(payload));
    const [n] = await waitForShown(() => shown(page), (l) => l.length ? l : null, "notification");
    assert.equal(n.title, payload.title);
    assert.equal(n.body, payload.body);
    assert.equal(n.tag, "m-w1");
    assert.equal(n.icon, srv.url + "/icons/icon-192.png");
    assert.equal(n.data.url, "/?m=w1");
    assert.equal(n.data.id, payload.id);
    assert.equal(n.requireInteraction, false);

    // 2. The same tag again replaces it (collapsing "5 min left" into "done").
    await push(JSON.stringify({ ...payload, id: "use.done:x:2", title: "다시" }));
    await waitForShown(() => shown(page), (l) => l.some((x) => x.title === "다시"), "replace");
    assert.equal((await shown(page)).filter((x) => x.tag === "m-w1").length, 1);

    // 3. An FCM data message: every field a string, critical notice.
    await push(JSON.stringify({
      data: {
        id: "notice:n1",
        kind: "notice",
        title: "단수 안내",
        body: "내일 오전 물이 나오지 않아요.",
        tag: "n-n1",
        url: "/inbox?n=n1",
        silent: "false",
        critical: "true",
        ts: String(Date.now()),
      },
      from: "1234",
      fcmMessageId: "m1",
    }));
    const fcm = await waitForShown(
      () => shown(page),
      (l) => l.find((x) => x.tag === "n-n1"),
      "FCM notification",
    );
    assert.equal(fcm.title, "단수 안내");
    assert.equal(fcm.requireInteraction, true);
    assert.equal(fcm.data.url, "/inbox?n=n1");

    // 4. A malformed push still shows something (iOS would revoke permission otherwise).
    await push("this is not json");
    const generic = await waitForShown(
      () => shown(page),
      (l) => l.find((x) => x.tag === "generic"),
      "generic notification",
    );
    assert.ok(
      [t("ko", "push.generic_title"), t("en", "push.generic_title")].includes(generic.title),
    );
    assert.equal(generic.data.url, "/inbox");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await srv.close();
  }
});

browserTest("e2e bell: subscribe, register, re-send on open, test push, logout", async () => {
  await using service = await startWebPushTesting();
  const srv = await startAppServer({ PUSH_ENDPOINT_ALLOW: service.origin });
  const browser = await launchBrowser();
  try {
    const alice = await resident(srv.url, "alice");
    const config = (await alice.get("/api/push/config")).json;
    const sub = await service.subscribe(config.vapidPublicKey);
    const ctx = await browser.newContext({ locale: "ko-KR" });
    await ctx.grantPermissions(["notifications"], { origin: srv.url });
    await stubPushManager(ctx, sub);
    await signIn(ctx, alice);
    const page = await ctx.newPage();
    const errors = collectErrors(page);
    await page.goto(srv.url + "/");
    await hydrated(page);
    await page.waitForSelector('button[data-push-state="off"]');

    // Turn on from the panel (a user gesture).
    await openPanel(page);
    await page.click('[data-push-action="enable"]');
    await page.waitForSelector('button[data-push-state="on"]', { timeout: 10_000 });
    assert.equal(await page.textContent("[data-push-message]"), t("ko", "bell.on"));
    const deviceId = await page.evaluate(() => localStorage.getItem("ll.deviceId"));
    const devices = (await alice.get("/api/push/devices")).json.devices;
    assert.equal(devices.length, 1);
    assert.equal(devices[0].deviceId, deviceId);
    assert.equal(devices[0].kind, "webpush");
    assert.equal(devices[0].service, new URL(service.origin).host);
    const firstSeen = devices[0].lastSeenAt;

    // The service worker knows the device too (for pushsubscriptionchange).
    const meta = await page.evaluate(async () => {
      const res = await (await caches.open("ll-meta")).match("/__ll/device");
      return res ? await res.json() : null;
    });
    assert.deepEqual(meta, { deviceId, kind: "webpush" });

    // Next app open (a new tab = a new session): the subscription is sent again.
    await new Promise((r) => setTimeout(r, 20));
    const page2 = await ctx.newPage();
    await page2.goto(srv.url + "/settings");
    await hydrated(page2);
    await page2.waitForSelector('button[data-push-state="on"]');
    await waitFor(
      async () => {
        const d = (await alice.get("/api/push/devices")).json.devices;
        return d.length === 1 && d[0].lastSeenAt > firstSeen;
      },
      5000,
      "device re-sent on open",
    );

    // "My devices" lists this browser; "send test" reaches the push service.
    await page2.waitForSelector(`[data-device="${deviceId}"] .chip`);
    await page2.click('[data-action="test"]');
    await page2.waitForSelector(
      `[data-test-results] [data-result="ok"][data-device="${deviceId}"]`,
    );
    const got = await service.waitForNotifications(sub.clientHash, 1);
    const received = JSON.parse(got[0]);
    assert.equal(received.web_push, 8030, "a declarative Web Push message");
    assert.equal(received.notification.data.kind, "test");
    assert.equal(received.notification.title, t("ko", "n.test.title"));
    assert.equal(received.notification.navigate, "/settings");
    await page2.close();

    // Logout from the bell's panel: the server deletes this device.
    await openPanel(page);
    await Promise.all([
      page.waitForURL(srv.url + "/login"),
      page.click('#push-panel [data-action="logout"]'),
    ]);
    // (The API client shared the browser's session, which is gone now: ask the store.)
    assert.equal((await alice.get("/api/me")).status, 401, "the session is gone");
    assert.deepEqual(await srv.ctx.store.listDevices(alice.user.id), []);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await srv.close();
  }
});

browserTest("e2e bell: a subscribe that never settles times out with a clear message", async () => {
  const srv = await startAppServer();
  const browser = await launchBrowser();
  try {
    const alice = await resident(srv.url, "alice");
    const ctx = await browser.newContext({ locale: "ko-KR" });
    await ctx.grantPermissions(["notifications"], { origin: srv.url });
    await stubPushManager(ctx, null);
    await signIn(ctx, alice);
    const page = await ctx.newPage();
    // The page's timers run on Playwright's clock: real time until told to jump.
    await page.clock.install();
    await page.goto(srv.url + "/");
    await hydrated(page);
    await openPanel(page);
    await page.click('[data-push-action="enable"]');
    await page.waitForSelector('button[data-push-state="busy"]');
    // subscribe() was called (and its timeout armed in the same task): jump to just
    // before the timeout, nothing yet; then past it.
    await page.waitForFunction(() => localStorage.getItem("stub.subscribeCalls") === "1");
    await page.clock.fastForward(SUBSCRIBE_TIMEOUT_MS - 1000);
    assert.equal(await page.$("[data-push-message]"), null, "timed out early");
    assert.equal(await page.getAttribute("button[data-push-state]", "data-push-state"), "busy");
    await page.clock.fastForward(1500);
    await page.waitForSelector("[data-push-message]", { timeout: 5_000 });
    assert.equal(await page.textContent("[data-push-message]"), t("ko", "bell.timeout"));
    assert.equal(await page.getAttribute("[data-push-message]", "role"), "alert");
    assert.equal(await page.getAttribute("button[data-push-state]", "data-push-state"), "off");
    assert.deepEqual((await alice.get("/api/push/devices")).json.devices, []);

    // Blocked: permission denied in the browser → how to re-enable.
    const denied = await browser.newContext({ locale: "ko-KR" });
    await signIn(denied, alice);
    const p2 = await denied.newPage();
    await p2.addInitScript(() => {
      Object.defineProperty(Notification, "permission", { get: () => "denied" });
    });
    await p2.goto(srv.url + "/");
    await hydrated(p2);
    await p2.waitForSelector('button[data-push-state="blocked"]');
    await openPanel(p2);
    assert.equal(await p2.textContent('[data-help="blocked"]'), t("ko", "bell.blocked_help"));
  } finally {
    await browser.close();
    await srv.close();
  }
});
