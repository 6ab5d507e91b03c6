import assert from "node:assert/strict";
import { Hono } from "hono";
import { effectiveUrl, publicOrigin, type PublicOriginOptions } from "./public_origin.ts";

function app(opts: PublicOriginOptions) {
  const a = new Hono();
  a.use("*", publicOrigin(opts));
  a.all("*", async (c) => c.json({ url: c.req.url, body: await c.req.text() }));
  return a;
}

Deno.test("publicOrigin: PUBLIC_URL replaces whatever Host the client sent", async () => {
  const a = app({ publicUrl: "https://laundry.example.org", trustProxy: false });
  const res = await a.request("http://evil.example:8000/lang/en?x=1", {
    headers: { host: "evil.example:8000" },
  });
  assert.equal((await res.json()).url, "https://laundry.example.org/lang/en?x=1");
});

Deno.test("publicOrigin: the body survives the rewrite", async () => {
  const a = app({ publicUrl: "https://laundry.example.org", trustProxy: false });
  const res = await a.request("http://127.0.0.1/api/x", { method: "POST", body: '{"a":1}' });
  assert.deepEqual(await res.json(), { url: "https://laundry.example.org/api/x", body: '{"a":1}' });
});

Deno.test("publicOrigin: X-Forwarded-Proto only behind a trusted proxy", () => {
  const req = (h: Record<string, string>) => new Request("http://app.test/x", { headers: h });
  const trusted = { trustProxy: true };
  const untrusted = { trustProxy: false };
  assert.equal(
    effectiveUrl(req({ "x-forwarded-proto": "https" }), trusted).origin,
    "https://app.test",
  );
  assert.equal(
    effectiveUrl(req({ "x-forwarded-proto": "https" }), untrusted).origin,
    "http://app.test",
  );
  // Right-most value: the one our own proxy set.
  assert.equal(
    effectiveUrl(req({ "x-forwarded-proto": "https, http" }), trusted).origin,
    "http://app.test",
  );
  assert.equal(effectiveUrl(req({ "x-forwarded-proto": "gopher" }), trusted).protocol, "http:");
  assert.equal(effectiveUrl(req({}), trusted).origin, "http://app.test");
});
