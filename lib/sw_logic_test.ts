import assert from "node:assert/strict";
import {
  buildNotification,
  cachedPageMayAnswer,
  cacheStrategy,
  clickTarget,
  NOTIFICATION_BADGE,
  NOTIFICATION_ICON,
  offlinePage,
  pageCacheKey,
  parsePushData,
  precacheList,
  safeAppUrl,
  workerLang,
} from "./sw_logic.ts";
import { payloadToData } from "./push/fcm_sender.ts";
import { t } from "./i18n.ts";
import type { PushPayload } from "./types.ts";

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
