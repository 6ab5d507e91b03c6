/**
 * `/busy` (every signed-in resident): a weekday × hour heatmap per laundry
 * room over the last 4 weeks, and how busy it is now; `/admin/usage`
 * (admins): utilisation, cycle length, minutes done but uncollected and
 * nudges per machine, and the notification delivery funnel. Both are plain
 * server-rendered HTML with SVG charts (lib/charts.ts): no island, no script
 * of their own; every chart has a table with the same numbers.
 * @module
 */
import type { PageFn } from "../pages.tsx";
import { type Lang, type MessageKey, t } from "../../lib/i18n.ts";
import { currentBuilding } from "../../lib/middleware/building.ts";
import { administers } from "../../lib/roles.ts";
import { barsSvg, heatmapSvg } from "../../lib/charts.ts";
import { busyView, usageView } from "../../lib/usage_store.ts";
import {
  type FunnelGroup,
  heatStep,
  type RoomHeatmap,
  USAGE_WINDOW_DAYS,
} from "../../lib/usage.ts";

/** Periods the admin page offers (days). */
export const USAGE_PERIODS = [7, 28] as const;

const DAYS = [0, 1, 2, 3, 4, 5, 6];
const HOURS = Array.from({ length: 24 }, (_, h) => h);

/** "1.5" (one decimal, no trailing ".0" for whole numbers). */
function num(v: number): string {
  const r = Math.round(v * 10) / 10;
  return Number.isInteger(r) ? String(r) : r.toFixed(1);
}

function dayShort(lang: Lang, d: number): string {
  return t(lang, `busy.day.${d}` as MessageKey);
}

function dayName(lang: Lang, d: number): string {
  return t(lang, `busy.dayname.${d}` as MessageKey);
}

function hourLabel(lang: Lang, h: number): string {
  return t(lang, "busy.hour", { h });
}

/** A translated label, or the raw name when the catalogue has none (a field added later). */
function known(lang: Lang, key: string, fallback: string): string {
  const s = t(lang, key as MessageKey);
  return s === key ? fallback : s;
}

/** One laundry room: the sentence for now, the heatmap, its legend and its table. */
function Room({ lang, map, index }: { lang: Lang; map: RoomHeatmap; index: number }) {
  const id = `busy-${index}`;
  const { now } = map;
  const sentence = t(lang, `busy.now.${now.level}` as MessageKey);
  return (
    <section class="busy-room" aria-labelledby={`${id}-h`} data-room={map.room}>
      <h2 id={`${id}-h`}>{map.room}</h2>
      <p class={`busy-now level-${now.level}`} data-level={now.level}>
        <strong>{sentence}</strong>
        {now.level !== "none" && (
          <span>
            {t(lang, "busy.now.detail", {
              day: dayName(lang, now.day),
              hour: hourLabel(lang, now.hour),
              n: map.machines,
              avg: num(now.avg),
            })}
          </span>
        )}
      </p>
      {map.peak && map.max >= 0.05 && (
        <p class="muted">
          {t(lang, "busy.peak", {
            day: dayName(lang, map.peak.day),
            hour: hourLabel(lang, map.peak.hour),
            avg: num(map.max),
          })}
        </p>
      )}
      <figure class="chart-box">
        {heatmapSvg({
          id,
          title: t(lang, "busy.chart.title", { room: map.room }),
          desc: t(lang, "busy.chart.desc"),
          columns: DAYS.map((d) => dayShort(lang, d)),
          rows: HOURS.map((h) => hourLabel(lang, h)),
          steps: DAYS.map((d) => HOURS.map((h) => heatStep(map.avg[d][h], map.max))),
          cellLabel: (d, h) =>
            t(lang, "busy.cell", {
              day: dayName(lang, d),
              hour: hourLabel(lang, h),
              avg: num(map.avg[d][h]),
            }),
          highlight: { column: now.day, row: now.hour },
        })}
        <figcaption class="legend">
          <span>{t(lang, "busy.legend.low")}</span>
          {[0, 1, 2, 3, 4].map((s) => <span key={s} class={`swatch hm-${s}`} aria-hidden="true" />)}
          <span>{t(lang, "busy.legend.high")}</span>
          <span class="muted">· {t(lang, "busy.machines", { n: map.machines })}</span>
        </figcaption>
      </figure>
      <details class="busy-table">
        <summary>{t(lang, "busy.table")}</summary>
        <div class="table-scroll" role="region" aria-labelledby={`${id}-cap`} tabIndex={0}>
          <table class="data">
            <caption id={`${id}-cap`}>{t(lang, "busy.table.caption", { room: map.room })}</caption>
            <thead>
              <tr>
                <th scope="col">{t(lang, "busy.table.hour")}</th>
                {DAYS.map((d) => (
                  <th key={d} scope="col">
                    <abbr title={dayName(lang, d)}>{dayShort(lang, d)}</abbr>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {HOURS.map((h) => (
                <tr key={h}>
                  <th scope="row">{hourLabel(lang, h)}</th>
                  {DAYS.map((d) => <td key={d}>{num(map.avg[d][h])}</td>)}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </section>
  );
}

/** The residents' page. */
export const busyPage: PageFn = async (c, ctx) => {
  const lang = c.get("lang");
  const user = c.get("user")!;
  const bid = currentBuilding(c);
  const view = await busyView(ctx.store, bid);
  return {
    title: "busy.title",
    active: "busy",
    parts: [],
    body: (
      <div class="busy">
        <h1>{t(lang, "busy.title")}</h1>
        <p class="muted">{t(lang, "busy.intro")}</p>
        {view.rooms.length === 0 && <p class="banner">{t(lang, "busy.no_rooms")}</p>}
        <div class="busy-rooms">
          {view.rooms.map((map, i) => <Room key={map.room} lang={lang} map={map} index={i} />)}
        </div>
        {administers(user, bid) && (
          <p>
            <a class="button" href="/admin/usage">{t(lang, "busy.admin_link")}</a>
          </p>
        )}
      </div>
    ),
  };
};

/** The order of the steps of a group, as a share of its first step. */
function share(value: number, first: number): string {
  return first > 0 ? `${Math.round((value / first) * 100)}%` : "–";
}

function channelName(lang: Lang, channel: string | null): string {
  return channel === null
    ? t(lang, "busy.channel.all")
    : known(lang, `busy.channel.${channel}`, channel);
}

/** One funnel group: bars as shares of its first step, and its table. */
function Funnel({ lang, group, index }: { lang: Lang; group: FunnelGroup; index: number }) {
  const first = group.steps[0]?.value ?? 0;
  const name = channelName(lang, group.channel);
  const label = (outcome: string) => known(lang, `busy.outcome.${outcome}`, outcome);
  return (
    <figure class="chart-box" data-channel={group.channel ?? "all"}>
      <figcaption>
        <h3>{name}</h3>
      </figcaption>
      {barsSvg({
        id: `funnel-${index}`,
        title: `${t(lang, "busy.admin.funnel")}: ${name}`,
        desc: t(lang, "busy.admin.funnel_desc"),
        bars: group.steps.map((s) => ({
          label: label(s.outcome),
          value: s.value,
          text: `${s.value} · ${share(s.value, first)}`,
          muted: s.outcome === "failed" || s.outcome === "pruned",
        })),
        max: first > 0 ? Math.max(first, ...group.steps.map((s) => s.value)) : undefined,
      })}
      <table class="data">
        <caption class="sr-only">{`${t(lang, "busy.admin.funnel")}: ${name}`}</caption>
        <thead>
          <tr>
            <th scope="col">{t(lang, "busy.admin.col.step")}</th>
            <th scope="col">{t(lang, "busy.admin.col.count")}</th>
            <th scope="col">{t(lang, "busy.admin.col.share")}</th>
          </tr>
        </thead>
        <tbody>
          {group.steps.map((s) => (
            <tr key={s.field} data-field={s.field}>
              <th scope="row">{label(s.outcome)}</th>
              <td>{s.value}</td>
              <td>{share(s.value, first)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

/** The admins' usage page (`?days=7|28`; anything else is the default 28). */
export const usagePage: PageFn = async (c, ctx) => {
  const lang = c.get("lang");
  const bid = currentBuilding(c);
  const asked = Number(c.req.query("days"));
  const days = (USAGE_PERIODS as readonly number[]).includes(asked) ? asked : USAGE_WINDOW_DAYS;
  const view = await usageView(ctx.store, bid, days);
  const rows = view.machines;
  // The laundry room column only where there is more than one.
  const rooms = new Set(rows.map((r) => r.room)).size > 1;
  const name = (r: (typeof rows)[number]) =>
    r.removed ? t(lang, "busy.admin.removed", { name: r.name }) : r.name;
  const min = (n: number) => t(lang, "time.min", { n: Math.round(n) });
  const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
  const charts = [
    {
      id: "usage-util",
      title: t(lang, "busy.admin.util"),
      desc: t(lang, "busy.admin.util_desc", { days }),
      bars: rows.map((r) => ({
        label: name(r),
        value: r.utilisation,
        text: pct(r.utilisation),
        muted: r.removed,
      })),
      max: Math.max(0.0001, ...rows.map((r) => r.utilisation)),
    },
    {
      id: "usage-cycle",
      title: t(lang, "busy.admin.cycle"),
      desc: t(lang, "busy.admin.cycle_desc"),
      bars: rows.map((r) => ({
        label: name(r),
        value: r.avgCycleMinutes ?? 0,
        text: r.avgCycleMinutes === null ? "–" : min(r.avgCycleMinutes),
        muted: r.removed,
      })),
    },
    {
      id: "usage-waiting",
      title: t(lang, "busy.admin.waiting"),
      desc: t(lang, "busy.admin.waiting_desc"),
      bars: rows.map((r) => ({
        label: name(r),
        value: r.uncollectedMinutes,
        text: min(r.uncollectedMinutes),
        muted: r.removed,
      })),
    },
    {
      id: "usage-nudges",
      title: t(lang, "busy.admin.nudges"),
      desc: t(lang, "busy.admin.nudges_desc"),
      bars: rows.map((r) => ({
        label: name(r),
        value: r.nudges,
        text: String(r.nudges),
        muted: r.removed,
      })),
    },
  ];
  return {
    title: "busy.admin.title",
    active: "admin",
    parts: [],
    body: (
      <div class="admin usage" data-days={days}>
        <h1>{t(lang, "busy.admin.title")}</h1>
        <p class="muted">{t(lang, "busy.admin.intro", { days, tz: view.timeZone })}</p>
        <nav class="admin-jump" aria-label={t(lang, "busy.admin.period")}>
          {USAGE_PERIODS.map((d) => (
            <a
              key={d}
              href={`/admin/usage?days=${d}`}
              aria-current={d === days ? "page" : undefined}
            >
              {t(lang, "busy.admin.days", { n: d })}
            </a>
          ))}
          <a href="/busy">{t(lang, "busy.back")}</a>
        </nav>
        {rows.length === 0 ? <p class="banner">{t(lang, "busy.admin.no_machines")}</p> : (
          <>
            <div class="chart-grid">
              {charts.map((ch) => (
                <figure key={ch.id} class="chart-box" data-chart={ch.id}>
                  <figcaption>
                    <h2>{ch.title}</h2>
                  </figcaption>
                  {barsSvg(ch)}
                </figure>
              ))}
            </div>
            <div class="table-scroll" role="region" aria-labelledby="usage-cap" tabIndex={0}>
              <table class="data" data-usage-table>
                <caption id="usage-cap">{t(lang, "busy.admin.table")}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t(lang, "busy.admin.col.machine")}</th>
                    {rooms && <th scope="col">{t(lang, "busy.admin.col.room")}</th>}
                    <th scope="col">{t(lang, "busy.admin.col.uses")}</th>
                    <th scope="col">{t(lang, "busy.admin.util")}</th>
                    <th scope="col">{t(lang, "busy.admin.cycle")}</th>
                    <th scope="col">{t(lang, "busy.admin.waiting")}</th>
                    <th scope="col">{t(lang, "busy.admin.nudges")}</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r) => (
                    <tr key={r.machineId} data-machine={r.machineId}>
                      <th scope="row">{name(r)}</th>
                      {rooms && <td class="wrap">{r.room}</td>}
                      <td data-uses>{r.uses}</td>
                      <td>{pct(r.utilisation)}</td>
                      <td>{r.avgCycleMinutes === null ? "–" : min(r.avgCycleMinutes)}</td>
                      <td>{min(r.uncollectedMinutes)}</td>
                      <td data-nudges>{r.nudges}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
        <section class="admin-section" aria-labelledby="funnel-h">
          <h2 id="funnel-h">{t(lang, "busy.admin.funnel")}</h2>
          <p class="muted">{t(lang, "busy.admin.funnel_desc")}</p>
          {view.funnel.every((g) => g.steps.every((s) => s.value === 0))
            ? <p class="banner" data-funnel-empty>{t(lang, "busy.admin.funnel_empty")}</p>
            : null}
          <div class="chart-grid">
            {view.funnel.map((g, i) => (
              <Funnel key={g.channel ?? "all"} lang={lang} group={g} index={i} />
            ))}
          </div>
        </section>
      </div>
    ),
  };
};
