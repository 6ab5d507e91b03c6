/**
 * `/api/operator/*` (the operator only): buildings, their admins and their
 * health. Contract in docs/API.md ("Operator").
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import { type Building, type User } from "../../lib/types.ts";
import { type Presence, PRESENCE_TTL_MS, publicUser, type Store } from "../../lib/db/mod.ts";
import type { AppContext } from "../../lib/context.ts";
import { type AppEnv, body, HttpError, requireOperator } from "../../lib/http.ts";
import { displayText } from "../../lib/text.ts";
import { K } from "../../lib/keys.ts";
import { administers, mayEnter } from "../../lib/roles.ts";
import { userIdParam } from "./admin.ts";
import { addMachines, DEMO_ROOM } from "../../lib/seed.ts";

/** A valid IANA time zone name. */
const TimeZone = z.string().trim().min(1).max(64).refine((tz) => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, "not an IANA time zone");

/** Body of `POST /api/operator/buildings`. */
export const BuildingBody = z.object({
  name: displayText(60),
  timeZone: TimeZone.optional(),
  /** Laundry rooms (default one, "1층 세탁실"); new machines go in the first. */
  rooms: z.array(displayText(40)).min(1).max(50).optional(),
  washers: z.number().int().min(0).max(50).default(0),
  dryers: z.number().int().min(0).max(50).default(0),
}).strict();

/** Body of `PATCH /api/operator/buildings/:id`. */
export const BuildingPatch = z.object({
  name: displayText(60).optional(),
  timeZone: TimeZone.optional(),
  rooms: z.array(displayText(40)).min(1).max(50).optional(),
}).strict();

const AdminBody = z.object({ loginId: z.string().trim().min(1).max(64) }).strict();

/** Default laundry room of a new building. */
export const DEFAULT_ROOM = DEMO_ROOM;
/** Buildings per page of the operator's list. */
export const PAGE = 50;

/** A building id in a path. */
function buildingParam(id: string): string {
  if (!/^[0-9a-z]{1,32}$/.test(id)) throw new HttpError(404, "not_found", "No such building.");
  return id;
}

/** How a building is doing, as the operator's list shows it. */
export interface BuildingHealth {
  machines: number;
  outOfOrder: number;
  members: number;
  admins: number;
  /** Open sockets (summed over the live presence rows of its members). */
  sockets: number;
  /** Push devices whose last delivery failed (or that our setup cannot reach). */
  devicesFailing: number;
}

/** A building admin of `bid` (not the operator, who administers every building). */
function isAdminOf(u: User, bid: string): boolean {
  return u.role === "admin" && administers(u, bid);
}

/**
 * Compute a building's health (reads only that building's keys and its
 * members'). `members` when the caller has listed them already.
 */
export async function buildingHealth(
  store: Store,
  b: Building,
  members?: User[],
): Promise<BuildingHealth> {
  const [machines, people] = await Promise.all([
    store.listMachines(b.id),
    members ?? store.listUsers(b.id),
  ]);
  let sockets = 0;
  let devicesFailing = 0;
  const now = Date.now();
  await Promise.all(people.map(async (u) => {
    for await (const e of store.kv.list<Presence>({ prefix: K.presenceOf(u.id) })) {
      if (e.value.at > now - PRESENCE_TTL_MS) sockets += e.value.sockets ?? 1;
    }
    for (const d of await store.listDevices(u.id)) {
      if (d.failures > 0 || d.lastOutcome) devicesFailing++;
    }
  }));
  return {
    machines: machines.length,
    outOfOrder: machines.filter((m) => m.state === "out_of_order").length,
    members: people.filter((u) => u.buildingId === b.id).length,
    admins: people.filter((u) => isAdminOf(u, b.id)).length,
    sockets,
    devicesFailing,
  };
}

/** Due records overdue by more than a minute (the worker is behind, or nothing wakes it). */
export async function dueBacklog(store: Store, now = Date.now()): Promise<number> {
  let n = 0;
  for await (
    const _ of store.kv.list({ start: K.dueAll(), end: K.due(now - 60_000, "") }, { limit: 1000 })
  ) n++;
  return n;
}

/** Operator routes; every handler starts with requireOperator. */
export function operatorRoutes(ctx: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { store } = ctx;
  app.use("*", async (c, next) => {
    requireOperator(c);
    await next();
  });

  app.get("/buildings", async (c) => {
    const all = await store.listBuildings();
    const after = c.req.query("after");
    const start = after ? all.findIndex((b) => b.id === after) + 1 : 0;
    const page = all.slice(start, start + PAGE);
    const rows = await Promise.all(
      page.map(async (b) => ({ ...b, health: await buildingHealth(store, b) })),
    );
    return c.json({
      buildings: rows,
      next: start + PAGE < all.length ? page[page.length - 1].id : null,
      total: all.length,
      pushAlarm: await store.pushAlarm(),
      dueBacklog: await dueBacklog(store),
    });
  });

  app.post("/buildings", async (c) => {
    const me = requireOperator(c);
    const b = await body(c, BuildingBody);
    const rooms = b.rooms ?? [DEFAULT_ROOM];
    const building = await store.createBuilding({ name: b.name, timeZone: b.timeZone, rooms });
    await addMachines(store, building.id, rooms[0], b);
    const [invite, adminInvite] = await Promise.all([
      store.createInvite(building.id, me.id),
      store.createInvite(building.id, me.id, { role: "admin" }),
    ]);
    return c.json({
      building: await store.getBuilding(building.id),
      inviteCode: invite.code,
      adminInviteCode: adminInvite.code,
    }, 201);
  });

  app.get("/buildings/:id", async (c) => {
    const b = await store.getBuilding(buildingParam(c.req.param("id")));
    if (!b) throw new HttpError(404, "not_found", "No such building.");
    // The members once, for the health figures and the admin list.
    const members = await store.listUsers(b.id);
    const [health, invites] = await Promise.all([
      buildingHealth(store, b, members),
      store.listInvites(b.id),
    ]);
    const admins = members.filter((u) => isAdminOf(u, b.id)).map(publicUser);
    return c.json({ building: b, health, admins, invites });
  });

  app.patch("/buildings/:id", async (c) => {
    const patch = await body(c, BuildingPatch);
    return c.json({
      building: await store.patchBuilding(buildingParam(c.req.param("id")), patch),
    });
  });

  app.post("/buildings/:id/admins", async (c) => {
    const bid = buildingParam(c.req.param("id"));
    const b = await body(c, AdminBody);
    const u = await store.getUserByLogin(b.loginId);
    if (!u) {
      throw new HttpError(404, "no_user", "No account with that login id.", {}, {
        field: "loginId",
      });
    }
    const admin = await store.appointAdmin(bid, u.id);
    // A socket opened as a resident learns its new rights on its next connect.
    return c.json({ admin: publicUser(admin) });
  });

  app.delete("/buildings/:id/admins/:userId", async (c) => {
    const bid = buildingParam(c.req.param("id"));
    const user = await store.removeAdmin(bid, userIdParam(c.req.param("userId")));
    // Their sockets on this building's board close at once (on every
    // instance): the client goes to its own board, instead of reconnecting
    // to a building it may no longer enter (404).
    if (!mayEnter(user, bid)) await ctx.hub.disconnectFromBuilding(user.id, bid);
    return c.json({ user: publicUser(user) });
  });

  return app;
}
