/**
 * Which building a request acts in (issue 11: tenancy). Everything a route
 * reads or writes is scoped by `c.get("buildingId")`:
 *
 * - a resident: always their own building;
 * - an admin of exactly one building: that building (unless they choose
 *   their home building's board, which they may also see);
 * - an admin of several buildings, and the operator (who may act in every
 *   building): the building named by the `X-Building` header (API clients),
 *   the `building` query parameter (pages; it is remembered in the
 *   `ll_building` cookie), or that cookie; otherwise their own building.
 *
 * A building the user may not act in answers 404 when named explicitly (the
 * header or the query): another building's existence is nobody else's
 * business. A stale cookie is ignored. Costs no KV read, except that the
 * operator's explicit choice is checked to exist.
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { Store } from "../db/mod.ts";
import { type AppEnv, HttpError, isSocketPath } from "../http.ts";
import { defaultBuilding, mayEnter } from "../roles.ts";

/** The cookie that remembers a multi-building account's chosen building. */
export const BUILDING_COOKIE = "ll_building";
/** The request header that names the building an API call acts in. */
export const BUILDING_HEADER = "x-building";

const ID_RE = /^[0-9a-z]{1,32}$/;

/** After `session`: set `buildingId` (null when signed out). */
export function building(store: Store): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const u = c.get("user");
    if (!u) {
      c.set("buildingId", null);
      return await next();
    }
    const named = c.req.header(BUILDING_HEADER) ?? c.req.query("building");
    let bid = defaultBuilding(u);
    if (named !== undefined && named !== "") {
      const ok = ID_RE.test(named) && mayEnter(u, named) &&
        (u.role !== "operator" || named === u.buildingId || !!(await store.getBuilding(named)));
      if (!ok) throw new HttpError(404, "no_building", "No such building.");
      bid = named;
      // Remembered when a page names it; not for API calls nor for a page's
      // socket (which names its page's building on every reconnect).
      const page = !c.req.path.startsWith("/api/") && !isSocketPath(c.req.path);
      if (c.req.query("building") === named && page) {
        setCookie(c, BUILDING_COOKIE, named, {
          path: "/",
          httpOnly: true,
          sameSite: "Lax",
          maxAge: 365 * 86_400,
        });
      }
    } else {
      const remembered = getCookie(c, BUILDING_COOKIE);
      if (remembered && ID_RE.test(remembered) && mayEnter(u, remembered)) bid = remembered;
    }
    c.set("buildingId", bid);
    await next();
  };
}

/** The building the request acts in (after `building`); 401 when signed out. */
export function currentBuilding(c: Context<AppEnv>): string {
  const bid = c.get("buildingId");
  if (!bid) throw new HttpError(401, "unauthenticated", "Please sign in.");
  return bid;
}
