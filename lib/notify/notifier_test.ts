import assert from "node:assert/strict";
import {
  inboxItem,
  MAX_PUSH_ATTEMPTS,
  MAX_RETRY_DELAY_MS,
  renderText,
  retryDelayMs,
} from "./notifier.ts";
import { declarativeMessage, fitMessage } from "../push/declarative.ts";
import { machineSpec } from "./plan.ts";
import type { Machine } from "../types.ts";

const m: Machine = {
  id: "d1",
  buildingId: "b1",
  name: "건조기 1",
  kind: "dryer",
  room: "r",
  order: 1,
  state: "done",
  gen: 1,
  updatedAt: 0,
};

Deno.test("retryDelayMs: exponential from 2 s, never before Retry-After, capped at 10 minutes", () => {
  assert.deepEqual([1, 2, 3, 4].map((a) => retryDelayMs(a, 0)), [2000, 4000, 8000, 16000]);
  // A longer Retry-After wins; a shorter one does not shorten the backoff.
  assert.equal(retryDelayMs(1, 3000), 3000);
  assert.equal(retryDelayMs(3, 3000), 8000);
  assert.equal(retryDelayMs(1, 2000), 2000);
  assert.equal(retryDelayMs(20, 0), MAX_RETRY_DELAY_MS);
  assert.equal(retryDelayMs(1, 3_600_000), MAX_RETRY_DELAY_MS);
  assert.equal(MAX_RETRY_DELAY_MS, 600_000);
  assert.deepEqual([1, 2, 3].map((a) => retryDelayMs(a, 0, 50)), [100, 200, 400]);
  assert.equal(MAX_PUSH_ATTEMPTS, 5);
});

Deno.test("renderText: catalogue keys in the recipient's language; @params are catalogue keys too", () => {
  const free = {
    id: "x",
    kind: "machine.free" as const,
    url: "/",
    text: {
      key: { title: "n.free.title" as const, body: "n.free.body" as const },
      params: { kind: "@kind.dryer", machine: "D1" },
    },
  };
  const ko = renderText(free, "ko");
  const en = renderText(free, "en");
  assert.match(ko.title, /건조기/);
  assert.match(en.title, /dryer/i);
  assert.match(en.body, /D1/);
  assert.notEqual(ko.title, en.title);
  const literal = { ...free, text: { literal: { title: "T", body: "B" } } };
  assert.deepEqual(renderText(literal, "en"), { title: "T", body: "B" });
  // A plain string param that does not start with "@" is kept as is.
  const spec = machineSpec(m, "use.done:u", "use.done", "n.done.title", "n.done.body");
  assert.match(renderText(spec, "ko").title + renderText(spec, "ko").body, /건조기 1/);
  assert.match(renderText(spec, "en").title + renderText(spec, "en").body, /건조기 1/);
});

Deno.test("inboxItem and its push message: the tag collapses by machine; the message fits", () => {
  const spec = machineSpec(m, "use.done:u", "use.done", "n.done.title", "n.done.body");
  const item = inboxItem({ ...spec, critical: true }, "en", 123);
  assert.equal(item.id, "use.done:u");
  assert.equal(item.tag, "m-d1");
  assert.equal(item.createdAt, 123);
  assert.equal(item.url, "/?building=b1&m=d1");
  assert.equal(item.critical, true);
  const p = declarativeMessage({ ...item, body: "가".repeat(5000) }, {
    silent: true,
    lang: "en",
    channel: "webpush",
  });
  assert.equal(p.notification.silent, true);
  assert.equal(p.notification.data.ts, 123);
  assert.ok(new TextEncoder().encode(JSON.stringify(p)).length <= 3000);
  assert.ok(p.notification.body.endsWith("…"));
  const small = fitMessage({ ...p, notification: { ...p.notification, body: "short" } });
  assert.equal(small.notification.body, "short");
});
