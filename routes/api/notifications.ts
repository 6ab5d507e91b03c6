/**
 * Inbox, preferences and waitlists: `/api/notifications`, `/api/preferences`,
 * `/api/waitlist`.
 * @module
 */
import { currentBuilding } from "../../lib/middleware/building.ts";
import { Hono } from "hono";
import { setCookie } from "hono/cookie";
import { LANG_COOKIE } from "../../lib/user_language.ts";
import { z } from "zod";
import type { AppContext } from "../../lib/context.ts";
import { type AppEnv, body, HttpError, requireUser } from "../../lib/http.ts";
import { CONFIGURABLE_KINDS } from "../../lib/notify/policy.ts";
import type { NotificationKind, Preferences } from "../../lib/types.ts";

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "use HH:MM (24 h)");

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Body of PUT /api/preferences (every field optional; merged). */
export const PreferencesBody = z.object({
  lang: z.enum(["ko", "en"]).optional(),
  timeZone: z.string().max(64).refine(validTimeZone, "unknown time zone").optional(),
  push: z.record(
    // Every kind with a switch, and `machine.free` (a choice saved by an earlier release).
    z.enum(["machine.free", ...CONFIGURABLE_KINDS] as [NotificationKind, ...NotificationKind[]]),
    z.boolean(),
  )
    .optional(),
  endingSoonMinutes: z.number().int().min(0).max(30).optional(),
  quiet: z.object({
    enabled: z.boolean(),
    start: hhmm,
    end: hhmm,
    mode: z.enum(["silent", "hold"]),
  }).strict().optional(),
}).strict();

const ReadBody = z.object({ ids: z.array(z.string().max(200)).max(500).optional() }).strict();
/** Body of `POST /api/waitlist`. */
export const WaitBody = z.object({
  room: z.string().trim().min(1).max(60),
  kind: z.enum(["washer", "dryer"]),
}).strict();

/** Waitlist joins and leaves a resident may make per 10 minutes. */
export const WAITLIST_CHANGES_PER_10_MIN = 30;

/** Inbox, preferences and waitlist routes. */
export function notificationRoutes(ctx: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const notifier = () => ctx.notifier!;

  app.get("/notifications", async (c) => {
    const u = requireUser(c);
    const limit = Math.min(200, Math.max(1, Number(c.req.query("limit") ?? 100) || 100));
    // The count and the cursor it is current at, read together (see inboxAt).
    const { items, cursor } = await ctx.store.inboxAt(u.id, currentBuilding(c));
    return c.json({
      items: items.slice(0, limit),
      unread: items.filter((i) => !i.readAt).length,
      cursor,
    });
  });

  app.post("/notifications/read", async (c) => {
    const u = requireUser(c);
    const b = await body(c, ReadBody);
    const bid = currentBuilding(c);
    const r = await ctx.store.markRead(u.id, bid, b.ids);
    ctx.hub.poll(bid);
    return c.json({ updated: r.updated });
  });

  app.get("/preferences", async (c) => {
    const u = requireUser(c);
    return c.json({ preferences: await notifier().preferences(u.id) });
  });

  app.put("/preferences", async (c) => {
    const u = requireUser(c);
    const b = await body(c, PreferencesBody);
    const current = await notifier().preferences(u.id);
    const next: Preferences = {
      ...current,
      ...b,
      push: { ...current.push, ...(b.push ?? {}) },
      quiet: b.quiet ?? current.quiet,
    };
    await ctx.store.setPreferences(u.id, next);
    // The saved language and the cookie (for signed-out pages) stay one setting.
    if (b.lang) {
      setCookie(c, LANG_COOKIE, b.lang, { path: "/", sameSite: "Lax", maxAge: 365 * 86400 });
    }
    return c.json({ preferences: next });
  });

  app.get("/waitlist", async (c) => {
    const u = requireUser(c);
    const queues = await ctx.store.waitlists(currentBuilding(c));
    return c.json({
      queues: queues.map((q) => ({
        room: q.room,
        kind: q.kind,
        length: q.queue.length,
        place: q.queue.indexOf(u.id) + 1 || null,
      })),
    });
  });

  app.post("/waitlist", async (c) => {
    const u = requireUser(c);
    const b = await body(c, WaitBody);
    await limitWaitlist(u.id);
    const r = await ctx.store.joinWaitlist(currentBuilding(c), u.id, b.room, b.kind);
    return c.json({ room: b.room, kind: b.kind, ...r }, 201);
  });

  app.delete("/waitlist/:kind", async (c) => {
    const u = requireUser(c);
    const kind = c.req.param("kind");
    if (kind !== "washer" && kind !== "dryer") {
      throw new HttpError(404, "not_found", "No such kind.");
    }
    await limitWaitlist(u.id);
    const left = await ctx.store.leaveWaitlist(currentBuilding(c), u.id, kind);
    return c.json({ kind, left });
  });

  /** Joining and leaving are board events: a resident gets {@link WAITLIST_CHANGES_PER_10_MIN}. */
  async function limitWaitlist(userId: string): Promise<void> {
    const rl = await ctx.store.hitRate(`waitlist:${userId}`, WAITLIST_CHANGES_PER_10_MIN, 600_000);
    if (!rl.allowed) {
      throw new HttpError(429, "rate_limited", "Too many waitlist changes; try later.", {
        "Retry-After": String(Math.ceil(rl.retryAfterMs / 1000)),
      });
    }
  }

  return app;
}
