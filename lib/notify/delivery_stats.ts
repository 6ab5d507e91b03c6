/**
 * The delivery report per channel: counters named `<channel>:<outcome>`
 * beside the older totals (`recipients`, `inApp`, `pushed`, …, see
 * `STAT_FIELDS`), in the same `["stats", scope, field]` keys, plus one bucket
 * per UTC day (`["stats_day", scope, "YYYY-MM-DD", field]`) for the
 * deployment (`all`) and building (`b:<id>`) scopes, which the admin page
 * draws as a 30-day chart. A notice's scope (its id) keeps totals only.
 *
 * Channels: `webpush`, `fcm` (and any other transport that counts with
 * {@link countChannel}: the name is free), and `email`, which keeps its own
 * counters (`email:queued`, `email:sent`, `email:failed`, `email:bounced`,
 * lib/mail/channel.ts) read into the same outcomes ({@link EMAIL_FIELDS}).
 * Outcomes:
 *
 * | outcome     | counted when                                                         |
 * |-------------|----------------------------------------------------------------------|
 * | `sent`      | a push to one device is tried for the first time (once per device)   |
 * | `delivered` | the push service (or FCM) accepted it: 2xx                           |
 * | `failed`    | given up: retries exhausted, refused (400/413) or our setup (401/403)|
 * | `pruned`    | the device is gone (404/410, FCM UNREGISTERED) and was deleted       |
 * | `clicked`   | the service worker reported a click on it (once per device)          |
 * | `acted`     | an action button was pressed (once per action and device)            |
 * @module
 */
import { K } from "../keys.ts";
import { retryCommit, tryCommit } from "../commit.ts";
import { StoreError } from "../store_error.ts";

/** Transports the report shows (others may add theirs: the field name is free). */
export const DELIVERY_CHANNELS = ["webpush", "fcm", "email"] as const;
/** What is counted per channel. */
export const DELIVERY_OUTCOMES = [
  "sent",
  "delivered",
  "clicked",
  "acted",
  "failed",
  "pruned",
] as const;
/** One outcome. */
export type DeliveryOutcomeName = (typeof DELIVERY_OUTCOMES)[number];

/** Days the chart shows. */
export const CHART_DAYS = 30;
/** Day buckets older than this many days are deleted when a series is read. */
export const KEEP_DAYS = 90;

/**
 * The email channel's own counters as report outcomes: a mail owed is
 * `sent`, one the SMTP server accepted (2xx) `delivered`, one given up on
 * or bounced `failed` (`email:bounced` stays on its own for the bounce count).
 */
export const EMAIL_FIELDS: Readonly<Record<string, DeliveryOutcomeName>> = {
  "email:queued": "sent",
  "email:sent": "delivered",
  "email:failed": "failed",
  "email:bounced": "failed",
};

/** The outcome a counter field counts in the report, or null (not one). */
export function reportOutcome(field: string): DeliveryOutcomeName | null {
  if (Object.hasOwn(EMAIL_FIELDS, field)) return EMAIL_FIELDS[field];
  if (field.startsWith("email:")) return null;
  const o = field.slice(field.indexOf(":") + 1);
  return (DELIVERY_OUTCOMES as readonly string[]).includes(o) ? o as DeliveryOutcomeName : null;
}

/** The counter fields of a channel's report. */
function fieldsOf(channel: string): string[] {
  return channel === "email"
    ? Object.keys(EMAIL_FIELDS)
    : DELIVERY_OUTCOMES.map((o) => channelField(channel, o));
}

/** The counter field of an outcome on a channel: `webpush:delivered`. */
export function channelField(channel: string, outcome: DeliveryOutcomeName): string {
  return `${channel}:${outcome}`;
}

/** The UTC day of an epoch ms time: "YYYY-MM-DD". */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Whether a scope keeps day buckets: the deployment ("all") and buildings ("b:<id>"). */
export function hasDays(scope: string): boolean {
  return scope === "all" || scope.startsWith("b:");
}

/**
 * Add `n` to `<channel>:<outcome>` in every scope of a commit (and to today's
 * bucket of the scopes that keep days). Sums commute: no check is needed.
 */
export function countChannel(
  op: Deno.AtomicOperation,
  scopes: string[],
  channel: string,
  outcome: DeliveryOutcomeName,
  now = Date.now(),
  n = 1,
): Deno.AtomicOperation {
  if (!n) return op;
  const field = channelField(channel, outcome);
  const day = utcDay(now);
  for (const scope of new Set(scopes)) {
    op.sum(K.stat(scope, field), BigInt(n));
    if (hasDays(scope)) op.sum(K.statDay(scope, day, field), BigInt(n));
  }
  return op;
}

/** Counters of one channel. */
export type ChannelCounts = Record<DeliveryOutcomeName, number>;

function zero(): ChannelCounts {
  return Object.fromEntries(DELIVERY_OUTCOMES.map((o) => [o, 0])) as ChannelCounts;
}

/** The per-channel totals of a scope: `{webpush: {sent, …}, fcm: {…}}` (also any other channel counted). */
export async function channelTotals(
  kv: Deno.Kv,
  scope: string,
  channels: readonly string[] = DELIVERY_CHANNELS,
): Promise<Record<string, ChannelCounts>> {
  const out: Record<string, ChannelCounts> = {};
  const keys: Deno.KvKey[] = [];
  for (const ch of channels) {
    out[ch] = zero();
    for (const f of fieldsOf(ch)) keys.push(K.stat(scope, f));
  }
  for (let i = 0; i < keys.length; i += 10) {
    const entries = await kv.getMany<Deno.KvU64[]>(keys.slice(i, i + 10));
    for (const e of entries) {
      const field = String(e.key[2]);
      const o = reportOutcome(field);
      if (o) out[field.split(":")[0]][o] += Number(e.value?.value ?? 0n);
    }
  }
  return out;
}

/** One day of the chart: every channel's outcomes added up. */
export interface DayCounts extends ChannelCounts {
  day: string;
}

/**
 * The last `days` UTC days (oldest first, today last) of a scope, every
 * channel added up; buckets older than {@link KEEP_DAYS} are deleted on the
 * way (a few keys per read at most, so the store never keeps more than that).
 */
export async function dailySeries(
  kv: Deno.Kv,
  scope: string,
  days = CHART_DAYS,
  now = Date.now(),
): Promise<DayCounts[]> {
  const series: DayCounts[] = [];
  const index = new Map<string, DayCounts>();
  for (let i = days - 1; i >= 0; i--) {
    const d = { day: utcDay(now - i * 86_400_000), ...zero() };
    series.push(d);
    index.set(d.day, d);
  }
  const first = series[0].day;
  for await (
    const e of kv.list<Deno.KvU64>({
      start: K.statDay(scope, first, ""),
      end: [...K.statDays(scope), "\uffff"],
    })
  ) {
    const d = index.get(String(e.key[2]));
    const o = reportOutcome(String(e.key[3]));
    if (d && o) d[o] += Number(e.value.value);
  }
  const cutoff = utcDay(now - KEEP_DAYS * 86_400_000);
  const old: Deno.KvKey[] = [];
  for await (
    const e of kv.list({ start: K.statDays(scope), end: K.statDay(scope, cutoff, "") }, {
      limit: 200,
    })
  ) old.push(e.key);
  if (old.length) {
    const op = kv.atomic();
    for (const k of old) op.delete(k);
    await op.commit();
  }
  return series;
}

/** How long a click/action report is remembered (a repeat within it counts nothing). */
export const REPORT_TTL_MS = 7 * 86_400_000;

/** One interaction the service worker reports. */
export interface Interaction {
  /** The notification (inbox item) id. */
  id: string;
  userId: string;
  /** The device it was shown on ("-" when the worker does not know). */
  deviceId: string;
  channel: string;
  /** `click`, or the action button pressed (`extend`, `collect`, `hold`). */
  action: string | null;
}

/**
 * Count a click or an action once per (notification, user, device, event):
 * a click counts `clicked`; an action counts `acted` and, if that device
 * reported no click yet, `clicked` too (pressing a button is a click). One
 * commit, checked against the markers it read; true when anything counted.
 */
export async function recordInteraction(
  kv: Deno.Kv,
  x: Interaction,
  scopes: string[],
  now = Date.now(),
): Promise<boolean> {
  const clickKey = K.pushReport(x.id, x.userId, x.deviceId, "click");
  const actKey = x.action ? K.pushReport(x.id, x.userId, x.deviceId, `action:${x.action}`) : null;
  try {
    return await retryCommit(async () => {
      const [click, act] = await kv.getMany([clickKey, actKey ?? clickKey]);
      const op = kv.atomic();
      let counted = false;
      if (!click.value) {
        op.check(click).set(clickKey, { at: now }, { expireIn: REPORT_TTL_MS });
        countChannel(op, scopes, x.channel, "clicked", now);
        counted = true;
      }
      if (actKey && !act.value) {
        op.check(act).set(actKey, { at: now }, { expireIn: REPORT_TTL_MS });
        countChannel(op, scopes, x.channel, "acted", now);
        counted = true;
      }
      if (!counted) return false;
      return await tryCommit(op) ? true : null;
    }, { attempts: 10 });
  } catch (err) {
    // Still contended after the attempts: this report is not counted.
    if (err instanceof StoreError && err.code === "busy") return false;
    throw err;
  }
}
