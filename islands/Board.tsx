/**
 * The live board: washers and dryers in two groups with their free counts
 * (in a building with several laundry rooms, those groups per room, the
 * room this resident pinned first: remembered in localStorage), every
 * machine with its state, owner-relative wording, countdown (and the
 * end time on the clock) or overdue time, and the buttons that make sense for
 * this resident now. Updates arrive over the shared live connection.
 *
 * Each room's washers and dryers have a waitlist: its length, this
 * resident's place, and a button to queue or leave; a machine offered to
 * this resident says so with 잡기 / 양보하기, one offered to someone else is
 * not free for anyone else.
 *
 * Feedback is drawn where it belongs: a command's result on the machine's
 * card, a queue's on its group, always translated (`err.<code>`), never the
 * API's English message. While offline the buttons are off, with the reason.
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { island } from "../lib/islands.ts";
import {
  clockTime,
  freeCounts,
  machineView,
  type ViewAction,
  type WaitlistView,
} from "../lib/board_view.ts";
import { formatDuration, type Lang, type MessageKey, t } from "../lib/i18n.ts";
import type { Machine, MachineKind } from "../lib/types.ts";
import { api, ApiError } from "../client/api.ts";
import { errorText } from "../client/errors.ts";
import { machines, now, queues, stale, startLive, status } from "../client/live.ts";

/** Props rendered by the server. */
export interface BoardProps {
  machines: Machine[];
  /** The building's laundry rooms in board order. */
  rooms?: string[];
  /** The building's name (shown above the board). */
  buildingName?: string;
  cursor: string;
  serverTime: number;
  me: { id: string; name: string };
  lang: Lang;
  settings: { minuteMs: number; pickupGraceMinutes: number; nudgeCooldownMinutes?: number };
  /** The building's waitlists, residents in order. */
  queues: WaitlistView[];
  focus?: string;
}

const DEFAULT_MINUTES: Record<MachineKind, number> = { washer: 40, dryer: 60 };
/** How long 지금 종료 stays armed for its confirming second press. */
export const FINISH_CONFIRM_MS = 5000;
const KINDS = ["washer", "dryer"] as const;
/** localStorage key of the laundry room this resident pinned to the top. */
export const ROOM_KEY = "ll_room";

interface Note {
  text: string;
  error: boolean;
}

function Board(props: BoardProps) {
  const { lang } = props;
  const started = useSignal(false);
  /** Feedback per machine id (on its card) and per kind (on its group). */
  const notes = useSignal<Record<string, Note>>({});
  const busy = useSignal<string | null>(null);
  const startFor = useSignal<string | null>(null);
  const minutes = useSignal(40);
  const armed = useSignal<string | null>(null);
  /** Machines this resident asked to collect, until when asking again can work. */
  const nudged = useSignal<Record<string, number>>({});
  /** The pinned laundry room (read after hydration: the server cannot know it). */
  const pinned = useSignal<string | null>(null);

  // Server render and first client render use the props; afterwards the live signals.
  const list = started.value ? machines.value : props.machines;
  const qs = started.value ? queues.value : props.queues;
  const at = started.value ? now.value : props.serverTime;
  const offline = started.value && status.value === "offline";

  useEffect(() => {
    startLive({
      cursor: props.cursor,
      machines: props.machines,
      queues: props.queues,
      serverTime: props.serverTime,
    });
    started.value = true;
    try {
      pinned.value = localStorage.getItem(ROOM_KEY);
    } catch { /* storage off: nothing pinned */ }
    // `/?m=<id>` (a machine's QR label, a notification): bring its card into view.
    if (props.focus) {
      document.getElementById(`m-${props.focus}`)?.scrollIntoView({ block: "center" });
    }
  }, []);

  useEffect(() => {
    if (!armed.value) return;
    const timer = setTimeout(() => (armed.value = null), FINISH_CONFIRM_MS);
    return () => clearTimeout(timer);
  }, [armed.value]);

  function note(key: string, text: string | null, error = false) {
    const next = { ...notes.value };
    if (text === null) delete next[key];
    else next[key] = { text, error };
    notes.value = next;
  }

  async function act(m: Machine, action: ViewAction, body: Record<string, unknown> = {}) {
    if (action === "start" && !("minutes" in body)) {
      minutes.value = DEFAULT_MINUTES[m.kind];
      startFor.value = m.id;
      return;
    }
    if (action === "finish" && armed.value !== m.id) {
      armed.value = m.id;
      note(m.id, t(lang, "board.finish_confirm"));
      return;
    }
    armed.value = null;
    busy.value = m.id;
    note(m.id, null);
    try {
      await api("POST", `/api/machines/${m.id}/${action === "take" ? "hold" : action}`, body);
      if (action === "nudge") {
        note(m.id, t(lang, "board.nudged"));
        const cooldown = (props.settings.nudgeCooldownMinutes ?? 10) * props.settings.minuteMs;
        nudged.value = { ...nudged.value, [m.id]: Date.now() + cooldown };
      }
      startFor.value = null;
      // The bell asks once whether to tell this resident when it ends.
      if (action === "start") dispatchEvent(new Event("ll:cycle-started"));
    } catch (e) {
      note(m.id, errorText(lang, e), true);
      if (action === "nudge" && e instanceof ApiError && e.retryAfterSec) {
        nudged.value = { ...nudged.value, [m.id]: Date.now() + e.retryAfterSec * 1000 };
      }
    } finally {
      busy.value = null;
    }
  }

  function pin(room: string) {
    const next = pinned.value === room ? null : room;
    pinned.value = next;
    try {
      next ? localStorage.setItem(ROOM_KEY, next) : localStorage.removeItem(ROOM_KEY);
    } catch { /* kept for this page only */ }
  }

  /** Queue for `kind` machines in `room`, or leave the queue one is in. */
  async function toggleQueue(room: string, kind: MachineKind, inLine: boolean) {
    const key = `${room}|${kind}`;
    try {
      if (inLine) await api("DELETE", `/api/waitlist/${kind}`);
      else await api("POST", "/api/waitlist", { room, kind });
      note(key, inLine ? null : t(lang, "board.queued"));
    } catch (e) {
      note(key, errorText(lang, e), true);
    }
  }

  const connLabel = status.value === "connected"
    ? t(lang, "conn.connected")
    : status.value === "offline"
    ? t(lang, "conn.offline")
    : status.value === "connecting"
    ? t(lang, "conn.connecting")
    : t(lang, "conn.reconnecting");
  const views = list.map((m) => ({ m, v: machineView(m, props.me.id, at, lang, props.settings) }));
  // Laundry rooms that have machines, in the building's order, the pinned one first.
  const rooms = [...new Set([...(props.rooms ?? []), ...list.map((m) => m.room)])]
    .filter((r) => list.some((m) => m.room === r));
  const p = pinned.value;
  if (p && rooms.includes(p)) rooms.sort((a, b) => +(b === p) - +(a === p));

  const noteEl = (n?: Note) =>
    n
      ? (
        <p class={`note ${n.error ? "error" : "ok"}`} role={n.error ? "alert" : "status"} data-note>
          {n.text}
        </p>
      )
      : null;

  const card = ({ m, v }: (typeof views)[number]) => {
    const nudgedUntil = nudged.value[m.id] ?? 0;
    const endClock = started.value && v.endsAt ? clockTime(v.endsAt, lang) : null;
    return (
      <li
        key={m.id}
        id={`m-${m.id}`}
        class={`card state-${v.state}${v.mine ? " mine" : ""}${v.offered ? " offered" : ""}${
          props.focus === m.id ? " focus" : ""
        }`}
        data-machine={m.id}
        data-state={v.state}
      >
        <div class="card-top">
          <span class="kind-icon" aria-hidden="true">{m.kind === "washer" ? "🫧" : "♨"}</span>
          <h3 class="name">{v.name}</h3>
          <span class="state">
            <span aria-hidden="true" class="state-icon">{v.icon}</span> {v.stateLabel}
          </span>
        </div>
        {v.ownerLabel && <p class="owner">{v.ownerLabel}</p>}
        {v.timeText && (
          <p class="time" data-time>
            {v.timeText}
            {endClock && (
              <span class="end-clock" data-end-clock>
                {t(lang, "time.ends_at", { time: endClock })}
              </span>
            )}
          </p>
        )}
        {v.nudgeOpensIn !== undefined && (
          <p class="hint" data-nudge-opens>
            {t(lang, "board.nudge_opens", { time: formatDuration(v.nudgeOpensIn) })}
          </p>
        )}
        {v.progress !== null && (
          <div
            class="progress"
            role="progressbar"
            aria-label={v.timeText}
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={Math.round(v.progress * 100)}
          >
            {/* CSP (style-src 'self') refuses style attributes; CSSOM writes are allowed. */}
            <span
              ref={(el) => {
                if (el) el.style.width = `${Math.round(v.progress! * 100)}%`;
              }}
            />
          </div>
        )}
        {v.reason && (
          <p class="reason">{t(lang, "board.out_of_order_reason", { reason: v.reason })}</p>
        )}
        {v.repairText && <p class="reason" data-repair>{v.repairText}</p>}
        {startFor.value === m.id
          ? (
            <form
              class="start-form"
              onSubmit={(e) => {
                e.preventDefault();
                act(m, "start", { minutes: minutes.value });
              }}
            >
              <label>
                {t(lang, m.kind === "dryer" ? "start.minutes_dryer" : "start.minutes")}
                <input
                  type="number"
                  inputMode="numeric"
                  name="minutes"
                  min={1}
                  max={240}
                  required
                  value={minutes.value}
                  onInput={(e) => (minutes.value = Number((e.target as HTMLInputElement).value))}
                />
              </label>
              <button type="submit" class="primary" disabled={busy.value === m.id || offline}>
                {t(lang, "start.submit")}
              </button>
              <button type="button" onClick={() => (startFor.value = null)}>
                {t(lang, "start.close")}
              </button>
            </form>
          )
          : v.actions.length > 0 && (
            <div class="actions">
              {v.actions.map((a) => {
                const waiting = a === "nudge" && at < nudgedUntil;
                const sure = a === "finish" && armed.value === m.id;
                return (
                  <button
                    type="button"
                    key={a}
                    class={a === "start" || a === "hold" || a === "take" || a === "collect" || sure
                      ? "primary"
                      : ""}
                    data-action={a}
                    data-armed={sure ? "true" : undefined}
                    disabled={busy.value === m.id || offline || waiting}
                    onClick={() => act(m, a, a === "extend" ? { minutes: 10 } : {})}
                  >
                    {a === "extend"
                      ? t(lang, "action.extend", { n: 10 })
                      : sure
                      ? t(lang, "action.finish_sure")
                      : waiting
                      ? t(lang, "board.nudge_sent")
                      : t(lang, `action.${a}` as MessageKey)}
                  </button>
                );
              })}
            </div>
          )}
        {noteEl(notes.value[m.id])}
        <a class="report-link" href={`/report?m=${m.id}`}>{t(lang, "report.button")}</a>
      </li>
    );
  };

  return (
    <section class="board" aria-labelledby="board-title">
      <div class="board-head">
        <h1 id="board-title">{t(lang, "board.title")}</h1>
        <span
          class={`conn conn-${started.value ? status.value : "connecting"}`}
          role="status"
          data-status={started.value ? status.value : "connecting"}
        >
          <span aria-hidden="true" class="dot" />
          {started.value ? connLabel : t(lang, "conn.connecting")}
        </span>
      </div>
      {stale.value && <p class="banner warn" role="status">{t(lang, "board.stale")}</p>}
      {offline && (
        <p class="banner warn" role="status" data-offline-actions>
          {t(lang, "board.offline_actions")}
        </p>
      )}
      {views.length === 0 && <p class="empty">{t(lang, "board.empty")}</p>}
      {rooms.length > 1
        ? rooms.map((room, i) => (
          <section class="room" key={room} data-room={room} aria-label={room}>
            <div class="room-head">
              <h2>{room}</h2>
              <button
                type="button"
                class="pin-btn"
                aria-pressed={p === room}
                data-pin={room}
                onClick={() =>
                  pin(room)}
              >
                {t(lang, "board.pin_room")}
              </button>
            </div>
            {groups(
              views.filter(({ m }) =>
                m.room === room
              ),
              `-${i}`,
              room,
            )}
          </section>
        ))
        : groups(views, "", rooms[0])}
    </section>
  );

  /** The washer and dryer groups of `vs` in `room` (`sfx` makes ids unique per room; rooms nest them). */
  function groups(vs: typeof views, sfx: string, room: string) {
    const H = sfx ? "h3" : "h2";
    return KINDS.map((kind) => {
      const group = vs.filter(({ m }) => m.kind === kind);
      if (group.length === 0) return null;
      const c = freeCounts(group.map(({ v }) => v))[kind];
      const line = qs.find((q) => q.room === room && q.kind === kind)?.queue ?? [];
      const place = line.indexOf(props.me.id) + 1;
      const key = `${room}|${kind}`;
      return (
        <section class="group" key={kind} data-group={kind} aria-labelledby={`g-${kind}${sfx}`}>
          <div class="group-head">
            <H id={`g-${kind}${sfx}`}>
              {t(lang, `group.${kind}`)}{" "}
              <span class="free-count" data-free-count>
                {t(lang, "board.free_count", { free: c.free, total: c.total })}
              </span>
            </H>
            {(line.length > 0 || c.free === 0) && (
              <span class="queue" data-queue={line.length} data-place={place || undefined}>
                {line.length > 0 && (place
                  ? t(lang, "board.queue_place", { n: line.length, place })
                  : t(lang, "board.queue_len", { n: line.length }))}
                <button
                  type="button"
                  class="watch-btn"
                  aria-pressed={place > 0}
                  data-queue-btn={kind}
                  disabled={offline}
                  onClick={() =>
                    toggleQueue(room, kind, place > 0)}
                >
                  {place
                    ? t(lang, "action.unqueue")
                    : t(lang, "action.queue", { kind: t(lang, `kind.${kind}`) })}
                </button>
              </span>
            )}
          </div>
          {noteEl(notes.value[key])}
          <ul class="machines">{group.map(card)}</ul>
        </section>
      );
    });
  }
}

export default island("Board", Board);
