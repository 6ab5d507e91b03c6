/**
 * `/api/auth/*` and `/api/me`: register with an invite code, log in and out.
 * @module
 */
import { type Context, Hono } from "hono";
import { currentBuilding } from "../../lib/middleware/building.ts";
import { deleteCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import { publicUser, SESSION_TTL_MS, type Store } from "../../lib/db/mod.ts";
import { LoginLimiter, retryMessage } from "../../lib/login_limits.ts";
import { MIN_PASSWORD_LENGTH, passwordProblem } from "../../lib/password_policy.ts";
import { displayText } from "../../lib/text.ts";
import type { AppContext } from "../../lib/context.ts";
import {
  type AppEnv,
  body,
  clientIp,
  HttpError,
  isLocalhost,
  requireUser,
  SESSION_COOKIE,
} from "../../lib/http.ts";
import { DUMMY_HASH, hashPassword, verifyPassword } from "../../lib/password.ts";
import { sha256Hex } from "../../lib/ids.ts";
import { defaultPreferences } from "../../lib/notify/policy.ts";
import { LANG_COOKIE } from "../../lib/user_language.ts";
import { redeemReset } from "../../lib/recovery.ts";

const loginId = z.string().trim().min(3).max(32).regex(
  /^[A-Za-z0-9._-]+$/,
  "use letters, digits, dot, dash or underscore",
);

/** A new password's shape (the policy itself is `passwordProblem`). */
const newPassword = z.string().min(
  MIN_PASSWORD_LENGTH,
  `at least ${MIN_PASSWORD_LENGTH} characters`,
).max(200);

/** Body of POST /api/auth/register (the password policy is checked after the invite). */
export const RegisterBody = z.object({
  inviteCode: z.string().trim().min(4).max(40),
  loginId,
  password: newPassword,
  name: displayText(40),
  room: displayText(20),
}).strict();

/** Body of POST /api/auth/login. */
export const LoginBody = z.object({
  loginId: z.string().trim().min(1).max(64),
  password: z.string().min(1).max(200),
}).strict();

/** Body of POST /api/auth/logout (optional). */
export const LogoutBody = z.object({ deviceId: z.string().max(64).optional() }).strict();

/** Whether an invite code can still be redeemed (read only; createUser re-checks atomically). */
async function inviteUsable(store: Store, code: string): Promise<boolean> {
  const i = await store.getInvite(code);
  return !!i && !i.revoked && i.uses < i.maxUses && !(i.expiresAt && i.expiresAt < Date.now());
}

/** A 429 that says when to retry: `Retry-After` and `error.retryAfterSec`, in the user's language. */
function tooManyAttempts(c: Context<AppEnv>, retryAfterMs: number): Response {
  const retryAfterSec = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return c.json(
    {
      error: {
        code: "rate_limited",
        message: retryMessage(c.get("lang") ?? "ko", retryAfterSec),
        retryAfterSec,
      },
    },
    429,
    { "Retry-After": String(retryAfterSec) },
  );
}

/** Body of POST /api/auth/reset. */
export const ResetBody = z.object({
  resetCode: z.string().trim().min(8).max(40),
  password: newPassword,
}).strict();

/** Reset attempts allowed per IP in an hour (codes carry 60 random bits). */
export const RESET_LIMIT = { perIp: 20, windowMs: 3600_000 };

/** Auth routes. */
export function authRoutes(ctx: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { store } = ctx;
  const limiter = new LoginLimiter(store.kv, ctx.config.login);

  function startSession(c: Context<AppEnv>, token: string) {
    // The URL is pinned to PUBLIC_URL / X-Forwarded-Proto by lib/middleware/public_origin.ts.
    const url = new URL(c.req.url);
    setCookie(c, SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: "Lax",
      secure: url.protocol === "https:" || !isLocalhost(url.host),
      path: "/",
      maxAge: Math.floor(SESSION_TTL_MS / 1000),
    });
  }

  app.post("/register", async (c) => {
    const b = await body(c, RegisterBody);
    const ip = clientIp(c, ctx.config.proxyHops);
    // Generous per IP: a whole dormitory may register from one NAT address on move-in day;
    // the invite code is the real gate.
    const rl = await store.hitRate(`register:${ip}`, 100, 3600_000);
    if (!rl.allowed) {
      throw new HttpError(429, "rate_limited", "Too many sign-ups from here; try later.", {
        "Retry-After": String(Math.ceil(rl.retryAfterMs / 1000)),
      });
    }
    // The invite first: without one, nothing (not even whether a login id is taken) is told.
    if (!(await inviteUsable(store, b.inviteCode))) {
      throw new HttpError(400, "invalid_invite", "That invite code is not valid.");
    }
    const weak = passwordProblem(b.password, b.loginId);
    if (weak) throw new HttpError(400, "weak_password", weak);
    const user = await store.createUser({
      loginId: b.loginId,
      passwordHash: await hashPassword(b.password),
      name: b.name,
      room: b.room,
      role: "resident",
      // The invite decides the building (and whether this is a building admin).
      buildingId: "",
    }, b.inviteCode);
    // Notifications speak the language the resident registered in; quiet
    // hours count in their building's time zone.
    const building = await store.getBuilding(user.buildingId);
    await store.setPreferences(user.id, {
      ...defaultPreferences(c.get("lang")),
      ...(building ? { timeZone: building.timeZone } : {}),
    });
    startSession(c, await store.createSession(user.id, c.req.header("user-agent")));
    return c.json({ user: publicUser(user) }, 201);
  });

  app.post("/login", async (c) => {
    const b = await body(c, LoginBody);
    const ip = clientIp(c, ctx.config.proxyHops);
    // Counted before the password is checked, atomically (lib/login_limits.ts).
    const gate = await limiter.begin(b.loginId, ip);
    if (!gate.ok) return tooManyAttempts(c, gate.retryAfterMs);
    const user = await store.getUserByLogin(b.loginId);
    // Spend the same time on unknown accounts so login ids cannot be probed.
    const ok = await verifyPassword(b.password, user?.passwordHash ?? DUMMY_HASH) && !!user;
    if (!ok || !user) throw new HttpError(401, "bad_credentials", "Wrong login id or password.");
    if (user.disabled) throw new HttpError(403, "disabled", "This account is disabled.");
    await limiter.succeeded(gate.ticket);
    startSession(c, await store.createSession(user.id, c.req.header("user-agent")));
    // Signed-out pages (and the next sign-in) keep the language this resident chose.
    const lang = (await store.getPreferences(user.id))?.lang;
    if (lang) setCookie(c, LANG_COOKIE, lang, { path: "/", sameSite: "Lax", maxAge: 365 * 86400 });
    return c.json({ user: publicUser(user) });
  });

  // Set a new password with a one-time code from the admin (lib/recovery.ts). Every other
  // session of the account ends; this browser is signed in with the new password.
  app.post("/reset", async (c) => {
    const b = await body(c, ResetBody);
    const ip = clientIp(c, ctx.config.proxyHops);
    const rl = await store.hitRate(`reset:${ip}`, RESET_LIMIT.perIp, RESET_LIMIT.windowMs);
    if (!rl.allowed) {
      throw new HttpError(429, "rate_limited", "Too many reset attempts; try later.", {
        "Retry-After": String(Math.ceil(rl.retryAfterMs / 1000)),
      });
    }
    const weak = passwordProblem(b.password, "");
    if (weak) throw new HttpError(400, "weak_password", weak);
    const user = await redeemReset(store, b.resetCode, await hashPassword(b.password));
    // Every session ended: close their sockets too, on every instance.
    await ctx.hub.disconnectUser(user.id, undefined, "password reset");
    startSession(c, await store.createSession(user.id, c.req.header("user-agent")));
    return c.json({ user: publicUser(user) });
  });

  app.post("/logout", async (c) => {
    const b = await body(c, LogoutBody);
    const token = c.get("sessionToken");
    const user = c.get("user");
    // Logout deletes this device's push subscription (SPEC section 3).
    if (user && b.deviceId) await store.deleteDevice(user.id, b.deviceId);
    if (token) {
      await store.deleteSession(token);
      // Close this session's open sockets, on every instance.
      if (user) await ctx.hub.disconnectUser(user.id, await sha256Hex(token));
    }
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.json({ ok: true });
  });

  return app;
}

/**
 * `GET /api/me`: the user, the building the request acts in, and the
 * buildings this account may choose between (with `X-Building` or
 * `?building=`; one entry for a resident).
 */
export function meRoute(ctx: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/", async (c) => {
    const u = requireUser(c);
    const bid = currentBuilding(c);
    const buildings = await ctx.store.buildingsOf(u);
    return c.json({
      user: publicUser(u),
      building: buildings.find((b) => b.id === bid) ?? await ctx.store.getBuilding(bid),
      buildings: buildings.map((b) => ({ id: b.id, name: b.name })),
    });
  });
  return app;
}
