import assert from "node:assert/strict";
import { Hono } from "hono";
import { bodyLimit } from "./body_limit.ts";

/** An app whose only route echoes the body length; counts how often it ran. */
function echoApp(max: number) {
  const app = new Hono();
  let reached = 0;
  app.use("*", bodyLimit(max));
  app.post("/echo", async (c) => {
    reached++;
    return c.json({ length: (await c.req.text()).length });
  });
  return { app, reached: () => reached };
}

/** A body stream of `chunks` chunks of 64 KiB; counts the chunks pulled. */
function counted(chunks = Infinity) {
  let pulled = 0;
  const chunk = new Uint8Array(64 * 1024).fill(97);
  const stream = new ReadableStream<Uint8Array>({
    pull(ctrl) {
      if (pulled >= chunks) return ctrl.close();
      pulled++;
      ctrl.enqueue(chunk);
    },
  });
  return { stream, pulled: () => pulled };
}

Deno.test("bodyLimit: a declared 100 MB body is refused at once, unread, as JSON 413", async () => {
  const { app, reached } = echoApp(16 * 1024);
  const body = counted();
  const t0 = performance.now();
  const res = await app.request("/echo", {
    method: "POST",
    body: body.stream,
    headers: { "content-length": String(100 * 1024 * 1024), "content-type": "application/json" },
  });
  assert.equal(res.status, 413);
  assert.equal((await res.json()).error.code, "too_large");
  assert.ok(performance.now() - t0 < 200, "refused fast");
  assert.ok(body.pulled() <= 1, `read ${body.pulled()} chunks of a refused body`);
  assert.equal(reached(), 0, "the handler never ran");
});

Deno.test("bodyLimit: an endless chunked body is cut off just past the limit", async () => {
  const { app, reached } = echoApp(16 * 1024);
  const body = counted();
  const res = await app.request("/echo", { method: "POST", body: body.stream });
  assert.equal(res.status, 413);
  assert.equal((await res.json()).error.code, "too_large");
  // The stream may prefetch one chunk beyond the one that crossed the limit.
  assert.ok(body.pulled() <= 3, `pulled ${body.pulled()} chunks of 64 KiB`);
  assert.equal(reached(), 0);
});

Deno.test("bodyLimit: bodies within the limit pass whole, with or without a length", async () => {
  const { app, reached } = echoApp(200_000);
  const small = await app.request("/echo", { method: "POST", body: "x".repeat(1000) });
  assert.equal(small.status, 200);
  assert.equal((await small.json()).length, 1000);
  const streamed = counted(3);
  const res = await app.request("/echo", { method: "POST", body: streamed.stream });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).length, 3 * 64 * 1024);
  assert.equal(reached(), 2);
  const none = await app.request("/echo", { method: "POST" });
  assert.equal(none.status, 200);
});
