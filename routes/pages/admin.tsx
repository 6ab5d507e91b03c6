/**
 * `/admin`: machines, residents, invite codes, notices (admins only).
 * @module
 */
import type { PageFn } from "../pages.tsx";
import { t } from "../../lib/i18n.ts";

/** The admin page. */
export const adminPage: PageFn = (c) => {
  const lang = c.get("lang");
  return Promise.resolve({
    title: "admin.title",
    active: "admin",
    body: (
      <section>
        <h1>{t(lang, "admin.title")}</h1>
      </section>
    ),
  });
};
