/**
 * `/settings`: notification preferences, this user's devices and logout,
 * server-rendered into the Settings island.
 * @module
 */
import type { PageFn } from "../pages.tsx";
import Settings from "../../islands/Settings.tsx";
import { publicDevice } from "../../lib/notify/health.ts";
import { CONFIGURABLE_KINDS, defaultPreferences } from "../../lib/notify/policy.ts";

/** The settings page. */
export const settingsPage: PageFn = async (c, ctx) => {
  const lang = c.get("lang");
  const user = c.get("user")!;
  const now = Date.now();
  const [prefs, devices] = await Promise.all([
    ctx.notifier ? ctx.notifier.preferences(user.id) : defaultPreferences(lang),
    ctx.store.listDevices(user.id),
  ]);
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
      />
    ),
  };
};
