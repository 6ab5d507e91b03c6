/**
 * `/settings`: notification preferences, this user's devices, the email
 * fallback (and the confirmation of a verification link) and logout,
 * server-rendered into the Settings island.
 * @module
 */
import type { PageFn } from "../pages.tsx";
import Settings from "../../islands/Settings.tsx";
import { publicDevice } from "../../lib/notify/health.ts";
import { CONFIGURABLE_KINDS, defaultPreferences } from "../../lib/notify/policy.ts";
import { emailView } from "../../lib/mail/records.ts";

/** The settings page. */
export const settingsPage: PageFn = async (c, ctx) => {
  const lang = c.get("lang");
  const user = c.get("user")!;
  const now = Date.now();
  const [prefs, devices, email] = await Promise.all([
    ctx.notifier ? ctx.notifier.preferences(user.id) : defaultPreferences(lang),
    ctx.store.listDevices(user.id),
    ctx.emailAccounts ? ctx.emailAccounts.get(user.id) : null,
  ]);
  // The link in a verification mail: confirmed on the page with a button (a GET
  // that mail scanners prefetch must not change anything).
  const verify = c.req.query("verify") ?? "";
  return {
    title: "settings.title",
    active: "settings",
    body: (
      <Settings
        lang={lang}
        prefs={prefs}
        devices={devices.map((d) => publicDevice(d, now))}
        kinds={CONFIGURABLE_KINDS}
        user={{ name: user.name, room: user.room }}
        serverTime={now}
        email={{ available: !!ctx.emailAccounts, view: emailView(email, now) }}
        verifyToken={ctx.emailAccounts && /^[A-Za-z0-9_-]{20,100}$/.test(verify) ? verify : null}
      />
    ),
  };
};
