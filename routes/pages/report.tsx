/**
 * `/report?m=<machineId>`: report a problem with a machine of the user's
 * building (404 page for any other id).
 * @module
 */
import type { PageFn } from "../pages.tsx";
import ReportForm from "../../islands/ReportForm.tsx";
import { t } from "../../lib/i18n.ts";
import { currentBuilding } from "../../lib/middleware/building.ts";

/** The report page. */
export const reportPage: PageFn = async (c, ctx) => {
  const lang = c.get("lang");
  const id = c.req.query("m") ?? "";
  const m = /^[0-9a-z]{4,32}$/.test(id) ? await ctx.store.getMachine(currentBuilding(c), id) : null;
  if (!m) {
    return {
      title: "notfound.title",
      body: <p class="banner error">{t(lang, "notfound.title")}</p>,
      // Another building's machine is as unknown as one that never existed.
      status: 404,
    };
  }
  return {
    title: "report.button",
    parts: ["-report"],
    body: (
      <section class="narrow">
        <h1>{t(lang, "report.title", { machine: m.name })}</h1>
        <p class="muted">{m.room}</p>
        <ReportForm lang={lang} machineId={m.id} />
      </section>
    ),
  };
};
