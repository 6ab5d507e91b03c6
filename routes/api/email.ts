/**
 * `/api/email`: a resident's fallback address (lib/mail/). Without
 * `SMTP_URL` it answers `{available: false}` and refuses changes with 422
 * `email_not_configured`.
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AppContext } from "../../lib/context.ts";
import { type AppEnv, body, HttpError, requireUser } from "../../lib/http.ts";
import { EmailError } from "../../lib/mail/accounts.ts";
import { emailView } from "../../lib/mail/records.ts";

/** Body of PUT /api/email: send a verification link to this address. */
export const EmailBody = z.object({ address: z.string().trim().max(254).email() }).strict();
/** Body of POST /api/email/verify. */
export const VerifyBody = z.object({
  token: z.string().regex(/^[A-Za-z0-9_-]{20,100}$/, "not a verification token"),
}).strict();
/** Body of PATCH /api/email. */
export const EnabledBody = z.object({ enabled: z.boolean() }).strict();

function refusal(err: unknown): never {
  if (err instanceof EmailError) {
    const headers: Record<string, string> = err.retryAfterMs > 0
      ? { "Retry-After": String(Math.ceil(err.retryAfterMs / 1000)) }
      : {};
    throw new HttpError(err.status, err.code, err.message, headers);
  }
  throw err;
}

/** Email fallback routes. */
export function emailRoutes(ctx: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const accounts = () => {
    if (!ctx.emailAccounts) {
      throw new HttpError(422, "email_not_configured", "This server does not send email.");
    }
    return ctx.emailAccounts;
  };

  app.get("/", async (c) => {
    const u = requireUser(c);
    const rec = ctx.emailAccounts ? await ctx.emailAccounts.get(u.id) : null;
    return c.json({ available: !!ctx.emailAccounts, email: emailView(rec) });
  });

  app.put("/", async (c) => {
    const u = requireUser(c);
    const a = accounts();
    const b = await body(c, EmailBody);
    await a.request(u.id, b.address, c.get("lang"), new URL(c.req.url).origin).catch(refusal);
    return c.json({ email: emailView(await a.get(u.id)) }, 202);
  });

  app.post("/verify", async (c) => {
    const u = requireUser(c);
    const a = accounts();
    const b = await body(c, VerifyBody);
    const rec = await a.confirm(u.id, b.token).catch(refusal);
    return c.json({ email: emailView(rec) });
  });

  app.patch("/", async (c) => {
    const u = requireUser(c);
    const a = accounts();
    const b = await body(c, EnabledBody);
    const rec = await a.setEnabled(u.id, b.enabled).catch(refusal);
    return c.json({ email: emailView(rec) });
  });

  app.delete("/", async (c) => {
    const u = requireUser(c);
    await accounts().remove(u.id);
    return c.json({ email: null });
  });

  return app;
}
