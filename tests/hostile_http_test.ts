/**
 * Issue 8, HTTP side, against a real server on loopback: oversized bodies,
 * malformed Host and handshakes, over-long ids, login floods and lockouts,
 * strict JSON, the `/lang` redirect, `PUBLIC_URL` and `X-Forwarded-Proto`,
 * and registration checks.
 * @module
 */
import assert from "node:assert/strict";
import {
  admin,
  type ApiResponse,
  Client,
  openSocket,
  resident,
  startTestServer,
  TEST_INVITE,
  TEST_PASSWORD,
} from "./support/harness.ts";
import { rawHttp } from "./support/raw_http.ts";

/** Assert the API error shape and status (never a 500). */
function assertError(r: ApiResponse, status: number, code?: string): void {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${JSON.stringify(r.json)}`);
  assert.equal(typeof r.json?.error?.code, "string", JSON.stringify(r.json));
  assert.equal(typeof r.json?.error?.message, "string", JSON.stringify(r.json));
  if (code) assert.equal(r.json.error.code, code, JSON.stringify(r.json));
}

function hostOf(url: string): string {
  return new URL(url).host;
}

Deno.test("a 100 MB login body is refused with 413 at once, before auth, unbuffered", async () => {
  await using srv = await startTestServer();
  const rssBefore = Deno.memoryUsage().rss;
  const res = await rawHttp(srv.url, [
    "POST /api/auth/login HTTP/1.1",
    `Host: ${hostOf(srv.url)}`,
    "Content-Type: application/json",
    `Origin: ${srv.url}`,
    `Content-Length: ${100 * 1024 * 1024}`,
  ], { bodyBytes: 100 * 1024 * 1024 });
  assert.equal(res.status, 413);
  assert.equal(JSON.parse(res.body).error.code, "too_large");
  assert.ok(res.ms < 1000, `answered after ${res.ms} ms`);
  assert.ok(Deno.memoryUsage().rss - rssBefore < 50 * 1024 * 1024, "no 100 MB buffered");

  // Without a length (chunked), it is cut off once past the limit.
  const chunk = "4000\r\n" + "x".repeat(0x4000) + "\r\n";
  const chunked = await rawHttp(srv.url, [
    "POST /api/auth/login HTTP/1.1",
    `Host: ${hostOf(srv.url)}`,
    "Content-Type: application/json",
    `Origin: ${srv.url}`,
    "Transfer-Encoding: chunked",
  ], { body: chunk.repeat(8) });
  assert.equal(chunked.status, 413);
  assert.equal(JSON.parse(chunked.body).error.code, "too_large");
});

Deno.test("bad Host, bad upgrades, over-long ids: 4xx with the error shape, never 500", async () => {
  await using srv = await startTestServer();
  const host = hostOf(srv.url);
  for (const bad of ["a b", "evil.example/x", "x;y"]) {
    const r = await rawHttp(srv.url, ["GET /api/machines HTTP/1.1", `Host: ${bad}`]);
    assert.equal(r.status, 400, `Host: ${bad}`);
    assert.equal(JSON.parse(r.body).error.code, "bad_host");
  }
  const a = await resident(srv.url, "alice");
  const upgrade = (drop: string) =>
    rawHttp(
      srv.url,
      [
        "GET /ws HTTP/1.1",
        `Host: ${host}`,
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        `Origin: ${srv.url}`,
        `Cookie: ${a.cookie}`,
      ].filter((l) => !l.startsWith(drop)),
    );
  for (const drop of ["Sec-WebSocket-Key", "Connection", "Sec-WebSocket-Version"]) {
    const r = await upgrade(drop);
    assert.equal(r.status, 400, `without ${drop}: ${r.status} ${r.body}`);
    assert.equal(JSON.parse(r.body).error.code, "bad_upgrade");
  }
  const ok = await upgrade("X-None");
  assert.equal(ok.status, 101, "a full handshake still upgrades");
  // The 101 carries no document: no page headers (a storm makes thousands).
  assert.equal(ok.headers.get("content-security-policy"), null);
  assert.equal(ok.headers.get("upgrade")?.toLowerCase(), "websocket");

  const adm = await admin(srv.url);
  const long = "x".repeat(190);
  const huge = "y".repeat(1500);
  for (
    const [method, path] of [
      ["PATCH", `/api/admin/residents/${long}`],
      ["PATCH", `/api/admin/residents/${huge}`],
      ["DELETE", `/api/admin/invites/${long}`],
      ["DELETE", `/api/admin/invites/${huge}`],
      ["PATCH", `/api/admin/machines/${huge}`],
      ["POST", `/api/machines/${huge}/hold`],
    ]
  ) {
    const r = await adm.request(method, path, method === "PATCH" ? { disabled: true } : undefined);
    assertError(r, 404);
  }
});

Deno.test("40 parallel wrong passwords for one account are checked at most 5 times", async () => {
  // A long first wait, so a slow machine cannot let a straggler through after it.
  await using srv = await startTestServer({ LOGIN_DELAY_BASE_MS: "600000" });
  await resident(srv.url, "alice");
  const tries = await Promise.all(
    Array.from({ length: 40 }, () => new Client(srv.url).login("alice", "wrong-password-1")),
  );
  const checked = tries.filter((r) => r.status === 401).length;
  const refused = tries.filter((r) => r.status === 429);
  assert.equal(checked, 5, tries.map((r) => r.status).join(","));
  assert.equal(refused.length, 35);
  for (const r of refused) {
    assertError(r, 429, "rate_limited");
    const sec = Number(r.headers.get("retry-after"));
    assert.ok(sec >= 1 && sec <= 900, `Retry-After ${sec}`);
    assert.equal(r.json.error.retryAfterSec, sec);
  }
  // The refusal is worded in the user's language.
  const ko = await new Client(srv.url).request("POST", "/api/auth/login", {
    loginId: "alice",
    password: "x",
  }, { headers: { "accept-language": "ko-KR" } });
  assert.match(ko.json.error.message, /초|분/);
});

Deno.test("100 parallel wrong logins from one address are checked at most the IP limit", async () => {
  await using srv = await startTestServer({ LOGIN_IP_LIMIT: "10" });
  const tries = await Promise.all(
    Array.from({ length: 100 }, (_, i) => new Client(srv.url).login(`user${i}`, "nope-nope-1")),
  );
  assert.equal(tries.filter((r) => r.status === 401).length, 10);
  assert.equal(tries.filter((r) => r.status === 429).length, 90);
});

Deno.test("the owner still signs in from home while an attacker hammers from elsewhere", async () => {
  await using srv = await startTestServer({ TRUST_PROXY: "1", LOGIN_ACCOUNT_LIMIT: "10" });
  const from = (ip: string, forged?: string) => ({
    headers: { "x-forwarded-for": forged ? `${forged}, ${ip}` : ip },
  });
  const home = "192.0.2.10";
  const owner = new Client(srv.url);
  assert.equal((await owner.register("alice", "Alice", "101")).status, 201);
  // She signed in from home before: that address is familiar.
  const first = await new Client(srv.url).request(
    "POST",
    "/api/auth/login",
    { loginId: "alice", password: TEST_PASSWORD },
    from(home),
  );
  assert.equal(first.status, 200);

  // The attacker rotates the (forged) first X-Forwarded-For hop from one address:
  // the right-most hop is the key, so only 5 guesses are checked.
  const forged = [];
  for (let i = 0; i < 12; i++) {
    forged.push(
      await new Client(srv.url).request(
        "POST",
        "/api/auth/login",
        { loginId: "alice", password: `guess-${i}-xx` },
        from("198.51.100.7", `10.9.9.${i}`),
      ),
    );
  }
  assert.equal(forged.filter((r) => r.status === 401).length, 5);
  // Then from many addresses, until the account's ceiling for strangers holds.
  const spread = [];
  for (let i = 0; i < 20; i++) {
    spread.push(
      await new Client(srv.url).request(
        "POST",
        "/api/auth/login",
        { loginId: "alice", password: `guess-${i}-yy` },
        from(`198.18.0.${i}`),
      ),
    );
  }
  assert.ok(spread.filter((r) => r.status === 401).length <= 10);
  assertError(spread.at(-1)!, 429, "rate_limited");

  // The owner, from home, with her password: in.
  const back = new Client(srv.url);
  const r = await back.request(
    "POST",
    "/api/auth/login",
    { loginId: "alice", password: TEST_PASSWORD },
    from(home),
  );
  assert.equal(r.status, 200, JSON.stringify(r.json));
  // Another resident, elsewhere, is unaffected too.
  await resident(srv.url, "bob");
  const bob = await new Client(srv.url).request(
    "POST",
    "/api/auth/login",
    { loginId: "bob", password: TEST_PASSWORD },
    from("203.0.113.50"),
  );
  assert.equal(bob.status, 200);
});

Deno.test("strict JSON, same-origin /lang redirects, exact loopback for Secure/HSTS", async () => {
  await using srv = await startTestServer({}, {
    setup: async (ctx) => {
      const { pageRoutes } = await import("../routes/pages.tsx");
      return [await pageRoutes(ctx)];
    },
  });
  const c = new Client(srv.url);
  assertError(
    await c.request("POST", "/api/auth/login", { loginId: "a", password: "b" }, {
      headers: { "content-type": "application/json-evil" },
    }),
    415,
    "unsupported_media_type",
  );
  // A body-less DELETE without Content-Length (as Chromium sends it) is not a body.
  const adm = await admin(srv.url);
  const del = await rawHttp(srv.url, [
    "DELETE /api/admin/invites/NOPE-1234 HTTP/1.1",
    `Host: ${hostOf(srv.url)}`,
    `Origin: ${srv.url}`,
    `Cookie: ${adm.cookie}`,
  ]);
  // The route ran (its own 404), rather than the CSRF check's 415.
  assert.equal(del.status, 404, del.body);
  assert.equal(JSON.parse(del.body).error.message, "No such invite code.");
  for (
    const [referer, want] of [
      [`${srv.url}//evil.example/`, "/"],
      [`${srv.url}/\\evil.example`, "/"],
      ["https://evil.example/", "/"],
      [`${srv.url}/inbox?x=1`, "/inbox?x=1"],
    ]
  ) {
    const res = await fetch(`${srv.url}/lang/en`, { headers: { referer }, redirect: "manual" });
    await res.body?.cancel();
    assert.equal(res.status, 302);
    assert.equal(res.headers.get("location"), want, referer);
  }
  // A Host that merely starts with "127." is not loopback: HSTS.
  const r = await rawHttp(srv.url, ["GET /api/me HTTP/1.1", "Host: 127.0.0.1.nip.io"]);
  assert.equal(r.headers.get("strict-transport-security"), "max-age=31536000");
  const local = await rawHttp(srv.url, ["GET /api/me HTTP/1.1", `Host: ${hostOf(srv.url)}`]);
  assert.equal(local.headers.get("strict-transport-security"), null);
});

Deno.test("PUBLIC_URL pins cookies, HSTS, CSP and Origin checks; WebSockets still upgrade", async () => {
  const pub = "https://laundry.example.org";
  await using srv = await startTestServer({ PUBLIC_URL: pub });
  // Writes from the public origin pass the CSRF check; from the raw address they do not.
  const a = new Client(srv.url, { origin: pub });
  const reg = await a.register("alice", "Alice", "101");
  assert.equal(reg.status, 201, JSON.stringify(reg.json));
  assert.match(a.lastSetCookie.find((l) => l.startsWith("ll_session="))!, /;\s*Secure/i);
  assertError(
    await new Client(srv.url).register("bob", "Bob", "102"),
    403,
    "cross_origin",
  );
  const r = await rawHttp(srv.url, ["GET /api/me HTTP/1.1", "Host: evil.example"]);
  const csp = r.headers.get("content-security-policy")!;
  assert.ok(csp.includes("wss://laundry.example.org"), csp);
  assert.ok(!csp.includes("evil.example"), "no Host reflected into the CSP");
  assert.equal(r.headers.get("strict-transport-security"), "max-age=31536000");
  await using ws = openSocket(srv.url, a.cookie, undefined, { origin: pub });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hello = await Promise.race([
    ws.hello,
    new Promise((_, rej) => timer = setTimeout(() => rej(new Error("no hello in 5 s")), 5000)),
  ]).finally(() => clearTimeout(timer));
  assert.equal((hello as { type: string }).type, "hello");
});

Deno.test("TRUST_PROXY honours X-Forwarded-Proto: Secure cookie and HSTS behind TLS", async () => {
  await using srv = await startTestServer({ TRUST_PROXY: "1" });
  const a = new Client(srv.url, { origin: srv.url.replace("http:", "https:") });
  const reg = await a.request("POST", "/api/auth/register", {
    inviteCode: TEST_INVITE,
    loginId: "alice",
    password: TEST_PASSWORD,
    name: "Alice",
    room: "101",
  }, { headers: { "x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.9" } });
  assert.equal(reg.status, 201, JSON.stringify(reg.json));
  assert.match(a.lastSetCookie.find((l) => l.startsWith("ll_session="))!, /;\s*Secure/i);
  assert.equal(reg.headers.get("strict-transport-security"), "max-age=31536000");
  // Without the trusted proxy setting, the header is ignored.
  await using plain = await startTestServer();
  const r = await new Client(plain.url).get("/api/me", {
    headers: { "x-forwarded-proto": "https" },
  });
  assert.equal(r.headers.get("strict-transport-security"), null);
});

Deno.test("register: invite first, password policy, clean names", async () => {
  await using srv = await startTestServer();
  await resident(srv.url, "alice");
  const c = new Client(srv.url);
  // No valid invite: nothing about the login id is told.
  assertError(
    await c.register("alice", "Eve", "9", { inviteCode: "NOT-AN-INVITE" }),
    400,
    "invalid_invite",
  );
  assertError(await c.register("alice", "Eve", "9"), 409, "login_taken");
  for (const password of ["12345678", "password", "        ", "CAROL123", "qwer1234"]) {
    assertError(
      await c.register("carol123", "Carol", "103", { password }),
      400,
      password.length < 8 ? "invalid_body" : "weak_password",
    );
  }
  for (const name of ["A\u0000B", "line\nbreak", "\u202Eevil", "\u200B\u200B", "   "]) {
    assertError(await c.register("carol", name, "103"), 400, "invalid_body");
  }
  assertError(await c.register("carol", "Carol", "1\u202E03"), 400, "invalid_body");
  const ok = await c.register("carol", "  \u1112\u1161\u11AB  ", "103");
  assert.equal(ok.status, 201, JSON.stringify(ok.json));
  assert.equal(ok.json.user.name, "한");
});
