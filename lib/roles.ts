/**
 * Who may do what where (pure): the three roles of issue 11. A resident
 * belongs to one building; a building admin administers the buildings in
 * `adminOf`; the operator runs the deployment and administers every building.
 * @module
 */
import type { User } from "./types.ts";

/** Whether `u` may act in building `bid` at all (see its board, and more if admin). */
export function mayEnter(u: User, bid: string): boolean {
  return u.role === "operator" || u.buildingId === bid || !!u.adminOf?.includes(bid);
}

/** Whether `u` administers building `bid` (the operator administers every building). */
export function administers(u: User, bid: string): boolean {
  return u.role === "operator" || (u.role === "admin" && !!u.adminOf?.includes(bid));
}

/** The building a user acts in when they name none. */
export function defaultBuilding(u: User): string {
  return u.role === "admin" && u.adminOf?.length === 1 ? u.adminOf[0] : u.buildingId;
}

/** The lifecycle role of `u` acting in building `bid` (admins of it act as admins). */
export function actorRole(u: User, bid: string): "resident" | "admin" {
  return administers(u, bid) ? "admin" : "resident";
}

/**
 * Whether `u` may act in more than one building: the operator, and an admin
 * of a building other than their own. Their own events (a cycle they run in
 * another building) may then be about a building other than the board they
 * have open.
 */
export function mayEnterSeveral(u: User): boolean {
  return u.role === "operator" || !!u.adminOf?.some((b) => b !== u.buildingId);
}
