/**
 * The bell in the top bar: the unread count (live), linking to the inbox,
 * and next to it the push switch for this browser with its panel:
 * on / off / blocked (with how to re-enable), iOS home-screen guidance or
 * "too old", the subscribe timeout message, and logout.
 *
 * The inbox link is an envelope, the push switch a bell: two controls that
 * look different. After sign-up and at the first cycle start one question
 * ("끝나면 알려 드릴까요?") leads to the permission prompt (or, on an iPhone
 * outside the home-screen app, to the install steps); it is asked once.
 *
 * Permission is requested only from a click (the switch or that question). On every app open a
 * granted subscription is re-sent to the server (client/push.ts).
 * @module
 */
import { useEffect, useRef } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { island } from "../lib/islands.ts";
import { type Lang, type MessageKey, t } from "../lib/i18n.ts";
import { startLiveLight, unread } from "../client/live.ts";
import type { EnableResult, PushState } from "../client/push.ts";
import { availability, pushWasEnabled } from "../client/env.ts";

/** The push code, loaded only when push is on here or the panel opens. */
const pushModule = () => import("../client/push.ts");

/** localStorage: set once the "끝나면 알려 드릴까요?" question was asked in this browser. */
export const ASKED_KEY = "ll.askedPush";
/** Window event the board sends when this resident starts a cycle. */
export const CYCLE_STARTED = "ll:cycle-started";

/** Props of the bell. */
export interface NotificationBellProps {
  lang: Lang;
  unread: number;
}

/** Glyph and label of each state: the state is never shown by colour alone. */
const LOOK: Record<PushState | "busy" | "unknown", { icon: string; label: MessageKey }> = {
  on: { icon: "🔔", label: "bell.on" },
  off: { icon: "🔕", label: "bell.off" },
  blocked: { icon: "⊘", label: "bell.blocked" },
  busy: { icon: "…", label: "bell.busy" },
  unknown: { icon: "🔕", label: "bell.off" },
  ios_install: { icon: "ⓘ", label: "ios.install_title" },
  ios_too_old: { icon: "🔕", label: "bell.unsupported" },
  unsupported: { icon: "🔕", label: "bell.unsupported" },
};

function errorText(lang: Lang, r: Extract<EnableResult, { ok: false }>): string {
  switch (r.error) {
    case "timeout":
      return t(lang, "bell.timeout");
    case "blocked":
      return t(lang, "bell.blocked_help");
    case "denied":
      return t(lang, "bell.denied");
    case "unsupported":
      return t(lang, "bell.unsupported");
    default:
      return t(lang, "bell.error", { reason: r.detail ?? "?" });
  }
}

function NotificationBell(props: NotificationBellProps) {
  const { lang } = props;
  const started = useSignal(false);
  const state = useSignal<PushState | "busy" | "unknown">("unknown");
  const open = useSignal(false);
  const message = useSignal<{ text: string; error: boolean } | null>(null);
  const panel = useRef<HTMLDivElement>(null);
  const toggle = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    startLiveLight(props.unread);
    started.value = true;
    const a = availability();
    if (a !== "ok") state.value = a;
    else if (
      pushWasEnabled() || ("Notification" in globalThis && Notification.permission === "granted")
    ) refresh(true);
    else if ("Notification" in globalThis && Notification.permission === "denied") {
      state.value = "blocked";
    } else state.value = "off";
  }, []);

  /** Re-send the subscription (app open) or just read the state (panel opened). */
  async function refresh(resync: boolean) {
    const push = await pushModule();
    const s = resync ? await push.resyncPush() : await push.pushState();
    if (state.value !== "busy") state.value = s;
  }

  // Close the panel on Escape or a click outside; give focus back to the switch.
  useEffect(() => {
    if (!open.value) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        open.value = false;
        toggle.current?.focus();
      }
    };
    const onClick = (e: MouseEvent) => {
      // The path as dispatched: the clicked button may be re-rendered away by now.
      const path = e.composedPath();
      if (!path.includes(panel.current!) && !path.includes(toggle.current!)) open.value = false;
    };
    document.addEventListener("keydown", onKey);
    document.addEventListener("click", onClick);
    panel.current?.querySelector<HTMLElement>("button, a")?.focus();
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("click", onClick);
    };
  }, [open.value]);

  async function turnOn() {
    state.value = "busy";
    message.value = null;
    const r = await (await pushModule()).enablePush();
    if (r.ok) {
      state.value = "on";
      message.value = {
        text: r.fellBack ? t(lang, "bell.fcm_failed") : t(lang, "bell.on"),
        error: false,
      };
    } else {
      state.value = r.error === "blocked" ? "blocked" : "off";
      // Blocked: the panel's help already says what to do; do not say it twice.
      message.value = r.error === "blocked" ? null : { text: errorText(lang, r), error: true };
    }
  }

  // One question, at the right moments: after signing up (/?welcome) and when a cycle starts
  // (the board's "ll:cycle-started"), while this browser could still say yes. Asked once.
  const ask = useSignal(false);
  useEffect(() => {
    const maybeAsk = () => {
      const s = state.value;
      if (s !== "off" && s !== "unknown" && s !== "ios_install") return;
      try {
        if (localStorage.getItem(ASKED_KEY)) return;
        localStorage.setItem(ASKED_KEY, "1");
      } catch { /* private mode: ask anyway */ }
      ask.value = true;
    };
    if (new URLSearchParams(location.search).has("welcome")) setTimeout(maybeAsk, 0);
    addEventListener(CYCLE_STARTED, maybeAsk);
    return () => removeEventListener(CYCLE_STARTED, maybeAsk);
  }, []);

  async function turnOff() {
    state.value = "busy";
    message.value = null;
    await (await pushModule()).disablePush();
    state.value = "off";
    message.value = { text: t(lang, "bell.off"), error: false };
  }

  const n = started.value ? unread.value : props.unread;
  const look = LOOK[state.value];
  const s = state.value;
  const askCard = ask.value && (
    <div class="push-ask" role="dialog" aria-labelledby="push-ask-title" data-push-ask>
      <p id="push-ask-title" class="push-ask-q">{t(lang, "ask.question")}</p>
      {s === "ios_install"
        ? <p>{t(lang, "ios.install_steps")}</p>
        : <p class="muted">{t(lang, "ask.why")}</p>}
      <div class="actions">
        {s !== "ios_install" && (
          <button
            type="button"
            class="primary"
            data-ask="yes"
            onClick={() => {
              ask.value = false;
              open.value = true;
              turnOn();
            }}
          >
            {t(lang, "ask.yes")}
          </button>
        )}
        <button type="button" data-ask="later" onClick={() => (ask.value = false)}>
          {t(lang, s === "ios_install" ? "toast.close" : "ask.later")}
        </button>
      </div>
    </div>
  );
  return (
    <div class="bellbox">
      {askCard}
      <a
        class="bell"
        href="/inbox"
        aria-label={`${t(lang, "inbox.title")} · ${n > 99 ? "99+" : n}`}
        title={t(lang, "bell.unread", { n })}
      >
        <span aria-hidden="true">✉</span>
        {n > 0 && <span class="badge" data-unread={n}>{n > 99 ? "99+" : n}</span>}
      </a>
      <button
        type="button"
        ref={toggle}
        class={`push-toggle push-${s}`}
        aria-expanded={open.value}
        aria-controls="push-panel"
        aria-label={`${t(lang, "bell.menu")}: ${t(lang, look.label)}`}
        data-push-state={s}
        onClick={() => {
          open.value = !open.value;
          if (open.value && state.value !== "busy" && availability() === "ok") refresh(false);
        }}
      >
        <span aria-hidden="true">{look.icon}</span>
        {s === "ios_install" && <span class="push-dot" aria-hidden="true">!</span>}
      </button>
      {open.value && (
        <div
          id="push-panel"
          class="push-panel"
          ref={panel}
          role="region"
          aria-label={t(lang, "bell.menu")}
        >
          <p class="push-status" data-push-state={s}>
            <span aria-hidden="true" class="push-status-icon">{look.icon}</span>
            <strong>{t(lang, look.label)}</strong>
          </p>
          {s === "ios_install" && (
            <div class="ios-guide" data-ios="install">
              <p>{t(lang, "ios.install_steps")}</p>
              <p class="ios-steps" aria-hidden="true">
                <span class="ios-share">⬆︎</span> → <span class="ios-add">＋</span>
              </p>
            </div>
          )}
          {s === "ios_too_old" && <p data-ios="too_old">{t(lang, "ios.too_old")}</p>}
          {s === "unsupported" && <p>{t(lang, "bell.unsupported")}</p>}
          {s === "blocked" && (
            <p class="help" data-help="blocked">{t(lang, "bell.blocked_help")}</p>
          )}
          {(s === "off" || s === "unknown" || s === "blocked") && (
            <button type="button" class="primary" data-push-action="enable" onClick={turnOn}>
              {t(lang, "bell.enable")}
            </button>
          )}
          {s === "busy" && (
            <button type="button" class="primary" disabled aria-busy="true">
              {t(lang, "bell.busy")}
            </button>
          )}
          {s === "on" && (
            <button type="button" data-push-action="disable" onClick={turnOff}>
              {t(lang, "bell.disable")}
            </button>
          )}
          {message.value && (
            <p
              class={`banner ${message.value.error ? "error" : "ok"}`}
              role={message.value.error ? "alert" : "status"}
              data-push-message
            >
              {message.value.text}
            </p>
          )}
          <p class="push-links">
            <a href="/inbox">{t(lang, "bell.open_inbox")}</a>
            <a href="/settings">{t(lang, "settings.title")}</a>
          </p>
          <button
            type="button"
            class="logout"
            data-action="logout"
            onClick={async () => (await pushModule()).logout()}
          >
            {t(lang, "nav.logout")}
          </button>
        </div>
      )}
    </div>
  );
}

export default island("NotificationBell", NotificationBell);
