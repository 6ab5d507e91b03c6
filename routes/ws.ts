/**
 * `GET /ws?since=<cursor>`: the realtime channel. Authenticated by the session
 * cookie, Origin checked, upgraded with `Deno.upgradeWebSocket`; the hub
 * sends `hello` (replay or snapshot) and then streams events.
 * @module
 */
import { Hono } from "hono";
import type { AppContext } from "../lib/context.ts";
import { isCursor, parseCursor } from "../lib/cursor.ts";
import { sha256Hex } from "../lib/ids.ts";
import { type AppEnv, HttpError, isSameOrigin, requireUser } from "../lib/http.ts";

/** The WebSocket route. */
export function wsRoutes(ctx: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/", async (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new HttpError(426, "upgrade_required", "This endpoint speaks WebSocket only.");
    }
    // Browsers always send Origin on WebSocket handshakes; refuse foreign or missing ones.
    const origin = c.req.header("origin");
    if (!origin || !isSameOrigin(c.req.raw, ctx.config.allowedOrigins)) {
      throw new HttpError(
        403,
        "bad_origin",
        "WebSocket connections are accepted from this site only.",
      );
    }
    const user = requireUser(c);
    const since = c.req.query("since");
    if (since && !isCursor(since)) throw new HttpError(400, "bad_cursor", "since: not a cursor.");
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw, { idleTimeout: 0 });
    const token = c.get("sessionToken");
    ctx.hub.attach(socket, user, parseCursor(since), token ? await sha256Hex(token) : null);
    return response;
  });
  return app;
}
