/**
 * Admin: the notices (newest first) with status, target, time and a delivery
 * report each, cancel for scheduled ones (two-step), and the overall delivery
 * statistics. Refreshes after the composer creates one (`ll:notices-changed`),
 * every 10 s while the page is visible, and when the page becomes visible,
 * so a scheduled notice flips to 보냄 on its own.
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { island } from "../lib/islands.ts";
import { type Lang, t } from "../lib/i18n.ts";
import type { DeliveryStats, Machine, Notice } from "../lib/types.ts";
import { api } from "../client/api.ts";
import { machines } from "../client/live.ts";
import ConfirmButton, { errorText, Flash, type FlashMessage, formatWhen } from "./AdminConfirm.tsx";
import { type CreatedNotice, NOTICES_CHANGED, targetSummary } from "./NoticeComposer.tsx";

/** A notice with its delivery counters, as GET /api/admin/announcements lists it. */
export type NoticeRow = Notice & {
  stats: DeliveryStats;
  /** Per channel: sent, delivered, clicked, acted, failed, pruned (lib/notify/delivery_stats.ts). */
  channels?: Record<string, Record<string, number>>;
};

/** Props rendered by the server. */
export interface AdminNoticesProps {
  lang: Lang;
  notices: NoticeRow[];
  overall: DeliveryStats;
  /** For machine names in targets (the live list replaces it once connected). */
  machines: Machine[];
}

/** How often the list refreshes while the page is visible. */
export const REFRESH_MS = 10_000;
/** How soon it looks again while a notice is still going out. */
export const SENDING_REFRESH_MS = 700;

const STAT_KEYS = ["recipients", "inApp", "pushed", "failed", "pruned", "held"] as const;

const CHANNEL_KEYS = ["sent", "delivered", "clicked", "acted", "failed", "pruned"] as const;

/** Each channel that sent something: "Web Push · 보냄 3 · 전달 3 · 누름 1 · …". */
function Channels(props: { lang: Lang; channels?: NoticeRow["channels"] }) {
  const used = Object.entries(props.channels ?? {}).filter(([, c]) => c.sent > 0 || c.clicked > 0);
  if (!used.length) return null;
  return (
    <ul class="notice-channels">
      {used.map(([ch, c]) => (
        <li key={ch} data-notice-channel={ch}>
          <strong>
            {ch === "webpush"
              ? "Web Push"
              : ch === "fcm"
              ? "FCM"
              : ch === "email"
              ? t(props.lang, "notice.channel_email")
              : ch}
          </strong>
          {CHANNEL_KEYS.map((k) => (
            <span key={k} data-outcome={k}>
              {" · "}
              {t(props.lang, `notice.chart_${k}`)} {c[k] ?? 0}
            </span>
          ))}
        </li>
      ))}
    </ul>
  );
}

/** The six delivery counters as a definition list. */
function Stats(props: { lang: Lang; stats: DeliveryStats; label: string; big?: boolean }) {
  return (
    <dl class={`stats${props.big ? " big" : ""}`} aria-label={props.label}>
      {STAT_KEYS.map((k) => (
        <div key={k} class={`stat stat-${k}${k === "failed" && props.stats[k] ? " bad" : ""}`}>
          <dt>{t(props.lang, `notice.stat_${k}`)}</dt>
          <dd data-stat={k}>{props.stats[k]}</dd>
        </div>
      ))}
    </dl>
  );
}

function AdminNotices(props: AdminNoticesProps) {
  const { lang } = props;
  const notices = useSignal<NoticeRow[]>(props.notices);
  const overall = useSignal<DeliveryStats>(props.overall);
  const busy = useSignal<string | null>(null);
  const flash = useSignal<FlashMessage | null>(null);

  async function refresh() {
    try {
      const [list, stats] = await Promise.all([
        api<{ notices: NoticeRow[] }>("GET", "/api/admin/announcements"),
        api<{ overall: DeliveryStats }>("GET", "/api/admin/stats"),
      ]);
      notices.value = list.notices;
      overall.value = stats.overall;
    } catch { /* keep what we show; the next round retries */ }
  }

  useEffect(() => {
    const onChanged = (e: Event) => {
      const created = (e as CustomEvent<CreatedNotice>).detail;
      if (created?.notice) {
        const row = { ...created.notice, stats: created.stats };
        notices.value = [row, ...notices.value.filter((n) => n.id !== row.id)];
      }
      refresh();
    };
    const onVisible = () => {
      if (document.visibilityState === "visible") refresh();
    };
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") refresh();
    }, REFRESH_MS);
    addEventListener(NOTICES_CHANGED, onChanged);
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      clearInterval(timer);
      removeEventListener(NOTICES_CHANGED, onChanged);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, []);

  // A notice going out now is "sending" for a moment (the server answers
  // once it is recorded), and its counters follow each delivery: look again
  // soon until it is sent and a few seconds after.
  const sending = notices.value.some((n) =>
    n.status === "sending" || (n.status === "sent" && Date.now() - (n.sentAt ?? 0) < 5_000)
  );
  useEffect(() => {
    if (!sending) return;
    const timer = setTimeout(refresh, SENDING_REFRESH_MS);
    return () => clearTimeout(timer);
  }, [sending, notices.value]);

  async function cancel(n: NoticeRow) {
    busy.value = n.id;
    flash.value = null;
    try {
      const r = await api<{ notice: Notice }>("DELETE", `/api/admin/announcements/${n.id}`);
      notices.value = notices.value.map((
        x,
      ) => (x.id === n.id ? { ...r.notice, stats: x.stats } : x));
      flash.value = { text: t(lang, "notice.cancelled_ok"), error: false };
    } catch (e) {
      flash.value = { text: errorText(e, lang), error: true };
      refresh();
    } finally {
      busy.value = null;
    }
  }

  const names = machines.value.length ? machines.value : props.machines;

  return (
    <div class="notice-list panel" aria-labelledby="notice-list-title">
      <h3 id="notice-list-title" class="form-title">{t(lang, "notice.list")}</h3>
      <Flash flash={flash.value} />
      {notices.value.length === 0 && <p class="empty">{t(lang, "notice.empty")}</p>}
      <ul class="rows admin-rows notices">
        {notices.value.map((n) => (
          <li key={n.id} data-notice={n.id} data-status={n.status}>
            <div class="row-main">
              <div class="row-title">
                <strong class="notice-title">{n.title}</strong>
                <span class={`pill status-${n.status}`} data-status-label>
                  {t(lang, `notice.status.${n.status}`)}
                </span>
                {n.critical && (
                  <span class="pill pill-err">
                    <span aria-hidden="true">⚠</span> {t(lang, "notice.badge_critical")}
                  </span>
                )}
                {!n.sound && (
                  <span class="pill">
                    <span aria-hidden="true">🔕</span> {t(lang, "notice.badge_silent")}
                  </span>
                )}
              </div>
              <p class="notice-body">{n.body}</p>
              <span class="muted">
                {t(lang, "notice.summary_to", { to: targetSummary(n.target, lang, names) })} ·{" "}
                {n.status === "cancelled"
                  ? t(lang, "notice.cancelled_at", {
                    time: formatWhen(n.cancelledAt ?? n.sendAt, lang),
                  })
                  : n.status === "sent"
                  ? t(lang, "notice.sent_at", { time: formatWhen(n.sentAt ?? n.sendAt, lang) })
                  : t(lang, "notice.scheduled_for", { time: formatWhen(n.sendAt, lang) })}
              </span>
              {(n.status === "sent" || n.status === "sending") && (
                <>
                  <Stats lang={lang} stats={n.stats} label={t(lang, "notice.report")} />
                  <Channels lang={lang} channels={n.channels} />
                </>
              )}
            </div>
            {n.status === "scheduled" && (
              <div class="row-actions">
                <ConfirmButton
                  lang={lang}
                  label={t(lang, "notice.cancel")}
                  action="cancel"
                  disabled={busy.value === n.id}
                  onConfirm={() => cancel(n)}
                />
              </div>
            )}
          </li>
        ))}
      </ul>
      {/* Every notification sent (notices and laundry reminders), so it sits below the list. */}
      <div class="overall" data-overall>
        <h4>{t(lang, "notice.overall")}</h4>
        <Stats lang={lang} stats={overall.value} label={t(lang, "notice.overall")} big />
      </div>
    </div>
  );
}

export default island("AdminNotices", AdminNotices);
