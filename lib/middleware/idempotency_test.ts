import assert from "node:assert/strict";
import { Hono } from "hono";
import { type AppEnv, HttpError, toErrorResponse } from "../http.ts";
import type { User } from "../types.ts";
import { idempotency } from "./idempotency.ts";

const user = (id: string): User => ({
  id,
  buildingId: "ba",
  loginId: id,
  name: id,
  room: "1",
  role: "resident",
  disabled: false,
  passwordHash: "x",
  createdAt: 0,
});

/**
 * An app whose action counts how often it ran (the "+10 minutes" that must
 * not be applied twice). `slow` holds it until released; `fail` answers 503
 * or throws a 409 refusal.
 */
function app(kv: Deno.Kv) {
  let runs = 0;
  let release: (() => void) | null = null;
  const a = new Hono<AppEnv>();
  a.onError((err, c) => toErrorResponse(c, err));
  a.use("*", async (c, next) => {
    const who = c.req.header("x-user");
    c.set("user", who ? user(who) : null);
    await next();
  });
  a.use("/api/*", idempotency(kv));
  a.post("/api/extend", async (c) => {
    runs++;
    if (c.req.query("slow")) await new Promise<void>((r) => release = r);
    if (c.req.query("fail") === "503") return c.json({ error: { code: "busy" } }, 503);
    if (c.req.query("fail") === "409") throw new HttpError(409, "invalid_state", "no");
    return c.json({ runs }, 200);
  });
  a.get("/api/extend", (c) => c.json({ runs }));
  return {
    a,
    runs: () => runs,
    release: () => release?.(),
    req: (path: string, headers: Record<string, string> = {}, method = "POST") =>
      a.request(`http://x.test${path}`, { method, headers }),
  };
}

async function withKv(fn: (kv: Deno.Kv) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  const kv = await Deno.openKv(`${dir}/kv.sqlite`);
  try {
    await fn(kv);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const KEY = { "x-user": "alice", "idempotency-key": "n:use.done:u1:3:extend" };

Deno.test("idempotency: the same key runs once and replays the first answer", async () => {
  await withKv(async (kv) => {
    const t = app(kv);
    const first = await t.req("/api/extend", KEY);
    assert.equal(first.status, 200);
    assert.deepEqual(await first.json(), { runs: 1 });
    assert.equal(first.headers.get("idempotent-replayed"), null);
    const again = await t.req("/api/extend", KEY);
    assert.equal(again.status, 200);
    assert.deepEqual(await again.json(), { runs: 1 }, "the first answer, not a second run");
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    assert.match(again.headers.get("content-type") ?? "", /^application\/json/);
    assert.equal(t.runs(), 1);
    // Another key, another user with the same key, or no key: each runs.
    await t.req("/api/extend", { ...KEY, "idempotency-key": "n:use.done:u1:3:collect" });
    await t.req("/api/extend", { ...KEY, "x-user": "bob" });
    await t.req("/api/extend", { "x-user": "alice" });
    await t.req("/api/extend", { "x-user": "alice" });
    assert.equal(t.runs(), 5);
    // Signed out, or not a POST: untouched.
    await t.req("/api/extend", { "idempotency-key": "k1" });
    assert.equal(t.runs(), 6);
    assert.equal((await t.req("/api/extend", KEY, "GET")).status, 200);
  });
});

Deno.test("idempotency: a refusal is replayed too; a 5xx is not kept; a bad key is 400", async () => {
  await withKv(async (kv) => {
    const t = app(kv);
    const refused = { ...KEY, "idempotency-key": "k-409" };
    const r1 = await t.req("/api/extend?fail=409", refused);
    assert.equal(r1.status, 409);
    assert.equal((await r1.json()).error.code, "invalid_state");
    const r2 = await t.req("/api/extend?fail=409", refused);
    assert.equal(r2.status, 409);
    assert.equal((await r2.json()).error.code, "invalid_state");
    assert.equal(t.runs(), 1, "the refusal stands: not run again");

    const busy = { ...KEY, "idempotency-key": "k-503" };
    assert.equal((await t.req("/api/extend?fail=503", busy)).status, 503);
    assert.equal((await t.req("/api/extend", busy)).status, 200, "a 5xx may be tried again");
    assert.equal(t.runs(), 3);

    for (const bad of ["", "a b", "é", "x".repeat(201), "k/../k"]) {
      const r = await t.req("/api/extend", { ...KEY, "idempotency-key": bad });
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal((await r.json()).error.code, "bad_idempotency_key");
    }
    assert.equal(t.runs(), 3);
  });
});

Deno.test("idempotency: a repeat while the first still runs is 409 in_progress, then replays", async () => {
  await withKv(async (kv) => {
    const t = app(kv);
    const first = t.req("/api/extend?slow=1", KEY);
    while (t.runs() === 0) await new Promise((r) => setTimeout(r, 5));
    const during = await t.req("/api/extend?slow=1", KEY);
    assert.equal(during.status, 409);
    assert.equal((await during.json()).error.code, "in_progress");
    t.release();
    assert.equal((await first).status, 200);
    const after = await t.req("/api/extend", KEY);
    assert.deepEqual(await after.json(), { runs: 1 });
    assert.equal(t.runs(), 1);
  });
});

Deno.test("idempotency: a repeat that read the key just before the first finished replays, not 409", async () => {
  await withKv(async (kv) => {
    // The repeat's read saw nothing (the first had not claimed yet); by its claim, the
    // first has finished: the claim fails on the record, which is the first's answer.
    let stale = false;
    const racing = new Proxy(kv, {
      get(t, p) {
        if (p === "get" && stale) {
          return (key: Deno.KvKey) => {
            stale = false;
            return Promise.resolve({ key, value: null, versionstamp: null });
          };
        }
        const v = Reflect.get(t, p, t);
        return typeof v === "function" ? v.bind(t) : v;
      },
    });
    const t = app(racing);
    assert.deepEqual(await (await t.req("/api/extend", KEY)).json(), { runs: 1 });
    stale = true;
    const repeat = await t.req("/api/extend", KEY);
    assert.equal(repeat.status, 200);
    assert.equal(repeat.headers.get("idempotent-replayed"), "true");
    assert.deepEqual(await repeat.json(), { runs: 1 });
    assert.equal(t.runs(), 1);
  });
});
