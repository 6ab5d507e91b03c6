/**
 * Commands on a building's board: each commits through the store (one atomic
 * operation with everything it owes) and then pokes this instance's hub so
 * its sockets of that building see the change without waiting for the watch.
 * @module
 */
import type { Actor, Command } from "./lifecycle.ts";
import type { CommandResult, Store } from "./db/mod.ts";
import type { Hub } from "./realtime.ts";
import type { Machine, MachineKind } from "./types.ts";

/** Commands on building boards. */
export class Board {
  /** Wire the board to its store and this instance's hub. */
  constructor(readonly store: Store, readonly hub: Hub) {}

  /** Run a resident or admin command on a machine of building `bid`. Throws StoreError on refusal. */
  async command(
    bid: string,
    machineId: string,
    cmd: Command,
    actor: Actor,
  ): Promise<CommandResult> {
    const r = await this.store.command(bid, machineId, cmd, actor);
    this.hub.poll(bid);
    return r;
  }

  /** Admin: add a machine to building `bid`. */
  async addMachine(
    bid: string,
    input: { name: string; kind: MachineKind; room: string },
  ): Promise<Machine> {
    const r = await this.store.addMachine(bid, input);
    this.hub.poll(bid);
    return r.machine;
  }

  /** Admin: rename or move a machine. */
  async updateMachine(
    bid: string,
    id: string,
    patch: { name?: string; room?: string; order?: number },
  ): Promise<Machine> {
    const r = await this.store.updateMachine(bid, id, patch);
    this.hub.poll(bid);
    return r.machine;
  }

  /** Admin: remove a machine. */
  async removeMachine(bid: string, id: string): Promise<void> {
    await this.store.removeMachine(bid, id);
    this.hub.poll(bid);
  }
}
