/**
 * `/settings`: notification preferences and devices.
 * @module
 */
import type { PageFn } from "../pages.tsx";
import { t } from "../../lib/i18n.ts";

/** The settings page. */
export const settingsPage: PageFn = (c) => {
  const lang = c.get("lang");
  return Promise.resolve({
    title: "settings.title",
    active: "settings",
    body: (
      <section>
        <h1>{t(lang, "settings.title")}</h1>
      </section>
    ),
  });
};
