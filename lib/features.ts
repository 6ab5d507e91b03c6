/**
 * Wires the full app's features onto a freshly built context: notifications
 * (push, reminders, notices) and their routes, and the pages. Kept apart from
 * lib/server.ts so tests can start a bare server or a full one.
 * @module
 */
import type { Mount } from "./app.ts";
import type { AppContext } from "./context.ts";
import { type NotifySetupOptions, setupNotifications } from "./notify/setup.ts";
import { pushRoutes } from "../routes/api/push.ts";
import { notificationRoutes } from "../routes/api/notifications.ts";
import { noticeRoutes } from "../routes/api/admin_notices.ts";
import { pageRoutes } from "../routes/pages.tsx";

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
    ];
    if (opts.pages !== false) mounts.push(await pageRoutes(ctx));
    return mounts;
  };
}

/** Every feature, as `main.ts` runs it. */
export const wireFeatures: (ctx: AppContext) => Promise<Mount[]> = features();
