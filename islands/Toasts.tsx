/**
 * In-app delivery: a notification that arrives while a page is open (the
 * `toast` signal of client/live.ts) shows as a toast at the bottom of the
 * screen, announced politely to screen readers (`role="status"`), dismissed
 * by its button or by itself after a while (critical notices stay until
 * dismissed). At most three at a time; a newer one with the same tag
 * replaces the older one, like push notifications collapse.
 * @module
 */
import { useEffect, useRef } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { island } from "../lib/islands.ts";
import { type Lang, t } from "../lib/i18n.ts";
import type { InboxItem } from "../lib/types.ts";
import { toast } from "../client/live.ts";

/** Props of the toasts. */
export interface ToastsProps {
  lang: Lang;
}

/** How long a toast stays (ms). */
export const TOAST_MS = 8000;
const MAX_TOASTS = 3;

function Toasts({ lang }: ToastsProps) {
  const items = useSignal<InboxItem[]>([]);
  const timers = useRef(new Map<string, ReturnType<typeof setTimeout>>());

  function dismiss(id: string) {
    clearTimeout(timers.current.get(id));
    timers.current.delete(id);
    items.value = items.value.filter((i) => i.id !== id);
  }

  useEffect(() => {
    const stop = toast.subscribe((item) => {
      if (!item || items.value.some((i) => i.id === item.id)) return;
      const rest = items.value.filter((i) => !item.tag || i.tag !== item.tag);
      items.value = [item, ...rest].slice(0, MAX_TOASTS);
      if (!item.critical) {
        timers.current.set(item.id, setTimeout(() => dismiss(item.id), TOAST_MS));
      }
    });
    return () => {
      stop();
      for (const timer of timers.current.values()) clearTimeout(timer);
    };
  }, []);

  return (
    <div class="toasts" role="status" aria-live="polite" aria-label={t(lang, "toast.region")}>
      {items.value.map((item) => (
        <div
          key={item.id}
          class={`toast${item.critical ? " critical" : ""}`}
          data-toast={item.id}
          data-kind={item.kind}
        >
          <span class="toast-icon" aria-hidden="true">{item.critical ? "⚠" : "🔔"}</span>
          <div class="toast-text">
            <strong>{item.title}</strong>
            {item.body && <span>{item.body}</span>}
          </div>
          <div class="toast-actions">
            {item.url && (
              <a class="toast-open" href={item.url}>
                {t(lang, "toast.open")}
              </a>
            )}
            <button type="button" onClick={() => dismiss(item.id)}>
              <span aria-hidden="true">✕</span>
              <span class="sr-only">{t(lang, "toast.close")}</span>
            </button>
          </div>
        </div>
      ))}
    </div>
  );
}

export default island("Toasts", Toasts);
