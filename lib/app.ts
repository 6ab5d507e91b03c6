/**
 * The Hono application: middleware chain and route table.
 *
 * ```
 * request → requestGuard → publicOrigin → securityHeaders → bodyLimit → language
 *         → session → userLanguage → csrf (/api) → route → lib/
 * ```
 * @module
 */
import { Hono } from "hono";
import type { AppContext } from "./context.ts";
import {
  type AppEnv,
  csrf,
  errorBody,
  language,
  securityHeaders,
  session,
  toErrorResponse,
} from "./http.ts";
import { userLanguage } from "./user_language.ts";
import { authRoutes, meRoute } from "../routes/api/auth.ts";
import { machineRoutes } from "../routes/api/machines.ts";
import { adminRoutes } from "../routes/api/admin.ts";
import { wsRoutes } from "../routes/ws.ts";
import { healthHandler } from "./healthz.ts";
import { bodyLimit } from "./middleware/body_limit.ts";
import { publicOrigin } from "./middleware/public_origin.ts";
import { requestGuard } from "./middleware/request_guard.ts";

/** A route module: mounts itself on the app. */
export type Mount = (app: Hono<AppEnv>, ctx: AppContext) => void;

/** Build the app. `extra` mounts features wired in by the server (pages, push, …). */
export function createApp(
  ctx: AppContext,
  extra: Mount[] = [],
  extraConnect: string[] = [],
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError((err, c) => toErrorResponse(c, err));
  app.notFound((c) =>
    c.req.path.startsWith("/api/") || c.req.path === "/ws"
      ? c.json(errorBody("not_found", "No such endpoint."), 404)
      : c.text("Not found", 404)
  );
  // Before sessions and the rest: no auth, no cookies, answered even in a storm.
  app.get("/healthz", healthHandler(ctx.store.kv, ctx.config.workerName));
  app.use("*", requestGuard());
  app.use("*", publicOrigin(ctx.config));
  app.use("*", securityHeaders(extraConnect));
  app.use("*", bodyLimit(ctx.config.bodyLimitBytes));
  app.use("*", language());
  app.use("*", session(ctx.store));
  app.use("*", userLanguage(ctx.store));
  app.use("/api/*", csrf(ctx.config.allowedOrigins));
  app.use("/api/*", async (c, next) => {
    await next();
    c.res.headers.set("Cache-Control", "no-store");
  });

  app.route("/api/auth", authRoutes(ctx));
  app.route("/api/me", meRoute(ctx));
  app.route("/api", machineRoutes(ctx));
  app.route("/api/admin", adminRoutes(ctx));
  app.route("/ws", wsRoutes(ctx));
  for (const mount of extra) mount(app, ctx);
  return app;
}
