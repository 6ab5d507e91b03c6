import assert from "node:assert/strict";
import { Hono } from "hono";
import { Store } from "../db/mod.ts";
import { type AppEnv, toErrorResponse } from "../http.ts";
import type { User } from "../types.ts";
import { building, BUILDING_COOKIE } from "./building.ts";

/** An app whose route answers the building the middleware chose, for a given user. */
function app(store: Store, user: User | null) {
  const a = new Hono<AppEnv>();
  a.onError((err, c) => toErrorResponse(c, err));
  a.use("*", async (c, next) => {
    c.set("user", user);
    await next();
  });
  a.use("*", building(store));
  const echo = (c: { get(k: "buildingId"): string | null; json(v: unknown): Response }) =>
    c.json({ bid: c.get("buildingId") });
  a.get("/api/x", (c) => echo(c));
  a.get("/page", (c) => echo(c));
  a.get("/ws", (c) => echo(c));
  return a;
}

const user = (over: Partial<User>): User => ({
  id: "u1",
  buildingId: "ba",
  loginId: "u",
  name: "U",
  room: "1",
  role: "resident",
  disabled: false,
  passwordHash: "x",
  createdAt: 0,
  ...over,
});

Deno.test("building: who acts where, what may be named, what is remembered", async () => {
  const dir = await Deno.makeTempDir();
  const kv = await Deno.openKv(`${dir}/kv.sqlite`);
  try {
    const store = new Store(kv);
    await store.init();
    for (const id of ["ba", "bb"]) await store.createBuilding({ id, name: id });
    const get = async (u: User | null, path: string, headers: Record<string, string> = {}) => {
      const r = await app(store, u).request(`http://x.test${path}`, { headers });
      return { status: r.status, body: await r.json(), cookie: r.headers.get("set-cookie") };
    };
    // Signed out: no building.
    assert.deepEqual((await get(null, "/api/x")).body, { bid: null });
    // A resident: their own; naming another (or a malformed id) is 404, as if it did not exist.
    const res = user({});
    assert.deepEqual((await get(res, "/api/x")).body, { bid: "ba" });
    assert.equal((await get(res, "/api/x", { "x-building": "bb" })).status, 404);
    assert.equal((await get(res, "/api/x?building=B!")).body.error.code, "no_building");
    // A stale or foreign cookie is ignored, not an error.
    assert.deepEqual(
      (await get(res, "/api/x", { cookie: `${BUILDING_COOKIE}=bb` })).body,
      { bid: "ba" },
    );
    // An admin of exactly one building acts there by default.
    const adm = user({ role: "admin", adminOf: ["bb"] });
    assert.deepEqual((await get(adm, "/api/x")).body, { bid: "bb" });
    assert.deepEqual((await get(adm, "/api/x", { "x-building": "ba" })).body, { bid: "ba" });
    // The operator may name any building that exists (and only those).
    const op = user({ role: "operator" });
    assert.deepEqual((await get(op, "/api/x", { "x-building": "bb" })).body, { bid: "bb" });
    assert.equal((await get(op, "/api/x", { "x-building": "nosuch" })).status, 404);
    // A page's ?building= is remembered in the cookie; an API call's is not.
    const page = await get(op, "/page?building=bb");
    assert.match(page.cookie ?? "", new RegExp(`^${BUILDING_COOKIE}=bb;.*HttpOnly`));
    assert.equal((await get(op, "/api/x?building=bb")).cookie, null);
    // A page's socket names its page's building on every (re)connect: it acts
    // there, and does not move what another tab's pages remember.
    const ws = await get(op, "/ws?building=bb", { cookie: `${BUILDING_COOKIE}=ba` });
    assert.deepEqual([ws.body, ws.cookie], [{ bid: "bb" }, null]);
    assert.deepEqual(
      (await get(op, "/api/x", { cookie: `${BUILDING_COOKIE}=bb` })).body,
      { bid: "bb" },
    );
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
