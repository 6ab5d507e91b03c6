import { building } from "./middleware/building.ts";
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

// ───────────── the guards as middleware, in-process (app.request) ─────────────

import { Hono } from "hono";
import { z } from "zod";
import { StoreError } from "./db/mod.ts";
import {
  type AppEnv,
  body,
  clientIp,
  csrf,
  HttpError,
  language,
  MAX_BODY,
  negotiateLanguage,
  notForSocket,
  requireAdmin,
  requireUser,
  securityHeaders,
  session,
  SESSION_COOKIE,
  toErrorResponse,
} from "./http.ts";
import { createTestApp } from "../tests/support/app_kit.ts";

const WRITES = ["POST", "PUT", "PATCH", "DELETE"] as const;

/** Assert the API error shape and status (and code, when given). */
async function assertError(res: Response, status: number, code?: string): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  const json = JSON.parse(text);
  assert.equal(typeof json.error?.code, "string", text);
  assert.ok(typeof json.error?.message === "string" && json.error.message.length > 0, text);
  if (code) assert.equal(json.error.code, code, text);
}

/** A bare app with one route for every method, guarded by `csrf(allowed)`. */
function csrfApp(allowed: string[] = []) {
  const app = new Hono<AppEnv>();
  let reached = 0;
  app.onError((err, c) => toErrorResponse(c, err));
  app.use("*", csrf(allowed));
  app.on(["GET", "HEAD", "OPTIONS", ...WRITES], "/x", (c) => {
    reached++;
    return c.json({ ok: true });
  });
  return {
    reached: () => reached,
    req: (method: string, headers: Record<string, string>, text?: string) => {
      const h = { ...headers };
      if (text !== undefined) h["content-length"] ??= String(new TextEncoder().encode(text).length);
      return app.request("http://app.test/x", { method, headers: h, body: text });
    },
  };
}

Deno.test("csrf: every state-changing method (POST, PUT, PATCH, DELETE) must be same-origin", async () => {
  for (const method of WRITES) {
    const a = csrfApp(["http://partner.test"]);
    const json = { "content-type": "application/json" };
    for (
      const headers of [
        { origin: "http://evil.test", ...json },
        { origin: "null", ...json },
        { "sec-fetch-site": "cross-site", ...json },
        { "sec-fetch-site": "same-site", ...json },
        { ...json }, // neither Origin nor Sec-Fetch-Site
      ]
    ) {
      await assertError(await a.req(method, headers, "{}"), 403, "cross_origin");
    }
    assert.equal(a.reached(), 0, `${method}: a refused request reached the handler`);
    // Positive controls: own origin, an allowed extra origin, Sec-Fetch-Site same-origin.
    for (
      const headers of [
        { origin: "http://app.test", ...json },
        { origin: "http://partner.test", ...json },
        { "sec-fetch-site": "same-origin", ...json },
      ]
    ) {
      const r = await a.req(method, headers, "{}");
      assert.equal(r.status, 200, `${method} ${JSON.stringify(headers)}: ${await r.text()}`);
    }
    assert.equal(a.reached(), 3);
  }
});

Deno.test("csrf: a body must be JSON (forms and text/plain are refused); no body needs no type", async () => {
  for (const method of WRITES) {
    const a = csrfApp();
    const own = { origin: "http://app.test" };
    await assertError(
      await a.req(method, { ...own, "content-type": "text/plain" }, "{}"),
      415,
      "unsupported_media_type",
    );
    await assertError(
      await a.req(method, { ...own, "content-type": "application/x-www-form-urlencoded" }, "a=b"),
      415,
    );
    await assertError(
      await a.req(method, { ...own, "content-type": "multipart/form-data; boundary=x" }, "--x--"),
      415,
    );
    // Look-alikes of JSON are not JSON.
    for (const type of ["application/jsonp", "text/plain; x=application/json", "text/json"]) {
      await assertError(await a.req(method, { ...own, "content-type": type }, "{}"), 415);
    }
    // A chunked body without a length is a body too.
    await assertError(
      await a.req(method, { ...own, "transfer-encoding": "chunked", "content-type": "text/plain" }),
      415,
    );
    assert.equal(a.reached(), 0, method);
    for (
      const [headers, text] of [
        [{ ...own, "content-type": "application/json; charset=utf-8" }, "{}"],
        [{ ...own, "content-type": "Application/JSON" }, "{}"],
        [{ ...own, "content-type": "application/json;charset=UTF-8" }, "{}"],
        [own, undefined], // no body at all
        [{ ...own, "content-length": "0", "content-type": "text/plain" }, undefined],
      ] as const
    ) {
      const r = await a.req(method, headers, text);
      assert.equal(r.status, 200, `${method} ${JSON.stringify(headers)}: ${await r.text()}`);
    }
  }
});

Deno.test("csrf: safe methods pass from anywhere", async () => {
  const a = csrfApp();
  for (const method of ["GET", "HEAD", "OPTIONS"]) {
    const r = await a.req(method, { origin: "http://evil.test", "content-type": "text/plain" });
    assert.equal(r.status, 200, method);
  }
  assert.equal(a.reached(), 3);
});

Deno.test("session, requireUser, requireAdmin: cookie → user; static paths skip the lookup", async () => {
  await using kit = await createTestApp({}, { pages: false });
  const { store } = kit.ctx;
  const alice = await kit.resident("alice");
  const adm = await kit.admin();
  const app = new Hono<AppEnv>();
  app.onError((err, c) => toErrorResponse(c, err));
  let lookups = 0;
  const counting = Object.create(store, {
    getSession: {
      value: (t: string) => {
        lookups++;
        return store.getSession(t);
      },
    },
  });
  app.use("*", session(counting));
  app.use("*", building(store));
  const who = (
    c: { get(k: "user"): { loginId: string } | null; get(k: "sessionToken"): string | null },
  ) => ({
    user: c.get("user")?.loginId ?? null,
    token: c.get("sessionToken"),
  });
  app.get("/who", (c) => c.json(who(c)));
  app.get("/sw.js", (c) => c.json(who(c)));
  app.get("/_app/x.js", (c) => c.json(who(c)));
  app.get("/icons/i.png", (c) => c.json(who(c)));
  app.get("/manifest.webmanifest", (c) => c.json(who(c)));
  app.get("/me", (c) => c.json({ id: requireUser(c).loginId }));
  app.get("/admin", (c) => c.json({ id: requireAdmin(c).loginId }));
  const get = (path: string, cookie?: string) =>
    app.request(`http://app.test${path}`, { headers: cookie ? { cookie } : {} });
  const token = alice.cookie.split("=")[1];

  assert.deepEqual(await (await get("/who", alice.cookie)).json(), { user: "alice", token });
  assert.deepEqual(await (await get("/who")).json(), { user: null, token: null });
  assert.deepEqual(await (await get("/who", `${SESSION_COOKIE}=forged-token`)).json(), {
    user: null,
    token: null,
  });
  lookups = 0;
  for (const p of ["/sw.js", "/_app/x.js", "/icons/i.png", "/manifest.webmanifest"]) {
    assert.deepEqual(await (await get(p, alice.cookie)).json(), { user: null, token: null }, p);
  }
  assert.equal(lookups, 0, "static paths must not read the session");

  await assertError(await get("/me"), 401, "unauthenticated");
  assert.deepEqual(await (await get("/me", alice.cookie)).json(), { id: "alice" });
  await assertError(await get("/admin"), 401, "unauthenticated");
  await assertError(await get("/admin", alice.cookie), 403, "forbidden");
  assert.deepEqual(await (await get("/admin", adm.cookie)).json(), { id: "admin" });

  // A deleted session or a disabled user is nobody.
  await store.deleteSession(token);
  await assertError(await get("/me", alice.cookie), 401);
  const bob = await kit.resident("bob");
  await store.setUserDisabled(bob.user.id, true);
  await assertError(await get("/me", bob.cookie), 401);
});

Deno.test("body(): size limit, empty body, bad JSON, schema errors with the field named", async () => {
  const app = new Hono<AppEnv>();
  app.onError((err, c) => toErrorResponse(c, err));
  const Schema = z.object({
    minutes: z.number().int().min(1).optional(),
    note: z.string().optional(),
  })
    .strict();
  app.post("/b", async (c) => c.json({ got: await body(c, Schema) }));
  const post = (text: string) => app.request("http://app.test/b", { method: "POST", body: text });

  assert.deepEqual(await (await post("")).json(), { got: {} });
  assert.deepEqual(await (await post("  \n")).json(), { got: {} });
  assert.deepEqual(await (await post('{"minutes":5}')).json(), { got: { minutes: 5 } });
  await assertError(await post("{nope"), 400, "bad_json");
  const wrong = await post('{"minutes":"five"}');
  assert.equal(wrong.status, 400);
  const wj = await wrong.json();
  assert.equal(wj.error.code, "invalid_body");
  assert.match(wj.error.message, /^minutes: /);
  const unknown = await (await post('{"minutes":1,"admin":true}')).json();
  assert.equal(unknown.error.code, "invalid_body");
  assert.equal(unknown.error.message, "Unknown field(s): admin.");
  const notObject = await (await post("[1]")).json();
  assert.equal(notObject.error.code, "invalid_body");
  assert.match(notObject.error.message, /^body: /);

  // MAX_BODY characters are fine, one more is 413.
  const fill = (n: number) => JSON.stringify({ note: "x".repeat(n - '{"note":""}'.length) });
  assert.equal(fill(MAX_BODY).length, MAX_BODY);
  assert.equal((await post(fill(MAX_BODY))).status, 200);
  await assertError(await post(fill(MAX_BODY + 1)), 413, "too_large");
});

Deno.test("toErrorResponse: HttpError (with headers), StoreError, and anything else as a logged 500", async () => {
  const app = new Hono<AppEnv>();
  app.onError((err, c) => toErrorResponse(c, err));
  app.get("/http", () => {
    throw new HttpError(429, "rate_limited", "Slow down.", { "Retry-After": "7" });
  });
  app.get("/store", () => {
    throw new StoreError("not_owner", "Not yours.");
  });
  app.get("/boom", () => {
    throw new Error("secret detail");
  });
  const get = (p: string) => app.request(`http://app.test${p}`);
  const h = await get("/http");
  assert.equal(h.headers.get("retry-after"), "7");
  // The wait travels in the body too (the client shows it, translated).
  assert.deepEqual(await h.json(), {
    error: { code: "rate_limited", message: "Slow down.", retryAfterSec: 7 },
  });
  assert.equal(h.status, 429);
  const s = await get("/store");
  assert.equal(s.status, 403);
  assert.deepEqual(await s.json(), { error: { code: "not_owner", message: "Not yours." } });
  const logged: unknown[][] = [];
  const orig = console.error;
  console.error = (...args: unknown[]) => logged.push(args);
  try {
    const b = await get("/boom");
    assert.equal(b.status, 500);
    const j = await b.json();
    assert.equal(j.error.code, "internal");
    assert.ok(!JSON.stringify(j).includes("secret detail"), "internals must not leak");
  } finally {
    console.error = orig;
  }
  assert.equal(logged.length, 1);
  assert.ok(logged[0].some((x) => x instanceof Error && x.message === "secret detail"));
});

Deno.test("securityHeaders: on every response; HSTS only off localhost", async () => {
  const app = new Hono<AppEnv>();
  app.use("*", securityHeaders(["https://fcm.example"]));
  app.get("/", (c) => c.text("hi"));
  const remote = await app.request("http://laundry.example.org/");
  const h = remote.headers;
  assert.equal(h.get("x-content-type-options"), "nosniff");
  assert.equal(h.get("x-frame-options"), "DENY");
  assert.equal(h.get("referrer-policy"), "strict-origin-when-cross-origin");
  assert.equal(h.get("cross-origin-opener-policy"), "same-origin");
  assert.match(h.get("permissions-policy") ?? "", /camera=\(\)/);
  assert.equal(h.get("strict-transport-security"), "max-age=31536000");
  assert.match(
    h.get("content-security-policy") ?? "",
    /connect-src 'self' ws:\/\/laundry.example.org wss:\/\/laundry.example.org https:\/\/fcm.example;/,
  );
  const local = await app.request("http://localhost:8000/");
  assert.equal(local.headers.get("strict-transport-security"), null);
  assert.equal(local.headers.get("x-frame-options"), "DENY");
});

Deno.test("clientIp: the socket address; behind a trusted proxy the right-most X-Forwarded-For hop", async () => {
  const app = new Hono<AppEnv>();
  app.get("/ip", (c) => c.json({ on: clientIp(c, true), off: clientIp(c, false) }));
  const env = { remoteAddr: { transport: "tcp", hostname: "192.0.2.9", port: 1 } };
  const ask = async (headers: Record<string, string>, e?: unknown) =>
    await (await app.request("http://app.test/ip", { headers }, e)).json();
  // Our proxy appended 10.0.0.1 (the address it saw); "203.0.113.5" came from the client.
  assert.deepEqual(await ask({ "x-forwarded-for": " 203.0.113.5 , 10.0.0.1" }, env), {
    on: "10.0.0.1",
    off: "192.0.2.9",
  });
  assert.deepEqual(await ask({}, env), { on: "192.0.2.9", off: "192.0.2.9" });
  assert.deepEqual(await ask({}), { on: "unknown", off: "unknown" });
});

Deno.test("negotiateLanguage: q-values decide, then order; unsupported and q=0 are skipped", () => {
  const cases: [string | undefined, "ko" | "en"][] = [
    [undefined, "ko"],
    ["", "ko"],
    ["en", "en"],
    ["ko", "ko"],
    ["ko;q=0.1, en;q=0.9", "en"],
    ["ko;q=0.9, en;q=0.1", "ko"],
    ["ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", "ko"],
    ["en-US,en;q=0.9,ko;q=0.8", "en"],
    ["fr-FR, en;q=0.5, ko;q=0.4", "en"],
    ["fr-FR, de;q=0.5", "ko"],
    ["en, ko", "en"], // equal q: the first wins
    ["ko, en", "ko"],
    ["en;q=0, ko;q=0", "ko"],
    ["en;q=0", "ko"],
    ["EN-gb;Q=0.8, ko;q=0.5", "en"],
    ["en;q=0.50, ko;q=0.500", "en"],
    ["en;q=0.001", "en"],
    ["en;q=2, ko;q=0.9", "ko"], // an invalid q-value does not count
    ["en;q=1.5, ko;q=0.5", "ko"],
    ["en;q=0.1234, ko;q=0.1", "ko"],
    ["en;q=1.000, ko", "en"],
    ["en;q=0., ko;q=0.5", "ko"],
    ["en;q=1.0", "en"],
    ["en;q=abc", "ko"],
    ["kok, en;q=0.5", "en"], // Konkani is not Korean
    ["english", "ko"],
    ["*;q=0.8, en;q=0.5", "ko"], // * is any language: the default
    ["en;q=0.9, *;q=0.8", "en"],
  ];
  for (const [header, want] of cases) {
    assert.equal(negotiateLanguage(header), want, JSON.stringify(header));
  }
});

Deno.test("language: the lang cookie wins over Accept-Language; pages render in that language", async () => {
  const app = new Hono<AppEnv>();
  app.use("*", language());
  app.get("/", (c) => c.text(c.get("lang")));
  const lang = async (headers: Record<string, string>) =>
    await (await app.request("http://app.test/", { headers })).text();
  assert.equal(await lang({}), "ko");
  assert.equal(await lang({ "accept-language": "ko;q=0.1, en;q=0.9" }), "en");
  assert.equal(await lang({ "accept-language": "en", cookie: "lang=ko" }), "ko");
  assert.equal(await lang({ "accept-language": "ko", cookie: "lang=en" }), "en");
  assert.equal(await lang({ "accept-language": "en", cookie: "lang=fr" }), "en");

  // The whole app: the login page is English for "ko;q=0.1, en;q=0.9".
  await using kit = await createTestApp();
  const page = await kit.call("GET", "/login", {
    headers: { "accept-language": "ko;q=0.1, en;q=0.9" },
  });
  assert.equal(page.status, 200);
  assert.match(page.text, /<html lang="en"/);
  const ko = await kit.call("GET", "/login", { headers: { "accept-language": "ko-KR,ko;q=0.9" } });
  assert.match(ko.text, /<html lang="ko"/);
  // A resident registering from that browser gets English notifications.
  const reg = await kit.call("POST", "/api/auth/register", {
    headers: { "accept-language": "ko;q=0.1, en;q=0.9" },
    body: {
      inviteCode: "TEST-INVITE",
      loginId: "english",
      password: "resident-pass-123",
      name: "E",
      room: "1",
    },
  });
  assert.equal(reg.status, 201, reg.text);
  const cookie = reg.headers.getSetCookie()[0].split(";")[0];
  const prefs = await kit.call("GET", "/api/preferences", { cookie });
  assert.equal(prefs.json.preferences.lang, "en");
});

Deno.test("CSP and security headers, exactly (every directive matters)", async () => {
  assert.equal(
    contentSecurityPolicy("app.test:8000", ["https://fcm.example"]),
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
      "connect-src 'self' ws://app.test:8000 wss://app.test:8000 https://fcm.example; " +
      "manifest-src 'self'; worker-src 'self'; frame-ancestors 'none'; base-uri 'none'; " +
      "form-action 'self'; object-src 'none'",
  );
  const app = new Hono<AppEnv>();
  app.use("*", securityHeaders());
  app.get("/", (c) => c.text("hi"));
  const h = (await app.request("https://localhost/")).headers;
  assert.equal(h.get("permissions-policy"), "camera=(), microphone=(), geolocation=()");
  assert.equal(h.get("strict-transport-security"), "max-age=31536000", "https even on loopback");
  assert.equal(
    h.get("content-security-policy"),
    contentSecurityPolicy("localhost"),
    "no extra connect sources by default",
  );
});

// ───────────── what mutation testing found unguarded (issue 14) ─────────────

Deno.test("toErrorResponse: the wait in the body and in Retry-After agree, whichever was given", async () => {
  const app = new Hono<AppEnv>();
  app.onError((err, c) => toErrorResponse(c, err));
  const routes: Record<string, () => never> = {
    // Only the body detail: the header is added from it.
    "/detail": () => {
      throw new HttpError(429, "rate_limited", "Wait.", {}, { retryAfterSec: 30 });
    },
    // Both given: neither overwrites the other.
    "/both": () => {
      throw new HttpError(429, "rate_limited", "Wait.", { "Retry-After": "45" }, {
        retryAfterSec: 30,
      });
    },
    // A zero, negative or non-numeric header is no wait to tell.
    "/zero": () => {
      throw new HttpError(503, "busy", "Busy.", { "Retry-After": "0" });
    },
    "/negative": () => {
      throw new HttpError(503, "busy", "Busy.", { "Retry-After": "-5" });
    },
    "/date": () => {
      throw new HttpError(503, "busy", "Busy.", { "Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT" });
    },
    // Other headers and details travel unchanged; no wait means no Retry-After.
    "/plain": () => {
      throw new HttpError(405, "method_not_allowed", "No.", { Allow: "GET" }, { field: "x" });
    },
    "/store-wait": () => {
      throw Object.assign(new StoreError("busy", "Try again."), { retryAfterSec: 2 });
    },
    "/store-zero": () => {
      throw Object.assign(new StoreError("busy", "Try again."), { retryAfterSec: 0 });
    },
    "/store-text": () => {
      throw Object.assign(new StoreError("busy", "Try again."), { retryAfterSec: "2" });
    },
  };
  for (const [path, fn] of Object.entries(routes)) app.get(path, fn);
  const get = async (p: string) => {
    const r = await app.request(`http://app.test${p}`);
    return { status: r.status, headers: r.headers, json: await r.json() };
  };

  const d = await get("/detail");
  assert.equal(d.headers.get("retry-after"), "30");
  assert.deepEqual(d.json.error, { code: "rate_limited", message: "Wait.", retryAfterSec: 30 });
  const b = await get("/both");
  assert.equal(b.headers.get("retry-after"), "45");
  assert.equal(b.json.error.retryAfterSec, 30);
  for (const p of ["/zero", "/negative", "/date"]) {
    const z = await get(p);
    assert.equal(z.status, 503, p);
    assert.deepEqual(z.json, { error: { code: "busy", message: "Busy." } }, p);
  }
  assert.equal((await get("/zero")).headers.get("retry-after"), "0", "the header itself is kept");
  const pl = await get("/plain");
  assert.equal(pl.status, 405);
  assert.equal(pl.headers.get("allow"), "GET");
  assert.equal(pl.headers.get("retry-after"), null);
  assert.deepEqual(pl.json, { error: { code: "method_not_allowed", message: "No.", field: "x" } });

  const sw = await get("/store-wait");
  assert.equal(sw.status, 503);
  assert.equal(sw.headers.get("retry-after"), "2");
  assert.deepEqual(sw.json, { error: { code: "busy", message: "Try again.", retryAfterSec: 2 } });
  for (const p of ["/store-zero", "/store-text"]) {
    const s = await get(p);
    assert.equal(s.headers.get("retry-after"), null, p);
    assert.deepEqual(s.json, { error: { code: "busy", message: "Try again." } }, p);
  }
});

Deno.test("toErrorResponse: an unexpected error is logged with its request and answered in plain words", async () => {
  const app = new Hono<AppEnv>();
  app.onError((err, c) => toErrorResponse(c, err));
  app.post("/api/thing", () => {
    throw new TypeError("x is undefined");
  });
  const logged: unknown[][] = [];
  const orig = console.error;
  console.error = (...args: unknown[]) => logged.push(args);
  let res: Response;
  try {
    res = await app.request("http://app.test/api/thing", { method: "POST" });
  } finally {
    console.error = orig;
  }
  assert.deepEqual(await res.json(), {
    error: { code: "internal", message: "Something went wrong on our side." },
  });
  assert.equal(logged.length, 1);
  assert.deepEqual(logged[0].slice(0, 3), ["unhandled error", "POST", "/api/thing"]);
});

Deno.test("isLocalhost: 127.0.0.0/8 octet by octet, brackets only around a whole IPv6 host", () => {
  for (const h of ["127.255.200.100", "127.0.0.42", "127.249.9.199", "[::1]", "LOCALHOST:3000"]) {
    assert.equal(isLocalhost(h), true, h);
  }
  for (
    const h of [
      "127.0.0.256",
      "127.0.0.260",
      "127.0.0.300",
      "1127.0.0.1",
      "127.0.0.1.nip.io",
      "127.0.0.1x",
      "127.evil.example",
      "127.0.0.01a",
      "[127.0.0].1", // brackets are stripped only around the whole host
      "127.0.0.[1]",
      "[::2]",
      "localhost.example",
    ]
  ) {
    assert.equal(isLocalhost(h), false, h);
  }
});

Deno.test("csrf: without a Content-Length the body itself decides; with one the body is left unread", async () => {
  for (const method of WRITES) {
    const app = new Hono<AppEnv>();
    app.onError((err, c) => toErrorResponse(c, err));
    app.use("*", csrf());
    app.on(WRITES as unknown as string[], "/x", (c) => c.json({ unread: !c.req.raw.bodyUsed }));
    const send = (headers: Record<string, string>, body?: string) =>
      app.request("http://app.test/x", {
        method,
        headers: { origin: "http://app.test", ...headers },
        body,
      });
    // No length and no transfer-encoding (HTTP/2, in-process): a non-empty body must be JSON …
    await assertError(await send({ "content-type": "text/plain" }, "{}"), 415);
    await assertError(await send({}, "a=b"), 415, "unsupported_media_type");
    // … an empty one needs no type.
    const empty = await send({ "content-type": "text/plain" }, "");
    assert.equal(empty.status, 200, `${method}: ${await empty.clone().text()}`);
    const noType = await send({});
    assert.equal(noType.status, 200, method);
    // A declared length decides without buffering the body, so a handler may stream it.
    const declared = await send(
      { "content-type": "application/json", "content-length": "2" },
      "{}",
    );
    assert.deepEqual(await declared.json(), { unread: true }, method);
    // JSON with a space before its parameters is still JSON.
    const spaced = await send(
      { "content-type": "application/json ; charset=utf-8", "content-length": "2" },
      "{}",
    );
    assert.equal(spaced.status, 200, method);
  }
});

Deno.test("session: a static path sets the user to null (nobody), not left unset", async () => {
  await using kit = await createTestApp({}, { pages: false });
  const app = new Hono<AppEnv>();
  app.use("*", session(kit.ctx.store));
  app.get("/sw.js", (c) => c.json({ user: c.get("user") === null, token: c.get("sessionToken") }));
  const r = await app.request("http://app.test/sw.js");
  assert.deepEqual(await r.json(), { user: true, token: null });
});

Deno.test("negotiateLanguage: q=1 is full weight; parameters other than q do not change it", () => {
  const cases: [string, "ko" | "en"][] = [
    ["en;q=1, ko;q=0.9", "en"],
    ["ko;q=0.9, en;q=1", "en"],
    ["en;level=1, ko;q=0.9", "en"],
    ["ko;q=0.5, en;level=1", "en"],
  ];
  for (const [header, want] of cases) {
    assert.equal(negotiateLanguage(header), want, header);
  }
});

Deno.test("body(): a nested field is named with dots; several unknown fields are listed; the field travels", async () => {
  const app = new Hono<AppEnv>();
  app.onError((err, c) => toErrorResponse(c, err));
  const Schema = z.object({ quiet: z.object({ start: z.string() }).strict().optional() }).strict();
  app.post("/b", async (c) => c.json({ got: await body(c, Schema) }));
  const post = async (text: string) =>
    await (await app.request("http://app.test/b", { method: "POST", body: text })).json();

  const nested = await post('{"quiet":{"start":5}}');
  assert.match(nested.error.message, /^quiet\.start: /);
  assert.equal(nested.error.field, "quiet");
  const unknown = await post('{"a":1,"b":2}');
  assert.equal(unknown.error.message, "Unknown field(s): a, b.");
  assert.equal("field" in unknown.error, false, "no one field is at fault");
  const notObject = await post("[1]");
  assert.equal("field" in notObject.error, false);
});

Deno.test("clientIp: n trusted hops pick the n-th entry from the right; junk entries are not addresses", async () => {
  const app = new Hono<AppEnv>();
  let hops: number | boolean = 2;
  app.get("/ip", (c) => c.text(clientIp(c, hops)));
  const env = { remoteAddr: { transport: "tcp", hostname: "192.0.2.9", port: 1 } };
  const ask = async (xff: string) =>
    await (await app.request("http://app.test/ip", { headers: { "x-forwarded-for": xff } }, env))
      .text();
  // Two proxies: the outer one saw the client (203.0.113.5), the inner one saw the outer.
  assert.equal(await ask("198.51.100.66, 203.0.113.5, 10.0.0.1"), "203.0.113.5");
  assert.equal(await ask("10.0.0.1"), "10.0.0.1", "fewer entries than hops: the left-most");
  hops = 1;
  assert.equal(await ask("203.0.113.5, 10.0.0.1,"), "10.0.0.1", "an empty entry is no hop");
  for (const junk of ["not-an-ip", "zz10.0.0.1", "10.0.0.1zz", "<script>"]) {
    assert.equal(await ask(`203.0.113.5, ${junk}`), "192.0.2.9", junk);
  }
  hops = 0;
  assert.equal(await ask("203.0.113.5"), "192.0.2.9", "no trusted proxy: the socket");
});

Deno.test("notForSocket: the wrapped middleware runs for every path but /ws", async () => {
  const ran: string[] = [];
  const app = new Hono<AppEnv>();
  app.use(
    "*",
    notForSocket(async (c, next) => {
      ran.push(c.req.path);
      await next();
    }),
  );
  app.get("*", (c) => c.text("ok"));
  for (const path of ["/", "/ws", "/ws/x", "/api/ws", "/wss"]) {
    assert.equal((await app.request(path)).status, 200, path);
  }
  assert.deepEqual(ran, ["/", "/ws/x", "/api/ws", "/wss"]);
});
