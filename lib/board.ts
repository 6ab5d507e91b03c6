/**
 * The board service: runs lifecycle commands through the store, publishes the
 * committed events to the realtime hub, and tells listeners (the notifier)
 * what changed. Route handlers call this, never the store's machine methods
 * directly, so no change can skip the fan-out.
 * @module
 */
import type { Actor, Command } from "./lifecycle.ts";
import type { CommandResult, LogEvent, Store } from "./db.ts";
import type { Hub } from "./realtime.ts";
import type { Machine, MachineKind } from "./types.ts";

/** A committed change of one machine. */
export interface MachineChange {
  machine: Machine | null;
  before: Machine | null;
  events: LogEvent[];
  actor?: Actor;
  command?: Command;
}

/** Called after every committed machine change (after fan-out). */
export type ChangeListener = (change: MachineChange) => Promise<void> | void;

/** Commands, fan-out and change listeners for the building board. */
export class Board {
  #listeners: ChangeListener[] = [];

  /** Wire the board to its store and hub. */
  constructor(readonly store: Store, readonly hub: Hub) {}

  /** Register a listener for committed changes. */
  onChange(fn: ChangeListener): void {
    this.#listeners.push(fn);
  }

  async #emit(change: MachineChange): Promise<void> {
    this.hub.publish(change.events);
    for (const fn of this.#listeners) {
      try {
        await fn(change);
      } catch (err) {
        console.error("board: change listener failed", err);
      }
    }
  }

  /** Run a resident or admin command. Throws StoreError on refusal. */
  async command(machineId: string, cmd: Command, actor: Actor): Promise<CommandResult> {
    const r = await this.store.command(machineId, cmd, actor);
    await this.#emit({
      machine: r.machine,
      before: r.before,
      events: r.events,
      actor,
      command: cmd,
    });
    return r;
  }

  /** Persist what time changed on one machine (scheduler, sweep). */
  async settle(machineId: string, now = Date.now()): Promise<MachineChange | null> {
    const r = await this.store.settleMachine(machineId, now);
    if (!r) return null;
    const change = { machine: r.machine, before: r.before, events: r.events };
    await this.#emit(change);
    return change;
  }

  /** Admin: add a machine. */
  async addMachine(input: { name: string; kind: MachineKind; room: string }): Promise<Machine> {
    const r = await this.store.addMachine(input);
    await this.#emit({ machine: r.machine, before: null, events: r.events });
    return r.machine;
  }

  /** Admin: rename or move a machine. */
  async updateMachine(
    id: string,
    patch: { name?: string; room?: string; order?: number },
  ): Promise<Machine> {
    const r = await this.store.updateMachine(id, patch);
    await this.#emit({ machine: r.machine, before: r.before, events: r.events });
    return r.machine;
  }

  /** Admin: remove a machine. */
  async removeMachine(id: string): Promise<void> {
    const before = await this.store.getMachine(id);
    const events = await this.store.removeMachine(id);
    await this.#emit({ machine: null, before, events });
  }
}
