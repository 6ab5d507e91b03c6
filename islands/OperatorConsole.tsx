/**
 * The operator console (`/operator`): the deployment's health (push alarm,
 * due backlog), every building with its health (machines, out of order,
 * residents, admins, open sockets, failing devices) and links to its board
 * and admin page; create a building (its two invite codes are shown once),
 * rename one, appoint an admin by login id or remove one. Everything goes
 * through `/api/operator/*` (docs/API.md, "Operator"); refusals are shown
 * translated (`err.<code>`) where they happened.
 * @module
 */
import { useSignal } from "@preact/signals";
import { island } from "../lib/islands.ts";
import { type Lang, t } from "../lib/i18n.ts";
import { api } from "../client/api.ts";
import type { Building, PublicUser } from "../lib/types.ts";
import ConfirmButton, { errorText, formatWhen } from "./AdminConfirm.tsx";

/** A building's health, as `GET /api/operator/buildings` reports it. */
export interface Health {
  machines: number;
  outOfOrder: number;
  members: number;
  admins: number;
  sockets: number;
  devicesFailing: number;
}

/** One row of the building list. */
export type BuildingRow = Building & { health: Health };

/** The list response (`GET /api/operator/buildings`). */
export interface BuildingList {
  buildings: BuildingRow[];
  next: string | null;
  total: number;
  pushAlarm: { kind: "webpush" | "fcm"; httpStatus: number | null; at: number } | null;
  dueBacklog: number;
}

/** Props rendered by the server: the first page of the list, and the form's defaults. */
export interface OperatorConsoleProps extends BuildingList {
  lang: Lang;
  defaults: { timeZone: string; room: string };
}

/** What `POST /api/operator/buildings` answers (the codes are shown this once). */
interface Created {
  building: Building;
  inviteCode: string;
  adminInviteCode: string;
}

/** A message shown where an action happened ("create", or a building id). */
interface Note {
  at: string;
  text: string;
  error: boolean;
}

/** Health entries in display order; the keys that are bad when above zero. */
const HEALTH = [
  ["machines", "operator.h_machines"],
  ["outOfOrder", "operator.h_out_of_order"],
  ["members", "operator.h_members"],
  ["admins", "operator.h_admins"],
  ["sockets", "operator.h_sockets"],
  ["devicesFailing", "operator.h_failing"],
] as const;
const BAD = new Set<keyof Health>(["outOfOrder", "devicesFailing"]);

/** Time zones offered in the form (any IANA name may be typed). */
const ZONES = ["Asia/Seoul", "Asia/Tokyo", "UTC", "Europe/London", "America/New_York"];

const value = (e: Event) => (e.target as HTMLInputElement).value;

function OperatorConsole(props: OperatorConsoleProps) {
  const { lang } = props;
  const rows = useSignal(props.buildings);
  const next = useSignal(props.next);
  const total = useSignal(props.total);
  const alarm = useSignal(props.pushAlarm);
  const backlog = useSignal(props.dueBacklog);
  const note = useSignal<Note | null>(null);
  const busy = useSignal<string | null>(null);
  const created = useSignal<Created | null>(null);
  // The create form.
  const name = useSignal("");
  const zone = useSignal(props.defaults.timeZone);
  const washers = useSignal("4");
  const dryers = useSignal("2");
  const roomText = useSignal(props.defaults.room);
  // Rename (one building at a time) and the admins of the buildings whose panel is open.
  const renaming = useSignal<string | null>(null);
  const draft = useSignal("");
  const admins = useSignal<Record<string, PublicUser[]>>({});
  const appointId = useSignal<Record<string, string>>({});

  /** Run an action; its result or refusal is shown at `at`. */
  async function act(at: string, fn: () => Promise<string>) {
    busy.value = at;
    note.value = null;
    try {
      note.value = { at, text: await fn(), error: false };
    } catch (e) {
      note.value = { at, text: errorText(e, lang), error: true };
    } finally {
      busy.value = null;
    }
  }

  const noteAt = (at: string) => {
    const n = note.value;
    return n?.at === at
      ? (
        <p
          class={`banner ${n.error ? "error" : "ok"}`}
          role={n.error ? "alert" : "status"}
          data-note
        >
          {n.text}
        </p>
      )
      : null;
  };

  function patchRow(id: string, fn: (b: BuildingRow) => BuildingRow) {
    rows.value = rows.value.map((b) => (b.id === id ? fn(b) : b));
  }

  async function load(after?: string) {
    const q = after ? `?after=${encodeURIComponent(after)}` : "";
    const r = await api<BuildingList>("GET", `/api/operator/buildings${q}`);
    rows.value = after ? [...rows.value, ...r.buildings] : r.buildings;
    next.value = r.next;
    total.value = r.total;
    alarm.value = r.pushAlarm;
    backlog.value = r.dueBacklog;
  }

  const create = (e: Event) => {
    e.preventDefault();
    act("create", async () => {
      created.value = null;
      const rooms = roomText.value.split("\n").map((r) => r.trim()).filter(Boolean);
      const r = await api<Created>("POST", "/api/operator/buildings", {
        name: name.value,
        timeZone: zone.value.trim() || undefined,
        washers: Number(washers.value) || 0,
        dryers: Number(dryers.value) || 0,
        ...(rooms.length ? { rooms } : {}),
      });
      created.value = r;
      name.value = "";
      await load().catch(() => {});
      return t(lang, "operator.created", { name: r.building.name });
    });
  };

  const rename = (b: BuildingRow) => (e: Event) => {
    e.preventDefault();
    act(b.id, async () => {
      const r = await api<{ building: Building }>(
        "PATCH",
        `/api/operator/buildings/${b.id}`,
        { name: draft.value },
      );
      patchRow(b.id, (x) => ({ ...x, ...r.building }));
      renaming.value = null;
      return t(lang, "operator.renamed", { name: r.building.name });
    });
  };

  async function openAdmins(b: BuildingRow, open: boolean) {
    if (!open || admins.value[b.id]) return;
    try {
      const r = await api<{ admins: PublicUser[] }>("GET", `/api/operator/buildings/${b.id}`);
      admins.value = { ...admins.value, [b.id]: r.admins };
    } catch (e) {
      note.value = { at: b.id, text: errorText(e, lang), error: true };
    }
  }

  function setAdmins(b: BuildingRow, list: PublicUser[]) {
    admins.value = { ...admins.value, [b.id]: list };
    patchRow(b.id, (x) => ({ ...x, health: { ...x.health, admins: list.length } }));
  }

  const appoint = (b: BuildingRow) => (e: Event) => {
    e.preventDefault();
    act(b.id, async () => {
      const r = await api<{ admin: PublicUser }>(
        "POST",
        `/api/operator/buildings/${b.id}/admins`,
        { loginId: appointId.value[b.id] ?? "" },
      );
      const list = (admins.value[b.id] ?? []).filter((u) => u.id !== r.admin.id);
      setAdmins(b, [...list, r.admin]);
      appointId.value = { ...appointId.value, [b.id]: "" };
      return t(lang, "operator.appointed", { name: r.admin.name });
    });
  };

  const remove = (b: BuildingRow, u: PublicUser) =>
    act(b.id, async () => {
      await api("DELETE", `/api/operator/buildings/${b.id}/admins/${u.id}`);
      setAdmins(b, (admins.value[b.id] ?? []).filter((x) => x.id !== u.id));
      return t(lang, "operator.removed", { name: u.name });
    });

  const a = alarm.value;
  return (
    <>
      <section class="panel admin-section" aria-labelledby="op-summary-title">
        <div class="admin-head">
          <h2 id="op-summary-title">{t(lang, "operator.summary")}</h2>
          <button
            type="button"
            class="small"
            data-action="refresh"
            disabled={busy.value === "refresh"}
            onClick={() =>
              act("refresh", async () => {
                await load();
                return t(lang, "operator.building_total", { n: total.value });
              })}
          >
            {t(lang, "admin.refresh")}
          </button>
        </div>
        <ul class="op-summary" role="list">
          <li class="pill" data-total={total.value}>
            {t(lang, "operator.building_total", { n: total.value })}
          </li>
          <li class={`pill ${backlog.value > 0 ? "pill-err" : "pill-available"}`} data-backlog>
            {t(lang, "operator.backlog", { n: backlog.value })}
          </li>
          {!a && <li class="pill pill-available">{t(lang, "operator.push_ok")}</li>}
        </ul>
        {a && (
          <p class="banner error" role="alert" data-alarm="push">
            {t(lang, "admin.push_alarm", {
              service: a.kind === "fcm" ? "FCM" : "Web Push",
              status: a.httpStatus ?? "—",
              when: formatWhen(a.at, lang),
            })}
          </p>
        )}
        {backlog.value > 0 && (
          <p class="banner warn" role="status" data-alarm="backlog">
            {t(lang, "operator.backlog_alarm", { n: backlog.value })}
          </p>
        )}
        {noteAt("refresh")}
      </section>

      <section class="panel admin-section" id="buildings" aria-labelledby="op-buildings-title">
        <h2 id="op-buildings-title">{t(lang, "operator.buildings")}</h2>
        {rows.value.length === 0 && <p class="empty">{t(lang, "operator.empty")}</p>}
        <ul class="rows admin-rows">
          {rows.value.map((b) => (
            <li key={b.id} class="op-building" data-building={b.id}>
              <div class="row-main">
                <h3 data-building-name>{b.name}</h3>
                <span class="muted">
                  {t(lang, "operator.rooms", { rooms: b.rooms.join(", ") })} · {b.timeZone}
                </span>
              </div>
              <dl class="op-health" aria-label={t(lang, "operator.health", { name: b.name })}>
                {HEALTH.map(([key, label]) => (
                  <div
                    key={key}
                    class={BAD.has(key) && b.health[key] > 0 ? "bad" : undefined}
                    data-health={key}
                  >
                    <dt>{t(lang, label)}</dt>
                    <dd>{b.health[key]}</dd>
                  </div>
                ))}
              </dl>
              <div class="op-links">
                <a class="button" href={`/?building=${b.id}`} data-open="board">
                  {t(lang, "operator.open_board")}
                </a>
                <a class="button" href={`/admin?building=${b.id}`} data-open="admin">
                  {t(lang, "operator.open_admin")}
                </a>
                {renaming.value !== b.id && (
                  <button
                    type="button"
                    data-action="rename"
                    onClick={() => {
                      renaming.value = b.id;
                      draft.value = b.name;
                    }}
                  >
                    {t(lang, "operator.rename")}
                  </button>
                )}
              </div>
              {renaming.value === b.id && (
                <form class="inline row-form" onSubmit={rename(b)} data-rename-form>
                  <label class="field">
                    <span>{t(lang, "operator.rename_label", { name: b.name })}</span>
                    <input
                      name="name"
                      required
                      maxLength={60}
                      value={draft.value}
                      onInput={(e) => (draft.value = value(e))}
                    />
                  </label>
                  <div class="form-buttons">
                    <button type="submit" class="primary" disabled={busy.value === b.id}>
                      {t(lang, "admin.save")}
                    </button>
                    <button type="button" onClick={() => (renaming.value = null)}>
                      {t(lang, "admin.cancel_edit")}
                    </button>
                  </div>
                </form>
              )}
              <details
                class="op-more"
                onToggle={(e) => openAdmins(b, (e.target as HTMLDetailsElement).open)}
                data-admins-panel
              >
                <summary>{t(lang, "operator.admins")}</summary>
                <div class="op-admins">
                  <h4>{t(lang, "operator.admins_of", { name: b.name })}</h4>
                  {admins.value[b.id]?.length === 0 && (
                    <p class="muted">{t(lang, "operator.no_admins")}</p>
                  )}
                  <ul class="rows">
                    {(admins.value[b.id] ?? []).map((u) => (
                      <li key={u.id} data-admin={u.loginId}>
                        <span>
                          <strong>{u.name}</strong>{" "}
                          <span class="muted">{t(lang, "admin.login_id", { id: u.loginId })}</span>
                        </span>
                        <ConfirmButton
                          lang={lang}
                          label={t(lang, "operator.remove_admin")}
                          action="remove-admin"
                          disabled={busy.value === b.id}
                          onConfirm={() => remove(b, u)}
                        />
                      </li>
                    ))}
                  </ul>
                  <form class="inline add-form" onSubmit={appoint(b)} data-appoint-form>
                    <label class="field">
                      <span>{t(lang, "operator.login_id")}</span>
                      <input
                        name="loginId"
                        required
                        autocomplete="off"
                        autocapitalize="none"
                        maxLength={64}
                        value={appointId.value[b.id] ?? ""}
                        onInput={(
                          e,
                        ) => (appointId.value = { ...appointId.value, [b.id]: value(e) })}
                      />
                    </label>
                    <button type="submit" class="primary" disabled={busy.value === b.id}>
                      {t(lang, "operator.appoint")}
                    </button>
                  </form>
                </div>
              </details>
              {noteAt(b.id)}
            </li>
          ))}
        </ul>
        {next.value && (
          <button
            type="button"
            data-action="more"
            disabled={busy.value === "more"}
            onClick={() =>
              act("more", async () => {
                await load(next.value!);
                return t(lang, "operator.building_total", { n: total.value });
              })}
          >
            {t(lang, "operator.more")}
          </button>
        )}
        {noteAt("more")}
      </section>

      <section class="panel admin-section" id="new-building" aria-labelledby="op-new-title">
        <h2 id="op-new-title">{t(lang, "operator.new_building")}</h2>
        <form class="inline" onSubmit={create} data-create-form>
          <label class="field field-wide">
            <span>{t(lang, "operator.name")}</span>
            <input
              name="name"
              required
              maxLength={60}
              value={name.value}
              onInput={(e) => (name.value = value(e))}
            />
          </label>
          <label class="field">
            <span>{t(lang, "operator.time_zone")}</span>
            <input
              name="timeZone"
              list="op-zones"
              autocomplete="off"
              value={zone.value}
              onInput={(e) => (zone.value = value(e))}
            />
            <datalist id="op-zones">
              {ZONES.map((z) => <option key={z} value={z} />)}
            </datalist>
          </label>
          <label class="field field-narrow">
            <span>{t(lang, "operator.washers")}</span>
            <input
              name="washers"
              type="number"
              inputMode="numeric"
              min={0}
              max={50}
              value={washers.value}
              onInput={(e) => (washers.value = value(e))}
            />
          </label>
          <label class="field field-narrow">
            <span>{t(lang, "operator.dryers")}</span>
            <input
              name="dryers"
              type="number"
              inputMode="numeric"
              min={0}
              max={50}
              value={dryers.value}
              onInput={(e) => (dryers.value = value(e))}
            />
          </label>
          <div class="field field-wide">
            <label for="op-rooms">{t(lang, "operator.room_names")}</label>
            <textarea
              id="op-rooms"
              name="rooms"
              rows={3}
              aria-describedby="op-rooms-hint"
              value={roomText.value}
              onInput={(e) => (roomText.value = value(e))}
            />
            <small id="op-rooms-hint" class="muted">{t(lang, "operator.room_hint")}</small>
          </div>
          <button type="submit" class="primary" disabled={busy.value === "create"}>
            {t(lang, "operator.create")}
          </button>
        </form>
        {noteAt("create")}
        {created.value && (
          <div class="row-form" data-created={created.value.building.id}>
            <dl class="op-codes">
              <dt>{t(lang, "operator.invite_code")}</dt>
              <dd>
                <code class="invite-code" data-code="resident">{created.value.inviteCode}</code>
              </dd>
              <dt>{t(lang, "operator.admin_invite_code")}</dt>
              <dd>
                <code class="invite-code" data-code="admin">{created.value.adminInviteCode}</code>
              </dd>
            </dl>
            <div class="op-links">
              <a class="button" href={`/?building=${created.value.building.id}`}>
                {t(lang, "operator.open_board")}
              </a>
              <a class="button" href={`/admin?building=${created.value.building.id}`}>
                {t(lang, "operator.open_admin")}
              </a>
            </div>
          </div>
        )}
      </section>
    </>
  );
}

export default island("OperatorConsole", OperatorConsole);
