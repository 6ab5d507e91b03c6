import assert from "node:assert/strict";
import { Hono } from "hono";
import { isValidHost, MAX_PATH, requestGuard } from "./request_guard.ts";

function app() {
  const a = new Hono();
  a.use("*", requestGuard());
  // Like the real app: reads the URL's host (this threw on `Host: a b`).
  a.all("*", (c) => c.json({ host: new URL(c.req.url).host }));
  return a;
}

Deno.test("isValidHost: names, IPv4, bracketed IPv6, ports", () => {
  for (
    const ok of ["localhost", "localhost:8000", "laundry.example.org", "127.0.0.1:80", "[::1]:8000"]
  ) {
    assert.ok(isValidHost(ok), ok);
  }
  for (
    const bad of [
      "a b",
      "a;b",
      "evil.example/x",
      "x'; script-src *",
      "",
      ":80",
      "host:99999",
      "a".repeat(300),
      "ho\tst",
      "[::1",
    ]
  ) {
    assert.ok(!isValidHost(bad), bad);
  }
});

Deno.test("requestGuard: a malformed Host is a JSON 400, not a 500", async () => {
  for (const host of ["a b", "a;b", "x'; connect-src *"]) {
    const res = await app().request("/api/machines", { headers: { host } });
    assert.equal(res.status, 400, host);
    assert.deepEqual(Object.keys((await res.json()).error).sort(), ["code", "message"]);
  }
  const ok = await app().request("http://laundry.test/api/machines", {
    headers: { host: "laundry.test" },
  });
  assert.equal(ok.status, 200);
});

Deno.test("requestGuard: over-long paths and segments are 414 / 404", async () => {
  const long = await app().request("/" + "a/".repeat(MAX_PATH));
  assert.equal(long.status, 414);
  assert.equal((await long.json()).error.code, "uri_too_long");
  const seg = await app().request("/api/admin/residents/" + "x".repeat(1000));
  assert.equal(seg.status, 404);
  assert.equal((await seg.json()).error.code, "not_found");
  const fine = await app().request("/api/admin/residents/abcd1234");
  assert.equal(fine.status, 200);
});
