/**
 * Inbox, preferences and watches: `/api/notifications`, `/api/preferences`,
 * `/api/watches`.
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
    z.enum(CONFIGURABLE_KINDS as [NotificationKind, ...NotificationKind[]]),
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
const WatchBody = z.object({ kind: z.enum(["washer", "dryer"]) }).strict();

/** Inbox, preferences and watch routes. */
export function notificationRoutes(ctx: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const notifier = () => ctx.notifier!;

  app.get("/notifications", async (c) => {
    const u = requireUser(c);
    const limit = Math.min(200, Math.max(1, Number(c.req.query("limit") ?? 100) || 100));
    const items = await ctx.store.listInbox(u.id, 10_000);
    return c.json({
      items: items.slice(0, limit),
      unread: items.filter((i) => !i.readAt).length,
      cursor: await ctx.store.currentCursor(u.id, currentBuilding(c)),
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

  app.get("/watches", async (c) => {
    const u = requireUser(c);
    return c.json({ kinds: await ctx.store.watchesOf(currentBuilding(c), u.id) });
  });

  app.post("/watches", async (c) => {
    const u = requireUser(c);
    const b = await body(c, WatchBody);
    const bid = currentBuilding(c);
    // Already free? Say so instead of waiting for a change that may not come.
    const free = (await ctx.store.listMachines(bid)).find((m) =>
      m.kind === b.kind && m.state === "available"
    );
    await ctx.store.addWatch(bid, u.id, b.kind);
    return c.json({ kind: b.kind, watching: true, freeNow: free?.id ?? null }, 201);
  });

  app.delete("/watches/:kind", async (c) => {
    const u = requireUser(c);
    const kind = c.req.param("kind");
    if (kind !== "washer" && kind !== "dryer") {
      throw new HttpError(404, "not_found", "No such kind.");
    }
    await ctx.store.removeWatch(currentBuilding(c), u.id, kind);
    return c.json({ kind, watching: false });
  });

  return app;
}
