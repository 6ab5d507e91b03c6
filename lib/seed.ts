/**
 * First start: on an empty store, create the demo building (one laundry room,
 * 4 washers, 2 dryers), the admin account and an invite code. Environment
 * values (ADMIN_LOGIN, ADMIN_PASSWORD, INVITE_CODE) override the defaults;
 * an ADMIN_PASSWORD given later resets the admin's password.
 * @module
 */
import type { Config } from "./config.ts";
import type { Store } from "./db.ts";
import { newToken } from "./ids.ts";
import { hashPassword } from "./password.ts";

/** What seeding did, for the start-up banner. */
export interface SeedReport {
  created: boolean;
  adminLogin: string;
  /** Only when generated now (never printed again). */
  adminPassword?: string;
  inviteCode?: string;
}

/** The demo building's laundry room name. */
export const DEMO_ROOM = "1층 세탁실";

/** Seed an empty store; keep an existing one (but honour env overrides). */
export async function seed(store: Store, config: Config): Promise<SeedReport> {
  const existingAdmin = await store.getUserByLogin(config.adminLogin);
  const report: SeedReport = { created: false, adminLogin: config.adminLogin };

  if (!existingAdmin) {
    const password = config.adminPassword ?? newToken().slice(0, 16);
    await store.createUser({
      loginId: config.adminLogin,
      passwordHash: await hashPassword(password),
      name: "관리자",
      room: "관리실",
      role: "admin",
    });
    if (!config.adminPassword) report.adminPassword = password;
    report.created = true;
  } else if (config.adminPassword) {
    await store.updateUser({
      ...existingAdmin,
      role: "admin",
      passwordHash: await hashPassword(config.adminPassword),
    });
  }

  const invites = await store.listInvites();
  if (config.inviteCode) {
    const code = config.inviteCode.trim().toUpperCase();
    if (!invites.some((i) => i.code === code)) await store.createInvite("seed", { code });
    report.inviteCode = code;
  } else if (invites.length === 0) {
    report.inviteCode = (await store.createInvite("seed")).code;
  } else {
    report.inviteCode = invites.find((i) => !i.revoked)?.code;
  }

  if ((await store.listMachines()).length === 0) {
    for (let i = 1; i <= 4; i++) {
      await store.addMachine({ name: `세탁기 ${i}`, kind: "washer", room: DEMO_ROOM });
    }
    for (let i = 1; i <= 2; i++) {
      await store.addMachine({ name: `건조기 ${i}`, kind: "dryer", room: DEMO_ROOM });
    }
    report.created = true;
  }
  return report;
}
