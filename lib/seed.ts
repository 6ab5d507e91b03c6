/**
 * First start: on an empty store, create the demo building (one laundry room,
 * 4 washers, 2 dryers) with a resident invite code, and the operator account
 * (`ADMIN_LOGIN`: runs the deployment, administers every building).
 * Environment values (ADMIN_LOGIN, ADMIN_PASSWORD, INVITE_CODE) override the
 * defaults; an ADMIN_PASSWORD given later resets the operator's password.
 * The password work (600,000 PBKDF2 iterations, ~100 ms of CPU) can be left
 * for after the server listens (`deferPassword`): a restart then answers its
 * first request without it, and an unchanged ADMIN_PASSWORD is only verified
 * against the stored hash, not re-hashed and rewritten on every start.
 * Runs after `migrate`, so a store of the single-building release keeps its
 * building, admin and invite codes.
 * @module
 */
import type { Config } from "./config.ts";
import type { Store } from "./db/mod.ts";
import { newToken } from "./ids.ts";
import { hashPassword, verifyPassword } from "./password.ts";

/** What seeding did, for the start-up banner. */
export interface SeedReport {
  created: boolean;
  adminLogin: string;
  /** Only when generated now (never printed again). */
  adminPassword?: string;
  /** A resident invite code of the operator's building. */
  inviteCode?: string;
  /**
   * With `deferPassword`: the operator's password work still to do (creating
   * the operator on a fresh store, or checking/resetting it from
   * ADMIN_PASSWORD), to run once serving started. Requests that read or
   * claim logins must wait for it.
   */
  password?: () => Promise<void>;
}

/** Options of {@link seed}. */
export interface SeedOptions {
  /** Leave the password hashing to `report.password()` instead of doing it now. */
  deferPassword?: boolean;
}

/**
 * The demo building's laundry room name. Demo names are in both languages,
 * so they read well whichever language a resident chose (admins rename
 * machines and rooms to what is written on them).
 */
export const DEMO_ROOM = "1층 세탁실 · 1F laundry";

/** A demo machine's name in both languages: "세탁기 1 · Washer 1". */
export function demoMachineName(kind: "washer" | "dryer", n: number): string {
  return kind === "washer" ? `세탁기 ${n} · Washer ${n}` : `건조기 ${n} · Dryer ${n}`;
}
/** Give a new building `washers` washers and `dryers` dryers in `room`, with demo names. */
export async function addMachines(
  store: Store,
  bid: string,
  room: string,
  count: { washers: number; dryers: number },
): Promise<void> {
  for (const [kind, n] of [["washer", count.washers], ["dryer", count.dryers]] as const) {
    for (let i = 1; i <= n; i++) {
      await store.addMachine(bid, { name: demoMachineName(kind, i), kind, room });
    }
  }
}

/** The demo building's name. */
export const DEMO_BUILDING = "데모 건물 · Demo building";

/** Seed an empty store; keep an existing one (but honour env overrides). */
export async function seed(
  store: Store,
  config: Config,
  opts: SeedOptions = {},
): Promise<SeedReport> {
  const report: SeedReport = { created: false, adminLogin: config.adminLogin };
  let buildings = await store.listBuildings();
  if (buildings.length === 0) {
    const b = await store.createBuilding({ name: DEMO_BUILDING, rooms: [DEMO_ROOM] });
    await addMachines(store, b.id, DEMO_ROOM, { washers: 4, dryers: 2 });
    buildings = [b];
    report.created = true;
  }

  const operator = await store.getUserByLogin(config.adminLogin);
  const bid = operator?.buildingId ?? buildings[0].id;
  let password: () => Promise<void> = async () => {};
  if (!operator) {
    const generated = config.adminPassword ?? newToken().slice(0, 16);
    password = async () => {
      await store.createUser({
        loginId: config.adminLogin,
        passwordHash: await hashPassword(generated),
        name: "관리자",
        room: "관리실",
        role: "operator",
        buildingId: bid,
      });
    };
    if (!config.adminPassword) report.adminPassword = generated;
    report.created = true;
  } else if (config.adminPassword) {
    const wanted = config.adminPassword;
    password = async () => {
      // Read again: with `deferPassword` this runs after serving started.
      const current = await store.getUserByLogin(config.adminLogin) ?? operator;
      // Only when it changed: an unchanged password is verified, not rewritten.
      if (current.role === "operator" && await verifyPassword(wanted, current.passwordHash)) {
        return;
      }
      const { adminOf: _, ...rest } = current;
      await store.updateUser({
        ...rest,
        role: "operator",
        passwordHash: await hashPassword(wanted),
      });
    };
  }
  if (opts.deferPassword) report.password = password;
  else await password();

  const invites = await store.listInvites(bid);
  if (config.inviteCode) {
    const code = config.inviteCode.trim().toUpperCase();
    const existing = await store.getInvite(code);
    if (!existing) await store.createInvite(bid, "seed", { code });
    report.inviteCode = code;
  } else if (invites.filter((i) => i.role === "resident").length === 0) {
    report.inviteCode = (await store.createInvite(bid, "seed")).code;
  } else {
    report.inviteCode = invites.find((i) => !i.revoked && i.role === "resident")?.code;
  }
  return report;
}
