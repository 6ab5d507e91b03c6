/**
 * `/api/auth/*` and `/api/me`: register with an invite code, log in and out.
 * @module
 */
import { type Context, Hono } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import { publicUser, SESSION_TTL_MS } from "../../lib/db.ts";
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
import { defaultPreferences } from "../../lib/notify/policy.ts";
import { LANG_COOKIE } from "../../lib/user_language.ts";
import { redeemReset } from "../../lib/recovery.ts";

const loginId = z.string().trim().min(3).max(32).regex(
  /^[A-Za-z0-9._-]+$/,
  "use letters, digits, dot, dash or underscore",
);
const password = z.string().min(8, "at least 8 characters").max(200);

/** Body of POST /api/auth/register. */
export const RegisterBody = z.object({
  inviteCode: z.string().trim().min(4).max(40),
  loginId,
  password,
  name: z.string().trim().min(1).max(40),
  room: z.string().trim().min(1).max(20),
}).strict();

/** Body of POST /api/auth/login. */
export const LoginBody = z.object({
  loginId: z.string().trim().min(1).max(64),
  password: z.string().min(1).max(200),
}).strict();

/** Body of POST /api/auth/logout (optional). */
export const LogoutBody = z.object({ deviceId: z.string().max(64).optional() }).strict();

/** Body of POST /api/auth/reset. */
export const ResetBody = z.object({
  resetCode: z.string().trim().min(8).max(40),
  password,
}).strict();

/** Reset attempts allowed per IP in an hour (codes carry 60 random bits). */
export const RESET_LIMIT = { perIp: 20, windowMs: 3600_000 };

/** Failed logins allowed per account and per IP in a 15-minute window. */
export const LOGIN_LIMITS = { perAccount: 5, perIp: 30, windowMs: 15 * 60_000 };

/** Auth routes. */
export function authRoutes(ctx: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { store } = ctx;

  function startSession(c: Context<AppEnv>, token: string) {
    setCookie(c, SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: "Lax",
      secure: !isLocalhost(new URL(c.req.url).host),
      path: "/",
      maxAge: Math.floor(SESSION_TTL_MS / 1000),
    });
  }

  app.post("/register", async (c) => {
    const b = await body(c, RegisterBody);
    const ip = clientIp(c, ctx.config.trustProxy);
    // Generous per IP: a whole dormitory may register from one NAT address on move-in day;
    // the invite code is the real gate.
    const rl = await store.hitRate(`register:${ip}`, 100, 3600_000);
    if (!rl.allowed) {
      throw new HttpError(429, "rate_limited", "Too many sign-ups from here; try later.", {
        "Retry-After": String(Math.ceil(rl.retryAfterMs / 1000)),
      });
    }
    const user = await store.createUser({
      loginId: b.loginId,
      passwordHash: await hashPassword(b.password),
      name: b.name,
      room: b.room,
      role: "resident",
    }, b.inviteCode);
    // Notifications speak the language the resident registered in.
    await store.setPreferences(user.id, defaultPreferences(c.get("lang")));
    startSession(c, await store.createSession(user.id, c.req.header("user-agent")));
    return c.json({ user: publicUser(user) }, 201);
  });

  app.post("/login", async (c) => {
    const b = await body(c, LoginBody);
    const ip = clientIp(c, ctx.config.trustProxy);
    const accountKey = `login:acct:${b.loginId.toLowerCase()}`;
    const ipKey = `login:ip:${ip}`;
    const wait = Math.max(
      await store.isRateLimited(accountKey, LOGIN_LIMITS.perAccount),
      await store.isRateLimited(ipKey, LOGIN_LIMITS.perIp),
    );
    if (wait > 0) {
      throw new HttpError(429, "rate_limited", "Too many failed attempts. Try again later.", {
        "Retry-After": String(Math.ceil(wait / 1000)),
      });
    }
    const user = await store.getUserByLogin(b.loginId);
    // Spend the same time on unknown accounts so login ids cannot be probed.
    const ok = await verifyPassword(b.password, user?.passwordHash ?? DUMMY_HASH) && !!user;
    if (!ok || !user) {
      await store.hitRate(accountKey, LOGIN_LIMITS.perAccount, LOGIN_LIMITS.windowMs);
      await store.hitRate(ipKey, LOGIN_LIMITS.perIp, LOGIN_LIMITS.windowMs);
      throw new HttpError(401, "bad_credentials", "Wrong login id or password.");
    }
    if (user.disabled) throw new HttpError(403, "disabled", "This account is disabled.");
    await store.clearRate(accountKey);
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
    const ip = clientIp(c, ctx.config.trustProxy);
    const rl = await store.hitRate(`reset:${ip}`, RESET_LIMIT.perIp, RESET_LIMIT.windowMs);
    if (!rl.allowed) {
      throw new HttpError(429, "rate_limited", "Too many reset attempts; try later.", {
        "Retry-After": String(Math.ceil(rl.retryAfterMs / 1000)),
      });
    }
    const user = await redeemReset(store, b.resetCode, await hashPassword(b.password));
    startSession(c, await store.createSession(user.id, c.req.header("user-agent")));
    return c.json({ user: publicUser(user) });
  });

  app.post("/logout", async (c) => {
    const b = await body(c, LogoutBody);
    const token = c.get("sessionToken");
    const user = c.get("user");
    // Logout deletes this device's push subscription (SPEC section 3).
    if (user && b.deviceId) await store.deleteDevice(user.id, b.deviceId);
    if (token) await store.deleteSession(token);
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.json({ ok: true });
  });

  return app;
}

/** `GET /api/me`. */
export function meRoute(_ctx: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/", (c) => c.json({ user: publicUser(requireUser(c)) }));
  return app;
}
