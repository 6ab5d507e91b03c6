/**
 * The live board: every washer and dryer with its state, owner-relative
 * wording, countdown / overdue time and the buttons that make sense for this
 * resident now. Updates arrive over the shared live connection.
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { island } from "../lib/islands.ts";
import { machineView, type ViewAction } from "../lib/board_view.ts";
import { type Lang, t } from "../lib/i18n.ts";
import type { Machine, MachineKind } from "../lib/types.ts";
import { api, ApiError } from "../client/api.ts";
import { machines, now, stale, startLive, status } from "../client/live.ts";

/** Props rendered by the server. */
export interface BoardProps {
  machines: Machine[];
  cursor: string;
  serverTime: number;
  me: { id: string; name: string };
  lang: Lang;
  settings: { minuteMs: number; pickupGraceMinutes: number };
  watches: MachineKind[];
  focus?: string;
}

const DEFAULT_MINUTES: Record<MachineKind, number> = { washer: 40, dryer: 60 };

function Board(props: BoardProps) {
  const { lang } = props;
  const started = useSignal(false);
  const message = useSignal<{ text: string; error: boolean } | null>(null);
  const busy = useSignal<string | null>(null);
  const startFor = useSignal<string | null>(null);
  const minutes = useSignal(40);
  const watches = useSignal<MachineKind[]>(props.watches);

  // Server render and first client render use the props; afterwards the live signals.
  const list = started.value ? machines.value : props.machines;
  const at = started.value ? now.value : props.serverTime;

  useEffect(() => {
    startLive({
      cursor: props.cursor,
      machines: props.machines,
      serverTime: props.serverTime,
    });
    started.value = true;
  }, []);

  async function act(m: Machine, action: ViewAction, body: Record<string, unknown> = {}) {
    if (action === "start" && !("minutes" in body)) {
      minutes.value = DEFAULT_MINUTES[m.kind];
      startFor.value = m.id;
      return;
    }
    busy.value = m.id;
    message.value = null;
    try {
      await api("POST", `/api/machines/${m.id}/${action}`, body);
      if (action === "nudge") message.value = { text: t(lang, "board.nudged"), error: false };
      startFor.value = null;
    } catch (e) {
      const text = e instanceof ApiError && e.code !== "network"
        ? e.message
        : t(lang, "error.network");
      message.value = { text, error: true };
    } finally {
      busy.value = null;
    }
  }

  async function toggleWatch(kind: MachineKind) {
    const on = watches.value.includes(kind);
    try {
      if (on) await api("DELETE", `/api/watches/${kind}`);
      else await api("POST", "/api/watches", { kind });
      watches.value = on ? watches.value.filter((k) => k !== kind) : [...watches.value, kind];
      if (!on) {
        message.value = {
          text: t(lang, "board.watching", { kind: t(lang, `kind.${kind}`) }),
          error: false,
        };
      }
    } catch (e) {
      message.value = { text: e instanceof ApiError ? e.message : String(e), error: true };
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
      {message.value && (
        <p
          class={`banner ${message.value.error ? "error" : "ok"}`}
          role={message.value.error ? "alert" : "status"}
        >
          {message.value.text}
        </p>
      )}
      {views.length === 0 && <p class="empty">{t(lang, "board.empty")}</p>}
      <ul class="machines">
        {views.map(({ m, v }) => (
          <li
            key={m.id}
            id={`m-${m.id}`}
            class={`card state-${v.state}${v.mine ? " mine" : ""}${
              props.focus === m.id ? " focus" : ""
            }`}
            data-machine={m.id}
            data-state={v.state}
          >
            <div class="card-top">
              <span class="kind-icon" aria-hidden="true">{m.kind === "washer" ? "🫧" : "♨"}</span>
              <h2 class="name">{v.name}</h2>
              <span class="state">
                <span aria-hidden="true" class="state-icon">{v.icon}</span> {v.stateLabel}
              </span>
            </div>
            {v.ownerLabel && <p class="owner">{v.ownerLabel}</p>}
            {v.timeText && (
              <p class="time" data-time>
                {v.timeText}
              </p>
            )}
            {v.progress !== null && (
              <div
                class="progress"
                role="progressbar"
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
                    {t(lang, "start.minutes")}
                    <input
                      type="number"
                      inputMode="numeric"
                      min={1}
                      max={240}
                      required
                      value={minutes.value}
                      onInput={(
                        e,
                      ) => (minutes.value = Number((e.target as HTMLInputElement).value))}
                    />
                  </label>
                  <button type="submit" class="primary" disabled={busy.value === m.id}>
                    {t(lang, "start.submit")}
                  </button>
                  <button type="button" onClick={() => (startFor.value = null)}>
                    {t(lang, "action.release")}
                  </button>
                </form>
              )
              : v.actions.length > 0 && (
                <div class="actions">
                  {v.actions.map((a) => (
                    <button
                      type="button"
                      key={a}
                      class={a === "start" || a === "hold" || a === "collect" ? "primary" : ""}
                      data-action={a}
                      disabled={busy.value === m.id}
                      onClick={() => act(m, a, a === "extend" ? { minutes: 10 } : {})}
                    >
                      {a === "extend"
                        ? t(lang, "action.extend", { n: 10 })
                        : t(lang, `action.${a}`)}
                    </button>
                  ))}
                </div>
              )}
          </li>
        ))}
      </ul>
      <div class="watch">
        {(["washer", "dryer"] as const).map((kind) => {
          const on = watches.value.includes(kind);
          return (
            <button
              type="button"
              key={kind}
              aria-pressed={on}
              data-watch={kind}
              onClick={() => toggleWatch(kind)}
            >
              {t(lang, on ? "action.unwatch" : "action.watch", { kind: t(lang, `kind.${kind}`) })}
            </button>
          );
        })}
      </div>
    </section>
  );
}

export default island("Board", Board);
