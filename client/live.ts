/**
 * The live connection shared by every island on a page: one WebSocket to
 * `/ws?since=<cursor>`, reconnecting with exponential backoff and full jitter
 * (0.5 s up to 20 s), resuming from its cursor, reporting page visibility,
 * answering heartbeats, and correcting for the phone's clock with the
 * server's. State is exposed as signals.
 * @module
 */
import { signal } from "@preact/signals";
import { applyBoardEvent, applyWaitEvent, type WaitlistView } from "../lib/board_view.ts";
import type { LogEvent } from "../lib/db/records.ts";
import type { ServerMessage } from "../lib/protocol.ts";
import { advanceCursor, WS_PROTOCOL } from "../lib/cursor.ts";
import type { InboxItem, Machine } from "../lib/types.ts";
import { UnreadCounter } from "./unread.ts";
import { LOGOUT_EVENT } from "./env.ts";

/** Connection state shown to the user (연결됨 / 재연결 중…). */
export type LiveStatus = "connecting" | "connected" | "reconnecting" | "offline";

/** Backoff bounds (SPEC section 4). */
export const BACKOFF_MIN_MS = 500;
export const BACKOFF_MAX_MS = 20_000;
/** Reconnect if nothing (not even a ping) arrived for this long. */
export const SILENCE_MS = 60_000;

/** Full-jitter exponential backoff: a random delay in [0, min(max, min·2^attempt)], at least min. */
export function backoffDelay(attempt: number, random = Math.random): number {
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt);
  return Math.max(BACKOFF_MIN_MS, Math.floor(random() * cap));
}

/** Machines on the board. */
export const machines = signal<Machine[]>([]);
/** The building's waitlists (each resident in order), kept by the board's events. */
export const queues = signal<WaitlistView[]>([]);
/** Connection state. */
export const status = signal<LiveStatus>("connecting");
/** serverTime − Date.now(), so countdowns end on time on a phone with a wrong clock. */
export const clockOffset = signal(0);
/** The current server time, ticking every second. */
export const now = signal(Date.now());
/** Unread inbox count. */
export const unread = signal(0);
/** The newest notification that arrived in-app (for toasts). */
export const toast = signal<InboxItem | null>(null);
/** True while showing data from the last snapshot (offline). */
export const stale = signal(false);

const listeners = new Set<(e: LogEvent) => void>();
/** Subscribe to every event (board and own); returns an unsubscribe function. */
export function onEvent(fn: (e: LogEvent) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

let cursor = "";
let socket: WebSocket | null = null;
let attempt = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
let silenceTimer: ReturnType<typeof setTimeout> | undefined;
let started = false;
// A logout in progress (client/push.ts) navigates to /login itself; the socket
// it closes must not start a second navigation that aborts the first.
let leaving = false;
addEventListener(LOGOUT_EVENT, () => (leaving = true));

/**
 * Leave for `to`: `/login` when the session ended (unless a logout is
 * already going there), `/` (the user's own board) when this page's building
 * is no longer theirs to enter (admin rights removed).
 */
function leave(to: string): void {
  status.value = "offline";
  if (!leaving) location.assign(to);
}

const SNAPSHOT_KEY = "ll.board";

function saveSnapshot(): void {
  try {
    localStorage.setItem(
      SNAPSHOT_KEY,
      JSON.stringify({ cursor, machines: machines.value, queues: queues.value }),
    );
  } catch { /* storage full or disabled */ }
}

/** The building the page was served for (`<body data-page-building>`, components/Layout.tsx). */
const pageBuilding = () => document.body.dataset.pageBuilding ?? "";

/** Keeps `unread` right while a count is being fetched (see client/unread.ts). */
const unreadCounter = new UnreadCounter(() => unread.value, (n) => (unread.value = n));

/** Fetch the inbox (or its unread count); changes arriving meanwhile are neither lost nor counted twice. */
export function fetchInbox<T extends { unread: number; cursor: string }>(
  fetchFn: () => Promise<T>,
): Promise<T> {
  return unreadCounter.fetch(fetchFn);
}

/** Apply a board event to the machines and the waitlists. */
function boardEvent(e: LogEvent): void {
  if (e.scope !== "board") return;
  machines.value = applyBoardEvent(machines.value, e);
  queues.value = applyWaitEvent(queues.value, e);
}

function handleEvent(e: LogEvent): void {
  boardEvent(e);
  if (e.type === "notification") {
    const item = (e.data as { item: InboxItem }).item;
    if (!item.readAt) unreadCounter.change(e.seq, 1);
    toast.value = item;
    // Confirm it was shown; otherwise the server falls back to a push.
    if (document.visibilityState === "visible" && socket?.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "ack", ids: [item.id] }));
    }
  }
  if (e.type === "inbox.read") {
    // Read here or on another device: only unread items are listed in `ids`.
    const ids = (e.data as { ids?: string[] } | undefined)?.ids ?? [];
    unreadCounter.change(e.seq, -ids.length);
  }
  for (const fn of listeners) fn(e);
}

function onMessage(raw: string): void {
  const msg = JSON.parse(raw) as ServerMessage;
  armSilence();
  switch (msg.type) {
    case "hello":
      clockOffset.value = msg.serverTime - Date.now();
      if (msg.snapshot) {
        machines.value = msg.snapshot.machines;
        queues.value = msg.snapshot.waitlists ?? [];
      }
      // Replayed events rebuild the board but do not pop a toast for each.
      for (const e of msg.events) {
        boardEvent(e);
        for (const fn of listeners) fn(e);
      }
      cursor = msg.cursor;
      attempt = 0;
      status.value = "connected";
      stale.value = false;
      // The user's log could not be replayed (a new epoch numbers it again):
      // count from what is shown until the server says where it stands.
      if (msg.inboxReset) unreadCounter.reset();
      if (
        msg.inboxReset ||
        msg.events.some((e) => e.type === "notification" || e.type === "inbox.read")
      ) refreshUnread();
      saveSnapshot();
      sendVisibility();
      break;
    case "event":
      // Protocol 2: the event itself moves the cursor (no cursor in the message).
      cursor = msg.cursor ?? advanceCursor(cursor, msg.event);
      handleEvent(msg.event);
      saveSnapshot();
      break;
    case "ping":
      socket?.send(JSON.stringify({ type: "pong", t: msg.t }));
      break;
  }
}

function armSilence(): void {
  clearTimeout(silenceTimer);
  silenceTimer = setTimeout(() => socket?.close(), SILENCE_MS);
}

function sendVisibility(): void {
  if (socket?.readyState === WebSocket.OPEN) {
    socket.send(
      JSON.stringify({ type: "visibility", visible: document.visibilityState === "visible" }),
    );
  }
}

function connect(): void {
  clearTimeout(timer);
  if (socket && socket.readyState <= WebSocket.OPEN) return;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  // The page's building, not the one the `ll_building` cookie remembers:
  // another tab may have switched it since this page was served.
  const url = `${proto}//${location.host}/ws?since=${
    encodeURIComponent(cursor)
  }&building=${pageBuilding()}&v=${WS_PROTOCOL}`;
  const ws = new WebSocket(url);
  socket = ws;
  ws.onmessage = (ev) => onMessage(ev.data as string);
  ws.onclose = (ev) => {
    if (socket !== ws) return;
    socket = null;
    clearTimeout(silenceTimer);
    status.value = navigator.onLine === false ? "offline" : "reconnecting";
    stale.value = true;
    // Signed out (4401: a logout, here or elsewhere, or a disabled account):
    // the server said so; go to the login page.
    if (ev.code === 4401) return leave("/login");
    // This page's building is no longer theirs (4403: admin rights removed).
    if (ev.code === 4403) return leave("/");
    // Told to stop (4008: too many messages): wait a while before trying again.
    if (ev.code === 4008) {
      timer = setTimeout(connect, 60_000);
      return;
    }
    // Refused several times in a row: if the session is gone, go to the
    // login page, and if the page's building is no longer theirs (rights
    // removed while this tab was offline), to their own board, instead of
    // retrying forever.
    if (attempt >= 2) {
      checkSession().then((ok) => {
        if (ok) timer = setTimeout(connect, backoffDelay(attempt++));
      });
      return;
    }
    timer = setTimeout(connect, backoffDelay(attempt++));
  };
}

/**
 * False (and off to /login) when the session has ended, false (and off to
 * the user's own board) when the page's building may no longer be entered
 * (404); true otherwise, also when offline.
 */
async function checkSession(): Promise<boolean> {
  try {
    const bid = pageBuilding();
    const { status } = await fetch(`/api/me${bid ? `?building=${encodeURIComponent(bid)}` : ""}`, {
      credentials: "same-origin",
    });
    const to = status === 401 ? "/login" : status === 404 ? "/" : null;
    if (to) {
      leave(to);
      return false;
    }
  } catch { /* offline: keep trying */ }
  return true;
}

/** Whether cursor `a` is ahead of `b` on the same board (`epoch:building:board:user`). */
function newer(a: string, b: string): boolean {
  const [ea, xa, ba] = a.split(":");
  const [eb, xb, bb] = b.split(":");
  return ea === eb && xa === xb && Number(ba) > Number(bb);
}

async function refreshUnread(): Promise<void> {
  try {
    await fetchInbox(async () => {
      const res = await fetch("/api/notifications?limit=1", { credentials: "same-origin" });
      if (!res.ok) throw new Error(String(res.status));
      return await res.json();
    });
  } catch { /* offline or signed out: keep the count */ }
}

/**
 * Start the live connection once per page, from the server-rendered cursor
 * and machines (or the last saved snapshot when the page came from cache).
 */
export function startLive(
  initial: {
    cursor: string;
    machines: Machine[];
    queues?: WaitlistView[];
    serverTime: number;
    unread?: number;
  },
): void {
  if (started) {
    // Another island started first without board data (the bell): adopt ours.
    if (initial.machines.length && !machines.value.length) {
      machines.value = initial.machines;
      queues.value = initial.queues ?? [];
    }
    return;
  }
  started = true;
  cursor = initial.cursor;
  machines.value = initial.machines;
  queues.value = initial.queues ?? [];
  if (initial.unread !== undefined) unreadCounter.reset(initial.unread);
  clockOffset.value = initial.serverTime - Date.now();
  // A page served from the offline cache carries an old cursor: the last
  // snapshot this browser saw may be newer. Show it, marked stale until the
  // socket confirms.
  try {
    const saved = JSON.parse(localStorage.getItem(SNAPSHOT_KEY) ?? "null");
    // Only this page's building: another tab may have saved another's board.
    if (
      saved?.cursor.split(":")[1] === pageBuilding() && (!cursor || newer(saved.cursor, cursor))
    ) {
      cursor = saved.cursor;
      if (saved.machines.length || !initial.machines.length) {
        machines.value = saved.machines;
        queues.value = saved.queues ?? [];
      }
      stale.value = initial.machines.length === 0 || !initial.cursor;
    }
  } catch { /* ignore */ }
  setInterval(() => (now.value = Date.now() + clockOffset.value), 1000);
  now.value = Date.now() + clockOffset.value;
  document.addEventListener("visibilitychange", () => {
    sendVisibility();
    if (document.visibilityState === "visible" && !socket) {
      attempt = 0;
      connect();
    }
  });
  addEventListener("online", () => {
    // Back online: say so (재연결 중…) until the socket's hello confirms.
    attempt = 0;
    status.value = "reconnecting";
    connect();
  });
  addEventListener("offline", () => {
    // Events may be lost while offline: drop the socket (it resumes from its
    // cursor when the network returns) and mark what is shown as stale.
    status.value = "offline";
    stale.value = true;
    clearTimeout(timer);
    const ws = socket;
    socket = null;
    clearTimeout(silenceTimer);
    ws?.close();
  });
  connect();
}

/** Start the connection without board data (pages other than the board). */
export function startLiveLight(unreadCount: number): void {
  startLive({ cursor: "", machines: [], serverTime: Date.now(), unread: unreadCount });
}
