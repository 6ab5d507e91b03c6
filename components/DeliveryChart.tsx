/**
 * The admin page's delivery report over the last 30 days: a small SVG bar
 * chart rendered on the server (no chart library, no script), one column per
 * UTC day: sent (light bar), delivered (the bar inside it), clicked (a dot)
 * and failed (a red cap), each day's numbers in its column's `<title>`
 * (a tooltip, read by screen readers), then each channel's totals as a table.
 * @module
 */
import { type Lang, type MessageKey, t } from "../lib/i18n.ts";
import type { ChannelCounts, DayCounts } from "../lib/notify/delivery_stats.ts";
import { DELIVERY_OUTCOMES } from "../lib/notify/delivery_stats.ts";

/** Props: the days (oldest first) and each channel's totals. */
export interface DeliveryChartProps {
  lang: Lang;
  days: DayCounts[];
  channels: Record<string, ChannelCounts>;
}

const W = 600;
const H = 160;
const PAD_L = 32;
const PAD_B = 20;
const PAD_T = 8;

/** A round axis maximum at or above `n` (1, 2, 5 × 10^k). */
export function niceMax(n: number): number {
  if (n <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

/** The chart (see the module comment). */
export function DeliveryChart(props: DeliveryChartProps) {
  const { lang, days, channels } = props;
  const max = niceMax(Math.max(0, ...days.map((d) => Math.max(d.sent, d.delivered, d.clicked))));
  const plotW = W - PAD_L - 4;
  const plotH = H - PAD_T - PAD_B;
  const col = plotW / Math.max(1, days.length);
  const y = (v: number) => PAD_T + plotH - (v / max) * plotH;
  const total = days.reduce((n, d) => n + d.sent + d.clicked + d.failed, 0);
  const label = (o: string) => t(lang, `notice.chart_${o}` as MessageKey);
  return (
    <figure class="delivery-chart" data-delivery-chart>
      <figcaption>
        <h4>{t(lang, "notice.chart_title")}</h4>
        <ul class="chart-legend" aria-hidden="true">
          {["sent", "delivered", "clicked", "failed"].map((o) => (
            <li key={o}>
              <span class={`key key-${o}`} /> {label(o)}
            </li>
          ))}
        </ul>
      </figcaption>
      {total === 0 && <p class="muted" data-chart-empty>{t(lang, "notice.chart_empty")}</p>}
      <svg
        viewBox={`0 0 ${W} ${H}`}
        width="100%"
        role="img"
        aria-labelledby="delivery-chart-title delivery-chart-desc"
        data-max={max}
      >
        <title id="delivery-chart-title">{t(lang, "notice.chart_title")}</title>
        <desc id="delivery-chart-desc">{t(lang, "notice.chart_desc")}</desc>
        {[0, max / 2, max].map((v) => (
          <g key={v} class="grid">
            <line x1={PAD_L} x2={W - 4} y1={y(v)} y2={y(v)} />
            <text x={PAD_L - 4} y={y(v) + 4} text-anchor="end">{v}</text>
          </g>
        ))}
        {days.map((d, i) => {
          const x = PAD_L + i * col;
          const w = Math.max(2, col - 3);
          return (
            <g key={d.day} data-day={d.day} data-sent={d.sent} data-clicked={d.clicked}>
              <title>
                {`${d.day}: ${label("sent")} ${d.sent} · ${label("delivered")} ${d.delivered} · ${
                  label("clicked")
                } ${d.clicked} · ${label("failed")} ${d.failed}`}
              </title>
              {d.sent > 0 && (
                <rect class="bar-sent" x={x} y={y(d.sent)} width={w} height={y(0) - y(d.sent)} />
              )}
              {d.delivered > 0 && (
                <rect
                  class="bar-delivered"
                  x={x + w * 0.2}
                  y={y(d.delivered)}
                  width={w * 0.6}
                  height={y(0) - y(d.delivered)}
                />
              )}
              {d.failed > 0 && (
                <rect
                  class="bar-failed"
                  x={x}
                  y={y(Math.min(max, d.sent)) - 3}
                  width={w}
                  height={3}
                />
              )}
              {d.clicked > 0 && (
                <circle
                  class="dot-clicked"
                  cx={x + w / 2}
                  cy={y(d.clicked)}
                  r={Math.min(4, w / 2)}
                />
              )}
              {(i === 0 || i === days.length - 1 || i % 7 === 0) && (
                <text class="day" x={x + w / 2} y={H - 6} text-anchor="middle">
                  {d.day.slice(5)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <table class="chart-channels" data-channels>
        <caption>{t(lang, "notice.chart_channels")}</caption>
        <thead>
          <tr>
            <th scope="col">{t(lang, "notice.chart_channel")}</th>
            {DELIVERY_OUTCOMES.map((o) => <th key={o} scope="col">{label(o)}</th>)}
          </tr>
        </thead>
        <tbody>
          {Object.entries(channels).map(([ch, c]) => (
            <tr key={ch} data-channel={ch}>
              <th scope="row">
                {ch === "webpush"
                  ? "Web Push"
                  : ch === "fcm"
                  ? "FCM"
                  : ch === "email"
                  ? t(lang, "notice.channel_email")
                  : ch}
              </th>
              {DELIVERY_OUTCOMES.map((o) => <td key={o} data-outcome={o}>{c[o]}</td>)}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
