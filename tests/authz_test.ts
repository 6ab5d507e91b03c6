/**
 * The authorization table: every route the app registers × every method ×
 * every role, with the status each cell must answer. Routes are read from the
 * app itself (`app.routes`), so a new route without an entry here fails.
 *
 * Roles: `anon` (no cookie), `resident` (for machine actions: the resident
 * whose machine it is), `other` (another resident), `admin` (the operator,
 * who administers every building), `buildingAdmin` (an admin of this building
 * only: as `admin` unless a row says otherwise, except the operator's routes,
 * which refuse them), and `disabled`
 * (a resident disabled by an admin, still sending the session cookie they had
 * before). Every cell gets fresh fixtures and fresh residents, so one cell's
 * success cannot change another's answer.
 *
 * A second table test sends every API cell as a resident and as an admin of
 * another building: whatever names something of this building answers 404
 * (403 where the role check comes first), never 2xx (the building admins'
 * finer rules: tests/tenancy_test.ts).
 *
 * Requests run in-process (`app.request`), except `/ws`, which needs a real
 * upgrade: that row is served from the same app on a loopback port.
 * @module
 */
import assert from "node:assert/strict";
import { createTestApp, type KitResponse, type Party, type TestApp } from "./support/app_kit.ts";
import { rawUpgrade, TEST_INVITE, TEST_PASSWORD, waitFor } from "./support/harness.ts";
import type { Machine, User } from "../lib/types.ts";
import { actorOf } from "../routes/api/machines.ts";
import { issueReset } from "../lib/recovery.ts";

type Role = "anon" | "resident" | "other" | "admin" | "disabled";
/** Every party a cell is sent as: the roles, and an admin of this building who is not the operator. */
type Who = Role | "buildingAdmin";
const WHO: Who[] = ["anon", "resident", "other", "admin", "buildingAdmin", "disabled"];
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/** The parties of one cell: fresh residents and a fresh admin session. */
interface Parties {
  resident: Party & { user: User };
  other: Party & { user: User };
  admin: Party & { user: User };
  /** A resident appointed admin of this building (not the operator). */
  buildingAdmin: Party & { user: User };
  disabled: Party & { user: User };
}

/** What one cell sends (path with parameters filled, JSON body). */
interface Cell {
  path: string;
  body?: unknown;
}

/** One way to call a route, with the status expected per role. */
interface Case {
  /** What the fixture is (shown in failures). */
  name: string;
  /** Per role; `buildingAdmin` defaults to {@link buildingAdminExpect}. */
  expect: Record<Role, number> & { buildingAdmin?: number };
  /** Error codes expected for some roles (`buildingAdmin` defaults to `admin`'s). */
  codes?: Partial<Record<Who, string>>;
  /** A static request, or one built from fresh fixtures per cell. */
  cell: Cell | ((k: TestApp, p: Parties) => Promise<Cell>);
  /** Wait this long after preparing the cells (a grace period to pass). */
  waitMs?: number;
}

const signedIn = (ok: number): Record<Role, number> => ({
  anon: 401,
  resident: ok,
  other: ok,
  admin: ok,
  disabled: 401,
});
const adminOnly = (ok: number): Record<Role, number> => ({
  anon: 401,
  resident: 403,
  other: 403,
  admin: ok,
  disabled: 401,
});
const everyone = (ok: number): Record<Role, number> => ({
  anon: ok,
  resident: ok,
  other: ok,
  admin: ok,
  disabled: ok,
});
/** Owner-only machine actions: other residents and admins are refused. */
const ownerOnly: Record<Role, number> = {
  anon: 401,
  resident: 200,
  other: 403,
  admin: 403,
  disabled: 401,
};
/** Owner or admin (finish, collect, release). */
const ownerOrAdmin: Record<Role, number> = { ...ownerOnly, admin: 200 };
/** Signed-in pages: guests are redirected to /login. */
const page: Record<Role, number> = { ...signedIn(200), anon: 302, disabled: 302 };
/** Login and sign-up pages: signed-in users are redirected to the board. */
const guestPage: Record<Role, number> = {
  anon: 200,
  resident: 302,
  other: 302,
  admin: 302,
  disabled: 200,
};

// ───────────────────────────── fixtures ─────────────────────────────

const MINUTE_MS = 200; // hold 2 s, pickup grace 0.6 s, a 60-minute cycle 12 s
let seq = 0;
const unique = (prefix: string) => `${prefix}${++seq}`;

type MachineState = "available" | "held" | "arrived" | "in_use" | "done" | "out_of_order";

/** A new washer in `state`, held or used by `owner`. */
async function machine(k: TestApp, state: MachineState, owner: User): Promise<Machine> {
  const { board } = k.ctx;
  const bid = k.home;
  const m = await board.addMachine(bid, { name: unique("W"), kind: "washer", room: "B1" });
  const run = async (cmd: Parameters<typeof board.command>[2], u: User) =>
    (await board.command(bid, m.id, cmd, actorOf(u, bid))).machine;
  if (state === "available") return m;
  if (state === "out_of_order") {
    const adm = (await k.ctx.store.getUserByLogin(k.config.adminLogin))!;
    return await run({ type: "out_of_order", reason: "test" }, adm);
  }
  if (state === "in_use" || state === "done") {
    await run({ type: "start", minutes: 60 }, owner);
    return state === "done" ? await run({ type: "finish" }, owner) : m;
  }
  await run({ type: "hold" }, owner);
  return state === "arrived" ? await run({ type: "arrive" }, owner) : m;
}

/** A new washer in a room of its own, running `owner`'s cycle (its queue is open). */
async function busyRoom(k: TestApp, owner: User): Promise<string> {
  const m = await k.ctx.board.addMachine(k.home, {
    name: unique("W"),
    kind: "washer",
    room: unique("Q"),
  });
  await k.ctx.board.command(k.home, m.id, { type: "start", minutes: 60 }, actorOf(owner, k.home));
  return m.room;
}

/**
 * A new dryer in its own room, free and offered by the waitlist to `to` (a
 * dryer: the shared admin session may hold a washer of another cell).
 */
async function offered(k: TestApp, to: User): Promise<Machine> {
  const m = await k.ctx.board.addMachine(k.home, {
    name: unique("D"),
    kind: "dryer",
    room: unique("Q"),
  });
  const system = { id: "system", name: "", role: "system" as const };
  return (await k.ctx.board.command(k.home, m.id, { type: "offer", userId: to.id }, system))
    .machine;
}

const action = (
  act: string,
  state: MachineState,
  body: unknown = {},
): (k: TestApp, p: Parties) => Promise<Cell> =>
async (k, p) => ({
  path: `/api/machines/${(await machine(k, state, p.resident.user)).id}/${act}`,
  body,
});

/** A valid Web Push registration (a 65-byte P-256 point and a 16-byte secret). */
function webpushDevice() {
  const b64 = (bytes: Uint8Array) =>
    btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const point = new Uint8Array(65).fill(7);
  point[0] = 0x04;
  return {
    kind: "webpush",
    subscription: {
      endpoint: `https://fcm.googleapis.com/fcm/send/${unique("sub")}`,
      keys: { p256dh: b64(point), auth: b64(new Uint8Array(16).fill(3)) },
    },
  };
}

async function notice(k: TestApp, p: Parties, inMs: number) {
  return await k.ctx.notifications!.createNotice(p.admin.user, k.home, {
    title: "Water off",
    body: "Tomorrow 9-12",
    target: { type: "all" },
    sendAt: Date.now() + inMs,
    sound: true,
    critical: false,
  });
}

// ───────────────────────────── the table ─────────────────────────────

/** Every registered route: `METHOD path` → how to call it and what each role gets. */
const TABLE: Record<string, Case[]> = {
  "POST /api/auth/register": [{
    name: "a new account with the invite code",
    expect: everyone(201),
    cell: () =>
      Promise.resolve({
        path: "/api/auth/register",
        body: {
          inviteCode: TEST_INVITE,
          loginId: unique("newbie"),
          password: TEST_PASSWORD,
          name: "N",
          room: "9",
        },
      }),
  }],
  "POST /api/auth/login": [{
    name: "a resident's right password",
    expect: everyone(200),
    cell: async (k) => ({
      path: "/api/auth/login",
      body: { loginId: (await k.resident(unique("login"))).user.loginId, password: TEST_PASSWORD },
    }),
  }],
  "POST /api/auth/logout": [{
    name: "logout",
    expect: everyone(200),
    cell: { path: "/api/auth/logout", body: {} },
  }],
  "POST /api/auth/reset": [{
    name: "a new password with a one-time code the admin issued",
    expect: everyone(200),
    cell: async (k) => {
      const victim = await k.resident(unique("forgot"));
      const admin = await k.admin();
      const { code } = await issueReset(k.ctx.store, victim.user.id, admin.user!.id);
      return { path: "/api/auth/reset", body: { resetCode: code, password: "a-new-pass-417" } };
    },
  }],
  "GET /api/me": [{ name: "me", expect: signedIn(200), cell: { path: "/api/me" } }],
  "GET /api/machines": [{ name: "board", expect: signedIn(200), cell: { path: "/api/machines" } }],
  "GET /api/sync": [{ name: "sync", expect: signedIn(200), cell: { path: "/api/sync" } }],
  "POST /api/machines/:id/report": [{
    name: "report a problem with a machine",
    expect: signedIn(201),
    cell: async (k, p) => ({
      path: `/api/machines/${(await machine(k, "available", p.resident.user)).id}/report`,
      body: { category: "leak", note: "water on the floor" },
    }),
  }],
  "GET /api/admin/reports": [{
    name: "reports by machine",
    expect: adminOnly(200),
    cell: { path: "/api/admin/reports" },
  }],
  "POST /api/machines/:id/:action": [
    { name: "hold a free machine", expect: signedIn(200), cell: action("hold", "available") },
    {
      name: "walk-up start of a free machine",
      expect: signedIn(200),
      cell: action("start", "available", { minutes: 30 }),
    },
    {
      name: "arrive at the resident's held machine",
      expect: ownerOnly,
      codes: { other: "not_owner", admin: "not_owner" },
      cell: action("arrive", "held"),
    },
    {
      name: "start the resident's held machine",
      expect: ownerOnly,
      codes: { other: "not_owner", admin: "not_owner" },
      cell: action("start", "held", { minutes: 30 }),
    },
    {
      name: "start the resident's arrived machine",
      expect: ownerOnly,
      codes: { other: "not_owner", admin: "not_owner" },
      cell: action("start", "arrived", { minutes: 30 }),
    },
    {
      name: "extend the resident's running cycle",
      expect: ownerOnly,
      codes: { other: "not_owner", admin: "not_owner" },
      cell: action("extend", "in_use", { minutes: 10 }),
    },
    {
      name: "finish the resident's running cycle",
      expect: ownerOrAdmin,
      codes: { other: "not_owner" },
      cell: action("finish", "in_use"),
    },
    {
      name: "collect the resident's finished laundry",
      expect: ownerOrAdmin,
      codes: { other: "not_owner" },
      cell: action("collect", "done"),
    },
    {
      name: "release the resident's held machine",
      expect: ownerOrAdmin,
      codes: { other: "not_owner" },
      cell: action("release", "held"),
    },
    {
      name: "release the resident's arrived machine",
      expect: ownerOrAdmin,
      codes: { other: "not_owner" },
      cell: action("release", "arrived"),
    },
    {
      name: "nudge about the resident's finished laundry after the grace period",
      expect: { ...signedIn(200), resident: 409 },
      codes: { resident: "own_machine" },
      cell: action("nudge", "done"),
      waitMs: 4 * MINUTE_MS,
    },
    {
      name: "hold an out-of-order machine",
      expect: signedIn(409),
      codes: { resident: "out_of_order", other: "out_of_order", admin: "out_of_order" },
      cell: action("hold", "out_of_order"),
    },
    {
      name: "pass on the waitlist offer the resident holds",
      expect: ownerOnly,
      codes: { other: "not_owner", admin: "not_owner" },
      cell: async (k, p) => ({
        path: `/api/machines/${(await offered(k, p.resident.user)).id}/pass`,
      }),
    },
    {
      name: "take a machine offered to the resident (others wait)",
      expect: { ...signedIn(409), resident: 200, admin: 200 },
      codes: { other: "offered" },
      cell: async (k, p) => ({
        path: `/api/machines/${(await offered(k, p.resident.user)).id}/hold`,
      }),
    },
    {
      name: "offers are the waitlist's, not an action",
      expect: signedIn(404),
      codes: { resident: "unknown_action" },
      cell: async (k, p) => ({
        path: `/api/machines/${(await machine(k, "available", p.resident.user)).id}/offer`,
        body: { userId: p.resident.user.id },
      }),
    },
    {
      name: "an unknown action",
      expect: signedIn(404),
      codes: { resident: "unknown_action" },
      cell: action("explode", "available"),
    },
  ],

  "GET /api/admin/machines": [{
    name: "list",
    expect: adminOnly(200),
    cell: { path: "/api/admin/machines" },
  }],
  "POST /api/admin/machines": [{
    name: "add a dryer",
    expect: adminOnly(201),
    cell: () =>
      Promise.resolve({
        path: "/api/admin/machines",
        body: { name: unique("D"), kind: "dryer", room: "B1" },
      }),
  }],
  "PATCH /api/admin/machines/:id": [{
    name: "rename",
    expect: adminOnly(200),
    cell: async (k, p) => ({
      path: `/api/admin/machines/${(await machine(k, "available", p.resident.user)).id}`,
      // A name of its own per cell: two admins renaming to one name would collide.
      body: { name: unique("Renamed") },
    }),
  }],
  "DELETE /api/admin/machines/:id": [{
    name: "remove a free machine",
    expect: adminOnly(200),
    cell: async (k, p) => ({
      path: `/api/admin/machines/${(await machine(k, "available", p.resident.user)).id}`,
    }),
  }],
  "POST /api/admin/machines/:id/out_of_order": [{
    name: "the resident's running machine breaks",
    expect: adminOnly(200),
    cell: async (k, p) => ({
      path: `/api/admin/machines/${(await machine(k, "in_use", p.resident.user)).id}/out_of_order`,
      body: { reason: "leaking" },
    }),
  }],
  "POST /api/admin/machines/:id/repair": [{
    name: "repair",
    expect: adminOnly(200),
    cell: async (k, p) => ({
      path: `/api/admin/machines/${(await machine(k, "out_of_order", p.resident.user)).id}/repair`,
      body: {},
    }),
  }],
  "POST /api/admin/machines/:id/sensor": [{
    name: "attach a sensor (the token is shown once)",
    expect: adminOnly(201),
    cell: async (k, p) => ({
      path: `/api/admin/machines/${(await machine(k, "available", p.resident.user)).id}/sensor`,
      body: { stopMinutes: 3 },
    }),
  }],
  "PATCH /api/admin/machines/:id/sensor": [{
    name: "set a sensor's thresholds",
    expect: adminOnly(200),
    cell: async (k, p) => {
      const m = await machine(k, "available", p.resident.user);
      await k.ctx.store.attachSensor(k.home, m.id, p.admin.user.id);
      return { path: `/api/admin/machines/${m.id}/sensor`, body: { stopMinutes: 4 } };
    },
  }],
  "DELETE /api/admin/machines/:id/sensor": [{
    name: "revoke a machine's sensor",
    expect: adminOnly(200),
    cell: async (k, p) => {
      const m = await machine(k, "available", p.resident.user);
      await k.ctx.store.attachSensor(k.home, m.id, p.admin.user.id);
      return { path: `/api/admin/machines/${m.id}/sensor` };
    },
  }],
  // The webhook is authorised by its bearer token only: a session cookie is worth nothing.
  // (tests/sensor_test.ts sends real tokens, bad ones and other buildings' machines.)
  "POST /api/sensors/:machineId": [{
    name: "a reading with a session cookie but no sensor token",
    expect: everyone(401),
    codes: {
      anon: "bad_sensor_token",
      resident: "bad_sensor_token",
      admin: "bad_sensor_token",
      disabled: "bad_sensor_token",
    },
    cell: async (k, p) => {
      const m = await machine(k, "available", p.resident.user);
      await k.ctx.store.attachSensor(k.home, m.id, p.admin.user.id);
      return { path: `/api/sensors/${m.id}`, body: { watts: 500 } };
    },
  }],
  "GET /api/admin/residents": [{
    name: "list",
    expect: adminOnly(200),
    cell: { path: "/api/admin/residents" },
  }],
  "PATCH /api/admin/residents/:id": [{
    name: "disable another resident",
    expect: adminOnly(200),
    cell: async (k) => ({
      path: `/api/admin/residents/${(await k.resident(unique("victim"))).user.id}`,
      body: { disabled: true },
    }),
  }],
  "POST /api/admin/residents/:id/reset": [{
    name: "issue a reset code for another resident",
    expect: adminOnly(201),
    cell: async (k) => ({
      path: `/api/admin/residents/${(await k.resident(unique("forgets"))).user.id}/reset`,
      body: {},
    }),
  }],
  "GET /api/admin/invites": [{
    name: "list",
    expect: adminOnly(200),
    cell: { path: "/api/admin/invites" },
  }],
  "POST /api/admin/invites": [{
    name: "create",
    expect: adminOnly(201),
    cell: { path: "/api/admin/invites", body: { maxUses: 5 } },
  }],
  "GET /api/operator/buildings": [{
    name: "buildings with health",
    expect: adminOnly(200),
    cell: { path: "/api/operator/buildings" },
  }],
  "POST /api/operator/buildings": [{
    name: "a new building",
    expect: adminOnly(201),
    cell: () =>
      Promise.resolve({ path: "/api/operator/buildings", body: { name: unique("B"), washers: 1 } }),
  }],
  "GET /api/operator/buildings/:id": [{
    name: "one building",
    expect: adminOnly(200),
    cell: (k) => Promise.resolve({ path: `/api/operator/buildings/${k.home}` }),
  }],
  "PATCH /api/operator/buildings/:id": [{
    name: "rename",
    expect: adminOnly(200),
    cell: (k) =>
      Promise.resolve({ path: `/api/operator/buildings/${k.home}`, body: { name: unique("N") } }),
  }],
  "POST /api/operator/buildings/:id/admins": [{
    name: "appoint a resident",
    expect: adminOnly(200),
    cell: async (k) => ({
      path: `/api/operator/buildings/${k.home}/admins`,
      body: { loginId: (await k.resident(unique("appointee"))).user.loginId },
    }),
  }],
  "DELETE /api/operator/buildings/:id/admins/:userId": [{
    name: "remove an admin",
    expect: adminOnly(200),
    cell: async (k) => {
      const u = await k.resident(unique("demoted"));
      await k.ctx.store.appointAdmin(k.home, u.user.id);
      return { path: `/api/operator/buildings/${k.home}/admins/${u.user.id}` };
    },
  }],
  "DELETE /api/admin/invites/:code": [{
    name: "revoke",
    expect: adminOnly(200),
    cell: async (k, p) => ({
      path: `/api/admin/invites/${(await k.ctx.store.createInvite(k.home, p.admin.user.id)).code}`,
    }),
  }],
  "POST /api/admin/announcements": [{
    name: "schedule a notice",
    expect: adminOnly(201),
    cell: () =>
      Promise.resolve({
        path: "/api/admin/announcements",
        body: {
          title: "Water off",
          body: "Tomorrow",
          target: { type: "all" },
          sendAt: new Date(Date.now() + 86_400_000).toISOString(),
        },
      }),
  }],
  "GET /api/admin/announcements": [{
    name: "list",
    expect: adminOnly(200),
    cell: { path: "/api/admin/announcements" },
  }],
  "GET /api/admin/announcements/:id": [{
    name: "one notice",
    expect: adminOnly(200),
    cell: async (k, p) => ({
      path: `/api/admin/announcements/${(await notice(k, p, 86_400_000)).id}`,
    }),
  }],
  "DELETE /api/admin/announcements/:id": [{
    name: "cancel a scheduled notice",
    expect: adminOnly(200),
    cell: async (k, p) => ({
      path: `/api/admin/announcements/${(await notice(k, p, 86_400_000)).id}`,
    }),
  }],
  "GET /api/admin/stats": [{
    name: "stats",
    expect: adminOnly(200),
    cell: { path: "/api/admin/stats" },
  }],

  "GET /api/busy": [{ name: "busy hours", expect: signedIn(200), cell: { path: "/api/busy" } }],
  "GET /api/admin/usage": [
    { name: "usage by machine", expect: adminOnly(200), cell: { path: "/api/admin/usage" } },
    {
      name: "usage of too long a period",
      expect: adminOnly(400),
      codes: { admin: "invalid_body" },
      cell: { path: "/api/admin/usage?days=99" },
    },
  ],

  "GET /api/push/config": [{
    name: "config",
    expect: signedIn(200),
    cell: { path: "/api/push/config" },
  }],
  "GET /api/push/devices": [{
    name: "list",
    expect: signedIn(200),
    cell: { path: "/api/push/devices" },
  }],
  "PUT /api/push/devices/:deviceId": [{
    name: "register this browser",
    expect: signedIn(201),
    cell: () =>
      Promise.resolve({ path: `/api/push/devices/${unique("device-")}`, body: webpushDevice() }),
  }],
  "DELETE /api/push/devices/:deviceId": [{
    name: "the resident's device (nobody else's to delete)",
    expect: { ...ownerOnly, other: 404, admin: 404 },
    cell: async (k, p) => {
      const id = unique("device-");
      const d = webpushDevice();
      await k.ctx.store.upsertDevice(p.resident.user.id, id, {
        kind: "webpush",
        endpoint: d.subscription.endpoint,
        keys: d.subscription.keys,
      });
      return { path: `/api/push/devices/${id}` };
    },
  }],
  "POST /api/push/report": [{
    name: "a click on the resident's own notification (nobody else's)",
    expect: { ...ownerOnly, other: 404, admin: 404 },
    cell: async (k, p) => {
      const id = unique("note-");
      await k.ctx.store.addToInbox(p.resident.user.id, k.home, {
        id,
        kind: "test",
        title: "T",
        body: "B",
        url: "/inbox",
        tag: "test",
        createdAt: Date.now(),
      });
      return { path: "/api/push/report", body: { id, event: "click" } };
    },
  }],
  "POST /api/push/test": [{
    name: "test push",
    expect: signedIn(200),
    cell: { path: "/api/push/test", body: {} },
  }],
  "GET /api/notifications": [{
    name: "inbox",
    expect: signedIn(200),
    cell: { path: "/api/notifications" },
  }],
  "POST /api/notifications/read": [{
    name: "read all",
    expect: signedIn(200),
    cell: { path: "/api/notifications/read", body: {} },
  }],
  "GET /api/preferences": [{
    name: "read",
    expect: signedIn(200),
    cell: { path: "/api/preferences" },
  }],
  "PUT /api/preferences": [{
    name: "change",
    expect: signedIn(200),
    cell: { path: "/api/preferences", body: { endingSoonMinutes: 5 } },
  }],
  // The email fallback: this server has no SMTP_URL, so changes are refused with a
  // translated 422 (tests/email_test.ts runs them against a real SMTP peer).
  "GET /api/email": [{ name: "read", expect: signedIn(200), cell: { path: "/api/email" } }],
  "PUT /api/email": [{
    name: "no SMTP",
    expect: signedIn(422),
    codes: { resident: "email_not_configured" },
    cell: { path: "/api/email", body: { address: "ann@example.org" } },
  }],
  "PATCH /api/email": [{
    name: "no SMTP",
    expect: signedIn(422),
    cell: { path: "/api/email", body: { enabled: false } },
  }],
  "DELETE /api/email": [{ name: "no SMTP", expect: signedIn(422), cell: { path: "/api/email" } }],
  "POST /api/email/verify": [{
    name: "no SMTP",
    expect: signedIn(422),
    cell: { path: "/api/email/verify", body: { token: "x".repeat(43) } },
  }],
  "GET /api/waitlist": [{ name: "list", expect: signedIn(200), cell: { path: "/api/waitlist" } }],
  "POST /api/waitlist": [{
    name: "queue for the washers of a room where all are busy",
    expect: signedIn(201),
    cell: async (k, p) => ({
      path: "/api/waitlist",
      body: { room: await busyRoom(k, p.other.user), kind: "washer" },
    }),
  }, {
    name: "queue in a room that has no such machines",
    expect: signedIn(404),
    codes: { resident: "not_found" },
    cell: { path: "/api/waitlist", body: { room: "없는 방", kind: "dryer" } },
  }],
  "DELETE /api/waitlist/:kind": [{
    name: "leave the washer queue",
    expect: signedIn(200),
    cell: { path: "/api/waitlist/washer" },
  }],

  // `/ws` is checked over a real socket (see the test "authz: /ws"); here a
  // plain GET without Upgrade.
  "GET /ws": [{
    name: "not an upgrade",
    expect: everyone(426),
    cell: { path: "/ws" },
  }],

  "GET /healthz": [{ name: "health check", expect: everyone(200), cell: { path: "/healthz" } }],
  "GET /lang/:lang": [{ name: "switch", expect: everyone(302), cell: { path: "/lang/en" } }],
  "GET /login": [{ name: "login page", expect: guestPage, cell: { path: "/login" } }],
  "GET /register": [{ name: "sign-up page", expect: guestPage, cell: { path: "/register" } }],
  "GET /reset": [{ name: "password reset page", expect: everyone(200), cell: { path: "/reset" } }],
  "GET /*": [{ name: "an unknown page", expect: everyone(404), cell: { path: "/no-such-page" } }],
  "GET /": [{ name: "board page", expect: page, cell: { path: "/" } }],
  "GET /inbox": [{ name: "inbox page", expect: page, cell: { path: "/inbox" } }],
  "GET /report": [{
    name: "report page of a machine",
    expect: page,
    cell: async (k, p) => ({
      path: `/report?m=${(await machine(k, "available", p.resident.user)).id}`,
    }),
  }],
  "GET /settings": [{ name: "settings page", expect: page, cell: { path: "/settings" } }],
  "GET /admin": [{
    name: "admin page",
    expect: { ...page, resident: 403, other: 403 },
    cell: { path: "/admin" },
  }],
  "GET /busy": [{ name: "busy hours page", expect: page, cell: { path: "/busy" } }],
  "GET /admin/usage": [{
    name: "usage page",
    expect: { ...page, resident: 403, other: 403 },
    cell: { path: "/admin/usage" },
  }],
  "GET /admin/qr": [{
    name: "QR label sheet",
    expect: { ...page, resident: 403, other: 403 },
    cell: { path: "/admin/qr" },
  }],
  "GET /operator": [{
    name: "operator console",
    expect: { ...page, resident: 403, other: 403 },
    cell: { path: "/operator" },
  }],
};

/** The routes the app registers, as `METHOD path` (middleware left out). */
function registeredRoutes(k: TestApp): Set<string> {
  const out = new Set<string>();
  for (const r of k.app.routes) {
    if (r.method === "ALL" && r.path.endsWith("*")) continue; // middleware
    const methods = r.method === "ALL" ? METHODS : [r.method];
    for (const m of methods) out.add(`${m} ${r.path}`);
  }
  return out;
}

/** The app for one test. */
async function world(): Promise<TestApp> {
  return await createTestApp({ MINUTE_MS: String(MINUTE_MS) });
}

/**
 * Fresh parties for one cell sent as `role` (residents only where the cell
 * needs them). The disabled resident signed in, then an admin disabled them
 * through the API; they keep sending the cookie they had.
 */
async function parties(k: TestApp, role?: Who): Promise<Parties> {
  const admin = await k.admin();
  const resident = await k.resident(unique("res"));
  const fresh = (want: Who, prefix: string) =>
    role === undefined || role === want ? k.resident(unique(prefix)) : Promise.resolve(resident);
  const other = await fresh("other", "oth");
  const disabled = await fresh("disabled", "dis");
  let buildingAdmin = await fresh("buildingAdmin", "badm");
  if (buildingAdmin !== resident) {
    const user = await k.ctx.store.appointAdmin(k.home, buildingAdmin.user.id);
    assert.equal(user.role, "admin");
    buildingAdmin = { ...buildingAdmin, user };
  }
  if (disabled !== resident) {
    const off = await k.call("PATCH", `/api/admin/residents/${disabled.user.id}`, {
      cookie: admin.cookie,
      body: { disabled: true },
    });
    assert.equal(off.status, 200, off.text);
  }
  return { resident, other, admin, buildingAdmin, disabled };
}

/**
 * What an admin of this building (not the operator) gets where a row does not
 * say: the operator's routes refuse them (403), everything else answers them
 * as it answers the operator.
 */
function buildingAdminExpect(route: string, c: Case): number {
  if (c.expect.buildingAdmin !== undefined) return c.expect.buildingAdmin;
  const path = route.split(" ")[1];
  if (path.startsWith("/api/operator/") || path === "/operator") return 403;
  return c.expect.admin;
}

function isApi(path: string): boolean {
  return path.startsWith("/api/") || path === "/ws" || path.startsWith("/ws?");
}

function cookieOf(role: Who, p: Parties): string {
  return role === "anon" ? "" : p[role].cookie;
}

/** Never a 500; API errors (and `/ws` refusals) have the `{error:{code,message}}` shape. */
function assertShape(where: string, path: string, r: KitResponse, json = isApi(path)): void {
  assert.ok(r.status < 500, `${where}: ${r.status} ${r.text}`);
  if (r.status >= 400 && json) {
    assert.equal(typeof r.json?.error?.code, "string", `${where}: error shape: ${r.text}`);
    assert.ok(r.json.error.message?.length > 0, `${where}: error message: ${r.text}`);
  }
}

Deno.test("authz: the table covers exactly the routes the app registers", async () => {
  const k = await world();
  try {
    const routes = registeredRoutes(k);
    const missing = [...routes].filter((r) => !(r in TABLE));
    const stale = Object.keys(TABLE).filter((r) => !routes.has(r));
    assert.deepEqual(missing, [], "routes without an authz entry (add them to TABLE)");
    assert.deepEqual(stale, [], "TABLE entries for routes that no longer exist");
    assert.ok(routes.size >= 40, `only ${routes.size} routes found`);
  } finally {
    await k.close();
  }
});

Deno.test("authz: every route × role answers the expected status", async () => {
  const k = await world();
  try {
    const failures: string[] = [];
    for (const [route, cases] of Object.entries(TABLE)) {
      const method = route.split(" ")[0];
      for (const c of cases) {
        // Fresh parties and fixtures for every cell, prepared first (then one wait).
        const prepared = await Promise.all(WHO.map(async (role) => {
          const p = await parties(k, role);
          const cell = typeof c.cell === "function" ? await c.cell(k, p) : c.cell;
          return { role, p, cell };
        }));
        if (c.waitMs) await new Promise((r) => setTimeout(r, c.waitMs));
        for (const { role, p, cell } of prepared) {
          const where = `${route} [${c.name}] as ${role}`;
          const r = await k.call(method, cell.path, {
            cookie: cookieOf(role, p),
            body: cell.body,
          });
          assertShape(where, cell.path, r);
          const code = role === "buildingAdmin"
            ? c.codes?.buildingAdmin ?? c.codes?.admin
            : c.codes?.[role];
          const want = role === "buildingAdmin" ? buildingAdminExpect(route, c) : c.expect[role];
          if (r.status !== want) {
            failures.push(
              `${where}: expected ${want}, got ${r.status} ${r.text.slice(0, 160)}`,
            );
          } else if (code && r.json?.error?.code !== code) {
            failures.push(`${where}: expected code ${code}, got ${r.text.slice(0, 160)}`);
          }
        }
      }
    }
    assert.deepEqual(failures, []);
  } finally {
    await k.close();
  }
});

Deno.test("authz: parties of another building get nothing of this one, on every API route and page", async () => {
  const k = await world();
  try {
    // Building B, with a resident and an admin of its own.
    const op = await k.admin();
    const made = await k.call("POST", "/api/operator/buildings", {
      cookie: op.cookie,
      body: { name: "B", washers: 1 },
    });
    assert.equal(made.status, 201, made.text);
    const b = made.json.building.id as string;
    const foreign = await k.resident(unique("fb"));
    await k.ctx.store.patchUser(foreign.user.id, (u) => ({ ...u, buildingId: b }));
    const foreignAdmin = await k.resident(unique("fa"));
    await k.ctx.store.patchUser(foreignAdmin.user.id, (u) => ({ ...u, buildingId: b }));
    await k.ctx.store.appointAdmin(b, foreignAdmin.user.id);
    const failures: string[] = [];
    let aboutA = 0;
    for (const [route, cases] of Object.entries(TABLE)) {
      const [method, pattern] = route.split(" ");
      // Sign-in routes and pages name no building; the sensor webhook takes a sensor's
      // token, not a session (tests/sensor_test.ts: another building's machine is 404 with
      // a token); `/ws` is checked over real sockets (tests/tenancy_test.ts).
      const page = !pattern.startsWith("/api/");
      if (
        pattern.startsWith("/api/auth/") || pattern.startsWith("/api/sensors/") ||
        (page && !SIGNED_IN_PAGES.includes(pattern))
      ) continue;
      for (const c of cases) {
        const p = await parties(k, "resident");
        const made = typeof c.cell === "function" ? await c.cell(k, p) : c.cell;
        if (c.waitMs) await new Promise((r) => setTimeout(r, c.waitMs));
        // A page is also asked for building A by name (as its links and the switcher do).
        const named = `${made.path}${made.path.includes("?") ? "&" : "?"}building=${k.home}`;
        for (const cell of page ? [made, { ...made, path: named }] : [made]) {
          // Does the request name something of building A (a machine, a member, a notice, an invite)?
          const a = k.home;
          const ids = [
            a,
            ...(await k.ctx.store.listMachines(a)).map((m) => m.id),
            ...(await k.ctx.store.memberIds(a)),
            ...(await k.ctx.store.listNotices(a)).map((n) => n.id),
            ...(await k.ctx.store.listInvites(a)).map((i) => i.code),
          ];
          const namesA = ids.some((id) => cell.path.split(/[/?=&]/).includes(id));
          if (namesA) aboutA++;
          for (
            const [who, party] of [["foreign", foreign], ["foreignAdmin", foreignAdmin]] as const
          ) {
            const r = await k.call(method, cell.path, { cookie: party.cookie, body: cell.body });
            assertShape(`${route} [${c.name}] as ${who}`, cell.path, r);
            // A page naming building A answers 404 before any role check (the building
            // middleware); an API route of the admin or operator subtree checks the role first.
            const operatorOnly = pattern.startsWith("/api/operator/") ||
              (pattern === "/operator" && !namesA);
            const adminRoute = /^(\/api)?\/admin(\/|$)/.test(pattern);
            const want = operatorOnly
              ? [403]
              : namesA
              ? who === "foreign" && adminRoute && !page ? [403] : [404]
              : who === "foreign" && adminRoute
              ? [403]
              : null; // not about A: answered as for a party of A (any status but 5xx)
            if (want && !want.includes(r.status)) {
              failures.push(
                `${route} [${c.name}] as ${who}: expected ${want}, got ${r.status} ${
                  r.text.slice(0, 120)
                }`,
              );
            }
            if (namesA && r.status < 300) {
              failures.push(`${route} [${c.name}] as ${who}: ${r.status}`);
            }
          }
        }
      }
    }
    assert.deepEqual(failures, []);
    assert.ok(aboutA >= 30, `only ${aboutA} cells named something of building A`);
  } finally {
    await k.close();
  }
});

/** The pages a signed-in user sees (the cross-building table asks each for building A too). */
const SIGNED_IN_PAGES = [
  "/",
  "/inbox",
  "/report",
  "/settings",
  "/admin",
  "/busy",
  "/admin/usage",
  "/admin/qr",
  "/operator",
];

/** Fill a route pattern's parameters with plausible values. */
function fill(path: string): string {
  return path.replace(
    /:(\w+)/g,
    (_, name: string) =>
      ({ action: "hold", kind: "washer", lang: "en", code: "CODE1", deviceId: "device-0001" })[
        name
      ] ?? "zzzz0001",
  );
}

Deno.test("authz: methods a route does not register are refused for every role", async () => {
  const k = await world();
  try {
    const routes = registeredRoutes(k);
    const paths = new Set([...routes].map((r) => r.split(" ")[1]));
    const p = await parties(k);
    const failures: string[] = [];
    for (const path of paths) {
      for (const method of METHODS) {
        if (routes.has(`${method} ${path}`)) continue;
        // The admin and operator subtrees check the role before they look for a handler.
        const roles: Record<Role, number> = /^\/api\/(admin|operator)\//.test(path)
          ? adminOnly(404)
          : everyone(404);
        const expect: Record<Who, number> = {
          ...roles,
          buildingAdmin: path.startsWith("/api/operator/") ? 403 : roles.admin,
        };
        for (const role of WHO) {
          const r = await k.call(method, fill(path), {
            cookie: cookieOf(role, p),
            body: method === "GET" ? undefined : {},
          });
          const where = `${method} ${path} as ${role}`;
          // Outside /api/ an unknown method is the plain-text "Not found" of pages.
          assertShape(where, path, r, path.startsWith("/api/"));
          if (r.status !== expect[role]) failures.push(`${where}: got ${r.status} ${r.text}`);
        }
      }
    }
    assert.deepEqual(failures, []);
  } finally {
    await k.close();
  }
});

Deno.test("authz: every state-changing API route refuses cross-origin and non-JSON requests", async () => {
  const k = await world();
  try {
    const before = JSON.stringify(await k.ctx.store.listMachines(k.home));
    // The sensor webhook has no CSRF rule (a bearer token, no cookie authority): checked below.
    const routes = [...registeredRoutes(k)].filter((r) =>
      r.includes(" /api/") && !r.startsWith("GET ") && r !== "POST /api/sensors/:machineId"
    );
    assert.ok(routes.some((r) => r.startsWith("PUT ")), "a PUT route is checked");
    assert.ok(routes.some((r) => r.startsWith("PATCH ")), "a PATCH route is checked");
    assert.ok(routes.some((r) => r.startsWith("DELETE ")), "a DELETE route is checked");
    const failures: string[] = [];
    for (const route of routes) {
      const [method, pattern] = route.split(" ");
      for (const role of ["admin", "resident"] as const) {
        const p = await parties(k);
        const cell = TABLE[route][0].cell;
        const { path, body } = typeof cell === "function" ? await cell(k, p) : cell;
        for (
          const [headers, status] of [
            [{ origin: "http://evil.example" }, 403],
            [{ origin: null, "sec-fetch-site": "cross-site" }, 403],
            [{ origin: null }, 403],
            [{ "content-type": "text/plain" }, 415],
          ] as const
        ) {
          const r = await k.call(method, path, {
            cookie: p[role].cookie,
            body: body ?? {},
            headers,
          });
          const where = `${method} ${pattern} as ${role} with ${JSON.stringify(headers)}`;
          assertShape(where, path, r);
          if (r.status !== status) failures.push(`${where}: got ${r.status} ${r.text}`);
        }
      }
    }
    // The one exception, the sensor webhook: a cookie carries no authority there (401 for
    // every role, cross-site or not), and its bearer token works without Origin or JSON type.
    const p = await parties(k);
    const m = await machine(k, "available", p.resident.user);
    const { token } = (await k.ctx.store.attachSensor(k.home, m.id, p.admin.user.id))!;
    for (
      const headers of [
        { origin: "http://evil.example" } as Record<string, string | null>,
        { origin: null, "sec-fetch-site": "cross-site" },
        { origin: null },
        { "content-type": "text/plain" },
      ]
    ) {
      const where = `POST /api/sensors/:machineId with ${JSON.stringify(headers)}`;
      const cookieOnly = await k.call("POST", `/api/sensors/${m.id}`, {
        cookie: p.admin.cookie,
        body: { watts: 500 },
        headers,
      });
      assertShape(where, "/api/sensors/x", cookieOnly);
      if (cookieOnly.status !== 401 || cookieOnly.json?.error?.code !== "bad_sensor_token") {
        failures.push(`${where} (cookie only): got ${cookieOnly.status} ${cookieOnly.text}`);
      }
      const bearer = await k.call("POST", `/api/sensors/${m.id}`, {
        body: { watts: 1 },
        headers: { ...headers, authorization: `Bearer ${token}` },
      });
      if (bearer.status !== 200) {
        failures.push(`${where} (token): got ${bearer.status} ${bearer.text}`);
      }
    }
    assert.deepEqual(failures, []);
    // Fixtures added machines; none of the refused requests changed the seeded ones.
    const seeded = JSON.parse(before).map((m: Machine) => m.id);
    const now = (await k.ctx.store.listMachines(k.home)).filter((m) => seeded.includes(m.id));
    assert.equal(JSON.stringify(now), before);
  } finally {
    await k.close();
  }
});

Deno.test("authz: /ws upgrades signed-in users only (disabled residents' cookies are dead)", async () => {
  const k = await world();
  const ac = new AbortController();
  let addr!: Deno.NetAddr;
  const listening = Promise.withResolvers<void>();
  const server = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: 0,
      signal: ac.signal,
      onListen: (a) => {
        addr = a as Deno.NetAddr;
        listening.resolve();
      },
    },
    (req, info) => k.app.fetch(req, { remoteAddr: info.remoteAddr }),
  );
  try {
    await listening.promise;
    const url = `http://127.0.0.1:${addr.port}`;
    const p = await parties(k);
    const expect: Record<Who, number> = { ...signedIn(101), buildingAdmin: 101 };
    for (const role of WHO) {
      const cookie = cookieOf(role, p);
      const r = await rawUpgrade(url, { origin: url, cookie: cookie || undefined });
      assert.equal(r.status, expect[role], `${role}: ${JSON.stringify(r.json)}`);
      if (r.status === 401) assert.equal(r.json.error.code, "unauthenticated");
    }
    // The accepted sockets were dropped by the client: let the hub see them go.
    await waitFor(() => k.ctx.hub.size === 0, 5000, "hub to drop the test sockets");
  } finally {
    ac.abort();
    await server.finished;
    await k.close();
  }
});

Deno.test("authz: a resident's inbox, devices, preferences and waitlist places are theirs alone", async () => {
  const k = await world();
  try {
    const p = await parties(k, "other");
    const owner = p.resident.cookie;
    const other = p.other.cookie;
    const otherStart = (await k.call("GET", "/api/sync", { cookie: other })).json.cursor;

    // The owner gets an inbox item (a test push) and registers a device.
    assert.equal((await k.call("POST", "/api/push/test", { cookie: owner, body: {} })).status, 200);
    const [item] = (await k.call("GET", "/api/notifications", { cookie: owner })).json.items;
    assert.ok(item && !item.readAt, "the owner has an unread item");
    const dev = webpushDevice();
    const put = await k.call("PUT", "/api/push/devices/shared-device-1", {
      cookie: owner,
      body: dev,
    });
    assert.equal(put.status, 201, put.text);

    // The other resident sees none of it and cannot touch it.
    const inbox = (await k.call("GET", "/api/notifications", { cookie: other })).json;
    assert.deepEqual(inbox.items, []);
    assert.equal(inbox.unread, 0);
    const sync = (await k.call("GET", `/api/sync?since=${otherStart}`, { cookie: other })).json;
    assert.ok(
      !JSON.stringify(sync).includes(item.id),
      `another resident's sync must not carry the owner's notification: ${JSON.stringify(sync)}`,
    );
    const read = await k.call("POST", "/api/notifications/read", {
      cookie: other,
      body: { ids: [item.id] },
    });
    assert.equal(read.status, 200);
    assert.equal(read.json.updated, 0);
    assert.equal(
      (await k.call("GET", "/api/push/devices", { cookie: other })).json.devices.length,
      0,
    );
    // The same device id registered by the other resident is a device of theirs, not a takeover.
    const dev2 = webpushDevice();
    const take = await k.call("PUT", "/api/push/devices/shared-device-1", {
      cookie: other,
      body: dev2,
    });
    assert.equal(take.status, 201, take.text);
    const ownerDevices = (await k.call("GET", "/api/push/devices", { cookie: owner })).json.devices;
    assert.equal(ownerDevices.length, 1);
    assert.equal(
      (await k.ctx.store.listDevices(p.resident.user.id))[0].endpoint,
      dev.subscription.endpoint,
    );
    const before = (await k.call("GET", "/api/preferences", { cookie: owner })).json.preferences;
    const pref = await k.call("PUT", "/api/preferences", {
      cookie: other,
      body: { endingSoonMinutes: before.endingSoonMinutes === 7 ? 8 : 7, lang: "en" },
    });
    assert.equal(pref.status, 200);
    const joined = await k.call("POST", "/api/waitlist", {
      cookie: other,
      body: { room: await busyRoom(k, p.resident.user), kind: "washer" },
    });
    assert.equal(joined.status, 201, joined.text);

    // The owner's side is unchanged.
    const after = (await k.call("GET", "/api/notifications", { cookie: owner })).json;
    assert.equal(after.unread, 1);
    assert.equal(after.items[0].readAt, undefined);
    assert.deepEqual(
      (await k.call("GET", "/api/preferences", { cookie: owner })).json.preferences,
      before,
    );
    const mine = (await k.call("GET", "/api/waitlist", { cookie: owner })).json.queues;
    assert.deepEqual(mine.map((q: { place: number | null }) => q.place), [null]);
  } finally {
    await k.close();
  }
});

Deno.test("authz: the session cookie is HttpOnly, SameSite=Lax, and Secure off localhost", async () => {
  const k = await world();
  try {
    const r = await k.call("POST", "/api/auth/register", {
      body: {
        inviteCode: TEST_INVITE,
        loginId: "cookie-check",
        password: TEST_PASSWORD,
        name: "C",
        room: "1",
      },
    });
    assert.equal(r.status, 201, r.text);
    const line = r.headers.getSetCookie().find((l) => l.startsWith("ll_session="));
    assert.ok(line, "a session cookie is set");
    assert.match(line, /;\s*HttpOnly/i);
    assert.match(line, /;\s*SameSite=Lax/i);
    assert.match(line, /;\s*Path=\//i);
    assert.match(line, /;\s*Secure/i, "http://app.test is not loopback: Secure");
    assert.match(line, /;\s*Max-Age=\d+/i);
  } finally {
    await k.close();
  }
});
