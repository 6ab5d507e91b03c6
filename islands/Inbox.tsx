/**
 * The inbox: every notification the user got, whatever the channel, newest
 * first, with relative times. New ones arrive live (`notification` events of
 * the shared connection); reads made in another tab or device arrive as
 * `inbox.read` events. Mark one read, or all. The app icon's badge follows
 * the unread count (client/badge.ts).
 * @module
 */
import { useEffect, useRef } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { island } from "../lib/islands.ts";
import { type Lang, t } from "../lib/i18n.ts";
import type { InboxItem } from "../lib/types.ts";
import { api } from "../client/api.ts";
import { fetchInbox, now, onEvent, startLiveLight, status, unread } from "../client/live.ts";
import { relativeTime } from "../client/time.ts";
import { errorText } from "../client/errors.ts";
import { showAppBadge } from "../client/badge.ts";
import { applyReads, mergeFetched, noteReads, type Reads } from "../client/inbox_list.ts";

/** Props rendered by the server. */
export interface InboxProps {
  lang: Lang;
  items: InboxItem[];
  unread: number;
  serverTime: number;
}

function Inbox(props: InboxProps) {
  const { lang } = props;
  const items = useSignal<InboxItem[]>(props.items);
  const started = useSignal(false);
  const error = useSignal<string | null>(null);
  /** Every read this page has seen: a refetch answered from before one must not undo it. */
  const reads = useRef<Reads>(new Map());

  /** Note reads (here or from another device) and show them. */
  function applyRead(ids: Iterable<string>, at: number) {
    noteReads(reads.current, ids, at);
    items.value = applyReads(items.value, reads.current);
  }

  async function reload() {
    try {
      const r = await fetchInbox(() =>
        api<{ items: InboxItem[]; unread: number; cursor: string }>("GET", "/api/notifications")
      );
      // Keep items that arrived live, and reads made, while the list was being fetched.
      items.value = mergeFetched(items.value, r.items, reads.current);
    } catch { /* offline: keep what we show */ }
  }

  useEffect(() => {
    startLiveLight(props.unread);
    started.value = true;
    const stop = onEvent((e) => {
      if (e.type === "notification") {
        const item = (e.data as { item: InboxItem }).item;
        if (!items.value.some((i) => i.id === item.id)) items.value = [item, ...items.value];
      } else if (e.type === "inbox.read") {
        const { ids, at } = e.data as { ids: string[]; at: number };
        applyRead(ids, at);
      }
    });
    // After a reconnect whose catch-up could not be replayed, fetch the list again.
    let wasConnected = status.value === "connected";
    const stopStatus = status.subscribe((s) => {
      if (s === "connected" && !wasConnected) reload();
      wasConnected = s === "connected";
    });
    return () => {
      stop();
      stopStatus();
    };
  }, []);

  async function markRead(ids?: string[]) {
    error.value = null;
    try {
      await api("POST", "/api/notifications/read", ids ? { ids } : {});
      applyRead(ids ?? items.value.map((i) => i.id), Date.now());
      unread.value = items.value.filter((i) => !i.readAt).length;
    } catch (e) {
      error.value = errorText(lang, e);
    }
  }

  /** Opening an item marks it read; `keepalive` lets the request outlive the page. */
  function markReadOnLeave(id: string) {
    fetch("/api/notifications/read", {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ids: [id] }),
    }).catch(() => {});
  }

  const at = started.value ? now.value : props.serverTime;
  const list = items.value;
  const count = list.filter((i) => !i.readAt).length;
  // The app icon shows what this list shows (cleared once everything is read).
  useEffect(() => showAppBadge(count), [count]);

  return (
    <section class="inbox-page" aria-labelledby="inbox-title">
      <div class="page-head">
        <h1 id="inbox-title">{t(lang, "inbox.title")}</h1>
        {count > 0 && (
          <button type="button" data-action="mark-all" onClick={() => markRead()}>
            {t(lang, "inbox.mark_all")}
          </button>
        )}
      </div>
      <p class="muted" role="status" data-unread-count={count}>
        {count > 0
          ? t(lang, "inbox.unread_count", { n: count })
          : list.length > 0
          ? t(lang, "inbox.all_read")
          : ""}
      </p>
      {error.value && <p class="banner error" role="alert">{error.value}</p>}
      {list.length === 0 && <p class="empty">{t(lang, "inbox.empty")}</p>}
      <ul class="inbox">
        {list.map((i) => (
          <li
            key={i.id}
            class={`${i.readAt ? "read" : "unread"}${i.critical ? " critical" : ""}`}
            data-item={i.id}
            data-read={i.readAt ? "1" : "0"}
          >
            <a
              href={i.url}
              onClick={() => {
                if (i.readAt) return;
                markReadOnLeave(i.id);
                showAppBadge(count - 1);
              }}
            >
              <span class="inbox-line">
                <span class="inbox-state">
                  <span aria-hidden="true">{i.readAt ? "○" : "●"}</span>
                  <span class="sr-only">
                    {t(lang, i.readAt ? "inbox.state_read" : "inbox.state_unread")}
                  </span>
                </span>
                <strong>{i.title}</strong>
              </span>
              <span>{i.body}</span>
              <time dateTime={new Date(i.createdAt).toISOString()}>
                {relativeTime(lang, i.createdAt, at)}
              </time>
            </a>
            {!i.readAt && (
              <button
                type="button"
                class="mark-read"
                data-action="mark-read"
                onClick={() => markRead([i.id])}
              >
                {t(lang, "inbox.mark_read")}
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

export default island("Inbox", Inbox);
