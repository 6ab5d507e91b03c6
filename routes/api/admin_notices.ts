/**
 * `/api/admin/announcements` and `/api/admin/stats` (admin only): compose
 * notices now or scheduled, list, cancel, delivery statistics.
 * @module
 */
import { Hono } from "hono";
import { currentBuilding } from "../../lib/middleware/building.ts";
import { statScope } from "../../lib/keys.ts";
import { z } from "zod";
import type { AppContext } from "../../lib/context.ts";
import { channelTotals, dailySeries } from "../../lib/notify/delivery_stats.ts";
import { type AppEnv, body, HttpError, requireAdmin } from "../../lib/http.ts";

/** Body of POST /api/admin/announcements. */
export const AnnouncementBody = z.object({
  title: z.string().trim().min(1).max(80),
  body: z.string().trim().min(1).max(1000),
  target: z.discriminatedUnion("type", [
    z.object({ type: z.literal("all") }).strict(),
    z.object({ type: z.literal("room"), room: z.string().trim().min(1).max(20) }).strict(),
    z.object({ type: z.literal("laundry"), laundry: z.string().trim().min(1).max(40) }).strict(),
    z.object({ type: z.literal("machine"), machineId: z.string().regex(/^[0-9a-z]{4,32}$/) })
      .strict(),
  ]),
  sendAt: z.string().datetime({ offset: true }).optional(),
  sound: z.boolean().default(true),
  critical: z.boolean().default(false),
}).strict();

/** Longest a notice may be scheduled ahead. */
export const MAX_SCHEDULE_AHEAD_MS = 90 * 86_400_000;

/** A notice id in a path (short base32; anything else names no notice). */
export function noticeIdParam(id: string): string {
  if (!/^[0-9a-z]{4,32}$/.test(id)) throw new HttpError(404, "not_found", "No such notice.");
  return id;
}

/** Announcement routes. */
export function noticeRoutes(ctx: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", async (c, next) => {
    requireAdmin(c);
    await next();
  });

  app.post("/announcements", async (c) => {
    const admin = requireAdmin(c);
    const b = await body(c, AnnouncementBody);
    let sendAt: number | undefined;
    if (b.sendAt) {
      sendAt = Date.parse(b.sendAt);
      const now = Date.now();
      if (sendAt < now - 60_000) {
        throw new HttpError(400, "in_the_past", "sendAt: that time has passed.");
      }
      if (sendAt > now + MAX_SCHEDULE_AHEAD_MS) {
        throw new HttpError(400, "too_far", "sendAt: at most 90 days ahead.");
      }
    }
    const bid = currentBuilding(c);
    if (b.target.type === "machine" && !(await ctx.store.getMachine(bid, b.target.machineId))) {
      throw new HttpError(400, "unknown_machine", "target.machineId: no such machine.");
    }
    const notice = await ctx.notifications!.createNotice(admin, bid, { ...b, sendAt });
    return c.json({ notice, stats: await ctx.store.getStats(notice.id) }, 201);
  });

  app.get("/announcements", async (c) => {
    const notices = await ctx.store.listNotices(currentBuilding(c));
    const withStats = await Promise.all(
      notices.map(async (n) => ({
        ...n,
        stats: await ctx.store.getStats(n.id),
        channels: await channelTotals(ctx.store.kv, n.id),
      })),
    );
    return c.json({ notices: withStats });
  });

  app.get("/announcements/:id", async (c) => {
    const n = await ctx.store.getNotice(currentBuilding(c), noticeIdParam(c.req.param("id")));
    if (!n) throw new HttpError(404, "not_found", "No such notice.");
    return c.json({
      notice: n,
      stats: await ctx.store.getStats(n.id),
      channels: await channelTotals(ctx.store.kv, n.id),
    });
  });

  app.delete("/announcements/:id", async (c) => {
    const id = noticeIdParam(c.req.param("id"));
    const bid = currentBuilding(c);
    const n = await ctx.store.getNotice(bid, id);
    if (!n) throw new HttpError(404, "not_found", "No such notice.");
    const cancelled = await ctx.notifications!.cancelNotice(bid, id);
    if (!cancelled) {
      throw new HttpError(
        409,
        "not_cancellable",
        `This notice is ${n.status}; only scheduled ones can be cancelled.`,
      );
    }
    return c.json({ notice: cancelled });
  });

  app.get("/stats", async (c) => {
    const scope = statScope(currentBuilding(c));
    const [overall, pushAlarm, channels, days] = await Promise.all([
      ctx.store.getStats(scope),
      // Our push setup is wrong (a push service refused our credentials).
      ctx.store.pushAlarm(),
      channelTotals(ctx.store.kv, scope),
      dailySeries(ctx.store.kv, scope),
    ]);
    return c.json({ overall, pushAlarm, channels, days });
  });

  return app;
}
