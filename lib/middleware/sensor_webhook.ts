/**
 * The one route the CSRF rule does not cover: `POST /api/sensors/:machineId`,
 * the webhook of a machine's smart plug. It carries no cookie authority (it
 * is authorised only by its `Authorization: Bearer` token, which a browser
 * never adds to a cross-site request by itself), and plugs and Home Assistant
 * send no `Origin`. Every other method and path goes through `csrf` as
 * before.
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../http.ts";

const WEBHOOK = /^\/api\/sensors\/[0-9a-z]{4,32}$/;

/** Whether a request is the sensor webhook (exactly `POST /api/sensors/<machine id>`). */
export function isSensorWebhook(method: string, path: string): boolean {
  return method === "POST" && WEBHOOK.test(path);
}

/** Run `guard` (the CSRF middleware) for every request except the sensor webhook. */
export function exceptSensorWebhook(guard: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (isSensorWebhook(c.req.method, c.req.path)) return await next();
    return await guard(c, next);
  };
}
