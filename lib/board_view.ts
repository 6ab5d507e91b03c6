/**
 * How one machine looks to one resident at one moment, as a pure function:
 * the state label, owner-relative wording ("내 세탁기", "이웃 사용 중"), the
 * countdown or overdue time, and the buttons that make sense. Used by the
 * server render and the Board island alike, so both agree.
 * @module
 */
import { formatDuration, type Lang, t } from "./i18n.ts";
import { type LifecycleSettings, settle } from "./lifecycle.ts";
import type { Machine, MachineState } from "./types.ts";

/** A button on a machine card. */
export type ViewAction =
  | "hold"
  | "arrive"
  | "start"
  | "extend"
  | "finish"
  | "collect"
  | "release"
  | "nudge";

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
  /** Countdown / overdue / hold text, or "". */
  timeText: string;
  /** 0..1 progress of the cycle (in_use), for the progress bar. */
  progress: number | null;
  actions: ViewAction[];
  /** A short symbol so state is not conveyed by colour alone. */
  icon: string;
  reason?: string;
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
  const actions: ViewAction[] = [];
  switch (cur.state) {
    case "available":
      actions.push("hold", "start");
      break;
    case "held":
    case "arrived":
      ownerLabel = mine
        ? t(lang, "owner.mine", { kind: kindWord })
        : t(lang, "owner.neighbour_held");
      timeText = t(lang, "time.hold_left", {
        time: formatDuration((cur.holdExpiresAt ?? now) - now),
      });
      if (mine) {
        actions.push(...(cur.state === "held" ? ["arrive" as const] : []), "start", "release");
      }
      break;
    case "in_use": {
      ownerLabel = mine ? t(lang, "owner.mine", { kind: kindWord }) : t(lang, "owner.neighbour");
      const left = (cur.endsAt ?? now) - now;
      timeText = t(lang, "time.remaining", { time: formatDuration(left) });
      const total = (cur.endsAt ?? now) - (cur.startedAt ?? now);
      progress = total > 0 ? Math.min(1, Math.max(0, 1 - left / total)) : 1;
      if (mine) actions.push("extend", "finish");
      break;
    }
    case "done": {
      ownerLabel = mine ? t(lang, "owner.mine", { kind: kindWord }) : t(lang, "owner.neighbour");
      timeText = t(lang, "time.overdue", { time: formatDuration(now - (cur.doneAt ?? now)) });
      if (mine) actions.push("collect");
      else if (now >= (cur.doneAt ?? now) + s.pickupGraceMinutes * s.minuteMs) {
        actions.push("nudge");
      }
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
    stateLabel: t(lang, `state.${cur.state}`),
    ownerLabel,
    mine,
    timeText,
    progress,
    actions,
    icon: ICONS[cur.state],
    reason: cur.state === "out_of_order" && cur.outOfOrderReason ? cur.outOfOrderReason : undefined,
  };
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
