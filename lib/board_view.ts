/**
 * How one machine looks to one resident at one moment, as a pure function:
 * the state label, owner-relative wording ("내 세탁기", "이웃 사용 중"), the
 * countdown or overdue time, and the buttons that make sense. Used by the
 * server render and the Board island alike, so both agree.
 * @module
 */
import { formatDuration, type Lang, t } from "./i18n.ts";
import { type LifecycleSettings, nudgeOpensAt, offeredTo, settle } from "./lifecycle.ts";
import type { Machine, MachineKind, MachineState } from "./types.ts";

/** A button on a machine card. */
export type ViewAction =
  | "hold"
  | "arrive"
  | "start"
  | "extend"
  | "finish"
  | "collect"
  | "release"
  | "nudge"
  | "take"
  | "pass";

/** Everything a machine card shows. */
export interface MachineView {
  id: string;
  name: string;
  kind: Machine["kind"];
  state: MachineState;
  stateLabel: string;
  /** "내 세탁기" / "이웃 사용 중" / "" */
  ownerLabel: string;
  mine: boolean;
  /** Free, but offered to the next in line (mine when I am that resident). */
  offered?: boolean;
  /** Countdown / overdue / hold text, or "". */
  timeText: string;
  /** 0..1 progress of the cycle (in_use), for the progress bar. */
  progress: number | null;
  actions: ViewAction[];
  /** A short symbol so state is not conveyed by colour alone. */
  icon: string;
  reason?: string;
  /** "수리 예정: 12월 4일" for an out-of-order machine with an expected repair day. */
  repairText?: string;
  /** When the cycle ends (in use), for the "14:35 종료" clock beside the countdown. */
  endsAt?: number;
  /** A neighbour's done machine: ms until 수거 요청 opens (the grace period), else undefined. */
  nudgeOpensIn?: number;
}

const ICONS: Record<MachineState, string> = {
  available: "○",
  held: "→",
  arrived: "●",
  in_use: "◔",
  done: "✓",
  out_of_order: "✕",
};

/**
 * The view of machine `m` for user `me` at server time `now`.
 * `nudgeAfterMs` is the pickup grace period.
 */
export function machineView(
  m: Machine,
  me: string,
  now: number,
  lang: Lang,
  s: Pick<LifecycleSettings, "minuteMs" | "pickupGraceMinutes">,
): MachineView {
  const cur = settle(m, now).machine;
  const mine = cur.ownerId === me;
  const kindWord = t(lang, cur.kind === "washer" ? "kind.washer" : "kind.dryer");
  let ownerLabel = "";
  let timeText = "";
  let progress: number | null = null;
  let nudgeOpensIn: number | undefined;
  const actions: ViewAction[] = [];
  const holder = offeredTo(cur, now);
  switch (cur.state) {
    case "available": {
      if (!holder) {
        actions.push("hold", "start");
        break;
      }
      // Offered to the next in line: theirs to take or pass; everyone else waits.
      const left = formatDuration(cur.offer!.until - now);
      const me1 = holder === me;
      ownerLabel = t(lang, me1 ? "owner.offer_mine" : "owner.offer_other");
      timeText = t(lang, me1 ? "time.offer_left" : "time.offer_other", { time: left });
      if (me1) actions.push("take", "pass");
      break;
    }
    case "held":
    case "arrived":
      ownerLabel = mine
        ? t(lang, "owner.mine", { kind: kindWord })
        : t(lang, "owner.neighbour_held");
      // After 도착해요 the deadline is for starting the machine, not for arriving.
      timeText = t(lang, cur.state === "arrived" ? "time.start_within" : "time.hold_left", {
        time: formatDuration((cur.holdExpiresAt ?? now) - now),
      });
      if (mine) {
        actions.push(...(cur.state === "held" ? ["arrive" as const] : []), "start", "release");
      }
      break;
    case "in_use": {
      // A cycle a sensor saw start has no owner: "someone"; whoever is at it may register it.
      const someone = cur.ownerId === undefined;
      ownerLabel = mine
        ? t(lang, "owner.mine", { kind: kindWord })
        : someone
        ? t(lang, "owner.someone")
        : t(lang, "owner.neighbour");
      const left = (cur.endsAt ?? now) - now;
      // A sensed cycle's end is the sensor's to say: past its estimate it is still running.
      timeText = cur.sensed && left <= 0
        ? t(lang, "time.sensed")
        : t(lang, "time.remaining", { time: formatDuration(left) });
      const total = (cur.endsAt ?? now) - (cur.startedAt ?? now);
      progress = total > 0 ? Math.min(1, Math.max(0, 1 - left / total)) : 1;
      if (mine) actions.push("extend", "finish");
      else if (someone) actions.push("start");
      break;
    }
    case "done": {
      const someone = cur.ownerId === undefined;
      ownerLabel = mine
        ? t(lang, "owner.mine", { kind: kindWord })
        : someone
        ? t(lang, "owner.someone_done")
        : t(lang, "owner.neighbour");
      timeText = t(lang, "time.overdue", { time: formatDuration(now - (cur.doneAt ?? now)) });
      // No doneAt: the grace period has not started (the server refuses too).
      const opens = nudgeOpensAt(cur, s);
      // Laundry nobody registered: nobody to ask; anyone may clear it.
      if (mine || someone) actions.push("collect");
      else if (opens !== null && now >= opens) actions.push("nudge");
      else if (opens !== null) nudgeOpensIn = opens - now;
      break;
    }
    case "out_of_order":
      break;
  }
  return {
    id: cur.id,
    name: cur.name,
    kind: cur.kind,
    state: cur.state,
    stateLabel: t(lang, holder ? "state.offered" : `state.${cur.state}`),
    ownerLabel,
    mine: mine || holder === me,
    offered: !!holder,
    timeText,
    progress,
    actions,
    icon: ICONS[cur.state],
    reason: cur.state === "out_of_order" && cur.outOfOrderReason ? cur.outOfOrderReason : undefined,
    ...(cur.state === "out_of_order" && cur.repairDate
      ? { repairText: repairText(cur.repairDate, lang) }
      : {}),
    endsAt: cur.state === "in_use" ? cur.endsAt : undefined,
    nudgeOpensIn,
  };
}

/** "14:35" (24-hour clock in the viewer's time zone), for "14:35 종료" / "ends 14:35". */
export function clockTime(ms: number, lang: Lang, timeZone?: string): string {
  return new Intl.DateTimeFormat(lang === "ko" ? "ko-KR" : "en-GB", {
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZone,
  }).format(new Date(ms));
}

/** Free and total machines of each kind ("세탁기 2/4 비어 있음"); an offered one is not free. */
export function freeCounts(
  views: Pick<MachineView, "kind" | "state" | "offered">[],
): Record<Machine["kind"], { free: number; total: number }> {
  const out = { washer: { free: 0, total: 0 }, dryer: { free: 0, total: 0 } };
  for (const v of views) {
    out[v.kind].total++;
    if (v.state === "available" && !v.offered) out[v.kind].free++;
  }
  return out;
}

/** Apply one board event to a machine list (replace, add or remove), keeping order. */
export function applyBoardEvent(
  machines: Machine[],
  e: { type: string; machine?: Machine; machineId?: string },
): Machine[] {
  if (e.type === "machine.removed" && e.machineId) {
    return machines.filter((m) => m.id !== e.machineId);
  }
  if (!e.machine) return machines;
  const m = e.machine;
  const i = machines.findIndex((x) => x.id === m.id);
  const next = i === -1 ? [...machines, m] : machines.map((x) => (x.id === m.id ? m : x));
  return next.sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
}

/** "수리 예정: 12월 4일" / "Repair expected: 12/4" for a repair day "2026-12-04". */
export function repairText(day: string, lang: Lang): string {
  const [, m, d] = day.split("-").map(Number);
  return t(lang, "board.repair_eta", { m, d });
}

/** One queue as boards show it: residents in order. */
export interface WaitlistView {
  room: string;
  kind: MachineKind;
  queue: string[];
}

/**
 * Apply one board event to a list of queues (pure; the board island and
 * tests use it): `waitlist.joined` appends, `waitlist.left` removes.
 */
export function applyWaitEvent(
  queues: WaitlistView[],
  e: { type: string; data?: Record<string, unknown> },
): WaitlistView[] {
  if (e.type !== "waitlist.joined" && e.type !== "waitlist.left") return queues;
  const { room, kind, userId } = e.data as { room: string; kind: MachineKind; userId: string };
  const rest = queues.filter((q) => q.room !== room || q.kind !== kind);
  const q = queues.find((q) => q.room === room && q.kind === kind)?.queue ?? [];
  const next = e.type === "waitlist.left"
    ? q.filter((u) => u !== userId)
    : [...q.filter((u) => u !== userId), userId];
  return next.length ? [...rest, { room, kind, queue: next }] : rest;
}
