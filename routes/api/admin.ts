/**
 * `/api/admin/*` (role admin only): machines, residents, invite codes.
 * Announcements and delivery statistics live in `admin_notices.ts`.
 * @module
 */
import { type Context, Hono } from "hono";
import { currentBuilding } from "../../lib/middleware/building.ts";
import { z } from "zod";
import { publicUser, StoreError } from "../../lib/db/mod.ts";
import type { AppContext } from "../../lib/context.ts";
import { type AppEnv, body, HttpError, requireAdmin } from "../../lib/http.ts";
import { displayText } from "../../lib/text.ts";
import { actorOf, machineIdParam } from "./machines.ts";
import { issueReset } from "../../lib/recovery.ts";

const MachineBody = z.object({
  name: displayText(40),
  kind: z.enum(["washer", "dryer"]),
  room: displayText(40),
}).strict();

const MachinePatch = z.object({
  name: displayText(40).optional(),
  room: displayText(40).optional(),
  order: z.number().int().min(0).max(10_000).optional(),
}).strict();

const OutOfOrder = z.object({
  reason: z.string().trim().max(200).default(""),
  /** The expected repair day ("2026-12-04"), shown on the card. */
  repairDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).refine(
    (d) =>
      !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) &&
      new Date(`${d}T00:00:00Z`).toISOString().startsWith(d),
    "not a date",
  ).optional(),
}).strict();
const Empty = z.object({}).strict();
const UserPatch = z.object({ disabled: z.boolean() }).strict();
const InviteBody = z.object({
  code: z.string().trim().regex(/^[A-Za-z0-9-]{4,40}$/).optional(),
  maxUses: z.number().int().min(1).max(100_000).optional(),
  expiresInDays: z.number().int().min(1).max(3650).optional(),
}).strict();

/** A user id in a path (ids are short base32; anything else names no one). */
export function userIdParam(id: string): string {
  if (!/^[0-9a-z]{4,32}$/.test(id)) throw new HttpError(404, "not_found", "No such user.");
  return id;
}

/** An invite code in a path (the shape `POST /invites` accepts). */
export function inviteCodeParam(code: string): string {
  if (!/^[A-Za-z0-9-]{4,40}$/.test(code)) {
    throw new HttpError(404, "not_found", "No such invite code.");
  }
  return code;
}

/** Admin routes; every handler starts with requireAdmin. */
export function adminRoutes(ctx: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", async (c, next) => {
    requireAdmin(c);
    await next();
  });

  app.get("/machines", async (c) => {
    const bid = currentBuilding(c);
    // Sensors by machine id: status (waiting, ok, silent), last reading, thresholds.
    const [machines, sensors] = await Promise.all([
      ctx.store.listMachines(bid),
      ctx.store.listSensors(bid),
    ]);
    return c.json({ machines, sensors });
  });

  /** The store's `duplicate_name` names the field at fault, for the form. */
  async function naming<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof StoreError && err.code === "duplicate_name") {
        throw new HttpError(409, err.code, err.message, {}, { field: "name" });
      }
      throw err;
    }
  }

  app.post("/machines", async (c) => {
    const b = await body(c, MachineBody);
    const machine = await naming(() => ctx.board.addMachine(currentBuilding(c), b));
    return c.json({ machine }, 201);
  });

  app.patch("/machines/:id", async (c) => {
    const b = await body(c, MachinePatch);
    const id = machineIdParam(c.req.param("id"));
    const machine = await naming(() => ctx.board.updateMachine(currentBuilding(c), id, b));
    return c.json({ machine });
  });

  app.delete("/machines/:id", async (c) => {
    await ctx.board.removeMachine(currentBuilding(c), machineIdParam(c.req.param("id")));
    return c.json({ ok: true });
  });

  app.post("/machines/:id/out_of_order", async (c) => {
    const b = await body(c, OutOfOrder);
    const bid = currentBuilding(c);
    const r = await ctx.board.command(
      bid,
      machineIdParam(c.req.param("id")),
      { type: "out_of_order", reason: b.reason, repairDate: b.repairDate },
      actorOf(requireAdmin(c), bid),
    );
    return c.json({ machine: r.machine });
  });

  app.post("/machines/:id/repair", async (c) => {
    await body(c, Empty);
    const bid = currentBuilding(c);
    const r = await ctx.board.command(
      bid,
      machineIdParam(c.req.param("id")),
      { type: "repair" },
      actorOf(requireAdmin(c), bid),
    );
    return c.json({ machine: r.machine });
  });

  app.get(
    "/reports",
    async (c) => c.json({ reports: await ctx.store.listReports(currentBuilding(c)) }),
  );

  app.get("/residents", async (c) => {
    const users = await ctx.store.listUsers(currentBuilding(c));
    return c.json({ residents: users.map(publicUser) });
  });

  // A one-time password-reset code for a resident (lib/recovery.ts); the answer is the only
  // place the code appears.
  app.post("/residents/:id/reset", async (c) => {
    await body(c, Empty);
    const me = requireAdmin(c);
    const id = await memberParam(c, c.req.param("id"));
    const r = await issueReset(ctx.store, id, me.id);
    return c.json({
      code: r.code,
      expiresAt: r.expiresAt,
      url: `/reset?code=${encodeURIComponent(r.code)}`,
    }, 201);
  });

  app.patch("/residents/:id", async (c) => {
    const b = await body(c, UserPatch);
    if (userIdParam(c.req.param("id")) === requireAdmin(c).id) {
      throw new HttpError(400, "self", "You cannot disable your own account.");
    }
    const id = await memberParam(c, c.req.param("id"));
    const user = await ctx.store.setUserDisabled(id, b.disabled);
    if (b.disabled) await ctx.hub.disconnectUser(id, undefined, "account disabled");
    return c.json({ resident: publicUser(user) });
  });

  app.get(
    "/invites",
    async (c) => c.json({ invites: await ctx.store.listInvites(currentBuilding(c)) }),
  );

  app.post("/invites", async (c) => {
    const b = await body(c, InviteBody);
    const invite = await ctx.store.createInvite(currentBuilding(c), requireAdmin(c).id, {
      code: b.code,
      maxUses: b.maxUses,
      expiresAt: b.expiresInDays ? Date.now() + b.expiresInDays * 86_400_000 : undefined,
    });
    return c.json({ invite }, 201);
  });

  app.delete("/invites/:code", async (c) => {
    const code = inviteCodeParam(c.req.param("code"));
    return c.json({ invite: await ctx.store.revokeInvite(currentBuilding(c), code) });
  });

  /** A user id in a path that names a member of the building (404 for anyone else). */
  async function memberParam(c: Context<AppEnv>, raw: string): Promise<string> {
    const id = userIdParam(raw);
    const u = await ctx.store.getUser(id);
    const bid = currentBuilding(c);
    if (!u || (u.buildingId !== bid && !u.adminOf?.includes(bid)) || u.role === "operator") {
      throw new HttpError(404, "not_found", "No such user.");
    }
    // Disabling or resetting an admin (who may administer other buildings
    // too) is the operator's call, not a fellow building admin's.
    if (u.role === "admin" && requireAdmin(c).role !== "operator") {
      throw new HttpError(403, "admin_account", "Only the operator can change an admin's account.");
    }
    return id;
  }

  return app;
}
