/**
 * Store fixtures shared by tests that work on a real KV file through the
 * Store directly (no HTTP).
 * @module
 */
import type { Store } from "../../lib/db/mod.ts";
import type { User } from "../../lib/types.ts";

/** Create resident `loginId` of building `bid` (password hash "x": never signs in by password). */
export async function newResident(store: Store, loginId: string, bid: string): Promise<User> {
  const name = loginId[0].toUpperCase() + loginId.slice(1);
  return await store.createUser({
    loginId,
    passwordHash: "x",
    name,
    room: "101",
    role: "resident",
    buildingId: bid,
  });
}
