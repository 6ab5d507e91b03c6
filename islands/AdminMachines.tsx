/**
 * Admin: the machines with their live state (the shared live connection's
 * `machines` signal, like the board), and add / rename / out of order /
 * repaired (with an expected repair day) / remove, and the residents' open
 * fault reports under each machine, and each machine's smart-plug sensor
 * (attach: its token is shown once; status and last reading; remove).
 * Removal of a machine in use is refused by the API; its message is shown.
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { island } from "../lib/islands.ts";
import { formatDuration, type Lang, t } from "../lib/i18n.ts";
import type { SensorView } from "../lib/db/sensors.ts";
import { applyBoardEvent, machineView } from "../lib/board_view.ts";
import type { FaultReport, Machine, MachineKind } from "../lib/types.ts";
import { api } from "../client/api.ts";
import { errorField } from "../client/errors.ts";
import { machines, now, startLive } from "../client/live.ts";
import ConfirmButton, { errorText, Flash, type FlashMessage } from "./AdminConfirm.tsx";

/** Props rendered by the server. */
export interface AdminMachinesProps {
  lang: Lang;
  machines: Machine[];
  cursor: string;
  serverTime: number;
  me: string;
  settings: { minuteMs: number; pickupGraceMinutes: number };
  /** Open fault reports by machine id. */
  reports?: Record<string, FaultReport[]>;
  /** Sensors by machine id (status at page load; docs/SENSORS.md). */
  sensors?: Record<string, SensorView>;
}

/** A sensor's status line: waiting for a first reading, reporting, or silent. */
export function sensorText(s: SensorView, now: number, lang: Lang): string {
  if (s.status === "waiting" || s.lastReadingAt === undefined) {
    return t(lang, "admin.sensor_waiting");
  }
  const time = formatDuration(Math.max(0, now - s.lastReadingAt));
  return s.status === "silent"
    ? t(lang, "admin.sensor_silent", { time })
    : t(lang, "admin.sensor_ok", { watts: s.lastWatts ?? 0, time });
}

/** Keep a focused input focused across renders: a stable ref callback. */
const focusOnMount = (el: HTMLElement | null) => el?.focus();

/**
 * Close the open row form and put the keyboard focus back on the row's
 * button that opened it (or its successor, e.g. 수리 완료 after 고장 처리).
 */
function refocus(machineId: string, actions: string[]): void {
  setTimeout(() => {
    for (const action of actions) {
      const el = document.querySelector<HTMLElement>(
        `li[data-machine="${machineId}"] button[data-action="${action}"]`,
      );
      if (el) return el.focus();
    }
  }, 0);
}

/** Put a machine the API returned into the live list unless a newer copy is there already. */
function adopt(m: Machine): void {
  const cur = machines.value.find((x) => x.id === m.id);
  if (cur && cur.updatedAt > m.updatedAt) return;
  machines.value = applyBoardEvent(machines.value, { type: "machine.updated", machine: m });
}

function AdminMachines(props: AdminMachinesProps) {
  const { lang } = props;
  const started = useSignal(false);
  const busy = useSignal<string | null>(null);
  const flash = useSignal<FlashMessage | null>(null);
  /** Which row has an open form, and which. */
  const open = useSignal<{ id: string; form: "rename" | "ooo" } | null>(null);
  const editName = useSignal("");
  const editRoom = useSignal("");
  const reason = useSignal("");
  const repairDate = useSignal("");
  /** Open reports; a repair closes a machine's (the server did in the same commit). */
  const reports = useSignal(props.reports ?? {});
  const sensors = useSignal(props.sensors ?? {});
  /** A sensor token just issued: shown once, until the next action. */
  const token = useSignal<{ id: string; token: string } | null>(null);
  const newName = useSignal("");
  const addError = useSignal<{ text: string; field: string } | null>(null);
  const newKind = useSignal<MachineKind>("washer");
  const newRoom = useSignal(props.machines[0]?.room ?? "");

  useEffect(() => {
    startLive({ cursor: props.cursor, machines: props.machines, serverTime: props.serverTime });
    started.value = true;
  }, []);

  const list = started.value ? machines.value : props.machines;
  const at = started.value ? now.value : props.serverTime;
  const rooms = [...new Set(list.map((m) => m.room))];

  async function run(key: string, fn: () => Promise<string>) {
    busy.value = key;
    flash.value = null;
    try {
      flash.value = { text: await fn(), error: false };
    } catch (e) {
      flash.value = { text: errorText(e, lang), error: true };
    } finally {
      busy.value = null;
    }
  }

  /** Close the row form, focusing the button that belongs to it. */
  function closeForm() {
    const cur = open.value;
    open.value = null;
    if (cur) refocus(cur.id, cur.form === "rename" ? ["rename"] : ["out_of_order", "repair"]);
  }

  function openForm(m: Machine, form: "rename" | "ooo") {
    flash.value = null;
    if (open.value?.id === m.id && open.value.form === form) {
      closeForm();
      return;
    }
    editName.value = m.name;
    editRoom.value = m.room;
    reason.value = m.outOfOrderReason ?? "";
    repairDate.value = m.repairDate ?? "";
    open.value = { id: m.id, form };
  }

  const add = async (e: Event) => {
    e.preventDefault();
    busy.value = "add";
    flash.value = null;
    addError.value = null;
    try {
      const r = await api<{ machine: Machine }>("POST", "/api/admin/machines", {
        name: newName.value.trim(),
        kind: newKind.value,
        room: newRoom.value.trim(),
      });
      adopt(r.machine);
      newName.value = "";
      flash.value = {
        text: t(lang, "admin.machine_added", { name: r.machine.name }),
        error: false,
      };
    } catch (err) {
      // Shown under the add form's field it concerns (the panel's banner may be off-screen).
      addError.value = { text: errorText(err, lang), field: errorField(err) ?? "" };
    } finally {
      busy.value = null;
    }
  };

  /** Move a machine one place up or down the board (renumbers `order` where it changed). */
  function move(m: Machine, by: -1 | 1) {
    const order = [...list];
    const i = order.findIndex((x) => x.id === m.id);
    const j = i + by;
    if (i < 0 || j < 0 || j >= order.length) return;
    [order[i], order[j]] = [order[j], order[i]];
    run(m.id, async () => {
      for (const [index, x] of order.entries()) {
        if (x.order === index) continue;
        const r = await api<{ machine: Machine }>("PATCH", `/api/admin/machines/${x.id}`, {
          order: index,
        });
        adopt(r.machine);
      }
      return t(lang, "admin.moved", { name: m.name });
    });
  }

  const rename = (m: Machine) => (e: Event) => {
    e.preventDefault();
    run(m.id, async () => {
      const r = await api<{ machine: Machine }>("PATCH", `/api/admin/machines/${m.id}`, {
        name: editName.value.trim(),
        room: editRoom.value.trim(),
      });
      adopt(r.machine);
      closeForm();
      return t(lang, "admin.machine_saved", { name: r.machine.name });
    });
  };

  const markOutOfOrder = (m: Machine) => (e: Event) => {
    e.preventDefault();
    run(m.id, async () => {
      const r = await api<{ machine: Machine }>(
        "POST",
        `/api/admin/machines/${m.id}/out_of_order`,
        {
          reason: reason.value.trim(),
          ...(repairDate.value ? { repairDate: repairDate.value } : {}),
        },
      );
      adopt(r.machine);
      closeForm();
      return t(lang, "admin.marked_ooo", { name: m.name });
    });
  };

  const repair = (m: Machine) =>
    run(m.id, async () => {
      const r = await api<{ machine: Machine }>("POST", `/api/admin/machines/${m.id}/repair`, {});
      adopt(r.machine);
      const { [m.id]: _closed, ...open } = reports.value;
      reports.value = open;
      return t(lang, "admin.marked_repaired", { name: m.name });
    });

  const remove = (m: Machine) =>
    run(m.id, async () => {
      await api("DELETE", `/api/admin/machines/${m.id}`);
      machines.value = applyBoardEvent(machines.value, {
        type: "machine.removed",
        machineId: m.id,
      });
      if (open.value?.id === m.id) open.value = null;
      return t(lang, "admin.machine_removed", { name: m.name });
    });

  const attachSensor = (m: Machine) =>
    run(m.id, async () => {
      const r = await api<{ token: string; sensor: SensorView }>(
        "POST",
        `/api/admin/machines/${m.id}/sensor`,
        {},
      );
      sensors.value = { ...sensors.value, [m.id]: r.sensor };
      token.value = { id: m.id, token: r.token };
      return t(lang, "admin.sensor_attached", { name: m.name });
    });

  const detachSensor = (m: Machine) =>
    run(m.id, async () => {
      await api("DELETE", `/api/admin/machines/${m.id}/sensor`);
      const { [m.id]: _gone, ...rest } = sensors.value;
      sensors.value = rest;
      if (token.value?.id === m.id) token.value = null;
      return t(lang, "admin.sensor_detached", { name: m.name });
    });

  const closeOnEscape = (e: KeyboardEvent) => {
    if (e.key === "Escape") closeForm();
  };

  return (
    <section id="machines" class="panel admin-section" aria-labelledby="machines-title">
      <div class="admin-head">
        <h2 id="machines-title">{t(lang, "admin.machines")}</h2>
        <span class="muted">{t(lang, "admin.machine_count", { n: list.length })}</span>
      </div>
      <Flash flash={flash.value} />
      {list.length === 0 && <p class="empty">{t(lang, "board.empty")}</p>}
      <ul class="rows admin-rows">
        {list.map((m, i) => {
          const v = machineView(m, props.me, at, lang, props.settings);
          const rowBusy = busy.value === m.id;
          const form = open.value?.id === m.id ? open.value.form : null;
          const inUse = v.state !== "available" && v.state !== "out_of_order";
          return (
            <li key={m.id} data-machine={m.id} data-state={v.state}>
              <div class="row-main">
                <div class="row-title">
                  <strong class="machine-name">{m.name}</strong>
                  <span class={`pill pill-${v.state}`} data-state-label>
                    <span aria-hidden="true">{v.icon}</span> {v.stateLabel}
                  </span>
                </div>
                <span class="muted">
                  {t(lang, `kind.${m.kind}`)} · {m.room}
                  {inUse && m.ownerName
                    ? ` · ${t(lang, "admin.owner", { name: m.ownerName })}`
                    : ""}
                  {v.timeText ? ` · ${v.timeText}` : ""}
                </span>
                {v.reason && (
                  <span class="reason">
                    {t(lang, "board.out_of_order_reason", { reason: v.reason })}
                  </span>
                )}
                {v.repairText && <span class="reason" data-repair>{v.repairText}</span>}
                {sensors.value[m.id] && (
                  <span
                    class={sensors.value[m.id].status === "silent" ? "reason" : "muted"}
                    data-sensor={sensors.value[m.id].status}
                  >
                    {sensorText(sensors.value[m.id], at, lang)}
                  </span>
                )}
                {token.value?.id === m.id && (
                  <p class="token" data-sensor-token>
                    {t(lang, "admin.sensor_token")} <code>{token.value.token}</code>{" "}
                    <code>POST /api/sensors/{m.id}</code>
                  </p>
                )}
                {(reports.value[m.id]?.length ?? 0) > 0 && (
                  <details class="reports" data-reports={m.id}>
                    <summary>
                      {t(lang, "admin.reports", { n: reports.value[m.id].length })}
                    </summary>
                    <ul>
                      {reports.value[m.id].map((r) => (
                        <li key={r.userId}>
                          <strong>{t(lang, `fault.${r.category}`)}</strong>
                          {r.note ? ` · ${r.note}` : ""} · {r.name} ({r.room})
                        </li>
                      ))}
                    </ul>
                  </details>
                )}
              </div>
              <div class="row-actions">
                <button
                  type="button"
                  data-action="up"
                  aria-label={t(lang, "admin.move_up", { name: m.name })}
                  disabled={rowBusy || i === 0}
                  onClick={() => move(m, -1)}
                >
                  ↑
                </button>
                <button
                  type="button"
                  data-action="down"
                  aria-label={t(lang, "admin.move_down", { name: m.name })}
                  disabled={rowBusy || i === list.length - 1}
                  onClick={() => move(m, 1)}
                >
                  ↓
                </button>
                <button
                  type="button"
                  data-action="rename"
                  aria-expanded={form === "rename"}
                  disabled={rowBusy}
                  onClick={() => openForm(m, "rename")}
                >
                  {t(lang, "admin.rename")}
                </button>
                {v.state === "out_of_order"
                  ? (
                    <button
                      type="button"
                      class="primary"
                      data-action="repair"
                      disabled={rowBusy}
                      onClick={() => repair(m)}
                    >
                      {t(lang, "admin.repair")}
                    </button>
                  )
                  : (
                    <button
                      type="button"
                      data-action="out_of_order"
                      aria-expanded={form === "ooo"}
                      disabled={rowBusy}
                      onClick={() => openForm(m, "ooo")}
                    >
                      {t(lang, "admin.out_of_order")}
                    </button>
                  )}
                {sensors.value[m.id]
                  ? (
                    <ConfirmButton
                      lang={lang}
                      label={t(lang, "admin.sensor_detach")}
                      action="sensor_detach"
                      disabled={rowBusy}
                      onConfirm={() => detachSensor(m)}
                    />
                  )
                  : (
                    <button
                      type="button"
                      data-action="sensor_attach"
                      disabled={rowBusy}
                      onClick={() => attachSensor(m)}
                    >
                      {t(lang, "admin.sensor_attach")}
                    </button>
                  )}
                <ConfirmButton
                  lang={lang}
                  label={t(lang, "admin.remove")}
                  action="remove"
                  disabled={rowBusy}
                  onConfirm={() => remove(m)}
                />
              </div>
              {form === "rename" && (
                <form class="inline row-form" onSubmit={rename(m)} onKeyDown={closeOnEscape}>
                  <label class="field">
                    <span>{t(lang, "admin.name")}</span>
                    <input
                      ref={focusOnMount}
                      name="name"
                      required
                      maxLength={40}
                      value={editName.value}
                      onInput={(e) => (editName.value = (e.target as HTMLInputElement).value)}
                    />
                  </label>
                  <label class="field">
                    <span>{t(lang, "admin.room")}</span>
                    <input
                      name="room"
                      required
                      maxLength={40}
                      list="admin-rooms"
                      value={editRoom.value}
                      onInput={(e) => (editRoom.value = (e.target as HTMLInputElement).value)}
                    />
                  </label>
                  <div class="form-buttons">
                    <button type="submit" class="primary" disabled={rowBusy}>
                      {t(lang, "admin.save")}
                    </button>
                    <button type="button" onClick={closeForm}>
                      {t(lang, "admin.cancel_edit")}
                    </button>
                  </div>
                </form>
              )}
              {form === "ooo" && (
                <form
                  class="inline row-form"
                  onSubmit={markOutOfOrder(m)}
                  onKeyDown={closeOnEscape}
                >
                  {inUse && <p class="banner warn row-note">{t(lang, "admin.ooo_in_use")}</p>}
                  <label class="field">
                    <span>{t(lang, "admin.reason")}</span>
                    <input
                      ref={focusOnMount}
                      name="reason"
                      maxLength={200}
                      placeholder={t(lang, "admin.reason_example")}
                      value={reason.value}
                      onInput={(e) => (reason.value = (e.target as HTMLInputElement).value)}
                    />
                  </label>
                  <label class="field">
                    <span>{t(lang, "admin.repair_date")}</span>
                    <input
                      type="date"
                      name="repairDate"
                      value={repairDate.value}
                      onInput={(e) => (repairDate.value = (e.target as HTMLInputElement).value)}
                    />
                  </label>
                  <div class="form-buttons">
                    <button type="submit" class="primary danger-fill" disabled={rowBusy}>
                      {t(lang, "admin.ooo_submit")}
                    </button>
                    <button type="button" onClick={closeForm}>
                      {t(lang, "admin.cancel_edit")}
                    </button>
                  </div>
                </form>
              )}
            </li>
          );
        })}
      </ul>
      <datalist id="admin-rooms">
        {rooms.map((r) => <option key={r} value={r} />)}
      </datalist>
      <form class="inline add-form" onSubmit={add} aria-labelledby="add-machine-title">
        <h3 id="add-machine-title" class="form-title">{t(lang, "admin.add_machine")}</h3>
        <label class="field">
          <span>{t(lang, "admin.name")}</span>
          <input
            name="name"
            required
            maxLength={40}
            value={newName.value}
            aria-invalid={addError.value?.field === "name" ? "true" : undefined}
            aria-describedby={addError.value?.field === "name" ? "add-name-error" : undefined}
            onInput={(e) => (newName.value = (e.target as HTMLInputElement).value)}
          />
          {addError.value?.field === "name" && (
            <span class="field-error" id="add-name-error" role="alert">{addError.value.text}</span>
          )}
        </label>
        <label class="field field-narrow">
          <span>{t(lang, "admin.kind")}</span>
          <select
            name="kind"
            value={newKind.value}
            onChange={(e) => (newKind.value = (e.target as HTMLSelectElement).value as MachineKind)}
          >
            <option value="washer">{t(lang, "kind.washer")}</option>
            <option value="dryer">{t(lang, "kind.dryer")}</option>
          </select>
        </label>
        <label class="field">
          <span>{t(lang, "admin.room")}</span>
          <input
            name="room"
            required
            maxLength={40}
            list="admin-rooms"
            value={newRoom.value}
            onInput={(e) => (newRoom.value = (e.target as HTMLInputElement).value)}
          />
        </label>
        {addError.value && addError.value.field !== "name" && (
          <p class="banner error" role="alert">{addError.value.text}</p>
        )}
        <button type="submit" class="primary" disabled={busy.value === "add"}>
          {t(lang, "admin.add")}
        </button>
      </form>
    </section>
  );
}

export default island("AdminMachines", AdminMachines);
