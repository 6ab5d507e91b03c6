/**
 * First line of the middleware chain: refuses requests whose shape would make
 * later code throw (and answer 500) with a plain 4xx instead.
 *
 * - `Host` must be a host name, an IPv4 address or a bracketed IPv6 address,
 *   with an optional port (a space, `;`, `/` … → 400 `bad_host`). A valid
 *   Host is then safe to put in the CSP and in URLs.
 * - The path may be at most {@link MAX_PATH} characters (→ 414 `uri_too_long`),
 *   and no segment longer than {@link MAX_SEGMENT} (→ 404 `not_found`: no id
 *   of ours is that long, and Deno KV refuses keys over 2 KiB).
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { errorBody } from "../http.ts";

/** Longest path accepted (characters, before percent-decoding). */
export const MAX_PATH = 2048;
/** Longest single path segment accepted (characters, before percent-decoding). */
export const MAX_SEGMENT = 200;

const HOST_RE =
  /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(?::\d{1,5})?$/;

/** Whether a `Host` header value is well formed (see the module comment). */
export function isValidHost(host: string): boolean {
  if (host.length > 260 || !HOST_RE.test(host)) return false;
  const port = host.match(/:(\d{1,5})$/);
  return !port || Number(port[1]) <= 65535 || host.endsWith("]");
}

/** The request-shape guard (see the module comment). */
export function requestGuard(): MiddlewareHandler {
  return async (c, next) => {
    const host = c.req.header("host");
    let path: string;
    try {
      if (host !== undefined && !isValidHost(host)) throw new Error("bad host");
      path = new URL(c.req.url).pathname;
    } catch {
      return c.json(errorBody("bad_host", "The Host header is not a valid host name."), 400);
    }
    if (path.length > MAX_PATH) {
      return c.json(errorBody("uri_too_long", "The request path is too long."), 414);
    }
    if (path.split("/").some((s) => s.length > MAX_SEGMENT)) {
      return c.json(errorBody("not_found", "No such resource."), 404);
    }
    await next();
  };
}
