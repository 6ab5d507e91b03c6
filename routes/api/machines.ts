/**
 * The board API: `GET /api/machines`, `POST /api/machines/:id/:action`,
 * `GET /api/sync?since=`.
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AppContext } from "../../lib/context.ts";
import { isCursor, parseCursor } from "../../lib/cursor.ts";
import { type AppEnv, body, HttpError, requireUser } from "../../lib/http.ts";
import type { Actor, Command } from "../../lib/lifecycle.ts";
import { FAULT_CATEGORIES, type User } from "../../lib/types.ts";
import { actorRole } from "../../lib/roles.ts";
import { currentBuilding } from "../../lib/middleware/building.ts";

const Empty = z.object({}).strict();

/** Body of `POST /api/machines/:id/report`. */
export const ReportBody = z.object({
  category: z.enum(FAULT_CATEGORIES),
  note: z.string().trim().max(300).default(""),
}).strict();

/** Fault reports a resident may file per hour (of any machine). */
export const REPORTS_PER_HOUR = 10;
const Minutes = z.object({ minutes: z.number().int().min(1).max(600) }).strict();

/** Resident actions and their bodies. */
const ACTIONS = {
  hold: Empty,
  arrive: Empty,
  start: Minutes,
  extend: Minutes,
  finish: Empty,
  collect: Empty,
  release: Empty,
  pass: Empty,
} as const;

/** The actor for a user acting in building `bid` (its admins act as admins there). */
export function actorOf(u: User, bid: string): Actor {
  return { id: u.id, name: u.name, role: actorRole(u, bid) };
}

/** A machine id in a path. */
export function machineIdParam(id: string): string {
  if (!/^[0-9a-z]{4,32}$/.test(id)) throw new HttpError(404, "not_found", "No such machine.");
  return id;
}

/** Board routes. */
export function machineRoutes(ctx: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/machines", async (c) => {
    const u = requireUser(c);
    const bid = currentBuilding(c);
    const [{ cursor, machines }, building] = await Promise.all([
      ctx.store.boardAt(u.id, bid, { waitlists: false }),
      ctx.store.getBuilding(bid),
    ]);
    return c.json({ cursor, serverTime: Date.now(), machines, building });
  });

  // A resident reports a problem (before the generic action route, which would take it).
  app.post("/machines/:id/report", async (c) => {
    const u = requireUser(c);
    const id = machineIdParam(c.req.param("id"));
    const b = await body(c, ReportBody);
    const rl = await ctx.store.hitRate(`report:${u.id}`, REPORTS_PER_HOUR, 3600_000);
    if (!rl.allowed) {
      throw new HttpError(429, "rate_limited", "Too many reports; try later.", {
        "Retry-After": String(Math.ceil(rl.retryAfterMs / 1000)),
      });
    }
    const report = await ctx.store.addReport(currentBuilding(c), id, u, b);
    return c.json({ report }, 201);
  });

  app.post("/machines/:id/:action", async (c) => {
    const u = requireUser(c);
    const bid = currentBuilding(c);
    const id = machineIdParam(c.req.param("id"));
    const action = c.req.param("action");
    if (action === "nudge" && ctx.notifications) {
      await body(c, Empty);
      const r = await ctx.notifications.nudge(bid, id, u);
      if (!r.ok) {
        // A refusal in time (too early, cooldown) says when asking again can succeed.
        const retryAfterSec = (r as { retryAfterSec?: number }).retryAfterSec;
        throw new HttpError(
          r.code === "not_found" ? 404 : r.code === "cooldown" ? 429 : 409,
          r.code,
          r.message,
          {},
          retryAfterSec ? { retryAfterSec } : {},
        );
      }
      return c.json({ ok: true });
    }
    if (!Object.hasOwn(ACTIONS, action)) {
      throw new HttpError(404, "unknown_action", `Unknown action: ${action}.`);
    }
    const b = await body(c, ACTIONS[action as keyof typeof ACTIONS]);
    const cmd = { type: action, ...b } as Command;
    const r = await ctx.board.command(bid, id, cmd, actorOf(u, bid));
    return c.json({
      machine: r.machine,
      cursor: r.cursor ?? await ctx.store.currentCursor(u.id, bid),
    });
  });

  app.get("/sync", async (c) => {
    const u = requireUser(c);
    const since = c.req.query("since");
    if (since !== undefined && since !== "" && !isCursor(since)) {
      throw new HttpError(400, "bad_cursor", "since: not a cursor.");
    }
    const r = await ctx.store.sync(u.id, currentBuilding(c), parseCursor(since));
    return c.json({ ...r, serverTime: Date.now() });
  });

  return app;
}
