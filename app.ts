/**
 * The composition root: the Hono application's middleware chain and route
 * table, and the features a full server wires in (notifications, pages).
 * `lib/` never imports `routes/`; this module assembles both.
 *
 * ```
 * request → requestGuard → publicOrigin → securityHeaders → bodyLimit → language
 *         → session → building → userLanguage → csrf (/api, except the sensor webhook)
 *         → idempotency (/api/machines: Idempotency-Key) → route → lib/
 * ```
 * @module
 */
import { Hono } from "hono";
import type { AppContext, Mount } from "./lib/context.ts";
import {
  type AppEnv,
  csrf,
  errorBody,
  isSocketPath,
  language,
  notForSocket,
  securityHeaders,
  session,
  SOCKET_PATH,
  toErrorResponse,
} from "./lib/http.ts";
import { userLanguage } from "./lib/user_language.ts";
import { authRoutes, meRoute } from "./routes/api/auth.ts";
import { machineRoutes } from "./routes/api/machines.ts";
import { adminRoutes } from "./routes/api/admin.ts";
import { operatorRoutes } from "./routes/api/operator.ts";
import { building } from "./lib/middleware/building.ts";
import { exceptSensorWebhook } from "./lib/middleware/sensor_webhook.ts";
import { adminSensorRoutes, sensorRoutes } from "./routes/api/sensors.ts";
import { usageRoutes } from "./routes/api/usage.ts";
import { wsRoutes } from "./routes/ws.ts";
import { healthHandler } from "./lib/healthz.ts";
import { bodyLimit } from "./lib/middleware/body_limit.ts";
import { publicOrigin } from "./lib/middleware/public_origin.ts";
import { requestGuard } from "./lib/middleware/request_guard.ts";
import { idempotency } from "./lib/middleware/idempotency.ts";
import { type NotifySetupOptions, setupNotifications } from "./lib/notify/setup.ts";
import type { ServerOptions } from "./lib/server.ts";
import { pushRoutes } from "./routes/api/push.ts";
import { notificationRoutes } from "./routes/api/notifications.ts";
import { noticeRoutes } from "./routes/api/admin_notices.ts";
import { emailRoutes } from "./routes/api/email.ts";
import { pageRoutes } from "./routes/pages.tsx";

export type { Mount };

/** Build the app. `extra` mounts features wired in by the server (pages, push, …). */
export function createApp(
  ctx: AppContext,
  extra: Mount[] = [],
  extraConnect: string[] = [],
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError((err, c) => toErrorResponse(c, err));
  app.notFound((c) =>
    c.req.path.startsWith("/api/") || isSocketPath(c.req.path)
      ? c.json(errorBody("not_found", "No such endpoint."), 404)
      : c.text("Not found", 404)
  );
  // Before sessions and the rest: no auth, no cookies, answered even in a storm.
  app.get("/healthz", healthHandler(ctx.store.kv, ctx.config.workerName));
  app.use("*", requestGuard());
  app.use("*", publicOrigin(ctx.config));
  app.use("*", securityHeaders(extraConnect));
  app.use("*", notForSocket(bodyLimit(ctx.config.bodyLimitBytes)));
  app.use("*", notForSocket(language()));
  // The WebSocket handshake's session is checked by the hub's gate (no KV read per socket).
  app.use("*", session(ctx.store, { gate: ctx.hub.gate }));
  app.use("*", building(ctx.store));
  app.use("*", userLanguage(ctx.store));
  app.use("/api/*", exceptSensorWebhook(csrf(ctx.config.allowedOrigins)));
  // The service worker's notification actions may arrive twice: run each once.
  app.use("/api/machines/*", idempotency(ctx.store.kv));
  app.use("/api/*", async (c, next) => {
    await next();
    c.res.headers.set("Cache-Control", "no-store");
  });

  app.route("/api/auth", authRoutes(ctx));
  app.route("/api/me", meRoute(ctx));
  app.route("/api", machineRoutes(ctx));
  app.route("/api/admin", adminRoutes(ctx));
  app.route("/api/operator", operatorRoutes(ctx));
  app.route("/api/admin", adminSensorRoutes(ctx));
  app.route("/api/sensors", sensorRoutes(ctx));
  app.route("/api", usageRoutes(ctx));
  app.route(SOCKET_PATH, wsRoutes(ctx));
  for (const mount of extra) mount(app, ctx);
  return app;
}

/** Options for {@link wireFeatures} (tests point FCM at a fake server). */
export interface FeatureOptions {
  notify?: NotifySetupOptions;
  /** Serve pages and built assets (needs `deno task build` output). */
  pages?: boolean;
}

/** Build the setup hook for `startServer`. */
export function features(opts: FeatureOptions = {}): (ctx: AppContext) => Promise<Mount[]> {
  return async (ctx) => {
    await setupNotifications(ctx, opts.notify);
    const mounts: Mount[] = [
      (app, c) => app.route("/api/push", pushRoutes(c)),
      (app, c) => app.route("/api", notificationRoutes(c)),
      (app, c) => app.route("/api/admin", noticeRoutes(c)),
      (app, c) => app.route("/api/email", emailRoutes(c)),
    ];
    if (opts.pages !== false) mounts.push(await pageRoutes(ctx));
    return mounts;
  };
}

/** Every feature, as `main.ts` runs it. */
export const wireFeatures: (ctx: AppContext) => Promise<Mount[]> = features();

/**
 * What `startServer` needs from the composition root: the app builder and
 * the features (`features(opts)`; `null` for a bare server with the core API
 * only, as some tests start).
 */
export function composed(
  opts: FeatureOptions | null = {},
): Pick<ServerOptions, "createApp" | "setup"> {
  return opts === null ? { createApp } : { createApp, setup: features(opts) };
}
