/**
 * The bell in the top bar: unread count (live), linking to the inbox.
 * (The push permission UX is added by the PWA work.)
 * @module
 */
import { useEffect } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { island } from "../lib/islands.ts";
import { type Lang, t } from "../lib/i18n.ts";
import { startLiveLight, unread } from "../client/live.ts";

/** Props of the bell. */
export interface NotificationBellProps {
  lang: Lang;
  unread: number;
}

function NotificationBell(props: NotificationBellProps) {
  const started = useSignal(false);
  useEffect(() => {
    startLiveLight(props.unread);
    started.value = true;
  }, []);
  const n = started.value ? unread.value : props.unread;
  return (
    <a class="bell" href="/inbox" aria-label={t(props.lang, "bell.unread", { n })}>
      <span aria-hidden="true">🔔</span>
      {n > 0 && <span class="badge" data-unread={n}>{n > 99 ? "99+" : n}</span>}
    </a>
  );
}

export default island("NotificationBell", NotificationBell);
