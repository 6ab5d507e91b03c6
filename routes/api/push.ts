/**
 * `/api/push/*`: VAPID/Firebase config, the device registry, test sends, and
 * the service worker's click/action report.
 * @module
 */
import { currentBuilding } from "../../lib/middleware/building.ts";
import { Hono } from "hono";
import { z } from "zod";
import type { AppContext } from "../../lib/context.ts";
import { type AppEnv, body, HttpError, requireUser } from "../../lib/http.ts";
import { publicDevice } from "../../lib/notify/health.ts";
import { isAllowedEndpoint } from "../../lib/push/endpoint_policy.ts";
import { base64UrlToBytes } from "../../lib/base64url.ts";
import { statScope } from "../../lib/keys.ts";
import { recordInteraction } from "../../lib/notify/delivery_stats.ts";

const b64url = z.string().regex(/^[A-Za-z0-9_-]+={0,2}$/, "must be base64url").max(200);

/** RFC 8291: the browser's P-256 key (65 bytes, uncompressed) and a 16-byte auth secret. */
const p256dhKey = b64url.refine((s) => {
  const b = base64UrlToBytes(s);
  return b?.length === 65 && b[0] === 0x04;
}, "must be an uncompressed P-256 public key (65 bytes)");
const authSecret = b64url.refine((s) => base64UrlToBytes(s)?.length === 16, "must be 16 bytes");

/** Body of PUT /api/push/devices/:deviceId. */
export const DeviceBody = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("webpush"),
    subscription: z.object({
      endpoint: z.string().url().max(2048),
      expirationTime: z.number().nullable().optional(),
      keys: z.object({ p256dh: p256dhKey, auth: authSecret }).strict(),
    }).strict(),
    label: z.string().trim().max(60).optional(),
  }).strict(),
  z.object({
    kind: z.literal("fcm"),
    token: z.string().min(20).max(4096).regex(/^[A-Za-z0-9_:\-.]+$/, "not an FCM token"),
    label: z.string().trim().max(60).optional(),
  }).strict(),
]);

/** Body of POST /api/push/report (the service worker's click and action report). */
export const ReportBody = z.object({
  id: z.string().min(1).max(200),
  event: z.enum(["click", "action"]),
  action: z.enum(["extend", "collect", "hold"]).optional(),
  deviceId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/).optional(),
  channel: z.enum(["webpush", "fcm"]).default("webpush"),
}).strict().refine((b) => (b.event === "action") === (b.action !== undefined), {
  message: 'action: required with event "action", absent with "click"',
  path: ["action"],
});

/** Most devices one user may register. */
export const MAX_DEVICES = 20;

function deviceIdParam(id: string): string {
  if (!/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
    throw new HttpError(
      400,
      "bad_device_id",
      "deviceId: 8–64 characters of A–Z, a–z, 0–9, _ or -.",
    );
  }
  return id;
}

function parseWebConfig(raw: string | undefined): unknown {
  if (!raw) return null;
  try {
    return JSON.parse(raw);
  } catch {
    return null;
  }
}

/** Push routes. */
export function pushRoutes(ctx: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const webConfig = parseWebConfig(ctx.config.firebaseWebConfig);

  app.get("/config", (c) => {
    requireUser(c);
    return c.json({ vapidPublicKey: ctx.vapidPublicKey ?? null, firebase: webConfig });
  });

  app.get("/devices", async (c) => {
    const u = requireUser(c);
    const now = Date.now();
    return c.json({
      devices: (await ctx.store.listDevices(u.id)).map((d) => publicDevice(d, now)),
    });
  });

  app.put("/devices/:deviceId", async (c) => {
    const u = requireUser(c);
    const deviceId = deviceIdParam(c.req.param("deviceId"));
    const b = await body(c, DeviceBody);
    if (
      b.kind === "webpush" &&
      !isAllowedEndpoint(b.subscription.endpoint, ctx.config.pushEndpointAllow)
    ) {
      throw new HttpError(
        422,
        "endpoint_not_allowed",
        "subscription.endpoint: only https endpoints of known push services are accepted.",
      );
    }
    if (b.kind === "fcm" && !ctx.config.firebaseServiceAccount && !ctx.notifier?.fcmFactory) {
      throw new HttpError(422, "fcm_not_configured", "This server does not send through FCM.");
    }
    const existing = await ctx.store.listDevices(u.id);
    if (existing.length >= MAX_DEVICES && !existing.some((d) => d.deviceId === deviceId)) {
      throw new HttpError(
        409,
        "too_many_devices",
        `At most ${MAX_DEVICES} devices; remove one first.`,
      );
    }
    // A label given once is kept when the client re-sends without one.
    const known = existing.some((d) => d.deviceId === deviceId);
    const label = b.label ?? (known ? undefined : (c.req.header("user-agent") ?? "").slice(0, 60));
    const r = await ctx.store.upsertDevice(
      u.id,
      deviceId,
      b.kind === "webpush"
        ? { kind: "webpush", endpoint: b.subscription.endpoint, keys: b.subscription.keys, label }
        : { kind: "fcm", token: b.token, label },
    );
    return c.json(
      { device: publicDevice(r.device, Date.now()), created: r.created, replaced: r.replaced },
      r.created ? 201 : 200,
    );
  });

  app.delete("/devices/:deviceId", async (c) => {
    const u = requireUser(c);
    const deleted = await ctx.store.deleteDevice(u.id, deviceIdParam(c.req.param("deviceId")));
    if (!deleted) throw new HttpError(404, "not_found", "No such device.");
    return c.json({ ok: true });
  });

  app.post("/test", async (c) => {
    const u = requireUser(c);
    await body(c, z.object({}).strict());
    const rl = await ctx.store.hitRate(`pushtest:${u.id}`, 10, 60_000);
    if (!rl.allowed) throw new HttpError(429, "rate_limited", "Too many test notifications.");
    const report = await ctx.notifications!.testPush(u, currentBuilding(c));
    return c.json({
      id: report.id,
      devices: report.devices.map((d) => ({
        deviceId: d.deviceId,
        kind: d.kind,
        label: d.label,
        status: d.result.status,
        detail: "detail" in d.result ? d.result.detail : undefined,
      })),
    });
  });

  // The service worker reports a click on a notification, or an action
  // button, once per (notification, device, event): counted for the
  // delivery report, and the notification counts as read (the badge).
  app.post("/report", async (c) => {
    const u = requireUser(c);
    const b = await body(c, ReportBody);
    const bid = currentBuilding(c);
    const item = await ctx.store.getInboxItem(u.id, b.id);
    if (!item) throw new HttpError(404, "not_found", "No such notification.");
    const counted = await recordInteraction(ctx.store.kv, {
      id: b.id,
      userId: u.id,
      deviceId: b.deviceId ?? "-",
      channel: b.channel,
      action: b.event === "action" ? b.action! : null,
    }, ["all", statScope(bid), ...(item.noticeId ? [item.noticeId] : [])]);
    if (!item.readAt) {
      await ctx.store.markRead(u.id, bid, [item.id]);
      ctx.hub.poll(bid);
    }
    return c.json({ counted, unread: await ctx.store.unreadCount(u.id) });
  });

  return app;
}
