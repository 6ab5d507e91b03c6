/**
 * The machine lifecycle (SPEC section 2) as pure functions of state and time.
 *
 * ```
 * available ─hold─▶ held ─arrive─▶ arrived ─start─▶ in_use ─(end)─▶ done ─collect─▶ available
 * ```
 *
 * A free machine may carry an exclusive offer to the next in its waitlist
 * (`offer`; docs/API.md "Waitlist and offers"): until it lapses only that resident may hold
 * or start it (an admin may override); they accept by holding it, or pass.
 * A lapsed or passed offer goes to the next in line (`passed` remembers who
 * let this free machine go, until it is used again).
 *
 * Nothing here does I/O: {@link settle} applies what time alone changes
 * (holds expire, cycles end) and {@link apply} applies a command. The KV layer
 * (`lib/db.ts`) loads a machine, calls these, and commits the result with an
 * atomic versionstamp check.
 * @module
 */
import type { Machine, MachineKind } from "./types.ts";

/** Tunable durations, all in minutes (scaled by `minuteMs`). */
export interface LifecycleSettings {
  /** Length of one "minute" in ms: 60 000 in production, smaller in tests. */
  minuteMs: number;
  /** How long a hold (출발해요) lasts before it expires. */
  holdMinutes: number;
  /** Shortest and longest cycle a resident may register. */
  minCycleMinutes: number;
  maxCycleMinutes: number;
  /** Longest single extension. */
  maxExtendMinutes: number;
  /** How long a machine must be done before neighbours may nudge. */
  pickupGraceMinutes: number;
  /** One nudge per (sender, machine) per this many minutes. */
  nudgeCooldownMinutes: number;
  /** How long a waitlist offer holds a free machine for the next in line. */
  offerMinutes: number;
}

/** The defaults of SPEC section 2/3. */
export const DEFAULT_SETTINGS: LifecycleSettings = {
  minuteMs: 60_000,
  holdMinutes: 10,
  minCycleMinutes: 1,
  maxCycleMinutes: 240,
  maxExtendMinutes: 120,
  pickupGraceMinutes: 3,
  nudgeCooldownMinutes: 10,
  offerMinutes: 5,
};

/** Who issues a command. `system` is the scheduler; `sensor` a machine's smart plug. */
export interface Actor {
  id: string;
  name: string;
  role: "resident" | "admin" | "system" | "sensor";
}

/** Every command a machine accepts. */
export type Command =
  | { type: "hold" }
  | { type: "arrive" }
  | { type: "start"; minutes: number }
  | { type: "extend"; minutes: number }
  | { type: "finish" }
  | { type: "collect" }
  | { type: "release" }
  | { type: "out_of_order"; reason: string; repairDate?: string }
  | { type: "repair" }
  /** The waitlist offers this free machine to `userId` (system only). */
  | { type: "offer"; userId: string }
  /** The offer's holder lets it go to the next in line. */
  | { type: "pass" };

/** Names of commands, in a stable order (used by tests and docs). */
export const COMMANDS = [
  "hold",
  "arrive",
  "start",
  "extend",
  "finish",
  "collect",
  "release",
  "out_of_order",
  "repair",
  "offer",
  "pass",
] as const;

/** Event types appended to the board log for machine changes. */
export type MachineEventType =
  | "machine.held"
  | "machine.arrived"
  | "machine.started"
  | "machine.extended"
  | "machine.finished"
  | "machine.collected"
  | "machine.released"
  | "machine.out_of_order"
  | "machine.repaired"
  | "machine.hold_expired"
  | "machine.done"
  | "machine.sensed"
  | "machine.sensor_lost"
  | "machine.offered"
  | "machine.offer_lapsed"
  | "machine.offer_passed";

/** Error codes a command can fail with. */
export type LifecycleError =
  | "invalid_state"
  | "not_owner"
  | "forbidden"
  | "out_of_order"
  | "offered"
  | "bad_minutes";

/** The result of applying a command. */
export type Outcome =
  | { ok: true; machine: Machine; event: MachineEventType }
  | { ok: false; code: LifecycleError; message: string };

/** Result of {@link settle}: the machine after time-driven changes, if any. */
export interface Settled {
  machine: Machine;
  /** The time-driven event that happened, if the state changed. */
  event?: "machine.hold_expired" | "machine.done" | "machine.offer_lapsed";
  /** Who lost a hold / whose cycle ended (for notifications). */
  previousOwnerId?: string;
}

/** The fields that belong to a hold or use; cleared when the machine frees up. */
function cleared(m: Machine, now: number): Machine {
  return {
    id: m.id,
    buildingId: m.buildingId,
    name: m.name,
    kind: m.kind,
    room: m.room,
    order: m.order,
    state: "available",
    gen: m.gen + 1,
    updatedAt: now,
  };
}

/** The holder of a free machine's offer that has not lapsed at `now`, if any. */
export function offeredTo(m: Machine, now: number): string | undefined {
  return m.state === "available" && m.offer && m.offer.until > now ? m.offer.userId : undefined;
}

/** A free machine without its offer; `passer` joins those who let it go. */
function withoutOffer(m: Machine, now: number, passer: string): Machine {
  const { offer: _, ...rest } = m;
  return { ...rest, passed: [...(m.passed ?? []), passer], gen: m.gen + 1, updatedAt: now };
}

/** `m` without the waitlist fields of its free period (it is taken now). */
function taken(m: Machine): Machine {
  const { offer: _o, passed: _p, ...rest } = m;
  return rest;
}

/**
 * Apply what the passage of time alone does: an expired hold frees the
 * machine; a cycle whose end has passed becomes `done` (at its end time),
 * unless a sensor follows it (`sensed`: the sensor says when it ends); an
 * offer nobody took in time lapses (the holder joins `passed`).
 */
export function settle(m: Machine, now: number): Settled {
  if (m.state === "available" && m.offer && m.offer.until <= now) {
    return {
      machine: withoutOffer(m, now, m.offer.userId),
      event: "machine.offer_lapsed",
      previousOwnerId: m.offer.userId,
    };
  }
  if ((m.state === "held" || m.state === "arrived") && (m.holdExpiresAt ?? Infinity) <= now) {
    return { machine: cleared(m, now), event: "machine.hold_expired", previousOwnerId: m.ownerId };
  }
  if (m.state === "in_use" && !m.sensed && (m.endsAt ?? Infinity) <= now) {
    return {
      machine: { ...m, state: "done", doneAt: m.endsAt, updatedAt: now },
      event: "machine.done",
      previousOwnerId: m.ownerId,
    };
  }
  return { machine: m };
}

function fail(code: LifecycleError, message: string): Outcome {
  return { ok: false, code, message };
}

function validMinutes(minutes: number, max: number, min = 1): boolean {
  return Number.isInteger(minutes) && minutes >= min && minutes <= max;
}

/**
 * Apply a command to an already {@link settle}d machine.
 * `newUseId` supplies the id for a new hold or walk-up use.
 */
export function apply(
  m: Machine,
  cmd: Command,
  actor: Actor,
  now: number,
  s: LifecycleSettings,
  newUseId: () => string,
): Outcome {
  const isOwner = m.ownerId !== undefined && m.ownerId === actor.id;
  const isAdmin = actor.role === "admin" || actor.role === "system";
  const min = s.minuteMs;

  if (m.state === "out_of_order" && cmd.type !== "repair" && cmd.type !== "out_of_order") {
    return fail("out_of_order", "This machine is out of order.");
  }
  // During an offer only its holder takes the machine; an admin may override.
  const holder = offeredTo(m, now);
  if (
    holder && holder !== actor.id && actor.role !== "admin" &&
    (cmd.type === "hold" || cmd.type === "start")
  ) {
    return fail("offered", "This machine is offered to the next in line for a few minutes.");
  }

  switch (cmd.type) {
    case "hold":
      if (m.state !== "available") return fail("invalid_state", "This machine is not free.");
      return {
        ok: true,
        event: "machine.held",
        machine: {
          ...taken(m),
          state: "held",
          ownerId: actor.id,
          ownerName: actor.name,
          useId: newUseId(),
          gen: m.gen + 1,
          holdExpiresAt: now + s.holdMinutes * min,
          updatedAt: now,
        },
      };

    case "arrive":
      if (m.state !== "held") {
        return fail("invalid_state", "Only a held machine can be arrived at.");
      }
      if (!isOwner) return fail("not_owner", "Someone else is holding this machine.");
      return {
        ok: true,
        event: "machine.arrived",
        machine: {
          ...m,
          state: "arrived",
          gen: m.gen + 1,
          holdExpiresAt: now + s.holdMinutes * min,
          updatedAt: now,
        },
      };

    case "start": {
      if (!validMinutes(cmd.minutes, s.maxCycleMinutes, s.minCycleMinutes)) {
        return fail(
          "bad_minutes",
          `Cycle length must be a whole number of minutes between ${s.minCycleMinutes} and ${s.maxCycleMinutes}.`,
        );
      }
      const walkUp = m.state === "available";
      // A cycle a sensor saw start has no owner yet: whoever registers it makes it theirs.
      if (m.state === "in_use" && m.ownerId === undefined) {
        return {
          ok: true,
          event: "machine.started",
          machine: {
            ...m,
            ownerId: actor.id,
            ownerName: actor.name,
            gen: m.gen + 1,
            endsAt: now + cmd.minutes * min,
            updatedAt: now,
          },
        };
      }
      if (!walkUp && m.state !== "held" && m.state !== "arrived") {
        return fail("invalid_state", "This machine is not free.");
      }
      if (!walkUp && !isOwner) return fail("not_owner", "Someone else is holding this machine.");
      return {
        ok: true,
        event: "machine.started",
        machine: {
          id: m.id,
          buildingId: m.buildingId,
          name: m.name,
          kind: m.kind,
          room: m.room,
          order: m.order,
          state: "in_use",
          ownerId: actor.id,
          ownerName: actor.name,
          useId: walkUp ? newUseId() : m.useId,
          gen: m.gen + 1,
          startedAt: now,
          endsAt: now + cmd.minutes * min,
          updatedAt: now,
        },
      };
    }

    case "extend":
      if (!validMinutes(cmd.minutes, s.maxExtendMinutes)) {
        return fail(
          "bad_minutes",
          `An extension must be a whole number of minutes between 1 and ${s.maxExtendMinutes}.`,
        );
      }
      if (m.state !== "in_use") {
        return fail("invalid_state", "Only a running cycle can be extended.");
      }
      if (!isOwner) return fail("not_owner", "Only the person using this machine can extend it.");
      return {
        ok: true,
        event: "machine.extended",
        machine: {
          ...m,
          gen: m.gen + 1,
          endsAt: (m.endsAt ?? now) + cmd.minutes * min,
          updatedAt: now,
        },
      };

    case "finish":
      if (m.state !== "in_use") {
        return fail("invalid_state", "Only a running cycle can be finished.");
      }
      if (!isOwner && !isAdmin) {
        return fail("not_owner", "Only the person using this machine can finish it.");
      }
      return {
        ok: true,
        event: "machine.finished",
        machine: { ...m, state: "done", gen: m.gen + 1, endsAt: now, doneAt: now, updatedAt: now },
      };

    case "collect":
      if (m.state !== "done") {
        return fail("invalid_state", "Only a finished machine can be collected.");
      }
      // Laundry of a cycle nobody registered (a sensor saw it) may be cleared by anyone.
      if (!isOwner && !isAdmin && m.ownerId !== undefined) {
        return fail("not_owner", "Only the owner can mark the laundry collected.");
      }
      return { ok: true, event: "machine.collected", machine: cleared(m, now) };

    case "release":
      if (m.state !== "held" && m.state !== "arrived") {
        return fail("invalid_state", "Only a held machine can be released.");
      }
      if (!isOwner && !isAdmin) return fail("not_owner", "Someone else is holding this machine.");
      return { ok: true, event: "machine.released", machine: cleared(m, now) };

    case "out_of_order":
      if (!isAdmin) return fail("forbidden", "Only an admin can mark a machine out of order.");
      return {
        ok: true,
        event: "machine.out_of_order",
        machine: {
          ...cleared(m, now),
          state: "out_of_order",
          outOfOrderReason: cmd.reason,
          ...(cmd.repairDate ? { repairDate: cmd.repairDate } : {}),
        },
      };

    case "repair":
      if (!isAdmin) return fail("forbidden", "Only an admin can mark a machine repaired.");
      if (m.state !== "out_of_order") {
        return fail("invalid_state", "This machine is not out of order.");
      }
      return { ok: true, event: "machine.repaired", machine: cleared(m, now) };

    case "offer":
      if (actor.role !== "system") return fail("forbidden", "Only the waitlist makes offers.");
      if (m.state !== "available" || holder) {
        return fail("invalid_state", "Only a free machine without an offer can be offered.");
      }
      return {
        ok: true,
        event: "machine.offered",
        machine: {
          ...m,
          offer: { userId: cmd.userId, until: now + s.offerMinutes * min },
          gen: m.gen + 1,
          updatedAt: now,
        },
      };

    case "pass":
      if (!holder) return fail("invalid_state", "There is no offer to pass on.");
      if (holder !== actor.id) return fail("not_owner", "This offer is someone else's.");
      return { ok: true, event: "machine.offer_passed", machine: withoutOffer(m, now, actor.id) };
  }
}

/**
 * A fact from a machine's sensor (`lib/sensor/detector.ts`), as a command of
 * the sensor actor: a cycle started or ended (at the time it really did), the
 * sensor went silent, or it was detached.
 */
export type SensorCommand =
  | { type: "sensor_start"; at: number; expectMinutes: number }
  | { type: "sensor_end"; at: number }
  | { type: "sensor_lost" };

/**
 * Apply a sensor fact to an already {@link settle}d machine:
 *
 * - `sensor_start` on a free machine, or on a done one (the laundry was taken
 *   out and the machine started again): a walk-up cycle by "someone" (no
 *   owner, nobody notified), its end estimated at `expectMinutes`; on a held
 *   machine: the holder's cycle; on a running timed cycle: the sensor follows
 *   it from now on (`machine.sensed`: the timer no longer ends it);
 * - `sensor_end` on a running machine: done at the real end (`at`, not
 *   before the start, not after now), which supersedes the timer's end;
 * - `sensor_lost` (silent or detached) on a cycle the sensor followed: the
 *   timer takes over again (`endsAt`).
 *
 * Anything else is refused (`invalid_state`): the fact changes nothing on the board.
 */
export function applySensor(
  m: Machine,
  cmd: SensorCommand,
  actor: Actor,
  now: number,
  s: LifecycleSettings,
  newUseId: () => string,
): Outcome {
  if (actor.role !== "sensor" && actor.role !== "system") {
    return fail("forbidden", "Only a sensor reports sensor facts.");
  }
  if (m.state === "out_of_order") return fail("out_of_order", "This machine is out of order.");
  switch (cmd.type) {
    case "sensor_start": {
      const startedAt = Math.min(cmd.at, now);
      const endsAt = Math.max(startedAt + cmd.expectMinutes * s.minuteMs, now);
      if (m.state === "available" || m.state === "done") {
        return {
          ok: true,
          event: "machine.started",
          machine: {
            ...cleared(m, now),
            state: "in_use",
            useId: newUseId(),
            startedAt,
            endsAt,
            sensed: true,
          },
        };
      }
      if (m.state === "held" || m.state === "arrived") {
        const { holdExpiresAt: _, ...rest } = m;
        return {
          ok: true,
          event: "machine.started",
          machine: {
            ...rest,
            state: "in_use",
            gen: m.gen + 1,
            startedAt,
            endsAt,
            sensed: true,
            updatedAt: now,
          },
        };
      }
      if (m.sensed) return fail("invalid_state", "The sensor already follows this cycle.");
      return {
        ok: true,
        event: "machine.sensed",
        machine: { ...m, sensed: true, gen: m.gen + 1, updatedAt: now },
      };
    }
    case "sensor_end": {
      if (m.state !== "in_use") return fail("invalid_state", "No cycle is running.");
      const end = Math.min(Math.max(cmd.at, m.startedAt ?? cmd.at), now);
      const { sensed: _, ...rest } = m;
      return {
        ok: true,
        event: "machine.done",
        machine: {
          ...rest,
          state: "done",
          gen: m.gen + 1,
          endsAt: end,
          doneAt: end,
          updatedAt: now,
        },
      };
    }
    case "sensor_lost": {
      if (m.state !== "in_use" || !m.sensed) {
        return fail("invalid_state", "The sensor does not follow a cycle here.");
      }
      const { sensed: _, ...rest } = m;
      return {
        ok: true,
        event: "machine.sensor_lost",
        machine: { ...rest, gen: m.gen + 1, updatedAt: now },
      };
    }
  }
}

/** Why a nudge is refused, or null when it may be sent. */
export function nudgeRefusal(
  m: Machine,
  senderId: string,
  now: number,
  s: LifecycleSettings,
  lastNudgeAt: number | undefined,
): NudgeRefusal | null {
  if (m.state !== "done" || m.doneAt === undefined) {
    return { code: "invalid_state", message: "Only a finished machine can be nudged." };
  }
  if (m.ownerId === senderId) return { code: "own_machine", message: "This is your own laundry." };
  if (m.ownerId === undefined) {
    return {
      code: "invalid_state",
      message: "Nobody registered this laundry: anyone may clear it.",
    };
  }
  const opensAt = nudgeOpensAt(m, s)!;
  if (now < opensAt) {
    return {
      code: "too_early",
      message: "Give the owner a few minutes before asking.",
      retryAfterSec: Math.ceil((opensAt - now) / 1000),
    };
  }
  if (lastNudgeAt !== undefined && now < lastNudgeAt + s.nudgeCooldownMinutes * s.minuteMs) {
    return {
      code: "cooldown",
      message: "You already asked recently.",
      retryAfterSec: Math.ceil((lastNudgeAt + s.nudgeCooldownMinutes * s.minuteMs - now) / 1000),
    };
  }
  return null;
}

/** Why {@link nudgeRefusal} refused, with when a retry can succeed (seconds) where that is known. */
export interface NudgeRefusal {
  code: "invalid_state" | "too_early" | "own_machine" | "cooldown";
  message: string;
  retryAfterSec?: number;
}

/** When neighbours may first ask the owner of a done machine to collect (수거 요청), or null. */
export function nudgeOpensAt(
  m: Machine,
  s: Pick<LifecycleSettings, "minuteMs" | "pickupGraceMinutes">,
): number | null {
  if (m.state !== "done" || m.doneAt === undefined) return null;
  return m.doneAt + s.pickupGraceMinutes * s.minuteMs;
}

/** True when the machine is held (held or arrived) by `userId`. */
export function isHeldBy(m: Machine, userId: string): boolean {
  return (m.state === "held" || m.state === "arrived") && m.ownerId === userId;
}

/** A brand-new machine in the `available` state. */
export function newMachine(
  id: string,
  buildingId: string,
  name: string,
  kind: MachineKind,
  room: string,
  order: number,
  now: number,
): Machine {
  return { id, buildingId, name, kind, room, order, state: "available", gen: 0, updatedAt: now };
}
