import assert from "node:assert/strict";
import {
  actionsFor,
  declarativeMessage,
  fitMessage,
  jsonBytes,
  MAX_MESSAGE_BYTES,
  readDeclarative,
  toFcmData,
  WEB_PUSH_MAGIC,
} from "./declarative.ts";
import type { InboxItem } from "../types.ts";

const item: InboxItem = {
  id: "use.done:u1:3",
  kind: "use.done",
  title: "세탁기 1 완료!",
  body: "다 끝났어요.",
  url: "/?m=w1abc",
  tag: "m-w1abc",
  machineId: "w1abc",
  createdAt: 1_700_000_000_000,
};

Deno.test("declarativeMessage: the WebKit shape, data for the worker, badge in both places, mutable with actions", () => {
  const m = declarativeMessage(item, {
    silent: false,
    lang: "ko",
    unread: 3,
    b: "bld1",
    channel: "webpush",
  });
  assert.deepEqual(m, {
    web_push: 8030,
    notification: {
      title: "세탁기 1 완료!",
      navigate: "/?m=w1abc",
      body: "다 끝났어요.",
      lang: "ko",
      dir: "ltr",
      silent: false,
      tag: "m-w1abc",
      data: {
        id: "use.done:u1:3",
        kind: "use.done",
        b: "bld1",
        machineId: "w1abc",
        ts: 1_700_000_000_000,
        ch: "webpush",
      },
      app_badge: 3,
    },
    app_badge: 3,
    mutable: true,
  });
});

Deno.test("declarativeMessage: no actions → not mutable; silent as routed; a foreign url navigates home", () => {
  const notice: InboxItem = {
    ...item,
    id: "notice:n1",
    kind: "notice",
    machineId: undefined,
    noticeId: "n1",
    critical: true,
    url: "https://evil.example/",
    tag: "n-n1",
  };
  const m = declarativeMessage(notice, { silent: true, lang: "en", channel: "fcm" });
  assert.equal(m.mutable, undefined);
  assert.equal(m.notification.silent, true);
  assert.equal(m.notification.navigate, "/");
  assert.equal(m.notification.data.critical, true);
  assert.equal(m.notification.data.noticeId, "n1");
  assert.equal(m.app_badge, undefined, "no badge when the count is unknown");
  assert.equal("app_badge" in m.notification, false);
});

Deno.test("actionsFor: the kinds with buttons (waitlist.offer included before the kind exists here)", () => {
  assert.deepEqual(actionsFor("use.ending_soon"), ["extend", "collect"]);
  assert.deepEqual(actionsFor("use.done"), ["extend", "collect"]);
  assert.deepEqual(actionsFor("pickup.nudge"), ["collect"]);
  assert.deepEqual(actionsFor("machine.free"), ["hold"]);
  assert.deepEqual(actionsFor("waitlist.offer"), ["hold"]);
  assert.deepEqual(actionsFor("use.overdue"), []);
  assert.deepEqual(actionsFor("notice"), []);
  assert.deepEqual(actionsFor("toString"), [], "not an inherited property");
});

Deno.test("fitMessage: a long text is cut under 3 KB at code point boundaries; small ones untouched", () => {
  const small = declarativeMessage(item, { silent: false, lang: "ko", channel: "webpush" });
  assert.equal(fitMessage(small), small);
  const long = declarativeMessage(
    { ...item, title: "제".repeat(2000), body: "😀가".repeat(2000) },
    { silent: false, lang: "ko", unread: 150, channel: "webpush" },
  );
  assert.ok(jsonBytes(long) <= MAX_MESSAGE_BYTES, `${jsonBytes(long)} bytes`);
  assert.ok(jsonBytes(long) > MAX_MESSAGE_BYTES - 10, "uses the room it has");
  assert.ok(long.notification.title.endsWith("…") || long.notification.body === "");
  const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
  assert.doesNotMatch(long.notification.body, lone, "never half an emoji");
  assert.doesNotMatch(long.notification.title, lone);
  assert.equal(long.notification.data.id, item.id, "the data is never cut");
});

Deno.test("toFcmData / readDeclarative: the FCM string form reads back as the same message", () => {
  const m = declarativeMessage(item, { silent: true, lang: "en", unread: 7, channel: "fcm" });
  const data = toFcmData(m);
  for (const v of Object.values(data)) assert.equal(typeof v, "string");
  assert.equal(data.web_push, String(WEB_PUSH_MAGIC));
  assert.equal(data.mutable, "true");
  assert.equal(data.app_badge, "7");
  assert.deepEqual(readDeclarative(data), m);
  assert.deepEqual(readDeclarative({ data, from: "1", fcmMessageId: "x" }), m, "SDK envelope");
  assert.deepEqual(readDeclarative(JSON.stringify(m)), m, "as text");
  assert.deepEqual(readDeclarative(m), m);
});

Deno.test("readDeclarative: anything else is not one", () => {
  for (
    const raw of [
      null,
      "nope",
      "[]",
      { title: "flat payload" },
      { web_push: 8031, notification: { title: "x", navigate: "/" } },
      { web_push: 8030 },
      { web_push: 8030, notification: "{bad json" },
      { web_push: 8030, notification: [1] },
    ]
  ) assert.equal(readDeclarative(raw), null, JSON.stringify(raw));
});
