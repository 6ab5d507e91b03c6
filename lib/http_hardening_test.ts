import assert from "node:assert/strict";
import { Hono } from "hono";
import {
  type AppEnv,
  clientIp,
  csrf,
  isJsonContentType,
  isLocalhost,
  toErrorResponse,
} from "./http.ts";

Deno.test("isLocalhost: only real loopback names, compared exactly", () => {
  for (const h of ["localhost:8000", "127.0.0.1", "127.1.2.3:80", "[::1]:80", "app.localhost"]) {
    assert.ok(isLocalhost(h), h);
  }
  for (
    const h of [
      "127.evil.example",
      "127.0.0.1.nip.io",
      "127.0.0.1.evil.example:80",
      "127.0.0.256",
      "localhost.evil.example",
      "10.0.0.1",
      "laundry.example.org",
    ]
  ) {
    assert.ok(!isLocalhost(h), h);
  }
});

Deno.test("isJsonContentType: application/json exactly, with parameters", () => {
  assert.ok(isJsonContentType("application/json"));
  assert.ok(isJsonContentType("Application/JSON; charset=utf-8"));
  for (const ct of ["application/json-evil", "application/jsonx", "text/plain", "", "json"]) {
    assert.ok(!isJsonContentType(ct), ct);
  }
});

Deno.test("csrf: application/json-evil is not JSON (415)", async () => {
  const app = new Hono<AppEnv>();
  app.onError((err, c) => toErrorResponse(c, err));
  app.use("*", csrf());
  app.post("/x", (c) => c.json({ ok: true }));
  const send = (ct: string) =>
    app.request("http://app.test/x", {
      method: "POST",
      body: "{}",
      headers: { origin: "http://app.test", "content-type": ct },
    });
  assert.equal((await send("application/json-evil")).status, 415);
  assert.equal((await send("application/json; charset=utf-8")).status, 200);
});

Deno.test("clientIp: right-most X-Forwarded-For hop our proxies did not add", async () => {
  const app = new Hono();
  app.get("/ip/:hops", (c) => c.text(clientIp(c, Number(c.req.param("hops")))));
  const ip = async (hops: number, xff?: string) =>
    await (await app.request(`/ip/${hops}`, { headers: xff ? { "x-forwarded-for": xff } : {} }, {
      remoteAddr: { hostname: "10.0.0.9", port: 1, transport: "tcp" },
    })).text();
  // The client forged "1.1.1.1"; our one proxy appended the address it saw.
  assert.equal(await ip(1, "1.1.1.1, 203.0.113.7"), "203.0.113.7");
  assert.equal(await ip(2, "1.1.1.1, 203.0.113.7, 10.0.0.2"), "203.0.113.7");
  assert.equal(await ip(1, "203.0.113.7"), "203.0.113.7");
  // Not trusted, absent, or garbage: the socket's address.
  assert.equal(await ip(0, "1.1.1.1"), "10.0.0.9");
  assert.equal(await ip(1), "10.0.0.9");
  assert.equal(await ip(1, "1.1.1.1, <script>"), "10.0.0.9");
});
