/**
 * Admin: compose a notice (공지): title, body, target (everyone, a room, the
 * users of one laundry room, or the users of one machine), now or scheduled (a `datetime-local` value read
 * in this device's time zone and sent as ISO 8601 with its offset), sound or
 * silent, critical or not, with a live preview of the notification a phone
 * would show. Posts `POST /api/admin/announcements`, then tells the notice
 * list (islands/AdminNotices.tsx) through a `ll:notices-changed` window event.
 *
 * Named exports: the pure helpers {@link localInputToIso},
 * {@link toLocalInput}, {@link targetSummary} and the {@link NoticePreview}.
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { island } from "../lib/islands.ts";
import { type Lang, t } from "../lib/i18n.ts";
import type { DeliveryStats, Machine, Notice, NoticeTarget } from "../lib/types.ts";
import { api } from "../client/api.ts";
import { machines, startLive } from "../client/live.ts";
import { errorText, Flash, type FlashMessage, formatWhen } from "./AdminConfirm.tsx";

/** The window event the composer fires after creating a notice. */
export const NOTICES_CHANGED = "ll:notices-changed";
/** The window event islands/AdminResidents.tsx fires with the resident list it shows. */
export const RESIDENTS_CHANGED = "ll:residents-changed";

/** What the API answers to POST /api/admin/announcements. */
export interface CreatedNotice {
  notice: Notice;
  stats: DeliveryStats;
}

/** Who would receive a notice now: active users, in total and per room. */
export interface Audience {
  total: number;
  rooms: Record<string, number>;
}

/** Who a notice would reach: active users (NotificationService.recipients). */
export function audienceOf(users: { room: string; disabled: boolean }[]): Audience {
  const active = users.filter((u) => !u.disabled);
  const audience: Audience = { total: active.length, rooms: {} };
  for (const u of active) audience.rooms[u.room] = (audience.rooms[u.room] ?? 0) + 1;
  return audience;
}

/** Props rendered by the server. */
export interface NoticeComposerProps {
  lang: Lang;
  machines: Machine[];
  cursor: string;
  serverTime: number;
  audience: Audience;
}

const TITLE_MAX = 80;
const BODY_MAX = 1000;

const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, "0");

/**
 * A `datetime-local` value ("2025-11-22T15:30", seconds optional) read in
 * this device's time zone, as ISO 8601 with that zone's offset at that
 * moment ("2025-11-22T15:30:00+09:00"); null when malformed. A wall time that
 * does not exist (a DST gap) moves forward like `Date` does, and the offset
 * follows.
 */
export function localInputToIso(value: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0));
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return null;
  const date = new Date(y, mo - 1, d, h, mi, s);
  if (Number.isNaN(date.getTime())) return null;
  const off = -date.getTimezoneOffset();
  return `${pad(date.getFullYear(), 4)}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${
    pad(date.getHours())
  }:${pad(date.getMinutes())}:${pad(date.getSeconds())}${off < 0 ? "-" : "+"}${
    pad(Math.floor(Math.abs(off) / 60))
  }:${pad(Math.abs(off) % 60)}`;
}

/** Epoch ms as a `datetime-local` value in this device's time zone ("2025-11-22T15:30"). */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${
    pad(d.getHours())
  }:${pad(d.getMinutes())}`;
}

/** "전체" / "301 호실" / "세탁기 1 사용자". */
export function targetSummary(target: NoticeTarget, lang: Lang, list: Machine[]): string {
  if (target.type === "all") return t(lang, "notice.to_all");
  if (target.type === "room") return t(lang, "notice.to_room", { room: target.room });
  if (target.type === "laundry") return t(lang, "notice.to_laundry", { room: target.laundry });
  const m = list.find((x) => x.id === target.machineId);
  return t(lang, "notice.to_machine", { machine: m?.name ?? t(lang, "notice.deleted_machine") });
}

/** Props of {@link NoticePreview}. */
export interface NoticePreviewProps {
  lang: Lang;
  title: string;
  body: string;
  sound: boolean;
  critical: boolean;
  /** "전체 · 약 12명". */
  to: string;
  /** Scheduled for later (else it goes out now). */
  later: boolean;
  /** Epoch ms it goes out when `later`; null while no valid time is chosen. */
  sendAt: number | null;
}

/** The notice as a phone would show it, plus who gets it and when. */
export function NoticePreview(p: NoticePreviewProps) {
  const { lang } = p;
  return (
    <div class="preview notice-preview">
      <p class="preview-label">{t(lang, "notice.preview")}</p>
      <div
        class={`np${p.critical ? " np-critical" : ""}`}
        data-preview
        data-silent={p.sound ? undefined : ""}
        data-critical={p.critical ? "" : undefined}
      >
        <div class="np-head">
          <img src="/icons/icon.svg" alt="" width={18} height={18} />
          <span class="np-app">{t(lang, "app.name")}</span>
          <span class="np-time">
            ·{" "}
            {p.later && p.sendAt !== null ? formatWhen(p.sendAt, lang) : t(lang, "notice.just_now")}
          </span>
        </div>
        <strong class={`np-title${p.title.trim() ? "" : " np-empty"}`} data-preview-title>
          {p.title.trim() || t(lang, "notice.title_placeholder")}
        </strong>
        <p class={`np-body${p.body.trim() ? "" : " np-empty"}`} data-preview-body>
          {p.body.trim() || t(lang, "notice.body_placeholder")}
        </p>
        <div class="np-badges">
          <span
            class={`pill ${p.sound ? "pill-brand" : ""}`}
            data-badge={p.sound ? "sound" : "silent"}
          >
            <span aria-hidden="true">{p.sound ? "🔔" : "🔕"}</span>{" "}
            {t(lang, p.sound ? "notice.badge_sound" : "notice.badge_silent")}
          </span>
          {p.critical && (
            <span class="pill pill-err" data-badge="critical">
              <span aria-hidden="true">⚠</span> {t(lang, "notice.badge_critical")}
            </span>
          )}
        </div>
      </div>
      <ul class="np-summary">
        <li data-preview-to>{t(lang, "notice.summary_to", { to: p.to })}</li>
        <li data-preview-when>
          {!p.later
            ? t(lang, "notice.summary_now")
            : p.sendAt === null
            ? t(lang, "notice.need_time")
            : t(lang, "notice.summary_at", { time: formatWhen(p.sendAt, lang) })}
        </li>
      </ul>
    </div>
  );
}

function NoticeComposer(props: NoticeComposerProps) {
  const { lang } = props;
  const started = useSignal(false);
  const title = useSignal("");
  const body = useSignal("");
  const targetType = useSignal<NoticeTarget["type"]>("all");
  const room = useSignal("");
  const machineId = useSignal("");
  const laundry = useSignal("");
  const later = useSignal(false);
  const sendAtLocal = useSignal("");
  const sound = useSignal(true);
  const critical = useSignal(false);
  const busy = useSignal(false);
  const flash = useSignal<FlashMessage | null>(null);
  const tz = useSignal("");
  const audienceSignal = useSignal<Audience>(props.audience);
  const audience = audienceSignal.value;

  /** Re-count recipients (residents join, get disabled…). */
  async function refreshAudience() {
    try {
      const r = await api<{ residents: { room: string; disabled: boolean }[] }>(
        "GET",
        "/api/admin/residents",
      );
      audienceSignal.value = audienceOf(r.residents);
    } catch { /* keep the last count */ }
  }

  useEffect(() => {
    startLive({ cursor: props.cursor, machines: props.machines, serverTime: props.serverTime });
    started.value = true;
    tz.value = Intl.DateTimeFormat().resolvedOptions().timeZone ?? "";
    const onResidents = (e: Event) => {
      const list = (e as CustomEvent<{ room: string; disabled: boolean }[]>).detail;
      if (Array.isArray(list)) audienceSignal.value = audienceOf(list);
    };
    const onVisible = () => {
      if (document.visibilityState === "visible") refreshAudience();
    };
    addEventListener(RESIDENTS_CHANGED, onResidents);
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      removeEventListener(RESIDENTS_CHANGED, onResidents);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, []);

  const list = started.value && machines.value.length ? machines.value : props.machines;

  function currentTarget(): NoticeTarget {
    if (targetType.value === "room") return { type: "room", room: room.value.trim() };
    if (targetType.value === "machine") return { type: "machine", machineId: machineId.value };
    if (targetType.value === "laundry") return { type: "laundry", laundry: laundry.value };
    return { type: "all" };
  }

  const target = currentTarget();
  const count = target.type === "all"
    ? audience.total
    : target.type === "room"
    ? audience.rooms[target.room] ?? 0
    : null;
  const to = target.type === "room" && !target.room
    ? t(lang, "notice.target_room")
    : target.type === "machine" && !target.machineId
    ? t(lang, "notice.target_machine")
    : target.type === "laundry" && !target.laundry
    ? t(lang, "notice.target_laundry")
    : targetSummary(target, lang, list) +
      (count !== null ? ` · ${t(lang, "notice.people", { n: count })}` : "");
  const iso = later.value ? localInputToIso(sendAtLocal.value) : null;
  const sendAt = iso ? Date.parse(iso) : null;

  function pickLater(on: boolean) {
    later.value = on;
    if (on && !sendAtLocal.value) {
      // Default: the next full hour at least 30 minutes away.
      const d = new Date(Date.now() + 30 * 60_000);
      d.setMinutes(0, 0, 0);
      d.setHours(d.getHours() + 1);
      sendAtLocal.value = toLocalInput(d.getTime());
    }
  }

  async function submit(e: Event) {
    e.preventDefault();
    flash.value = null;
    const tgt = currentTarget();
    if (tgt.type === "room" && !tgt.room) {
      flash.value = { text: t(lang, "notice.need_room"), error: true };
      return;
    }
    if (tgt.type === "laundry" && !tgt.laundry) {
      flash.value = { text: t(lang, "notice.pick_laundry"), error: true };
      return;
    }
    if (tgt.type === "machine" && !tgt.machineId) {
      flash.value = { text: t(lang, "notice.pick_machine"), error: true };
      return;
    }
    let when: string | undefined;
    if (later.value) {
      const v = localInputToIso(sendAtLocal.value);
      if (!v) {
        flash.value = { text: t(lang, "notice.need_time"), error: true };
        return;
      }
      if (Date.parse(v) < Date.now() - 30_000) {
        flash.value = { text: t(lang, "notice.time_past"), error: true };
        return;
      }
      when = v;
    }
    busy.value = true;
    try {
      const r = await api<CreatedNotice>("POST", "/api/admin/announcements", {
        title: title.value.trim(),
        body: body.value.trim(),
        target: tgt,
        ...(when ? { sendAt: when } : {}),
        sound: sound.value,
        critical: critical.value,
      });
      flash.value = {
        text: r.notice.status === "scheduled"
          ? t(lang, "notice.scheduled_ok", { time: formatWhen(r.notice.sendAt, lang) })
          : t(lang, "notice.sent_ok", { n: r.stats.recipients }),
        error: false,
      };
      dispatchEvent(new CustomEvent(NOTICES_CHANGED, { detail: r }));
      title.value = "";
      body.value = "";
      later.value = false;
      sendAtLocal.value = "";
      critical.value = false;
      sound.value = true;
    } catch (err) {
      flash.value = { text: errorText(err, lang), error: true };
    } finally {
      busy.value = false;
    }
  }

  const rooms = Object.keys(audience.rooms).sort((a, b) =>
    a.localeCompare(b, undefined, { numeric: true })
  );

  return (
    <div class="composer panel" aria-labelledby="composer-title">
      <h3 id="composer-title" class="form-title">{t(lang, "notice.compose")}</h3>
      <form class="composer-form" onSubmit={submit}>
        <div class="composer-fields">
          <label class="field">
            <span>
              {t(lang, "notice.title")}{" "}
              <small class="muted">
                {t(lang, "notice.chars", { n: title.value.length, max: TITLE_MAX })}
              </small>
            </span>
            <input
              name="title"
              required
              maxLength={TITLE_MAX}
              value={title.value}
              onInput={(e) => (title.value = (e.target as HTMLInputElement).value)}
            />
          </label>
          <label class="field">
            <span>
              {t(lang, "notice.body")}{" "}
              <small class="muted">
                {t(lang, "notice.chars", { n: body.value.length, max: BODY_MAX })}
              </small>
            </span>
            <textarea
              name="body"
              required
              rows={4}
              maxLength={BODY_MAX}
              value={body.value}
              onInput={(e) => (body.value = (e.target as HTMLTextAreaElement).value)}
            />
          </label>
          <fieldset>
            <legend>{t(lang, "notice.target")}</legend>
            <div class="choices">
              {(["all", "room", "laundry", "machine"] as const).map((type) => (
                <label class="check" key={type}>
                  <input
                    type="radio"
                    name="target"
                    value={type}
                    checked={targetType.value === type}
                    onChange={() => {
                      targetType.value = type;
                      refreshAudience();
                    }}
                  />
                  {t(lang, `notice.target_${type}`)}
                </label>
              ))}
            </div>
            {targetType.value === "room" && (
              <label class="field">
                <span>{t(lang, "notice.room_input")}</span>
                <input
                  name="room"
                  required
                  maxLength={20}
                  list="notice-rooms"
                  value={room.value}
                  onInput={(e) => (room.value = (e.target as HTMLInputElement).value)}
                />
                <datalist id="notice-rooms">
                  {rooms.map((r) => <option key={r} value={r} />)}
                </datalist>
              </label>
            )}
            {targetType.value === "laundry" && (
              <label class="field">
                <span>{t(lang, "notice.laundry_input")}</span>
                <select
                  name="laundry"
                  required
                  value={laundry.value}
                  onChange={(e) => (laundry.value = (e.target as HTMLSelectElement).value)}
                >
                  <option value="">{t(lang, "notice.pick_laundry")}</option>
                  {[...new Set(list.map((m) => m.room))].map((r) => (
                    <option key={r} value={r}>{r}</option>
                  ))}
                </select>
              </label>
            )}
            {targetType.value === "machine" && (
              <label class="field">
                <span>{t(lang, "notice.machine_input")}</span>
                <select
                  name="machineId"
                  required
                  value={machineId.value}
                  onChange={(e) => (machineId.value = (e.target as HTMLSelectElement).value)}
                >
                  <option value="">{t(lang, "notice.pick_machine")}</option>
                  {list.map((m) => (
                    <option key={m.id} value={m.id}>
                      {m.name} · {m.room}
                    </option>
                  ))}
                </select>
              </label>
            )}
          </fieldset>
          <fieldset>
            <legend>{t(lang, "notice.when")}</legend>
            <div class="choices">
              <label class="check">
                <input
                  type="radio"
                  name="when"
                  value="now"
                  checked={!later.value}
                  onChange={() => pickLater(false)}
                />
                {t(lang, "notice.now")}
              </label>
              <label class="check">
                <input
                  type="radio"
                  name="when"
                  value="later"
                  checked={later.value}
                  onChange={() => pickLater(true)}
                />
                {t(lang, "notice.later")}
              </label>
            </div>
            {later.value && (
              <label class="field">
                <span>
                  {t(lang, "notice.send_at")}{" "}
                  {tz.value && (
                    <small class="muted">{t(lang, "notice.tz", { tz: tz.value })}</small>
                  )}
                </span>
                <input
                  type="datetime-local"
                  name="sendAt"
                  required
                  min={toLocalInput(Date.now())}
                  value={sendAtLocal.value}
                  onInput={(e) => (sendAtLocal.value = (e.target as HTMLInputElement).value)}
                />
              </label>
            )}
          </fieldset>
          <fieldset>
            <legend>{t(lang, "notice.options")}</legend>
            <div class="choices">
              <label class="check">
                <input
                  type="checkbox"
                  name="sound"
                  checked={sound.value}
                  onChange={(e) => (sound.value = (e.target as HTMLInputElement).checked)}
                />
                {t(lang, "notice.sound")}
              </label>
              <label class="check">
                <input
                  type="checkbox"
                  name="critical"
                  checked={critical.value}
                  onChange={(e) => (critical.value = (e.target as HTMLInputElement).checked)}
                />
                {t(lang, "notice.critical")}
              </label>
            </div>
          </fieldset>
        </div>
        <NoticePreview
          lang={lang}
          title={title.value}
          body={body.value}
          sound={sound.value}
          critical={critical.value}
          to={to}
          later={later.value}
          sendAt={sendAt}
        />
        <div class="composer-submit">
          <Flash flash={flash.value} />
          <button type="submit" class="primary wide" data-action="send" disabled={busy.value}>
            {t(lang, later.value ? "notice.schedule" : "notice.send")}
          </button>
        </div>
      </form>
    </div>
  );
}

export default island("NoticeComposer", NoticeComposer);
