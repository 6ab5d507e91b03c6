import assert from "node:assert/strict";
import {
  actionRequest,
  buildNotification,
  cachedPageMayAnswer,
  cacheStrategy,
  type ClickData,
  clickReport,
  clickTarget,
  handledKey,
  NOTIFICATION_BADGE,
  NOTIFICATION_ICON,
  type NotificationSpec,
  offlinePage,
  outcomeNotification,
  pageCacheKey,
  parsePushData,
  performAction,
  precacheList,
  safeAppUrl,
  workerLang,
} from "./sw_logic.ts";
import { payloadToData } from "./push/fcm_sender.ts";
import { t } from "./i18n.ts";
import type { InboxItem, PushPayload } from "./types.ts";
import { declarativeMessage, toFcmData } from "./push/declarative.ts";

const ORIGIN = "https://laundry.example.org";

const payload: PushPayload = {
  id: "use.done:u1:3",
  kind: "use.done",
  title: "세탁기 1 완료!",
  body: "세탁이 끝났어요.",
  tag: "m-w1",
  url: "/?m=w1",
  silent: false,
  ts: 1_700_000_000_000,
};

Deno.test("parsePushData reads our JSON payload, as object or text", () => {
  assert.deepEqual(parsePushData(payload), { ...payload, critical: false });
  assert.deepEqual(parsePushData(JSON.stringify(payload)), { ...payload, critical: false });
});

Deno.test("parsePushData reads FCM data messages (all strings) and the SDK envelope", () => {
  const data = payloadToData({ ...payload, silent: true, critical: true });
  assert.equal(data.silent, "true");
  const flat = parsePushData(data)!;
  assert.equal(flat.silent, true);
  assert.equal(flat.critical, true);
  assert.equal(flat.ts, payload.ts);
  assert.equal(flat.tag, "m-w1");
  const wrapped = parsePushData({ data, from: "1234", fcmMessageId: "abc", priority: "high" })!;
  assert.deepEqual(wrapped, flat);
  assert.equal(parsePushData({ ...data, silent: "false" })!.silent, false);
});

Deno.test("parsePushData rejects what is not a notification", () => {
  for (const bad of [null, undefined, 42, "", "not json", "[1,2]", [], {}, { body: "x" }]) {
    assert.equal(parsePushData(bad), null, JSON.stringify(bad));
  }
  // Unknown kinds and foreign URLs are neutralised, not trusted.
  const odd = parsePushData({ title: "x", kind: "evil", url: "https://evil.example/" })!;
  assert.equal(odd.kind, "notice");
  assert.equal(odd.url, "/");
});

Deno.test("buildNotification: title, body, icon, badge, tag and click data", () => {
  const n = buildNotification(parsePushData(payload), { lang: "ko" });
  assert.equal(n.title, payload.title);
  assert.equal(n.options.body, payload.body);
  assert.equal(n.options.icon, NOTIFICATION_ICON);
  assert.equal(n.options.badge, NOTIFICATION_BADGE);
  assert.equal(n.options.tag, "m-w1");
  assert.equal(n.options.silent, false);
  assert.equal(n.options.requireInteraction, false);
  assert.equal(n.options.renotify, false);
  assert.equal(n.options.timestamp, payload.ts);
  assert.deepEqual(n.options.data, { url: "/?m=w1", id: payload.id, kind: "use.done" });
});

Deno.test("buildNotification: renotify on a repeated tag, never with silent", () => {
  const p = parsePushData(payload)!;
  assert.equal(buildNotification(p, { lang: "ko", tagShowing: true }).options.renotify, true);
  const quiet = buildNotification({ ...p, silent: true }, { lang: "ko", tagShowing: true });
  assert.equal(quiet.options.silent, true);
  assert.equal(quiet.options.renotify, false, "silent + renotify throws in browsers");
  const untagged = buildNotification({ ...p, tag: "" }, { lang: "ko", tagShowing: true });
  assert.equal(untagged.options.tag, undefined);
  assert.equal(untagged.options.renotify, false, "renotify needs a tag");
});

Deno.test("buildNotification: critical notices require interaction", () => {
  const p = parsePushData({ ...payload, kind: "notice", critical: true, tag: "n-1" })!;
  assert.equal(buildNotification(p, { lang: "en" }).options.requireInteraction, true);
});

Deno.test("buildNotification: a malformed push still shows a generic notification", () => {
  for (const lang of ["ko", "en"] as const) {
    const n = buildNotification(parsePushData("garbage"), { lang });
    assert.equal(n.title, t(lang, "push.generic_title"));
    assert.equal(n.options.body, t(lang, "push.generic_body"));
    assert.equal(n.options.data.url, "/inbox");
    assert.equal(n.options.icon, NOTIFICATION_ICON);
  }
});

Deno.test("clickTarget focuses the window already on the URL", () => {
  const a = clickTarget("/?m=w1", [
    { id: "a", url: `${ORIGIN}/inbox`, focused: true },
    { id: "b", url: `${ORIGIN}/?m=w1` },
  ], ORIGIN);
  assert.deepEqual(a, { type: "focus", id: "b", navigate: null });
});

Deno.test("clickTarget navigates the best open window: focused, then visible, then first", () => {
  const wins = [
    { id: "hidden", url: `${ORIGIN}/settings`, visibilityState: "hidden" },
    { id: "visible", url: `${ORIGIN}/inbox`, visibilityState: "visible" },
  ];
  assert.deepEqual(clickTarget("/?m=w1", wins, ORIGIN), {
    type: "focus",
    id: "visible",
    navigate: `${ORIGIN}/?m=w1`,
  });
  assert.deepEqual(
    clickTarget("/?m=w1", [...wins, { id: "f", url: `${ORIGIN}/`, focused: true }], ORIGIN),
    { type: "focus", id: "f", navigate: `${ORIGIN}/?m=w1` },
  );
  assert.deepEqual(clickTarget("/inbox", [wins[0]], ORIGIN), {
    type: "focus",
    id: "hidden",
    navigate: `${ORIGIN}/inbox`,
  });
});

Deno.test("clickTarget opens a window when none of ours is open; ignores other origins", () => {
  assert.deepEqual(clickTarget("/?m=w1", [], ORIGIN), { type: "open", url: `${ORIGIN}/?m=w1` });
  assert.deepEqual(
    clickTarget("/inbox", [{ id: "x", url: "https://other.example/", focused: true }], ORIGIN),
    { type: "open", url: `${ORIGIN}/inbox` },
  );
  // A foreign URL in the notification data never leaves the app.
  assert.deepEqual(clickTarget("https://evil.example/phish", [], ORIGIN), {
    type: "open",
    url: `${ORIGIN}/`,
  });
  assert.deepEqual(clickTarget(undefined, [], ORIGIN), { type: "open", url: `${ORIGIN}/` });
});

Deno.test("safeAppUrl keeps same-origin paths only", () => {
  assert.equal(safeAppUrl("/inbox?n=1"), "/inbox?n=1");
  assert.equal(safeAppUrl("//evil.example/x"), "/");
  assert.equal(safeAppUrl("/\\evil.example"), "/");
  assert.equal(safeAppUrl("javascript:alert(1)"), "/");
  assert.equal(safeAppUrl(`${ORIGIN}/inbox#x`, ORIGIN), "/inbox#x");
  assert.equal(safeAppUrl(`${ORIGIN}/inbox`), "/", "absolute URLs need the origin to compare");
});

Deno.test("cacheStrategy: what the worker caches and what it never touches", () => {
  const s = (url: string, method = "GET", mode = "cors") =>
    cacheStrategy({ url: ORIGIN + url, method, mode }, ORIGIN);
  assert.equal(s("/", "GET", "navigate"), "page");
  assert.equal(s("/inbox", "GET", "navigate"), "page");
  assert.equal(s("/?m=w1", "GET", "navigate"), "page");
  assert.equal(s("/api/machines"), "snapshot");
  assert.equal(s("/api/machines?x=1"), "snapshot");
  assert.equal(s("/api/machines", "POST"), "network");
  assert.equal(s("/api/machines/w1/start", "POST"), "network");
  assert.equal(s("/api/notifications"), "network");
  assert.equal(s("/api/me"), "network");
  assert.equal(s("/api/push/config"), "network");
  assert.equal(s("/ws"), "network");
  assert.equal(s("/ws?since=a:1", "GET", "websocket"), "network");
  assert.equal(s("/sw.js"), "network");
  assert.equal(s("/lang/en", "GET", "navigate"), "network");
  assert.equal(s("/_app/entry-ABC.js"), "asset");
  assert.equal(s("/icons/icon-192.png"), "static");
  assert.equal(s("/manifest.webmanifest"), "static");
  assert.equal(s("/favicon.ico"), "network");
  assert.equal(
    cacheStrategy({ url: "https://cdn.example/x.js", method: "GET" }, ORIGIN),
    "network",
  );
});

Deno.test("pageCacheKey drops the query; precacheList adds icons, skips the FCM chunk", () => {
  assert.equal(pageCacheKey(`${ORIGIN}/?m=w1`), `${ORIGIN}/`);
  assert.equal(pageCacheKey(`${ORIGIN}/inbox?n=3`), `${ORIGIN}/inbox`);
  const list = precacheList(["/_app/entry-A.js", "/_app/fcm-B.js", "/_app/chunk-C.js"]);
  assert.ok(list.includes("/_app/entry-A.js"));
  assert.ok(list.includes("/_app/chunk-C.js"));
  assert.ok(!list.includes("/_app/fcm-B.js"));
  assert.ok(list.includes(NOTIFICATION_ICON));
  assert.ok(list.includes("/manifest.webmanifest"));
});

Deno.test("offlinePage and workerLang", () => {
  const html = offlinePage("ko", "/_app/style-X.css");
  assert.match(html, /<html lang="ko">/);
  assert.ok(html.includes(t("ko", "offline.title")));
  assert.ok(html.includes('href="/_app/style-X.css"'));
  assert.ok(!/<script|style=/.test(html), "CSP: no inline script or style");
  // It retries the page that was asked for and says whether only the server is down.
  const deep = offlinePage("en", null, { path: "/settings?x=1", reason: "unreachable" });
  assert.ok(deep.includes('href="/settings?x=1"'));
  assert.ok(deep.includes(t("en", "offline.unreachable_title")));
  assert.ok(deep.includes('href="/"'), "and leads to the board");
  assert.match(deep, /http-equiv="refresh"/);
  assert.ok(!offlinePage("ko", null, { path: "//evil.example" }).includes("evil.example"));
  assert.equal(workerLang("en-US"), "en");
  assert.equal(workerLang("ko-KR"), "ko");
  assert.equal(workerLang(undefined), "ko");
  // The saved language (the last page's Content-Language) wins over the browser's.
  assert.equal(workerLang("ko-KR", "en"), "en");
  assert.equal(workerLang("en-US", "ko"), "ko");
  assert.equal(workerLang("en-US", "fr"), "en", "an unknown saved value is ignored");
  assert.equal(workerLang("ko-KR", null), "ko");
});

Deno.test("cachedPageMayAnswer: never for a navigation that chooses a building", () => {
  assert.equal(cachedPageMayAnswer("https://x.test/"), true);
  assert.equal(cachedPageMayAnswer("https://x.test/?m=w1"), true);
  assert.equal(cachedPageMayAnswer("https://x.test/?building=b2"), false);
  assert.equal(cachedPageMayAnswer("https://x.test/admin?building="), false);
});

// ───────────────────── declarative messages and action buttons ─────────────────────

const doneItem: InboxItem = {
  id: "use.done:u1:3",
  kind: "use.done",
  title: "Washer 1 is done!",
  body: "All finished.",
  url: "/?m=w1abc",
  tag: "m-w1abc",
  machineId: "w1abc",
  createdAt: 1_700_000_000_000,
};

Deno.test("parsePushData reads a declarative message (and its FCM form) into what the worker shows", () => {
  const m = declarativeMessage(doneItem, {
    silent: true,
    lang: "en",
    unread: 4,
    b: "bld1",
    channel: "webpush",
  });
  const p = parsePushData(m)!;
  assert.deepEqual(p, {
    id: doneItem.id,
    kind: "use.done",
    title: doneItem.title,
    body: doneItem.body,
    tag: "m-w1abc",
    url: "/?m=w1abc",
    silent: true,
    critical: false,
    ts: doneItem.createdAt,
    machineId: "w1abc",
    b: "bld1",
    badge: 4,
    ch: "webpush",
    lang: "en",
  });
  assert.deepEqual(parsePushData(JSON.stringify(m)), p);
  const viaFcm = parsePushData({
    data: toFcmData({
      ...m,
      notification: { ...m.notification, data: { ...m.notification.data, ch: "fcm" } },
    }),
  })!;
  assert.equal(viaFcm.ch, "fcm");
  assert.equal(viaFcm.badge, 4);
  // An absolute navigate URL on our origin is reduced to its path; another site's is not followed.
  const abs = { ...m, notification: { ...m.notification, navigate: `${ORIGIN}/inbox?n=1` } };
  assert.equal(parsePushData(abs, ORIGIN)!.url, "/inbox?n=1");
  const evil = { ...m, notification: { ...m.notification, navigate: "https://evil.example/" } };
  assert.equal(parsePushData(evil, ORIGIN)!.url, "/");
  // A kind this build does not know, but that has buttons, is kept; others read as notices.
  const offer = {
    ...m,
    notification: { ...m.notification, data: { ...m.notification.data, kind: "waitlist.offer" } },
  };
  assert.equal(parsePushData(offer)!.kind, "waitlist.offer");
  const future = {
    ...m,
    notification: { ...m.notification, data: { ...m.notification.data, kind: "x.y" } },
  };
  assert.equal(parsePushData(future)!.kind, "notice");
  assert.equal(
    parsePushData({ web_push: 8030, notification: { navigate: "/" } }),
    null,
    "no title",
  );
});

Deno.test("buildNotification: action buttons in the recipient's language, only with a machine", () => {
  const m = declarativeMessage(doneItem, {
    silent: false,
    lang: "ko",
    unread: 2,
    channel: "webpush",
  });
  const n = buildNotification(parsePushData(m), { lang: "en" });
  assert.deepEqual(n.options.actions, [
    { action: "extend", title: t("ko", "push.action.extend") },
    { action: "collect", title: t("ko", "push.action.collect") },
  ]);
  assert.equal(t("ko", "push.action.extend"), "+10분");
  assert.equal(t("ko", "push.action.collect"), "수거 완료");
  assert.equal(t("ko", "push.action.hold"), "잡기 (출발해요)");
  assert.equal(n.options.lang, "ko");
  assert.deepEqual(n.options.data, {
    url: "/?m=w1abc",
    id: doneItem.id,
    kind: "use.done",
    machineId: "w1abc",
    ch: "webpush",
    badge: 2,
  });
  const free = buildNotification(
    parsePushData(declarativeMessage({ ...doneItem, kind: "machine.free", tag: "free" }, {
      silent: false,
      lang: "en",
      channel: "webpush",
    })),
    { lang: "ko" },
  );
  assert.deepEqual(free.options.actions, [{ action: "hold", title: "Take it (on my way)" }]);
  const noMachine = buildNotification(
    parsePushData(declarativeMessage({ ...doneItem, machineId: undefined }, {
      silent: false,
      lang: "en",
      channel: "webpush",
    })),
    { lang: "ko" },
  );
  assert.equal(noMachine.options.actions, undefined, "nothing to act on");
  assert.equal(
    buildNotification(parsePushData(payload), { lang: "ko" }).options.actions,
    undefined,
  );
});

Deno.test("actionRequest: the machine API call with Idempotency-Key and X-Building; only the kind's actions", () => {
  const data: ClickData = {
    url: "/?m=w1abc",
    id: doneItem.id,
    kind: "use.done",
    machineId: "w1abc",
    b: "bld1",
  };
  assert.deepEqual(actionRequest("extend", data), {
    path: "/api/machines/w1abc/extend",
    init: {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "content-type": "application/json",
        "idempotency-key": `n:${doneItem.id}:extend`,
        "x-building": "bld1",
      },
      body: JSON.stringify({ minutes: 10 }),
    },
  });
  assert.equal(actionRequest("collect", data)!.init.body, "{}");
  assert.equal(actionRequest("hold", data), null, "use.done has no hold button");
  assert.equal(actionRequest("delete", data), null);
  assert.equal(actionRequest("extend", { ...data, machineId: "../admin" }), null);
  assert.equal(actionRequest("extend", { ...data, id: "" }), null);
  const noB = actionRequest("collect", { ...data, b: "A B" })!;
  assert.equal("x-building" in noB.init.headers, false);
});

/** An in-memory worker: a meta cache, a server that counts calls, shown notifications. */
function fakeWorker(answer: { ok: boolean; body: unknown } | "offline") {
  const cache = new Set<string>();
  const calls: { path: string; init: unknown }[] = [];
  const shown: NotificationSpec[] = [];
  return {
    cache,
    calls,
    shown,
    deps: {
      fetch: (path: string, init: unknown) => {
        calls.push({ path, init });
        if (answer === "offline") return Promise.reject(new TypeError("Failed to fetch"));
        return Promise.resolve({ ok: answer.ok, json: () => Promise.resolve(answer.body) });
      },
      has: (k: string) => Promise.resolve(cache.has(k)),
      put: (k: string) => Promise.resolve(void cache.add(k)),
      remove: (k: string) => Promise.resolve(void cache.delete(k)),
      show: (n: NotificationSpec) => Promise.resolve(void shown.push(n)),
    },
  };
}

Deno.test("performAction: once per (notification, action); a second delivery does nothing", async () => {
  const w = fakeWorker({ ok: true, body: { machine: {} } });
  const original = {
    title: "세탁기 1 완료!",
    tag: "m-w1abc",
    data: { url: "/?m=w1abc", id: doneItem.id, kind: "use.done", machineId: "w1abc" },
  };
  assert.equal(await performAction("extend", original, "ko", w.deps), "done");
  assert.equal(await performAction("extend", original, "ko", w.deps), "repeat");
  assert.equal(w.calls.length, 1, "one API call");
  assert.ok(w.cache.has(handledKey(doneItem.id, "extend")));
  assert.equal(w.shown.length, 1);
  assert.equal(w.shown[0].title, "10분 연장했어요");
  assert.equal(w.shown[0].options.body, "세탁기 1 완료!");
  assert.equal(w.shown[0].options.tag, "m-w1abc", "replaces the notification with the buttons");
  assert.equal(w.shown[0].options.actions, undefined);
  // Two deliveries at the same moment: one call.
  const both = await Promise.all([
    performAction("extend", { ...original, data: { ...original.data, id: "n2" } }, "ko", w.deps),
    performAction("extend", { ...original, data: { ...original.data, id: "n2" } }, "ko", w.deps),
  ]);
  assert.deepEqual(both.sort(), ["done", "repeat"]);
  assert.equal(w.calls.length, 2);
  w.calls.pop();
  // Another action of the same notification is its own click.
  assert.equal(await performAction("collect", original, "ko", w.deps), "done");
  assert.equal(w.calls.length, 2);
  assert.equal(await performAction("hold", original, "ko", w.deps), "invalid");
  assert.equal(w.calls.length, 2);
});

Deno.test("performAction: a refusal is shown translated; offline unmarks it so pressing again works", async () => {
  const refused = fakeWorker({ ok: false, body: { error: { code: "not_owner", message: "x" } } });
  const original = {
    title: "Washer 1",
    data: { url: "/?m=w1abc", id: "n1", kind: "machine.free", machineId: "w1abc" },
  };
  assert.equal(await performAction("hold", original, "en", refused.deps), "refused");
  assert.equal(refused.shown[0].title, t("en", "push.failed"));
  assert.equal(refused.shown[0].options.body, t("en", "err.not_owner"));
  const unknown = outcomeNotification("ko", "hold", { ok: false, code: "weird_code" }, original);
  assert.equal(unknown.options.body, t("ko", "error.generic"), "never a raw code");

  const offline = fakeWorker("offline");
  assert.equal(await performAction("hold", original, "ko", offline.deps), "offline");
  assert.equal(offline.cache.size, 0, "not marked: the next press tries again");
  assert.equal(offline.shown[0].options.body, t("ko", "push.offline"));
});

Deno.test("clickReport: click or action, with the device and channel; nothing for id-less notifications", () => {
  const data = { url: "/", id: "n1", kind: "use.done", ch: "fcm" };
  assert.deepEqual(clickReport(data, "", "dev_12345678"), {
    id: "n1",
    event: "click",
    deviceId: "dev_12345678",
    channel: "fcm",
  });
  assert.deepEqual(clickReport({ ...data, ch: undefined }, "extend", null), {
    id: "n1",
    event: "action",
    action: "extend",
    channel: "webpush",
  });
  assert.equal(clickReport({ url: "/inbox", id: "", kind: "notice" }, "", null), null);
  assert.equal(clickReport(null, "", null), null);
});
