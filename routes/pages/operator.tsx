/**
 * `/operator` (the operator only; routes/pages.tsx answers 403 to anyone
 * else): every building with its health, the global push alarm and due
 * backlog, creating and renaming buildings and appointing their admins. The
 * page renders the first page of `GET /api/operator/buildings` and hands it
 * to the island, which then uses the operator API.
 * @module
 */
import type { PageFn } from "../pages.tsx";
import { t } from "../../lib/i18n.ts";
import { buildingHealth, DEFAULT_ROOM, dueBacklog, PAGE } from "../api/operator.ts";
import { DEFAULT_TIME_ZONE } from "../../lib/db/records.ts";
import OperatorConsole from "../../islands/OperatorConsole.tsx";

/** The operator console page. */
export const operatorPage: PageFn = async (c, ctx) => {
  const lang = c.get("lang");
  const { store } = ctx;
  const [all, alarm, backlog] = await Promise.all([
    store.listBuildings(),
    store.pushAlarm(),
    dueBacklog(store),
  ]);
  const page = all.slice(0, PAGE);
  const buildings = await Promise.all(
    page.map(async (b) => ({ ...b, health: await buildingHealth(store, b) })),
  );
  return {
    title: "operator.title",
    active: "operator",
    body: (
      <div class="admin operator">
        <h1>{t(lang, "operator.title")}</h1>
        <OperatorConsole
          lang={lang}
          buildings={buildings}
          next={all.length > PAGE ? page[page.length - 1].id : null}
          total={all.length}
          pushAlarm={alarm
            ? { kind: alarm.kind, httpStatus: alarm.httpStatus, at: alarm.at }
            : null}
          dueBacklog={backlog}
          defaults={{ timeZone: DEFAULT_TIME_ZONE, room: DEFAULT_ROOM }}
        />
      </div>
    ),
  };
};
