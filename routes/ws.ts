/**
 * `GET /ws?since=<cursor>&v=2`: the realtime channel (`v`: WS_PROTOCOL in lib/cursor.ts). Authenticated by the session
 * cookie, Origin checked, upgraded with `Deno.upgradeWebSocket`; the hub
 * sends `hello` (replay or snapshot) and then streams events.
 * @module
 */
import { Hono } from "hono";
import type { AppContext } from "../lib/context.ts";
import { isCursor, parseCursor, WS_PROTOCOL } from "../lib/cursor.ts";
import { type AppEnv, HttpError, isSameOrigin, requireUser } from "../lib/http.ts";
import { currentBuilding } from "../lib/middleware/building.ts";
import { originalRequest } from "../lib/middleware/public_origin.ts";

/** The WebSocket route. */
export function wsRoutes(ctx: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/", (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new HttpError(426, "upgrade_required", "This endpoint speaks WebSocket only.");
    }
    // A handshake Deno.upgradeWebSocket would reject (and the app answer 500): 400.
    if (
      !/^[A-Za-z0-9+/]{22}==$/.test(c.req.header("sec-websocket-key") ?? "") ||
      !/(^|,)\s*upgrade\s*(,|$)/i.test(c.req.header("connection") ?? "") ||
      c.req.header("sec-websocket-version") !== "13"
    ) {
      throw new HttpError(400, "bad_upgrade", "Not a valid WebSocket handshake.");
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
    // The session middleware already hashed the token (the session's id).
    const sessionHash = c.get("sessionId") ?? null;
    let upgraded: { socket: WebSocket; response: Response };
    try {
      upgraded = Deno.upgradeWebSocket(originalRequest(c.req.raw), { idleTimeout: 0 });
    } catch {
      // Not a request from Deno.serve (in-process tests), or a handshake Deno refuses.
      throw new HttpError(400, "bad_upgrade", "Not a valid WebSocket handshake.");
    }
    const { socket, response } = upgraded;
    ctx.hub.attach(socket, user, currentBuilding(c), parseCursor(since), sessionHash, {
      sharedFrames: c.req.query("v") === String(WS_PROTOCOL),
    });
    return response;
  });
  return app;
}
