/**
 * Pieces shared by the admin islands.
 *
 * The default export is the two-step confirm button of destructive admin
 * actions (remove a machine, disable a resident, revoke an invite, cancel a
 * notice): the first press arms it ("정말요?"), a second press within a few
 * seconds runs the action; leaving it (blur, Escape, timeout) disarms it. It
 * is an island only so that it may live in `islands/`: the admin islands
 * render it inside themselves (where it may take function props).
 *
 * Named exports: {@link errorText} (the API's `{error:{code}}` translated, for a
 * banner), {@link formatWhen} (dates in the user's language and time zone),
 * {@link Flash} (the result banner of an action).
 * @module
 */
import { signal, useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import { island } from "../lib/islands.ts";
import { type Lang, t } from "../lib/i18n.ts";
import { errorText as translatedError } from "../client/errors.ts";

/** How long an armed confirm button waits for the second press. */
export const CONFIRM_WINDOW_MS = 5000;

/** A message shown after an admin action. */
export interface FlashMessage {
  text: string;
  error: boolean;
}

/** The text to show for a failed API call: its code translated (`err.<code>`), with any wait. */
export function errorText(e: unknown, lang: Lang): string {
  return translatedError(lang, e);
}

/** "11월 22일 (토) 오후 3:00" / "Sat, Nov 22, 3:00 PM" (with the year when not this year). */
export function formatWhen(ms: number, lang: Lang, now = Date.now()): string {
  const d = new Date(ms);
  const sameYear = d.getFullYear() === new Date(now).getFullYear();
  return new Intl.DateTimeFormat(lang === "ko" ? "ko-KR" : "en-US", {
    year: sameYear ? undefined : "numeric",
    month: "short",
    day: "numeric",
    weekday: "short",
    hour: "numeric",
    minute: "2-digit",
  }).format(d);
}

/** "2025. 11. 22." / "Nov 22, 2025". */
export function formatDate(ms: number, lang: Lang): string {
  return new Intl.DateTimeFormat(lang === "ko" ? "ko-KR" : "en-US", { dateStyle: "medium" })
    .format(new Date(ms));
}

/** The newest flash shown on the page: the admin page shows one at a time, not one per panel. */
const latestFlash = signal<FlashMessage | null>(null);

/** The result banner of an action (an alert when it is an error); an older one elsewhere hides. */
export function Flash(props: { flash: FlashMessage | null }) {
  const f = props.flash;
  useEffect(() => {
    if (f) latestFlash.value = f;
  }, [f]);
  if (!f || (latestFlash.value !== null && latestFlash.value !== f)) return null;
  return (
    <p class={`banner ${f.error ? "error" : "ok"}`} role={f.error ? "alert" : "status"}>
      {f.text}
    </p>
  );
}

/** Props of the confirm button. */
export interface ConfirmButtonProps {
  lang: Lang;
  /** The action's label ("삭제"). */
  label: string;
  /** Runs on the second press. */
  onConfirm: () => void | Promise<void>;
  disabled?: boolean;
  /** Extra class names (it is always `danger`). */
  class?: string;
  /** `data-action` for tests and styling. */
  action?: string;
}

function ConfirmButton(props: ConfirmButtonProps) {
  const armed = useSignal(false);
  const timer = useRef<ReturnType<typeof setTimeout>>();
  useEffect(() => () => clearTimeout(timer.current), []);

  function disarm() {
    clearTimeout(timer.current);
    armed.value = false;
  }

  function press() {
    if (!armed.value) {
      armed.value = true;
      clearTimeout(timer.current);
      timer.current = setTimeout(disarm, CONFIRM_WINDOW_MS);
      return;
    }
    disarm();
    props.onConfirm();
  }

  return (
    <span class="confirm">
      <button
        type="button"
        class={`danger${armed.value ? " armed" : ""}${props.class ? " " + props.class : ""}`}
        data-action={props.action}
        data-armed={armed.value ? "" : undefined}
        disabled={props.disabled}
        aria-label={armed.value ? `${t(props.lang, "admin.confirm")} ${props.label}` : undefined}
        onClick={press}
        onBlur={disarm}
        onKeyDown={(e) => {
          if (e.key === "Escape") disarm();
        }}
      >
        {armed.value ? t(props.lang, "admin.confirm") : props.label}
      </button>
      <span class="sr-only" role="status">
        {armed.value ? t(props.lang, "admin.confirm_hint") : ""}
      </span>
    </span>
  );
}

export default island("AdminConfirm", ConfirmButton);
