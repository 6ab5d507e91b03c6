/**
 * Two buildings on one deployment (issue 11): residents, building admins and
 * the operator across buildings, over real HTTP and WebSockets.
 *
 * Building A is the seeded one (the operator's); building B is made through
 * the operator API, with its resident and admin invite codes. The authz
 * matrix names a resource of A in every row and says what each party gets:
 * a party of B must get 404 for anything of A (a machine, a resident, an
 * invite code, a notice), never 403 (which would confirm it exists) and
 * never a 2xx.
 * @module
 */
import assert from "node:assert/strict";
import {
  Client,
  isEvent,
  openSocket,
  rawUpgrade,
  resident,
  TEST_INVITE,
  TEST_PASSWORD,
} from "./support/harness.ts";
import { type Json, ok, sleep, startNotifyServer } from "./support/notify_kit.ts";
import { DEMO_ROOM } from "../lib/seed.ts";

type Party = "resA" | "adminA" | "resB" | "adminB" | "operator";
const PARTIES: Party[] = ["resA", "adminA", "resB", "adminB", "operator"];

interface World {
  url: string;
  a: string;
  b: string;
  who: Record<Party, Client>;
  /** A second resident of A, the subject of admin rows. */
  resA2: Client;
  /** B's invite codes. */
  inviteB: string;
  adminInviteB: string;
}

async function world(url: string): Promise<World> {
  const operator = new Client(url);
  ok(await operator.login("admin", "admin-pass-123"));
  const created = await operator.post("/api/operator/buildings", {
    name: "B동",
    timeZone: "Asia/Seoul",
    washers: 2,
    dryers: 1,
    rooms: ["B동 지하", "B동 3층"],
  });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const b = created.json.building.id as string;
  const { inviteCode, adminInviteCode } = created.json;
  assert.notEqual(inviteCode, adminInviteCode);
  const resA = await resident(url, "resa", "501");
  const resA2 = await resident(url, "resa2", "502");
  const a = resA.user.buildingId as string;
  const adminA = new Client(url);
  assert.equal((await adminA.register("admina", "Admin A", "관리실")).status, 201);
  ok(await operator.post(`/api/operator/buildings/${a}/admins`, { loginId: "admina" }));
  ok(await adminA.login("admina"));
  const resB = new Client(url);
  assert.equal((await resB.register("resb", "B", "301", { inviteCode })).status, 201);
  const adminB = new Client(url);
  const reg = await adminB.register("adminb", "Admin B", "B관리실", {
    inviteCode: adminInviteCode,
  });
  assert.equal(reg.status, 201);
  assert.deepEqual([reg.json.user.role, reg.json.user.adminOf], ["admin", [b]]);
  return {
    url,
    a,
    b,
    who: { resA, adminA, resB, adminB, operator },
    resA2,
    inviteB: inviteCode,
    adminInviteB: adminInviteCode,
  };
}

/** A fresh available machine of A (made by the operator). */
async function machineA(w: World, name: string): Promise<string> {
  const r = await w.who.operator.post("/api/admin/machines", {
    name,
    kind: "washer",
    room: DEMO_ROOM,
  });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return r.json.machine.id;
}

interface Row {
  name: string;
  method: string;
  /** The path (and body) to send, from a fresh fixture of A. */
  cell: (w: World) => Promise<{ path: string; body?: unknown }>;
  expect: Record<Party, number>;
}

const ADMIN_OF_A = { resA: 403, adminA: 200, resB: 403, adminB: 404, operator: 200 };

/** A scheduled notice of A (made by the operator): its path. */
async function noticeOfA(w: World): Promise<{ path: string }> {
  const r = await w.who.operator.post("/api/admin/announcements", {
    title: "A only",
    body: "x",
    target: { type: "all" },
    sendAt: new Date(Date.now() + 3_600_000).toISOString(),
  });
  return { path: `/api/admin/announcements/${r.json.notice.id}` };
}

let n = 0;
const fresh = (p: string) => `${p}${++n}`;

const ROWS: Row[] = [
  {
    name: "hold a machine of A",
    method: "POST",
    cell: async (w) => ({ path: `/api/machines/${await machineA(w, fresh("H"))}/hold`, body: {} }),
    expect: { resA: 200, adminA: 200, resB: 404, adminB: 404, operator: 200 },
  },
  {
    name: "walk-up start of a machine of A",
    method: "POST",
    cell: async (w) => ({
      path: `/api/machines/${await machineA(w, fresh("S"))}/start`,
      body: { minutes: 30 },
    }),
    expect: { resA: 200, adminA: 200, resB: 404, adminB: 404, operator: 200 },
  },
  {
    name: "report a problem with a machine of A",
    method: "POST",
    cell: async (w) => ({
      path: `/api/machines/${await machineA(w, fresh("F"))}/report`,
      body: { category: "door", note: "" },
    }),
    expect: { resA: 201, adminA: 201, resB: 404, adminB: 404, operator: 201 },
  },
  {
    name: "rename a machine of A",
    method: "PATCH",
    cell: async (w) => ({
      path: `/api/admin/machines/${await machineA(w, fresh("R"))}`,
      body: { name: fresh("Renamed") },
    }),
    expect: ADMIN_OF_A,
  },
  {
    name: "remove a machine of A",
    method: "DELETE",
    cell: async (w) => ({ path: `/api/admin/machines/${await machineA(w, fresh("D"))}` }),
    expect: ADMIN_OF_A,
  },
  {
    name: "mark a machine of A out of order",
    method: "POST",
    cell: async (w) => ({
      path: `/api/admin/machines/${await machineA(w, fresh("O"))}/out_of_order`,
      body: { reason: "x" },
    }),
    expect: ADMIN_OF_A,
  },
  {
    name: "disable a resident of A",
    method: "PATCH",
    cell: async (w) => ({
      path: `/api/admin/residents/${(await resident(w.url, fresh("victim"))).user.id}`,
      body: { disabled: true },
    }),
    expect: ADMIN_OF_A,
  },
  {
    name: "disable another admin of A (the operator's call)",
    method: "PATCH",
    cell: async (w) => {
      const u = await resident(w.url, fresh("coadmin"));
      await w.who.operator.post(`/api/operator/buildings/${w.a}/admins`, {
        loginId: u.user.loginId,
      });
      return { path: `/api/admin/residents/${u.user.id}`, body: { disabled: true } };
    },
    expect: { resA: 403, adminA: 403, resB: 403, adminB: 404, operator: 200 },
  },
  {
    name: "issue a reset code for a resident of A",
    method: "POST",
    cell: (w) =>
      Promise.resolve({ path: `/api/admin/residents/${w.resA2.user.id}/reset`, body: {} }),
    expect: { ...ADMIN_OF_A, adminA: 201, operator: 201 },
  },
  {
    name: "revoke an invite code of A",
    method: "DELETE",
    cell: async (w) => {
      const r = await w.who.operator.post("/api/admin/invites", { code: fresh("CODE-A-") });
      return { path: `/api/admin/invites/${r.json.invite.code}` };
    },
    expect: ADMIN_OF_A,
  },
  {
    name: "read a notice of A",
    method: "GET",
    cell: noticeOfA,
    expect: ADMIN_OF_A,
  },
  {
    name: "cancel a notice of A",
    method: "DELETE",
    cell: noticeOfA,
    expect: ADMIN_OF_A,
  },
  {
    name: "the operator's building list",
    method: "GET",
    cell: () => Promise.resolve({ path: "/api/operator/buildings" }),
    expect: { resA: 403, adminA: 403, resB: 403, adminB: 403, operator: 200 },
  },
  {
    name: "appoint an admin of A",
    method: "POST",
    cell: async (w) => ({
      path: `/api/operator/buildings/${w.a}/admins`,
      body: { loginId: (await resident(w.url, fresh("appointee"))).user.loginId },
    }),
    expect: { resA: 403, adminA: 403, resB: 403, adminB: 403, operator: 200 },
  },
  {
    name: "name building A with X-Building",
    method: "GET",
    cell: (w) => Promise.resolve({ path: `/api/admin/machines?building=${w.a}` }),
    expect: { resA: 403, adminA: 200, resB: 404, adminB: 404, operator: 200 },
  },
];

Deno.test("tenancy: every party of either building gets what the matrix says for A's resources", async () => {
  await using srv = await startNotifyServer({ MINUTE_MS: "200" });
  const w = await world(srv.url);
  const failures: string[] = [];
  for (const row of ROWS) {
    for (const party of PARTIES) {
      const { path, body } = await row.cell(w);
      const r = await w.who[party].request(row.method, path, body);
      assert.ok(r.status < 500, `${row.name} as ${party}: ${r.status}`);
      if (r.status >= 400) assert.equal(typeof r.json?.error?.code, "string");
      if (r.status !== row.expect[party]) {
        failures.push(
          `${row.name} as ${party}: expected ${row.expect[party]}, got ${r.status} ${
            JSON.stringify(r.json).slice(0, 120)
          }`,
        );
      }
    }
  }
  // The WebSocket, as a row of the same table: a socket naming building A.
  const ws: Record<Party, number> = {
    resA: 101,
    adminA: 101,
    resB: 404,
    adminB: 404,
    operator: 101,
  };
  for (const party of PARTIES) {
    const r = await rawUpgrade(w.url, {
      origin: w.url,
      cookie: w.who[party].cookie,
      path: `/ws?building=${w.a}`,
    });
    if (r.status !== ws[party]) failures.push(`/ws?building=A as ${party}: got ${r.status}`);
    if (r.status === 404 && r.json?.error?.code !== "no_building") {
      failures.push(`/ws?building=A as ${party}: ${JSON.stringify(r.json)}`);
    }
  }
  assert.deepEqual(failures, []);
});

Deno.test("tenancy: boards, admin lists, statistics and sockets show only the building's own", async () => {
  await using srv = await startNotifyServer({ MINUTE_MS: "200" });
  const w = await world(srv.url);
  const { resA, resB, adminA, adminB, operator } = w.who;
  const boardA = ok(await resA.get("/api/machines"));
  const boardB = ok(await resB.get("/api/machines"));
  assert.equal(boardA.building.id, w.a);
  assert.equal(boardB.building.id, w.b);
  assert.deepEqual(boardB.building.rooms, ["B동 지하", "B동 3층"]);
  assert.equal(boardB.machines.length, 3);
  const idsA = new Set(boardA.machines.map((m: Json) => m.id));
  assert.ok(boardB.machines.every((m: Json) => !idsA.has(m.id) && m.buildingId === w.b));

  // Admin lists: each admin sees their own building's residents and invites.
  const residentsA = ok(await adminA.get("/api/admin/residents")).residents.map((u: Json) =>
    u.loginId
  );
  const residentsB = ok(await adminB.get("/api/admin/residents")).residents.map((u: Json) =>
    u.loginId
  );
  assert.ok(residentsA.includes("resa") && !residentsA.includes("resb"), residentsA.join());
  assert.ok(residentsB.includes("resb") && !residentsB.includes("resa"), residentsB.join());
  const invitesB = ok(await adminB.get("/api/admin/invites")).invites.map((i: Json) => i.code);
  assert.ok(invitesB.includes(w.inviteB) && !invitesB.includes(TEST_INVITE));

  // The operator chooses B with the header.
  const viaHeader = ok(
    await operator.get("/api/admin/machines", { headers: { "x-building": w.b } }),
  );
  assert.deepEqual(
    viaHeader.machines.map((m: Json) => m.id).sort(),
    boardB.machines.map((m: Json) => m.id).sort(),
  );

  // Sockets: B's socket never sees A's events.
  await using wsA = openSocket(srv.url, resA.cookie);
  await using wsB = openSocket(srv.url, resB.cookie);
  const [helloA, helloB] = await Promise.all([wsA.hello, wsB.hello]);
  assert.equal(helloA.cursor.split(":")[1], w.a);
  assert.equal(helloB.cursor.split(":")[1], w.b);
  const mA = boardA.machines[0].id;
  ok(await resA.post(`/api/machines/${mA}/hold`, {}));
  await wsA.next(isEvent("machine.held", mA), 3000);
  const mB = boardB.machines[0].id;
  ok(await resB.post(`/api/machines/${mB}/hold`, {}));
  await wsB.next(isEvent("machine.held", mB), 3000);
  await sleep(200);
  assert.ok(
    !wsB.messages.some((m: Json) => m.type === "event" && m.event.machine?.id === mA),
    "B's socket saw an event of A",
  );
  assert.ok(!wsA.messages.some((m: Json) => m.type === "event" && m.event.machine?.id === mB));

  // A notice to everyone in A reaches no one in B; statistics are per building.
  ok(
    await adminA.post("/api/admin/announcements", {
      title: "물 공급 중단",
      body: "A동만",
      target: { type: "all" },
    }),
  );
  // Targets that exist only in B (resB's room number, a laundry room of B, a machine of B)
  // reach no one from A, and B's machine is unknown to A.
  for (const target of [{ type: "room", room: "301" }, { type: "laundry", laundry: "B동 지하" }]) {
    const sent = await adminA.post("/api/admin/announcements", { title: "A", body: "x", target });
    assert.equal(sent.status, 201, JSON.stringify(sent.json));
  }
  const foreignMachine = await adminA.post("/api/admin/announcements", {
    title: "A",
    body: "x",
    target: { type: "machine", machineId: boardB.machines[0].id },
  });
  assert.equal(foreignMachine.json?.error?.code, "unknown_machine");
  const deadline = Date.now() + 5000;
  let gotA = false;
  while (Date.now() < deadline && !gotA) {
    gotA = ok(await resA.get("/api/notifications")).items.some((i: Json) => i.kind === "notice");
    if (!gotA) await sleep(50);
  }
  assert.ok(gotA, "resident of A got the notice");
  await sleep(300);
  for (const c of [resB, adminB]) {
    const items = ok(await c.get("/api/notifications")).items;
    assert.ok(!items.some((i: Json) => i.kind === "notice"), "someone in B got A's notice");
  }
  const statsA = ok(await adminA.get("/api/admin/stats")).overall;
  const statsB = ok(await adminB.get("/api/admin/stats")).overall;
  assert.ok(statsA.recipients >= 3, JSON.stringify(statsA));
  assert.equal(statsB.recipients, 0);

  // The operator's list shows both buildings with their health.
  const list = ok(await operator.get("/api/operator/buildings"));
  const rowB = list.buildings.find((x: Json) => x.id === w.b);
  assert.deepEqual([rowB.health.machines, rowB.health.members, rowB.health.admins], [3, 2, 1]);
  assert.equal(typeof list.dueBacklog, "number");
});

Deno.test("tenancy: waitlists, offers and nudges stay in their building", async () => {
  await using srv = await startNotifyServer({ MINUTE_MS: "200" });
  const w = await world(srv.url);
  const { resA, resB } = w.who;
  const resA3 = await resident(srv.url, "resa3", "503");
  const washersA = ok(await resA.get("/api/machines")).machines.filter((m: Json) =>
    m.kind === "washer"
  );
  // Every washer of A busy, so queueing is meaningful.
  for (const m of washersA) ok(await resA3.post(`/api/machines/${m.id}/start`, { minutes: 60 }));
  ok(await resA.post("/api/waitlist", { room: washersA[0].room, kind: "washer" }));
  const washersB = ok(await resB.get("/api/machines")).machines.filter((m: Json) =>
    m.kind === "washer"
  );
  const resB2 = new Client(srv.url);
  assert.equal((await resB2.register("resb2", "B2", "302", { inviteCode: w.inviteB })).status, 201);
  for (const m of washersB) ok(await resB2.post(`/api/machines/${m.id}/start`, { minutes: 60 }));
  ok(await resB.post("/api/waitlist", { room: washersB[0].room, kind: "washer" }));
  // Each building sees only its own queue.
  const qA = ok(await resA.get("/api/waitlist")).queues;
  const qB = ok(await resB.get("/api/waitlist")).queues;
  assert.deepEqual(qA.map((q: Json) => [q.length, q.place]), [[1, 1]]);
  assert.deepEqual(qB.map((q: Json) => [q.length, q.place]), [[1, 1]]);
  // A room of the other building does not exist here.
  if (washersA[0].room !== washersB[0].room) {
    assert.equal(
      (await resB.post("/api/waitlist", { room: washersA[0].room, kind: "washer" })).status,
      404,
    );
  }
  // A washer of A frees up: A's first in line is offered it, B's is not.
  const freed = washersA[0].id;
  ok(await resA3.post(`/api/machines/${freed}/finish`, {}));
  ok(await resA3.post(`/api/machines/${freed}/collect`, {}));
  const deadline = Date.now() + 5000;
  let offered = false;
  while (Date.now() < deadline && !offered) {
    offered = ok(await resA.get("/api/notifications")).items.some((i: Json) =>
      i.kind === "waitlist.offer"
    );
    if (!offered) await sleep(50);
  }
  assert.ok(offered, "A's first in line was offered A's free washer");
  await sleep(300);
  assert.ok(
    !ok(await resB.get("/api/notifications")).items.some((i: Json) => i.kind === "waitlist.offer"),
    "B's queue was offered a washer of A",
  );
  assert.deepEqual(
    ok(await resB.get("/api/waitlist")).queues.map((q: Json) => q.place),
    [1],
    "B's place still waits",
  );
  // A resident of B cannot pass on, nudge about or take A's machine: it does not exist for them.
  assert.equal((await resB.post(`/api/machines/${freed}/pass`, {})).status, 404);
  const nudge = await resB.post(`/api/machines/${washersA[1].id}/nudge`, {});
  assert.equal(nudge.status, 404);
});

Deno.test("tenancy: an admin of two buildings chooses with ?building= (remembered), and a resident cannot", async () => {
  await using srv = await startNotifyServer({ MINUTE_MS: "200" });
  const w = await world(srv.url);
  const { adminA, operator, resA } = w.who;
  ok(await operator.post(`/api/operator/buildings/${w.b}/admins`, { loginId: "admina" }));
  ok(await adminA.login("admina", TEST_PASSWORD));
  const me = ok(await adminA.get("/api/me"));
  assert.deepEqual(me.buildings.map((b: Json) => b.id).sort(), [w.a, w.b].sort());
  // Choosing B on a page sets the cookie (pages are not mounted here; the
  // middleware answers before routing); later requests act in B.
  await adminA.get(`/?building=${w.b}`);
  assert.equal(adminA.cookies.get("ll_building"), w.b);
  assert.equal(ok(await adminA.get("/api/machines")).building.id, w.b);
  // A page of A still open in another tab: its socket names A and gets A's
  // board, whatever the cookie now remembers; a socket naming none gets B's.
  const cookie = adminA.cookie;
  await using wsA = openSocket(srv.url, cookie, undefined, { building: w.a });
  await using wsB = openSocket(srv.url, cookie);
  const [helloA, helloB] = await Promise.all([wsA.hello, wsB.hello]);
  const ids = async (bid: string) =>
    ok(await adminA.get(`/api/machines?building=${bid}`)).machines.map((m: Json) => m.id).sort();
  assert.deepEqual(helloA.snapshot.machines.map((m: Json) => m.id).sort(), await ids(w.a));
  assert.deepEqual(helloB.snapshot.machines.map((m: Json) => m.id).sort(), await ids(w.b));
  assert.equal(String(helloA.cursor).split(":")[1], w.a);
  assert.equal(adminA.cookies.get("ll_building"), w.b, "the socket did not move the cookie");
  // Removing the rights takes effect at once; the cookie is then ignored.
  ok(await operator.del(`/api/operator/buildings/${w.b}/admins/${adminA.user.id}`));
  // Her socket on B's board is closed with 4403 (her client goes to her own
  // board); her socket on A stays open; a new socket naming B is refused.
  const closedB = await Promise.race([wsB.closed, sleep(3000).then(() => null)]);
  assert.equal(closedB?.code, 4403, "the socket on B's board was closed as 'left building'");
  await sleep(100);
  assert.ok(wsA.isOpen, "her socket on A stays open");
  const again = await rawUpgrade(srv.url, {
    origin: srv.url,
    cookie,
    path: `/ws?building=${w.b}`,
  });
  assert.deepEqual([again.status, again.json?.error?.code], [404, "no_building"]);
  assert.equal((await adminA.get("/api/admin/machines?building=" + w.b)).status, 404);
  assert.equal(ok(await adminA.get("/api/machines")).building.id, w.a);
  // A resident naming another building: 404, as if it did not exist.
  assert.equal((await resA.get(`/api/machines?building=${w.b}`)).status, 404);
  assert.equal((await resA.get("/api/machines?building=nosuch")).status, 404);
  // The operator may name any existing building, but not one that does not exist.
  assert.equal((await operator.get("/api/machines?building=nosuch1")).status, 404);
});

Deno.test("tenancy: an admin of two buildings with both boards open is told of her cycle in B on each, once", async () => {
  await using srv = await startNotifyServer({ MINUTE_MS: "200" });
  const w = await world(srv.url);
  const { adminA, operator } = w.who;
  ok(await operator.post(`/api/operator/buildings/${w.b}/admins`, { loginId: "admina" }));
  ok(await adminA.login("admina", TEST_PASSWORD));
  // A's board in one tab, B's in another; she starts a washer of B.
  await using onA = openSocket(srv.url, adminA.cookie, undefined, { building: w.a });
  await using onB = openSocket(srv.url, adminA.cookie, undefined, { building: w.b });
  await Promise.all([onA.hello, onB.hello]);
  const washer = ok(await adminA.get(`/api/machines?building=${w.b}`)).machines.find((m: Json) =>
    m.kind === "washer"
  );
  const started = ok(
    await adminA.post(`/api/machines/${washer.id}/start?building=${w.b}`, { minutes: 1 }),
  );
  // "Done" is about B. She is looking at the app, so it comes in-app only (no push):
  // the socket on A's board must get it too, not only the one on B's.
  const done = `use.done:${started.machine.useId}`;
  const isDone = (m: Json) => m.type === "event" && m.event.data?.item?.id === done;
  await Promise.all([onA.next(isDone, 5000), onB.next(isDone, 5000)]);
  await sleep(500);
  for (const ws of [onA, onB]) {
    assert.equal(ws.messages.filter(isDone).length, 1, "once on each socket");
  }
  // A's board itself shows only A's machines: the event is hers, not B's board's.
  assert.ok(!onA.messages.some((m) => m.type === "event" && m.event.machine?.id === washer.id));
  // Its link opens B's board at the washer's card, whichever board she looked at last.
  const item = onA.messages.find(isDone)!.event.data.item;
  assert.equal(item.url, `/?building=${w.b}&m=${washer.id}`);
  await adminA.get(`/?building=${w.a}`);
  assert.equal(ok(await adminA.get("/api/machines")).building.id, w.a);
  await adminA.get(item.url);
  assert.equal(adminA.cookies.get("ll_building"), w.b);
  assert.ok(
    ok(await adminA.get("/api/machines")).machines.some((m: Json) => m.id === washer.id),
    "following the link shows the washer's board",
  );
});
