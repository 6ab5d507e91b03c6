/**
 * The board service: runs lifecycle and admin commands through the store.
 * Each command is one atomic commit of the machine, its events and whatever
 * it owes (`lib/notify/plan.ts`); the hubs of every instance learn of the
 * events through `kv.watch` (this instance is told at once, to save the
 * watch's round trip). The response never waits for notification work.
 * @module
 */
import type { Actor, Command } from "./lifecycle.ts";
import type { CommandResult, Store } from "./db.ts";
import type { Hub } from "./realtime.ts";
import type { Machine, MachineKind } from "./types.ts";

/** Commands on the building board. */
export class Board {
  /** Wire the board to its store and this instance's hub. */
  constructor(readonly store: Store, readonly hub: Hub) {}

  /** Run a resident or admin command. Throws StoreError on refusal. */
  async command(machineId: string, cmd: Command, actor: Actor): Promise<CommandResult> {
    const r = await this.store.command(machineId, cmd, actor);
    this.hub.poll();
    return r;
  }

  /** Admin: add a machine. */
  async addMachine(input: { name: string; kind: MachineKind; room: string }): Promise<Machine> {
    const r = await this.store.addMachine(input);
    this.hub.poll();
    return r.machine;
  }

  /** Admin: rename or move a machine. */
  async updateMachine(
    id: string,
    patch: { name?: string; room?: string; order?: number },
  ): Promise<Machine> {
    const r = await this.store.updateMachine(id, patch);
    this.hub.poll();
    return r.machine;
  }

  /** Admin: remove a machine. */
  async removeMachine(id: string): Promise<void> {
    await this.store.removeMachine(id);
    this.hub.poll();
  }
}
