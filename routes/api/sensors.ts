/**
 * Sensors (issue 10): `POST /api/sensors/:machineId` (the webhook a smart
 * plug or Home Assistant posts to, with `Authorization: Bearer <token>`; no
 * session, no CSRF rule: `lib/middleware/sensor_webhook.ts`), and the admin's
 * `POST|PATCH|DELETE /api/admin/machines/:id/sensor`. Shapes and copy-paste
 * examples: docs/SENSORS.md.
 * @module
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppContext } from "../../lib/context.ts";
import { type AppEnv, body, HttpError, MAX_BODY, requireAdmin } from "../../lib/http.ts";
import { currentBuilding } from "../../lib/middleware/building.ts";
import type { SensorInput } from "../../lib/db/sensors.ts";
import { machineIdParam } from "./machines.ts";
import { KIND_DEFAULTS } from "../../lib/sensor/detector.ts";

/** Readings may be this far ahead of the server's clock (a plug's clock drifts). */
export const MAX_AHEAD_MS = 60_000;
/** Readings older than this are refused (a buffer replayed days later is no news). */
export const MAX_AGE_MS = 24 * 3600_000;

/** Watts as a number, or the numeric string a Home Assistant template renders. */
const Watts = z.union([
  z.number(),
  z.string().trim().regex(/^\d+(\.\d+)?$/, "watts: a number").transform(Number),
]).pipe(z.number().finite().min(0).max(100_000));

/** Epoch seconds, epoch ms, or an ISO 8601 time with its offset. */
const At = z.union([z.number().finite().positive(), z.string().datetime({ offset: true })]);

const WattsBody = z.object({ watts: Watts, at: At.optional() }).strict();
const StateBody = z.object({ state: z.enum(["running", "idle"]), at: At.optional() }).strict();
/** A Shelly Gen2+ `Switch.GetStatus` result posted as is: `apower` is the power; the rest is ignored. */
const ShellyStatus = z.object({ apower: Watts }).passthrough();

const Thresholds = z.object({
  startWatts: z.number().finite().min(0.1).max(10_000).optional(),
  startMinutes: z.number().finite().min(0).max(60).optional(),
  stopWatts: z.number().finite().min(0.1).max(10_000).optional(),
  stopMinutes: z.number().finite().min(0.5).max(60).optional(),
  gapMinutes: z.number().finite().min(0.5).max(60).optional(),
  silentMinutes: z.number().finite().min(1).max(24 * 60).optional(),
  expectMinutes: z.number().int().min(1).max(600).optional(),
}).strict().refine(
  // With the kinds' defaults filled in (the same watts for both kinds).
  (t) =>
    (t.stopWatts ?? Math.max(KIND_DEFAULTS.washer.stopWatts, KIND_DEFAULTS.dryer.stopWatts)) <=
      (t.startWatts ?? Math.min(KIND_DEFAULTS.washer.startWatts, KIND_DEFAULTS.dryer.startWatts)),
  { message: "stopWatts must not be above startWatts", path: ["stopWatts"] },
);

/** Epoch ms of an `at` value (numbers below 10^11 are seconds, as Home Assistant's `timestamp()`). */
export function readingTime(at: number | string | undefined, now: number): number {
  if (at === undefined) return now;
  const ms = typeof at === "string" ? Date.parse(at) : at < 1e11 ? Math.round(at * 1000) : at;
  if (!Number.isFinite(ms) || ms > now + MAX_AHEAD_MS || ms < now - MAX_AGE_MS) {
    throw new HttpError(
      400,
      "bad_reading_time",
      "at: must be within the last 24 hours and not in the future.",
      {},
      { field: "at" },
    );
  }
  return ms;
}

/** Parse a webhook body into a reading (400 `{error}` for anything else). */
export function parseReading(json: unknown, now: number): SensorInput {
  const bad = (message: string): never => {
    throw new HttpError(400, "invalid_body", message);
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return bad('Send {watts, at?} or {state: "running"|"idle", at?}.');
  }
  const o = json as Record<string, unknown>;
  const schema = "state" in o
    ? StateBody
    : "watts" in o
    ? WattsBody
    : "apower" in o
    ? ShellyStatus
    : null;
  if (!schema) return bad('Send {watts, at?} or {state: "running"|"idle", at?}.');
  const r = schema.safeParse(o);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue.path.length ? issue.path.join(".") : "body";
    throw new HttpError(
      400,
      "invalid_body",
      issue.code === "unrecognized_keys"
        ? `Unknown field(s): ${issue.keys.join(", ")}.`
        : `${where}: ${issue.message}`,
      {},
      issue.path.length ? { field: String(issue.path[0]) } : {},
    );
  }
  const d = r.data as {
    watts?: number;
    apower?: number;
    state?: "running" | "idle";
    at?: number | string;
  };
  const at = readingTime(d.at, now);
  if (d.state) return { state: d.state, at };
  return { watts: (d.watts ?? d.apower)!, at };
}

/** The bearer token of a request, or a 401. */
function bearer(c: Context<AppEnv>): string {
  const h = c.req.header("authorization") ?? "";
  const m = /^Bearer\s+(\S{1,200})$/i.exec(h.trim());
  if (!m) {
    throw new HttpError(
      401,
      "bad_sensor_token",
      "Send the sensor's token: Authorization: Bearer <token>.",
      {
        "WWW-Authenticate": 'Bearer realm="sensors"',
      },
    );
  }
  return m[1];
}

/** `POST /api/sensors/:machineId`. */
export function sensorRoutes(ctx: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/:machineId", async (c) => {
    const token = bearer(c);
    const id = machineIdParam(c.req.param("machineId"));
    const text = await c.req.text();
    if (text.length > MAX_BODY) throw new HttpError(413, "too_large", "Request body too large.");
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new HttpError(400, "bad_json", "The request body is not valid JSON.");
    }
    const reading = parseReading(json, Date.now());
    const r = await ctx.store.sensorReading(token, id, reading);
    if (!r.ok) {
      if (r.reason === "bad_token") {
        throw new HttpError(401, "bad_sensor_token", "This token is not a sensor's (revoked?).", {
          "WWW-Authenticate": 'Bearer realm="sensors", error="invalid_token"',
        });
      }
      if (r.reason === "not_found") throw new HttpError(404, "not_found", "No such machine.");
      throw new HttpError(429, "rate_limited", "Too many readings from this sensor.", {
        "Retry-After": String(r.retryAfterSec ?? 60),
      });
    }
    if (r.events.length) ctx.hub.poll(currentBid(token));
    return c.json({
      ok: true,
      ...(r.ignored ? { ignored: true } : {}),
      facts: r.facts.map((f) => f.type),
      ...(r.machine ? { state: r.machine.state } : {}),
    });
  });
  return app;
}

/** The building a (valid) token names. */
function currentBid(token: string): string {
  return token.slice(0, token.indexOf("."));
}

/**
 * `POST|PATCH|DELETE /api/admin/machines/:id/sensor` (admins of the machine's
 * building): attach (or replace the token), set its thresholds, revoke.
 */
export function adminSensorRoutes(ctx: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/machines/:id/sensor", async (c) => {
    const me = requireAdmin(c);
    const t = await body(c, Thresholds);
    const r = await ctx.store.attachSensor(
      currentBuilding(c),
      machineIdParam(c.req.param("id")),
      me.id,
      t,
    );
    if (!r) throw new HttpError(404, "not_found", "No such machine.");
    return c.json(r, 201);
  });
  app.patch("/machines/:id/sensor", async (c) => {
    requireAdmin(c);
    const t = await body(c, Thresholds);
    const sensor = await ctx.store.configureSensor(
      currentBuilding(c),
      machineIdParam(c.req.param("id")),
      t,
    );
    if (!sensor) throw new HttpError(404, "no_sensor", "This machine has no sensor.");
    return c.json({ sensor });
  });
  app.delete("/machines/:id/sensor", async (c) => {
    requireAdmin(c);
    const bid = currentBuilding(c);
    const r = await ctx.store.detachSensor(bid, machineIdParam(c.req.param("id")));
    if (!r) throw new HttpError(404, "no_sensor", "This machine has no sensor.");
    if (r.events.length) ctx.hub.poll(bid);
    return c.json({ ok: true });
  });
  return app;
}
