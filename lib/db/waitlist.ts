/**
 * Waitlists (docs/API.md, "Waitlist and offers"): residents queue per laundry room and
 * machine kind; when a machine there frees up, the first in line who has
 * not let this one go gets an exclusive offer (`lib/lifecycle.ts`).
 *
 * A resident waits in at most one queue per kind in a building (joining
 * another room's queue moves them). Every change of a queue is one checked
 * commit that also appends a board event, `waitlist.joined` or
 * `waitlist.left` with `{room, kind, userId}`, so every open board keeps
 * the queues (their length and each resident's place) in step with the
 * machines, in the board log's order. Taking a machine of the kind (a hold
 * or start) leaves the queue in the same commit (`lib/db/machines.ts`).
 * @module
 */
import { retryCommit, tryCommit } from "../commit.ts";
import { boardScope, K } from "../keys.ts";
import { offeredTo } from "../lifecycle.ts";
import { StoreError } from "../store_error.ts";
import type { MachineKind } from "../types.ts";
import { MachineStore } from "./machines.ts";
import type { Draft } from "./records.ts";
import {
  leaveOps,
  queuePos,
  waitDraft,
  WAITLIST_MAX,
  type WaitlistView,
  type WaitRef,
} from "./waitlist_ops.ts";

export * from "./waitlist_ops.ts";

/** Waitlists of each building. */
export abstract class WaitlistStore extends MachineStore {
  /**
   * Queue `userId` for a `kind` machine in laundry room `room` of building
   * `bid`. Refused when the room has no such machine (`not_found`), when one
   * is free for anyone right now (`machine_free`: take it instead) or when
   * the queue is full. Joining the queue one is in changes nothing; joining
   * another room's queue of the kind moves there (to its end). Returns the
   * place (1 = next) and the queue's length.
   */
  async joinWaitlist(
    bid: string,
    userId: string,
    room: string,
    kind: MachineKind,
  ): Promise<{ place: number; length: number }> {
    return await retryCommit(async () => {
      const now = Date.now();
      const [idx, head] = await this.kv.getMany<[WaitRef, number]>([
        K.waiting(bid, userId, kind),
        K.logHead(boardScope(bid)),
      ]);
      const machines = (await this.listMachines(bid)).filter((m) =>
        m.room === room && m.kind === kind
      );
      if (machines.length === 0) {
        throw new StoreError("not_found", "This laundry room has no such machines.");
      }
      const queue = await this.#queue(bid, room, kind);
      if (idx.value?.room === room) {
        const place = queue.findIndex((e) => e.key[4] === idx.value!.pos) + 1;
        return { place: place || queue.length, length: queue.length };
      }
      const free = machines.some((m) =>
        m.state === "available" && !offeredTo(m, now) && !(m.passed ?? []).includes(userId)
      );
      if (free && queue.length === 0) {
        throw new StoreError("machine_free", "One is free right now: take it.");
      }
      if (queue.length >= WAITLIST_MAX) {
        throw new StoreError("waitlist_full", "This waitlist is full.");
      }
      const op = this.kv.atomic().check(idx);
      const drafts: Draft[] = [];
      if (idx.value) {
        op.delete(K.waitEntry(bid, idx.value.room, kind, idx.value.pos));
        drafts.push(waitDraft("waitlist.left", idx.value.room, kind, userId));
      }
      const pos = queuePos(now, userId);
      op.set(K.waitEntry(bid, room, kind, pos), { userId, at: now })
        .set(K.waiting(bid, userId, kind), { room, pos, lapses: 0 } satisfies WaitRef);
      drafts.push(waitDraft("waitlist.joined", room, kind, userId));
      this.appendOp(op, boardScope(bid), drafts, head, now);
      if (!(await tryCommit(op))) return null;
      return { place: queue.length + 1, length: queue.length + 1 };
    });
  }

  /** Leave the `kind` queue of building `bid`; false when not in one. */
  async leaveWaitlist(bid: string, userId: string, kind: MachineKind): Promise<boolean> {
    return await retryCommit(async () => {
      const [idx, head] = await this.kv.getMany<[WaitRef, number]>([
        K.waiting(bid, userId, kind),
        K.logHead(boardScope(bid)),
      ]);
      if (!idx.value) return false;
      const op = this.kv.atomic();
      const drafts = leaveOps(op, bid, userId, kind, idx as Deno.KvEntry<WaitRef>);
      this.appendOp(op, boardScope(bid), drafts, head);
      return await tryCommit(op) ? true : null;
    });
  }

  /** The first in the `kind` queue of `room` not in `skip`, or undefined. */
  async nextInLine(
    bid: string,
    room: string,
    kind: MachineKind,
    skip: readonly string[] = [],
  ): Promise<string | undefined> {
    for await (
      const e of this.kv.list<{ userId: string }>({ prefix: K.waitlist(bid, room, kind) })
    ) {
      if (!skip.includes(e.value.userId)) return e.value.userId;
    }
    return undefined;
  }

  /** Every queue of building `bid` with its residents in order. */
  async waitlists(bid: string): Promise<WaitlistView[]> {
    const out = new Map<string, WaitlistView>();
    for await (const e of this.kv.list<{ userId: string }>({ prefix: K.waitlists(bid) })) {
      const [, , room, kind] = e.key as [string, string, string, MachineKind];
      const id = `${kind}\u0000${room}`;
      if (!out.has(id)) out.set(id, { room, kind, queue: [] });
      out.get(id)!.queue.push(e.value.userId);
    }
    return [...out.values()];
  }

  /** The queues `userId` is in (one per kind at most). */
  async waitingOf(bid: string, userId: string): Promise<{ kind: MachineKind; room: string }[]> {
    const entries = await this.kv.getMany<[WaitRef, WaitRef]>([
      K.waiting(bid, userId, "washer"),
      K.waiting(bid, userId, "dryer"),
    ]);
    return (["washer", "dryer"] as const).flatMap((kind, i) =>
      entries[i].value ? [{ kind, room: entries[i].value!.room }] : []
    );
  }

  async #queue(bid: string, room: string, kind: MachineKind): Promise<Deno.KvEntry<unknown>[]> {
    const out: Deno.KvEntry<unknown>[] = [];
    for await (
      const e of this.kv.list({ prefix: K.waitlist(bid, room, kind) }, { limit: WAITLIST_MAX + 1 })
    ) out.push(e);
    return out;
  }
}
