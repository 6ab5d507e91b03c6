/**
 * `/admin` (admins only; routes/pages.tsx answers 403 to anyone else):
 * machines, residents, invite codes and notices. The page loads everything
 * once and hands it to the islands, which then keep it current (the live
 * connection for machines, the admin API for the rest).
 * @module
 */
import type { PageFn } from "../pages.tsx";
import { t } from "../../lib/i18n.ts";
import { currentBuilding } from "../../lib/middleware/building.ts";
import { statScope } from "../../lib/keys.ts";
import { publicUser } from "../../lib/db/mod.ts";
import AdminMachines from "../../islands/AdminMachines.tsx";
import AdminResidents from "../../islands/AdminResidents.tsx";
import AdminInvites from "../../islands/AdminInvites.tsx";
import AdminNotices from "../../islands/AdminNotices.tsx";
import NoticeComposer, { audienceOf } from "../../islands/NoticeComposer.tsx";
import { DeliveryChart } from "../../components/DeliveryChart.tsx";
import { channelTotals, dailySeries } from "../../lib/notify/delivery_stats.ts";

/** The admin page. */
export const adminPage: PageFn = async (c, ctx) => {
  const lang = c.get("lang");
  const user = c.get("user")!;
  const { store } = ctx;
  const bid = currentBuilding(c);
  const [
    { machines, cursor },
    users,
    invites,
    notices,
    overall,
    alarm,
    reports,
    sensors,
    days,
    channels,
  ] = await Promise
    .all([
      store.boardAt(user.id, bid, { waitlists: false }),
      store.listUsers(bid),
      store.listInvites(bid),
      store.listNotices(bid),
      store.getStats(statScope(bid)),
      store.pushAlarm(),
      store.listReports(bid),
      store.listSensors(bid),
      dailySeries(store.kv, statScope(bid)),
      channelTotals(store.kv, statScope(bid)),
    ]);
  const noticeRows = await Promise.all(
    notices.map(async (n) => ({
      ...n,
      stats: await store.getStats(n.id),
      channels: await channelTotals(store.kv, n.id),
    })),
  );
  const audience = audienceOf(users);
  const serverTime = Date.now();
  const sections = [
    ["machines", t(lang, "admin.machines")],
    ["residents", t(lang, "admin.residents")],
    ["invites", t(lang, "admin.invites")],
    ["notices", t(lang, "admin.notices")],
  ] as const;

  return {
    title: "admin.title",
    active: "admin",
    body: (
      <div class="admin">
        <h1>{t(lang, "admin.title")}</h1>
        {alarm && (
          <p class="banner error" role="alert" data-alarm="push">
            {t(lang, "admin.push_alarm", {
              service: alarm.kind === "fcm" ? "FCM" : "Web Push",
              status: alarm.httpStatus ?? "—",
              when: new Date(alarm.at).toISOString().slice(0, 16).replace("T", " ") + " UTC",
            })}
          </p>
        )}
        <nav class="admin-jump" aria-label={t(lang, "admin.jump")}>
          {sections.map(([id, label]) => <a key={id} href={`#${id}`}>{label}</a>)}
          <a href="/admin/usage">{t(lang, "busy.admin.title")}</a>
          <a href="/admin/qr">{t(lang, "qr.title")}</a>
        </nav>
        <AdminMachines
          lang={lang}
          machines={machines}
          cursor={cursor}
          serverTime={serverTime}
          me={user.id}
          reports={reports}
          sensors={sensors}
          settings={{
            minuteMs: store.settings.minuteMs,
            pickupGraceMinutes: store.settings.pickupGraceMinutes,
          }}
        />
        <AdminResidents
          lang={lang}
          residents={users.map(publicUser)}
          me={user.id}
          operator={user.role === "operator"}
        />
        <AdminInvites lang={lang} invites={invites} serverTime={serverTime} />
        <section id="notices" class="admin-section" aria-labelledby="notices-title">
          <h2 id="notices-title">{t(lang, "admin.notices")}</h2>
          <NoticeComposer
            lang={lang}
            machines={machines}
            cursor={cursor}
            serverTime={serverTime}
            audience={audience}
          />
          <AdminNotices lang={lang} notices={noticeRows} overall={overall} machines={machines} />
          <DeliveryChart lang={lang} days={days} channels={channels} />
        </section>
      </div>
    ),
  };
};
