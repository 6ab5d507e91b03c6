/**
 * The hostile-input suite (issue 8): ≥ 10,000 generated requests over every
 * route, as anonymous, resident and admin callers, sent in-process through
 * `app.request` to the full app (pages, push, notifications) on a real KV
 * file, must produce no 5xx, and every API error must have the
 * `{error:{code,message}}` shape. The generator is seeded: a failure prints
 * the request and its index, and the same seed reproduces it.
 * @module
 */
import assert from "node:assert/strict";
import type { Hono } from "hono";
import type { AppEnv } from "../lib/http.ts";
import { features } from "../app.ts";
import type { AppContext } from "../lib/context.ts";
import { hashPassword } from "../lib/password.ts";
import { type GenContext, hostileRequest, type Role } from "./support/hostile_gen.ts";
import { startTestServer, TEST_INVITE } from "./support/harness.ts";

const SEED = Number(Deno.env.get("HOSTILE_SEED") ?? 20261202);

/** Start the full app and hand back its Hono instance for in-process requests. */
async function fullApp(env: Record<string, string> = {}) {
  let app: Hono<AppEnv> | null = null;
  const srv = await startTestServer({ LOGIN_IP_LIMIT: "20", ...env }, {
    setup: async (ctx) => [
      ...await features()(ctx),
      (a) => void (app = a),
    ],
  });
  if (!app) throw new Error("app not captured");
  return { srv, app: app as Hono<AppEnv>, ctx: srv.ctx };
}

/** Sessions for the three roles, renewed whenever the fuzz ended or disabled them. */
async function roleCookies(ctx: AppContext, residentId: string): Promise<Record<Role, string>> {
  const admin = (await ctx.store.getUserByLogin("admin"))!;
  const bid = admin.buildingId;
  const res = await ctx.store.getUser(residentId);
  if (res?.disabled) await ctx.store.setUserDisabled(residentId, false);
  if ((await ctx.store.listMachines(bid)).length < 2) {
    await ctx.store.addMachine(bid, { name: "Fuzz washer", kind: "washer", room: "R" });
  }
  return {
    anon: "",
    resident: `ll_session=${await ctx.store.createSession(residentId)}`,
    admin: `ll_session=${await ctx.store.createSession(admin.id)}`,
  };
}

async function genContext(ctx: AppContext, origin: string): Promise<GenContext> {
  const bid = (await ctx.store.getUserByLogin("admin"))!.buildingId;
  return {
    origin,
    machineIds: (await ctx.store.listMachines(bid)).map((m) => m.id),
    userIds: (await ctx.store.listUsers(bid)).map((u) => u.id),
    noticeIds: (await ctx.store.listNotices(bid)).map((n) => n.id),
    inviteCodes: [TEST_INVITE, ...(await ctx.store.listInvites(bid)).map((i) => i.code)],
  };
}

/** Send `count` generated requests; return a tally of statuses and any failures. */
async function runFuzz(
  env: Record<string, string>,
  seed: number,
  count: number,
): Promise<{ statuses: Map<number, number>; failures: string[] }> {
  const { srv, app, ctx } = await fullApp(env);
  try {
    const origin = new URL(srv.url).origin;
    const resident = await ctx.store.createUser({
      loginId: "resident",
      passwordHash: await hashPassword("resident-pass-123", 1000),
      name: "Fuzz Resident",
      room: "101",
      role: "resident",
      buildingId: (await ctx.store.getUserByLogin("admin"))!.buildingId,
    });
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let cookies = await roleCookies(ctx, resident.id);
    let gen = await genContext(ctx, origin);
    const remoteAddr = { hostname: "203.0.113.5", port: 40000, transport: "tcp" as const };
    const BATCH = 8;
    for (let start = 0; start < count; start += BATCH) {
      if (start % 400 === 0 && start > 0) {
        cookies = await roleCookies(ctx, resident.id);
        gen = await genContext(ctx, origin);
      }
      await Promise.all(
        Array.from({ length: Math.min(BATCH, count - start) }, async (_, k) => {
          const i = start + k;
          const req = hostileRequest(seed, i, gen);
          const headers = new Headers();
          for (const [name, value] of Object.entries(req.headers)) {
            try {
              headers.set(name, value);
            } catch { /* a value Headers refuses cannot be sent by any client either */ }
          }
          if (cookies[req.role] && !headers.has("cookie")) headers.set("cookie", cookies[req.role]);
          const url = new URL(req.path, origin).href;
          const res = await app.request(
            url,
            { method: req.method, headers, body: req.body as BodyInit | undefined },
            { remoteAddr },
          );
          const text = req.method === "HEAD" ? "" : await res.text();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          const what = () =>
            `#${i} ${req.role} ${req.method} ${req.path.slice(0, 120)} ${
              JSON.stringify(req.headers).slice(0, 200)
            } → ${res.status} ${text.slice(0, 200)}`;
          if (res.status >= 500) failures.push(what());
          const api = req.path.startsWith("/api/") || req.path.startsWith("/ws");
          if (api && res.status >= 400 && req.method !== "HEAD") {
            let ok = false;
            try {
              const j = JSON.parse(text);
              ok = typeof j.error?.code === "string" && typeof j.error?.message === "string";
            } catch { /* not JSON */ }
            if (!ok) failures.push("error shape: " + what());
          }
        }),
      );
    }
    return { statuses, failures };
  } finally {
    await srv.close();
  }
}

function summary(statuses: Map<number, number>): string {
  return [...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(" ");
}

Deno.test("hostile input: 10,000 generated requests, every route and role, no 5xx", async () => {
  const { statuses, failures } = await runFuzz({}, SEED, 10_000);
  console.log(`statuses: ${summary(statuses)}`);
  const total = [...statuses.values()].reduce((a, b) => a + b, 0);
  assert.equal(total, 10_000);
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failures; ${summary(statuses)}`);
  // The generator reaches the handlers, not only the guards: successes and many 4xx kinds.
  assert.ok((statuses.get(200) ?? 0) > 500, summary(statuses));
  for (const s of [400, 401, 403, 404, 413, 415]) {
    assert.ok((statuses.get(s) ?? 0) > 0, `no ${s}: ${summary(statuses)}`);
  }
});

Deno.test("hostile input behind a proxy with PUBLIC_URL: 2,000 requests, no 5xx", async () => {
  const { statuses, failures } = await runFuzz(
    { TRUST_PROXY: "2", PUBLIC_URL: "https://laundry.example.org" },
    SEED + 1,
    2_000,
  );
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failures; ${summary(statuses)}`);
});
