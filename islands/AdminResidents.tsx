/**
 * Admin: residents (name, room, login id, role, joined), searchable by name,
 * room or login id and filterable by room; disable (two-step) and enable.
 * Disabling ends the resident's sessions (the API does that).
 * @module
 */
import { useComputed, useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import { island } from "../lib/islands.ts";
import { type Lang, t } from "../lib/i18n.ts";
import type { PublicUser } from "../lib/types.ts";
import { api } from "../client/api.ts";
import ConfirmButton, {
  errorText,
  Flash,
  type FlashMessage,
  formatDate,
  formatWhen,
} from "./AdminConfirm.tsx";
import { RESIDENTS_CHANGED } from "./NoticeComposer.tsx";

/** Props rendered by the server. */
export interface AdminResidentsProps {
  lang: Lang;
  residents: PublicUser[];
  /** The signed-in admin's id (cannot disable themself). */
  me: string;
  /** The operator may change admins' accounts; a building admin only residents'. */
  operator?: boolean;
}

/** Does the resident match the search text (name, room, login id; case-insensitive)? */
export function residentMatches(u: PublicUser, query: string, room: string): boolean {
  if (room && u.room !== room) return false;
  const q = query.trim().toLowerCase();
  if (!q) return true;
  return [u.name, u.room, u.loginId].some((s) => s.toLowerCase().includes(q));
}

function AdminResidents(props: AdminResidentsProps) {
  const { lang } = props;
  const residents = useSignal(props.residents);
  const query = useSignal("");
  const room = useSignal("");
  const busy = useSignal<string | null>(null);
  const flash = useSignal<FlashMessage | null>(null);
  const started = useRef(false);

  const rooms = useComputed(() =>
    [...new Set(residents.value.map((u) => u.room))].sort((a, b) =>
      a.localeCompare(b, undefined, { numeric: true })
    )
  );
  const shown = useComputed(() =>
    residents.value.filter((u) => residentMatches(u, query.value, room.value))
  );

  async function refresh() {
    busy.value = "refresh";
    try {
      residents.value = (await api<{ residents: PublicUser[] }>("GET", "/api/admin/residents"))
        .residents;
    } catch (e) {
      flash.value = { text: errorText(e, lang), error: true };
    } finally {
      busy.value = null;
    }
  }

  // Tell the notice composer, which counts recipients per room.
  useEffect(() => {
    if (started.current) {
      dispatchEvent(new CustomEvent(RESIDENTS_CHANGED, { detail: residents.value }));
    }
    started.current = true;
  }, [residents.value]);

  useEffect(() => {
    const onVisible = () => {
      if (document.visibilityState === "visible") refresh();
    };
    document.addEventListener("visibilitychange", onVisible);
    return () => document.removeEventListener("visibilitychange", onVisible);
  }, []);

  async function setDisabled(u: PublicUser, disabled: boolean) {
    busy.value = u.id;
    flash.value = null;
    try {
      const r = await api<{ resident: PublicUser }>("PATCH", `/api/admin/residents/${u.id}`, {
        disabled,
      });
      residents.value = residents.value.map((x) => (x.id === u.id ? r.resident : x));
      flash.value = {
        text: t(lang, disabled ? "admin.resident_disabled" : "admin.resident_enabled", {
          name: u.name,
        }),
        error: false,
      };
    } catch (e) {
      flash.value = { text: errorText(e, lang), error: true };
    } finally {
      busy.value = null;
    }
  }

  /** The reset code just issued (shown once, in its resident's row). */
  const issued = useSignal<{ id: string; code: string; url: string; expiresAt: number } | null>(
    null,
  );

  async function issueReset(u: PublicUser) {
    busy.value = u.id;
    flash.value = null;
    issued.value = null;
    try {
      const r = await api<{ code: string; url: string; expiresAt: number }>(
        "POST",
        `/api/admin/residents/${u.id}/reset`,
        {},
      );
      issued.value = { id: u.id, ...r };
    } catch (e) {
      flash.value = { text: errorText(e, lang), error: true };
    } finally {
      busy.value = null;
    }
  }

  return (
    <section id="residents" class="panel admin-section" aria-labelledby="residents-title">
      <div class="admin-head">
        <h2 id="residents-title">{t(lang, "admin.residents")}</h2>
        <span class="muted" data-count>
          {t(lang, "admin.resident_count", {
            shown: shown.value.length,
            total: residents.value.length,
          })}
        </span>
        <button
          type="button"
          class="small"
          data-action="refresh"
          disabled={busy.value === "refresh"}
          onClick={refresh}
        >
          {t(lang, "admin.refresh")}
        </button>
      </div>
      <div class="inline filters" role="search">
        <label class="field">
          <span>{t(lang, "admin.search")}</span>
          <input
            type="search"
            name="q"
            value={query.value}
            onInput={(e) => (query.value = (e.target as HTMLInputElement).value)}
          />
        </label>
        <label class="field field-narrow">
          <span>{t(lang, "admin.room_filter")}</span>
          <select
            name="room"
            value={room.value}
            onChange={(e) => (room.value = (e.target as HTMLSelectElement).value)}
          >
            <option value="">{t(lang, "admin.all_rooms")}</option>
            {rooms.value.map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
        </label>
      </div>
      <Flash flash={flash.value} />
      {shown.value.length === 0 && <p class="empty">{t(lang, "admin.no_match")}</p>}
      <ul class="rows admin-rows">
        {shown.value.map((u) => (
          <li
            key={u.id}
            data-resident={u.loginId}
            data-disabled={u.disabled ? "" : undefined}
            class={u.disabled ? "is-disabled" : ""}
          >
            <div class="row-main">
              <div class="row-title">
                <strong>{u.name}</strong>
                {u.id === props.me && <span class="pill">{t(lang, "admin.me")}</span>}
                {u.role === "admin" && (
                  <span class="pill pill-brand">{t(lang, "admin.role_admin")}</span>
                )}
                {u.disabled && <span class="pill pill-err">{t(lang, "admin.disabled")}</span>}
              </div>
              <span class="muted">
                {u.room} · {u.role === "admin" ? "" : `${t(lang, "admin.role_resident")} · `}
                {t(lang, "admin.login_id", { id: u.loginId })} ·{" "}
                {t(lang, "admin.joined", { date: formatDate(u.createdAt, lang) })}
              </span>
            </div>
            {u.id !== props.me && (u.role !== "admin" || props.operator) && (
              <div class="row-actions">
                {!u.disabled && (
                  <button
                    type="button"
                    data-action="reset"
                    disabled={busy.value === u.id}
                    onClick={() => issueReset(u)}
                  >
                    {t(lang, "admin.reset")}
                  </button>
                )}
                {u.disabled
                  ? (
                    <button
                      type="button"
                      data-action="enable"
                      disabled={busy.value === u.id}
                      onClick={() => setDisabled(u, false)}
                    >
                      {t(lang, "admin.enable")}
                    </button>
                  )
                  : (
                    <ConfirmButton
                      lang={lang}
                      label={t(lang, "admin.disable")}
                      action="disable"
                      disabled={busy.value === u.id}
                      onConfirm={() => setDisabled(u, true)}
                    />
                  )}
              </div>
            )}
            {issued.value?.id === u.id && (
              <div class="reset-code banner ok" role="status" data-reset-code>
                <p>
                  {t(lang, "admin.reset_issued", {
                    name: u.name,
                    date: formatWhen(issued.value.expiresAt, lang),
                  })}
                </p>
                <p>
                  <code>{issued.value.code}</code>
                </p>
                <p>
                  <a href={issued.value.url}>{location.origin + issued.value.url}</a>
                </p>
              </div>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

export default island("AdminResidents", AdminResidents);
