import assert from "node:assert/strict";
import { contentSecurityPolicy, isLocalhost, isSameOrigin } from "./http.ts";

Deno.test("isSameOrigin: Origin must match, else Sec-Fetch-Site same-origin", () => {
  const req = (h: Record<string, string>) =>
    new Request("http://app.test/api/x", { method: "POST", headers: h });
  assert.equal(isSameOrigin(req({ origin: "http://app.test" })), true);
  assert.equal(isSameOrigin(req({ origin: "http://evil.test" })), false);
  assert.equal(isSameOrigin(req({ origin: "http://evil.test" }), ["http://evil.test"]), true);
  assert.equal(isSameOrigin(req({ "sec-fetch-site": "same-origin" })), true);
  assert.equal(isSameOrigin(req({ "sec-fetch-site": "cross-site" })), false);
  assert.equal(isSameOrigin(req({})), false);
});

Deno.test("isLocalhost", () => {
  for (const h of ["localhost:8000", "127.0.0.1", "[::1]:80", "app.localhost"]) {
    assert.ok(isLocalhost(h), h);
  }
  for (const h of ["laundry.example.org", "10.0.0.1"]) assert.ok(!isLocalhost(h), h);
});

Deno.test("CSP forbids inline script and framing", () => {
  const csp = contentSecurityPolicy("app.test");
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.match(csp, /connect-src 'self' ws:\/\/app.test wss:\/\/app.test/);
  assert.ok(!csp.includes("unsafe-inline"));
});
