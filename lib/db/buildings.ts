/**
 * Buildings (tenants): create, list, rename, and appoint or remove their
 * admins. Only the operator calls these (routes/api/operator.ts).
 * @module
 */
import { retryCommit, tryCommit } from "../commit.ts";
import { newId } from "../ids.ts";
import { K } from "../keys.ts";
import { StoreError } from "../store_error.ts";
import type { Building, User } from "../types.ts";
import { DEFAULT_TIME_ZONE } from "./records.ts";
import { UserStore } from "./users.ts";

/** Buildings and their admins. */
export abstract class BuildingStore extends UserStore {
  /** One building, or null. */
  async getBuilding(bid: string): Promise<Building | null> {
    return (await this.kv.get<Building>(K.building(bid))).value;
  }

  /** Every building, by name (the operator's list; never on a resident's path). */
  async listBuildings(): Promise<Building[]> {
    const out: Building[] = [];
    for await (const e of this.kv.list<Building>({ prefix: K.buildings() })) out.push(e.value);
    return out.sort((a, b) => a.name.localeCompare(b.name) || a.createdAt - b.createdAt);
  }

  /**
   * The buildings `u` may act in (and choose between): every building for
   * the operator; otherwise their own and those they administer.
   */
  async buildingsOf(u: User): Promise<Building[]> {
    if (u.role === "operator") return await this.listBuildings();
    const ids = [...new Set([u.buildingId, ...(u.adminOf ?? [])])];
    return (await Promise.all(ids.map((id) => this.getBuilding(id))))
      .filter((b): b is Building => !!b);
  }

  /** Create a building (its id is random unless given: the migration names the first one). */
  async createBuilding(
    input: { name: string; timeZone?: string; rooms?: string[]; id?: string },
  ): Promise<Building> {
    const b: Building = {
      id: input.id ?? newId(10),
      name: input.name,
      timeZone: input.timeZone ?? DEFAULT_TIME_ZONE,
      rooms: input.rooms ?? [],
      createdAt: Date.now(),
    };
    const res = await this.kv.atomic().check({ key: K.building(b.id), versionstamp: null })
      .set(K.building(b.id), b).commit();
    if (!res.ok) throw new StoreError("building_exists", "That building exists already.");
    return b;
  }

  /** Rename a building, change its time zone or its laundry rooms' order. */
  async patchBuilding(
    bid: string,
    patch: Partial<Pick<Building, "name" | "timeZone" | "rooms">>,
  ): Promise<Building> {
    return await retryCommit(async () => {
      const entry = await this.kv.get<Building>(K.building(bid));
      if (!entry.value) throw new StoreError("not_found", "No such building.");
      const b = { ...entry.value, ...patch };
      return await tryCommit(this.kv.atomic().check(entry).set(entry.key, b)) ? b : null;
    });
  }

  /** Make a user an admin of building `bid` (a resident becomes an admin). */
  async appointAdmin(bid: string, userId: string): Promise<User> {
    if (!(await this.getBuilding(bid))) throw new StoreError("not_found", "No such building.");
    return await this.patchUser(userId, (u) => {
      if (u.role === "operator") return u;
      const adminOf = [...new Set([...(u.adminOf ?? []), bid])];
      return { ...u, role: "admin", adminOf };
    });
  }

  /** Remove building `bid` from a user's admin rights (none left: a resident again). */
  async removeAdmin(bid: string, userId: string): Promise<User> {
    return await this.patchUser(userId, (u) => {
      if (u.role !== "admin" || !u.adminOf?.includes(bid)) {
        throw new StoreError("not_admin", "That user is not an admin of this building.");
      }
      const adminOf = u.adminOf.filter((b) => b !== bid);
      const { adminOf: _, ...rest } = u;
      return adminOf.length ? { ...u, adminOf } : { ...rest, role: "resident" };
    });
  }
}
