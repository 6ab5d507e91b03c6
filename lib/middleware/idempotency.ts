/**
 * `Idempotency-Key` for state-changing API calls: the service worker's
 * notification actions (+10분, 수거 완료, 잡기) may be delivered twice (a
 * double tap, a browser that re-dispatches the click, a retry after a lost
 * answer), and "+10 minutes" applied twice would be wrong.
 *
 * A POST with `Idempotency-Key: <1–200 of [A-Za-z0-9:._-]>` from a signed-in
 * user is run once per (user, key): the first answer below 500 is kept for
 * 24 h and every repeat gets it again (with `Idempotent-Replayed: true`)
 * without running the route. A repeat while the first is still running gets
 * `409 in_progress`; a first answer of 5xx is not kept (trying again may
 * work). A malformed key is `400 bad_idempotency_key`. Requests without the
 * header, or signed out, pass through untouched.
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { type AppEnv, HttpError } from "../http.ts";
import { K } from "../keys.ts";

/** The request header. */
export const IDEMPOTENCY_HEADER = "idempotency-key";
/** How long a first answer is replayed. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600_000;
/** A first request still running after this is taken to have died (its claim lapses). */
export const IN_FLIGHT_MS = 30_000;

const KEY_RE = /^[A-Za-z0-9:._-]{1,200}$/;

/** What is stored per (user, key). */
export type IdemRecord =
  | { state: "running"; at: number }
  | { state: "done"; at: number; status: number; body: string; type: string };

/** The middleware (see the module comment). */
export function idempotency(kv: Deno.Kv): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const raw = c.req.header(IDEMPOTENCY_HEADER);
    const user = c.get("user");
    if (raw === undefined || c.req.method !== "POST" || !user) return await next();
    if (!KEY_RE.test(raw)) {
      throw new HttpError(
        400,
        "bad_idempotency_key",
        "Idempotency-Key: 1–200 of A–Z a–z 0–9 : . _ -",
      );
    }
    const key = K.idem(user.id, raw);
    const now = Date.now();
    const entry = await kv.get<IdemRecord>(key);
    const rec = entry.value;
    if (rec?.state === "done") return replay(rec);
    if (rec?.state === "running" && now - rec.at < IN_FLIGHT_MS) {
      throw new HttpError(409, "in_progress", "The same request is still running.");
    }
    const claim: IdemRecord = { state: "running", at: now };
    const claimed = await kv.atomic().check(entry).set(key, claim, { expireIn: IN_FLIGHT_MS })
      .commit();
    if (!claimed.ok) {
      const again = (await kv.get<IdemRecord>(key)).value;
      if (again?.state === "done") return replay(again);
      throw new HttpError(409, "in_progress", "The same request is still running.");
    }
    await next();
    const res = c.res;
    if (res.status >= 500) {
      await kv.delete(key);
      return;
    }
    const body = await res.clone().text();
    const done: IdemRecord = {
      state: "done",
      at: Date.now(),
      status: res.status,
      body: body.slice(0, 32_000),
      type: res.headers.get("content-type") ?? "application/json",
    };
    await kv.set(key, done, { expireIn: IDEMPOTENCY_TTL_MS });
  };
}

function replay(rec: Extract<IdemRecord, { state: "done" }>): Response {
  return new Response(rec.body, {
    status: rec.status,
    headers: { "content-type": rec.type, "idempotent-replayed": "true" },
  });
}
