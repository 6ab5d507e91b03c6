/**
 * Issue 12, server side, against a real server on loopback with a real KV
 * file: error bodies carry what the client needs to place and word a refusal
 * (`field`, `retryAfterSec`), language is one saved preference, and sign-in
 * returns to the page that was asked for.
 * @module
 */
import assert from "node:assert/strict";
import { admin, Client, resident } from "./support/harness.ts";
import { startAppServer as startTestServer } from "./support/browser.ts";

Deno.test("invalid_body names the field; a lock-out says when to retry", async () => {
  await using srv = await startTestServer();
  const c = new Client(srv.url);
  const bad = await c.register("a b", "Kim", "101");
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.code, "invalid_body");
  assert.equal(bad.json.error.field, "loginId");
  const shortPw = await c.register("kim01", "Kim", "101", { password: "short" });
  assert.equal(shortPw.json.error.field, "password");
  // Five wrong passwords for one account, then the sixth attempt is refused with a wait.
  await resident(srv.url, "lee01");
  for (let i = 0; i < 5; i++) assert.equal((await c.login("lee01", "wrong-pass")).status, 401);
  const locked = await c.login("lee01", "wrong-pass");
  assert.equal(locked.status, 429);
  assert.equal(locked.json.error.code, "rate_limited");
  assert.ok(locked.json.error.retryAfterSec > 0 && locked.json.error.retryAfterSec <= 900);
  assert.equal(locked.headers.get("retry-after"), String(locked.json.error.retryAfterSec));
});

Deno.test("a too-early pickup request says when it opens", async () => {
  await using srv = await startTestServer({ MINUTE_MS: "200" });
  const a = await resident(srv.url, "owner1");
  const b = await resident(srv.url, "neigh1", "102");
  const id = (await a.get("/api/machines")).json.machines[0].id;
  assert.equal((await a.post(`/api/machines/${id}/start`, { minutes: 1 })).status, 200);
  // Done after one "minute" (200 ms); the grace period is 3 minutes (600 ms) more.
  await new Promise((r) => setTimeout(r, 350));
  const early = await b.post(`/api/machines/${id}/nudge`, {});
  assert.equal(early.json.error?.code, "too_early", JSON.stringify(early.json));
  assert.ok(early.json.error.retryAfterSec >= 1);
});

async function raw(c: Client, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(new URL(path, c.baseUrl), {
    headers: { cookie: c.cookie, ...headers },
    redirect: "manual",
  });
  const text = await res.text();
  return { res, text };
}

Deno.test("the language toggle saves the preference; pages follow it, not the cookie", async () => {
  await using srv = await startTestServer();
  const c = await resident(srv.url, "lang01");
  assert.equal((await c.get("/api/preferences")).json.preferences.lang, "ko");
  // A cross-site link to /lang/en changes the cookie only, never the saved preference.
  await raw(c, "/lang/en", { "sec-fetch-site": "cross-site" });
  assert.equal((await c.get("/api/preferences")).json.preferences.lang, "ko");
  // The toggle on our own page saves it.
  const toggled = await raw(c, "/lang/en", { "sec-fetch-site": "same-origin" });
  assert.equal(toggled.res.status, 302);
  assert.match(toggled.res.headers.get("set-cookie") ?? "", /lang=en/);
  assert.equal((await c.get("/api/preferences")).json.preferences.lang, "en");
  // Even with a stale Korean cookie, pages are English for this user.
  const page = await raw(c, "/settings", { cookie: `${c.cookie}; lang=ko` });
  assert.match(page.text, /<html lang="en"/);
  // Saving other settings keeps the language.
  const saved = await c.put("/api/preferences", { endingSoonMinutes: 7 });
  assert.equal(saved.json.preferences.lang, "en");
  // Settings saves Korean: the cookie follows.
  const ko = await c.put("/api/preferences", { lang: "ko" });
  assert.match(ko.headers.get("set-cookie") ?? "", /lang=ko/);
  assert.match((await raw(c, "/")).text, /<html lang="ko"/);
});

Deno.test("signing in sets the language cookie from the saved preference", async () => {
  await using srv = await startTestServer();
  const c = await resident(srv.url, "lang02");
  await c.put("/api/preferences", { lang: "en" });
  const fresh = new Client(srv.url);
  const r = await fresh.login("lang02");
  assert.equal(r.status, 200);
  assert.equal(fresh.cookies.get("lang"), "en");
});

Deno.test("a deep link survives sign-in: /admin → /login?next=/admin", async () => {
  await using srv = await startTestServer();
  const anon = new Client(srv.url);
  const r = await raw(anon, "/admin");
  assert.equal(r.res.status, 302);
  assert.equal(r.res.headers.get("location"), "/login?next=%2Fadmin");
  const login = await raw(anon, "/login?next=%2Fadmin");
  assert.match(login.text, /&quot;next&quot;:&quot;\/admin&quot;|"next":"\/admin"/);
  // Another origin is never a place to return to.
  const evil = await raw(anon, "/login?next=%2F%2Fevil.example");
  assert.ok(!evil.text.includes("evil.example"), "an off-site next is dropped");
  const a = await admin(srv.url);
  const back = await raw(a, "/login?next=%2Fadmin");
  assert.equal(back.res.headers.get("location"), "/admin");
});

Deno.test("admin: duplicate machine names within a room are refused; removal in use says why", async () => {
  await using srv = await startTestServer();
  const a = await admin(srv.url);
  const list = (await a.get("/api/admin/machines")).json.machines;
  const [w1, w2] = list;
  const dup = await a.post("/api/admin/machines", {
    name: ` ${w1.name.toUpperCase()} `,
    kind: "washer",
    room: w1.room,
  });
  assert.equal(dup.status, 409);
  assert.equal(dup.json.error.code, "duplicate_name");
  assert.equal(dup.json.error.field, "name");
  // Another room may use the name.
  assert.equal(
    (await a.post("/api/admin/machines", { name: w1.name, kind: "washer", room: "2층" })).status,
    201,
  );
  // Renaming onto a neighbour's name is refused; keeping one's own name is fine.
  assert.equal(
    (await a.patch(`/api/admin/machines/${w2.id}`, { name: w1.name })).json.error.code,
    "duplicate_name",
  );
  assert.equal(
    (await a.patch(`/api/admin/machines/${w1.id}`, { name: w1.name, order: 5 })).status,
    200,
  );
  const r = await resident(srv.url, "dup01");
  assert.equal((await r.post(`/api/machines/${w2.id}/hold`, {})).status, 200);
  const del = await a.del(`/api/admin/machines/${w2.id}`);
  assert.equal(del.status, 409);
  assert.equal(del.json.error.code, "machine_in_use");
});

Deno.test("admin: adds and renames racing for one name in a laundry room: exactly one wins", async () => {
  await using srv = await startTestServer();
  const a = await admin(srv.url);
  const [w1, w2, w3] = (await a.get("/api/admin/machines")).json.machines;
  const name = "경주 세탁기";
  // Eight adds at once, and two renames onto the same name at the same time.
  const results = await Promise.all([
    ...Array.from(
      { length: 8 },
      () => a.post("/api/admin/machines", { name, kind: "washer", room: w1.room }),
    ),
    a.patch(`/api/admin/machines/${w2.id}`, { name }),
    a.patch(`/api/admin/machines/${w3.id}`, { name }),
  ]);
  // And straight at the store, where nothing in front of it orders the calls.
  const direct = await Promise.allSettled(
    Array.from(
      { length: 8 },
      () =>
        srv.ctx.store.addMachine(w1.buildingId, {
          name: "경주 건조기",
          kind: "dryer",
          room: w1.room,
        }),
    ),
  );
  assert.equal(direct.filter((r) => r.status === "fulfilled").length, 1, "one direct add");
  for (const r of direct) {
    if (r.status === "rejected") assert.equal(r.reason.code, "duplicate_name", String(r.reason));
  }
  const won = results.filter((r) => r.status === 200 || r.status === 201);
  assert.equal(won.length, 1, results.map((r) => r.status).join());
  for (const r of results) {
    if (r.status >= 300) assert.equal(r.json.error.code, "duplicate_name", JSON.stringify(r.json));
  }
  const machines = (await a.get("/api/admin/machines")).json.machines;
  assert.equal(
    machines.filter((m: { room: string; name: string }) => m.room === w1.room && m.name === name)
      .length,
    1,
    "one machine of that name in the room",
  );
});

Deno.test("an unknown page is a styled, translated 404 leading somewhere; the API keeps JSON", async () => {
  await using srv = await startTestServer();
  const anon = new Client(srv.url);
  const ko = await raw(anon, "/no-such-page");
  assert.equal(ko.res.status, 404);
  assert.match(ko.text, /<html lang="ko"/);
  assert.ok(ko.text.includes("페이지를 찾을 수 없어요"));
  assert.match(ko.text, /href="\/login"/);
  assert.match(ko.text, /rel="stylesheet"/);
  const en = await raw(anon, "/no-such-page", { "accept-language": "en-US" });
  assert.ok(en.text.includes("Page not found"));
  const api = await anon.get("/api/no-such-endpoint");
  assert.equal(api.status, 404);
  assert.equal(api.json.error.code, "not_found");
});

Deno.test("account recovery: admin issues a one-time code; the resident resets; old sessions end", async () => {
  await using srv = await startTestServer();
  const a = await admin(srv.url);
  const phone = await resident(srv.url, "forgot1");
  const id = phone.user.id;
  const issued = await a.post(`/api/admin/residents/${id}/reset`, {});
  assert.equal(issued.status, 201);
  assert.match(issued.json.code, /^RSET-/);
  assert.equal(issued.json.url, `/reset?code=${encodeURIComponent(issued.json.code)}`);
  // Residents cannot issue codes.
  assert.equal((await phone.post(`/api/admin/residents/${id}/reset`, {})).status, 403);
  const laptop = new Client(srv.url);
  const bad = await laptop.post("/api/auth/reset", {
    resetCode: "RSET-0000-0000-0000",
    password: "new-password-1",
  });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.code, "invalid_reset");
  const ok = await laptop.post("/api/auth/reset", {
    resetCode: issued.json.code,
    password: "new-password-1",
  });
  assert.equal(ok.status, 200, JSON.stringify(ok.json));
  // This browser is signed in; the phone's session ended; the code is spent.
  assert.equal((await laptop.get("/api/me")).status, 200);
  assert.equal((await phone.get("/api/me")).status, 401);
  const again = await new Client(srv.url).post("/api/auth/reset", {
    resetCode: issued.json.code,
    password: "other-pass-22",
  });
  assert.equal(again.json.error.code, "invalid_reset");
  assert.equal((await new Client(srv.url).login("forgot1", "new-password-1")).status, 200);
  assert.equal((await new Client(srv.url).login("forgot1")).status, 401);
});

Deno.test("a disabled resident's next page says the session ended; signing in says why", async () => {
  await using srv = await startTestServer();
  const a = await admin(srv.url);
  const r = await resident(srv.url, "gone01");
  assert.equal(
    (await a.patch(`/api/admin/residents/${r.user.id}`, { disabled: true })).status,
    200,
  );
  const page = await raw(r, "/inbox");
  assert.equal(page.res.status, 302);
  assert.equal(page.res.headers.get("location"), "/login?next=%2Finbox&ended=1");
  const login = await raw(r, "/login?next=%2Finbox&ended=1");
  assert.ok(login.text.includes("data-session-ended"));
  assert.ok(login.text.includes("로그인이 끝났어요"));
  const again = await new Client(srv.url).login("gone01");
  assert.equal(again.status, 403);
  assert.equal(again.json.error.code, "disabled");
});
