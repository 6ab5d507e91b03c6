/**
 * Busy hours over HTTP: `GET /api/busy` (any signed-in member: each laundry
 * room's weekday × hour heatmap of the last 4 weeks and how busy it is now)
 * and `GET /api/admin/usage?days=N` (admins: per-machine usage and the
 * delivery funnel). The pages `/busy` and `/admin/usage` render the same.
 * @module
 */
import { Hono } from "hono";
import type { AppContext } from "../../lib/context.ts";
import { type AppEnv, HttpError, requireAdmin, requireUser } from "../../lib/http.ts";
import { currentBuilding } from "../../lib/middleware/building.ts";
import { USAGE_WINDOW_DAYS } from "../../lib/usage.ts";
import { busyView, usageView } from "../../lib/usage_store.ts";

/** Longest period the admin usage covers (records are kept 35 days). */
export const MAX_USAGE_DAYS = 35;

/** Round a matrix to hundredths (a smaller answer). */
function rounded(m: number[][]): number[][] {
  return m.map((row) => row.map((v) => Math.round(v * 100) / 100));
}

/** `?days=` as a whole number of days in 1–35 (default 28), or a 400. */
export function daysParam(raw: string | undefined): number {
  if (raw === undefined || raw === "") return USAGE_WINDOW_DAYS;
  const n = Number(raw);
  if (!/^\d{1,2}$/.test(raw) || n < 1 || n > MAX_USAGE_DAYS) {
    throw new HttpError(
      400,
      "invalid_body",
      `days must be a whole number from 1 to ${MAX_USAGE_DAYS}.`,
      {},
      {
        field: "days",
      },
    );
  }
  return n;
}

/** The busy-hours routes, mounted at `/api`. */
export function usageRoutes(ctx: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/busy", async (c) => {
    requireUser(c);
    const view = await busyView(ctx.store, currentBuilding(c));
    return c.json({
      ...view,
      rooms: view.rooms.map((r) => ({ ...r, avg: rounded(r.avg) })),
    });
  });

  app.get("/admin/usage", async (c) => {
    requireAdmin(c);
    const days = daysParam(c.req.query("days"));
    return c.json(await usageView(ctx.store, currentBuilding(c), days));
  });

  return app;
}
