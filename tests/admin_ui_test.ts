/**
 * Unit tests of the admin islands' pure helpers (no browser): the
 * datetime-local → ISO 8601 conversion, target summaries, recipient counts,
 * invite states and the resident filter. The browser test is
 * tests/e2e/admin_test.ts.
 * @module
 */
import assert from "node:assert/strict";
import { catalogue } from "../lib/i18n.ts";
import { AnnouncementBody } from "../routes/api/admin_notices.ts";
import {
  audienceOf,
  localInputToIso,
  targetSummary,
  toLocalInput,
} from "../islands/NoticeComposer.tsx";
import { inviteState, registerLink } from "../islands/AdminInvites.tsx";
import { residentMatches } from "../islands/AdminResidents.tsx";
import { errorText } from "../islands/AdminConfirm.tsx";
import { ApiError } from "../client/api.ts";
import type { Machine, PublicUser } from "../lib/types.ts";

Deno.test("localInputToIso: the wall time in this zone, with this zone's offset", () => {
  for (const value of ["2030-01-15T09:30", "2030-07-01T23:05", "2030-12-31T00:00:07"]) {
    const iso = localInputToIso(value)!;
    assert.match(iso, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$/, iso);
    // Same instant as the browser's own reading of the local wall time.
    const [d, t] = value.split("T");
    const [y, mo, day] = d.split("-").map(Number);
    const [h, mi, s = 0] = t.split(":").map(Number);
    assert.equal(Date.parse(iso), new Date(y, mo - 1, day, h, mi, s).getTime(), value);
    // …and the wall time is kept as typed.
    assert.equal(iso.slice(0, 16), value.slice(0, 16));
    // The API accepts it.
    const parsed = AnnouncementBody.safeParse({
      title: "t",
      body: "b",
      target: { type: "all" },
      sendAt: iso,
    });
    assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
  }
  for (const bad of ["", "2030-01-15", "2030-13-01T10:00", "2030-01-15T24:00", "soon"]) {
    assert.equal(localInputToIso(bad), null, bad);
  }
});

Deno.test("toLocalInput round-trips through localInputToIso", () => {
  const ms = new Date(2031, 4, 6, 7, 8).getTime();
  assert.equal(toLocalInput(ms), "2031-05-06T07:08");
  assert.equal(Date.parse(localInputToIso(toLocalInput(ms))!), ms);
});

Deno.test("targetSummary and audienceOf", () => {
  const machines = [{ id: "m1", name: "세탁기 1" }] as Machine[];
  assert.equal(targetSummary({ type: "all" }, "ko", machines), "전체");
  assert.equal(targetSummary({ type: "room", room: "301" }, "ko", machines), "301 호실");
  assert.equal(
    targetSummary({ type: "machine", machineId: "m1" }, "ko", machines),
    "세탁기 1 사용자",
  );
  assert.equal(
    targetSummary({ type: "machine", machineId: "gone" }, "en", machines),
    "Users of a removed machine",
  );
  assert.deepEqual(
    audienceOf([
      { room: "301", disabled: false },
      { room: "301", disabled: false },
      { room: "302", disabled: true },
      { room: "관리실", disabled: false },
    ]),
    { total: 3, rooms: { "301": 2, "관리실": 1 } },
  );
});

Deno.test("inviteState and registerLink", () => {
  const base = {
    code: "ABCD",
    buildingId: "b1",
    role: "resident" as const,
    createdAt: 0,
    createdBy: "a",
    maxUses: 2,
    uses: 0,
    revoked: false,
  };
  assert.equal(inviteState(base, 1000), "active");
  assert.equal(inviteState({ ...base, revoked: true, uses: 5 }, 1000), "revoked");
  assert.equal(inviteState({ ...base, expiresAt: 999 }, 1000), "expired");
  assert.equal(inviteState({ ...base, expiresAt: 2000 }, 1000), "active");
  assert.equal(inviteState({ ...base, uses: 2 }, 1000), "used_up");
  assert.equal(
    registerLink("https://laundry.example", "SPRING-26"),
    "https://laundry.example/register?invite=SPRING-26",
  );
});

Deno.test("residentMatches: name, room or login id, case-insensitive, and the room filter", () => {
  const u = { name: "박하나", room: "305", loginId: "Hana" } as PublicUser;
  assert.ok(residentMatches(u, "", ""));
  assert.ok(residentMatches(u, "하나", ""));
  assert.ok(residentMatches(u, "30", ""));
  assert.ok(residentMatches(u, "hAN", ""));
  assert.ok(residentMatches(u, " hana ", "305"));
  assert.ok(!residentMatches(u, "", "301"));
  assert.ok(!residentMatches(u, "kim", ""));
});

Deno.test("errorText shows the code translated (never the API's message), or a generic one", () => {
  assert.equal(
    errorText(new ApiError(409, "machine_in_use", "Machine is in use."), "ko"),
    catalogue("ko")["err.machine_in_use"],
  );
  assert.equal(
    errorText(new ApiError(0, "network", "network"), "ko"),
    catalogue("ko")["err.network"],
  );
  assert.equal(errorText(new Error("x"), "en"), "Something went wrong. Please try again.");
});
