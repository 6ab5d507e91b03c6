/**
 * Machines and their lifecycle commands. Every command is one atomic
 * operation that checks the versionstamps of what it read, so concurrent
 * commands cannot both win; whatever a change owes (notifications,
 * reminders, offers) is written in that same commit as due-index records
 * (`lib/outbox.ts`), so a crash at any moment loses nothing. Machines live
 * under their building's key prefix: a machine id of another building is
 * simply not found.
 * @module
 */
import {
  type Actor,
  apply,
  type Command,
  isHeldBy,
  type MachineEventType,
  newMachine,
  settle,
} from "../lifecycle.ts";
import { formatCursor } from "../cursor.ts";
import { retryCommit, tryCommit } from "../commit.ts";
import { newId } from "../ids.ts";
import { boardScope, K, userScope } from "../keys.ts";
import { consume, type DueEntry } from "../outbox.ts";
import { due, type DueJob, planMachineChange, repairedSpec } from "../notify/plan.ts";
import { StoreError } from "../store_error.ts";
import { usageWrites } from "../usage.ts";
import { usageOps } from "../usage_store.ts";
import type { Building, Machine, MachineKind, Preferences } from "../types.ts";
import { BuildingStore } from "./buildings.ts";
import { lapseOps, leaveOps, WAITLIST_MAX, type WaitRef } from "./waitlist_ops.ts";
import {
  BUSY_BOARD,
  type CommandResult,
  DEFAULT_LEAD_MINUTES,
  type Draft,
  type LogEvent,
} from "./records.ts";

/** Names compared for duplicates: trimmed, NFC, case-insensitive. */
function nameKey(s: string): string {
  return s.trim().normalize("NFC").toLocaleLowerCase();
}

/** Machines of each building, and the commands that change them. */
export abstract class MachineStore extends BuildingStore {
  /** One machine of building `bid`, or null. */
  async getMachine(bid: string, id: string): Promise<Machine | null> {
    return (await this.kv.get<Machine>(K.machine(bid, id))).value;
  }

  /** A building's machines in board order. */
  async listMachines(bid: string): Promise<Machine[]> {
    const out: Machine[] = [];
    for await (const e of this.kv.list<Machine>({ prefix: K.machines(bid) })) out.push(e.value);
    return out.sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
  }

  /**
   * Read the building (its record is written with every machine add and
   * rename, so two admins adding the same name race on it) and refuse a
   * duplicate name in the same laundry room.
   */
  async #buildingFor(
    bid: string,
    name: string,
    room: string,
    self?: string,
  ): Promise<{ entry: Deno.KvEntry<Building>; machines: Machine[] }> {
    const [entry, machines] = await Promise.all([
      this.kv.get<Building>(K.building(bid)),
      this.listMachines(bid),
    ]);
    if (!entry.value) throw new StoreError("not_found", "No such building.");
    const clash = machines.some((m) =>
      m.id !== self && nameKey(m.room) === nameKey(room) && nameKey(m.name) === nameKey(name)
    );
    if (clash) {
      throw new StoreError("duplicate_name", "A machine in this laundry room has that name.");
    }
    return { entry: entry as Deno.KvEntry<Building>, machines };
  }

  /** The building record with `room` among its laundry rooms (checked in `op`). */
  #withRoom(op: Deno.AtomicOperation, entry: Deno.KvEntry<Building>, room: string): void {
    const b = entry.value;
    const rooms = b.rooms.some((r) => nameKey(r) === nameKey(room)) ? b.rooms : [...b.rooms, room];
    op.check(entry).set(entry.key, { ...b, rooms });
  }

  /** Add a machine to building `bid` (admin). Appends `machine.added`. */
  async addMachine(
    bid: string,
    input: { name: string; kind: MachineKind; room: string },
  ): Promise<CommandResult> {
    return await retryCommit(async () => {
      const { entry, machines } = await this.#buildingFor(bid, input.name, input.room);
      const m = newMachine(
        newId(10),
        bid,
        input.name,
        input.kind,
        input.room,
        machines.reduce((mx, x) => Math.max(mx, x.order), 0) + 1,
        Date.now(),
      );
      const op = this.kv.atomic();
      this.#withRoom(op, entry, m.room);
      const events = await this.commitMachine(null, m, [{ type: "machine.added", machine: m }], op);
      return events ? { machine: m, before: m, events } : null;
    }, BUSY_BOARD);
  }

  /** Rename / move a machine (admin). Appends `machine.updated`. */
  async updateMachine(
    bid: string,
    id: string,
    patch: { name?: string; room?: string; order?: number },
  ): Promise<CommandResult> {
    return await retryCommit(async () => {
      const entry = await this.kv.get<Machine>(K.machine(bid, id));
      if (!entry.value) throw new StoreError("not_found", "No such machine.");
      const m: Machine = { ...entry.value, ...patch, updatedAt: Date.now() };
      const op = this.kv.atomic();
      if (patch.name !== undefined || patch.room !== undefined) {
        const b = await this.#buildingFor(bid, m.name, m.room, id);
        this.#withRoom(op, b.entry, m.room);
      }
      const events = await this.commitMachine(entry, m, [
        { type: "machine.updated", machine: m },
      ], op);
      return events ? { machine: m, before: entry.value, events } : null;
    }, BUSY_BOARD);
  }

  /** Remove a machine (admin). Refused while someone holds or uses it. */
  async removeMachine(bid: string, id: string): Promise<LogEvent[]> {
    return await retryCommit(async () => {
      const entry = await this.kv.get<Machine>(K.machine(bid, id));
      if (!entry.value) throw new StoreError("not_found", "No such machine.");
      const m = settle(entry.value, Date.now()).machine;
      if (m.state !== "available" && m.state !== "out_of_order") {
        throw new StoreError("machine_in_use", "Machine is in use; mark it out of order first.");
      }
      // Its sensor (if any) goes with it.
      return await this.commitMachine(
        entry,
        null,
        [{ type: "machine.removed", machineId: id }],
        this.kv.atomic().delete(K.sensor(bid, id)),
      );
    }, BUSY_BOARD);
  }

  /**
   * Run a lifecycle command on a machine of building `bid`: settle
   * time-driven changes, apply the command, and commit the machine, its
   * events and everything the change owes (notifications, reminder ticks,
   * offers to watchers) in one atomic operation checked against everything
   * read. Retries only when something changed underneath; the re-evaluation
   * then decides (so of two residents racing for one machine, exactly one
   * wins). Two KV round trips: one read of everything it needs, one commit.
   */
  async command(
    bid: string,
    machineId: string,
    cmd: Command,
    actor: Actor,
  ): Promise<CommandResult> {
    return await retryCommit(async () => {
      const [entry, head, prefs, holdW, holdD, userHead, waitW, waitD] = await this.kv.getMany<
        [Machine, number, Preferences, string, string, number, WaitRef, WaitRef]
      >([
        K.machine(bid, machineId),
        K.logHead(boardScope(bid)),
        K.prefs(actor.id),
        K.hold(actor.id, "washer"),
        K.hold(actor.id, "dryer"),
        K.logHead(userScope(actor.id)),
        K.waiting(bid, actor.id, "washer"),
        K.waiting(bid, actor.id, "dryer"),
      ]);
      if (!entry.value) throw new StoreError("not_found", "No such machine.");
      const now = Date.now();
      const settled = settle(entry.value, now);
      const outcome = apply(settled.machine, cmd, actor, now, this.settings, () => newId(12));
      if (!outcome.ok) throw new StoreError(outcome.code, outcome.message);
      const op = this.kv.atomic();
      const m = outcome.machine;
      const actorHold = (kind: MachineKind) => kind === "washer" ? holdW : holdD;
      // Invariant: one hold per resident per kind. The index key is written in
      // the same commit as every change of a hold, so checking it is enough.
      // It names the building too: a hold in another building counts.
      if (cmd.type === "hold") {
        const idx = actorHold(m.kind);
        if (idx.value && idx.value !== holdRef(bid, machineId)) {
          const [ob, oid] = parseHoldRef(idx.value, bid);
          const other = await this.getMachine(ob, oid);
          if (other && isHeldBy(settle(other, now).machine, actor.id)) {
            throw new StoreError(
              "already_holding",
              `You are already holding ${other.name}. Release it first.`,
            );
          }
        }
        op.check(idx).set(K.hold(actor.id, m.kind), holdRef(bid, machineId));
      }
      const before = settled.machine;
      // Free the holder's index only if it still points at this machine.
      const holder = entry.value.state === "held" || entry.value.state === "arrived"
        ? entry.value.ownerId
        : undefined;
      if (holder && !isHeldBy(m, holder)) {
        const idx = holder === actor.id
          ? actorHold(m.kind)
          : await this.kv.get<string>(K.hold(holder, m.kind));
        if (idx.value === holdRef(bid, machineId)) op.check(idx).delete(idx.key);
      }
      if (outcome.event === "machine.repaired") {
        // Everyone who reported it is told, and their reports close, in this commit.
        const owed: DueJob[] = [];
        const told = new Set<string>();
        for await (const r of this.kv.list({ prefix: K.machineReports(bid, machineId) })) {
          const userId = r.key[3] as string;
          op.delete(r.key); // not checked: a commit holds at most 10 checks
          told.add(userId);
          owed.push(due({ t: "notify", userId, b: bid, n: repairedSpec(m, userId) }, now));
        }
        // So is everyone waiting for a machine of its room and kind, but the first in
        // line: the repair frees it, and its `free` job offers it to them (that says more).
        let first = true;
        for await (
          const w of this.kv.list<{ userId: string }>(
            { prefix: K.waitlist(bid, m.room, m.kind) },
            { limit: WAITLIST_MAX },
          )
        ) {
          const userId = w.value.userId;
          if (first || told.has(userId)) {
            first = false;
            continue;
          }
          told.add(userId);
          owed.push(due({ t: "notify", userId, b: bid, n: repairedSpec(m, userId, true) }, now));
        }
        this.addDue(op, owed, now);
      }
      if (outcome.event === "machine.started" && m.ownerId) {
        op.set(K.machineUser(m.id, m.ownerId), { at: now }, { expireIn: 24 * 3600_000 });
      }
      const drafts: Draft[] = [];
      if (settled.event) drafts.push(settledDraft(entry.value, settled.machine, settled.event));
      drafts.push({ type: outcome.event, machine: m });
      // Whoever takes a machine of a kind is served: they leave that kind's queue.
      const waiting = m.kind === "washer" ? waitW : waitD;
      if (
        (outcome.event === "machine.held" || outcome.event === "machine.started") &&
        m.ownerId === actor.id && waiting.value
      ) drafts.push(...leaveOps(op, bid, actor.id, m.kind, waiting as Deno.KvEntry<WaitRef>));
      const lead = m.ownerId === actor.id
        ? prefs.value?.endingSoonMinutes ?? DEFAULT_LEAD_MINUTES
        : await this.leadMinutes(m.ownerId);
      const events = await this.commitMachine(entry, m, drafts, op, { head, lead, now });
      if (!events) return null;
      // The answer's cursor without another read (a press stays at 3 round trips).
      const cursor = formatCursor({
        epoch: this.epoch,
        building: bid,
        board: events[events.length - 1]?.seq ?? head.value ?? 0,
        user: userHead.value ?? 0,
      });
      return { machine: m, before, events, cursor };
    }, BUSY_BOARD);
  }

  /**
   * A due tick of a machine (consumed in the same commit): persist what time
   * alone changed (a hold expired, a cycle ended) with everything that owes,
   * and owe the reminders due now for the machine's current use. A tick for
   * a use that is over does nothing. Returns the board events appended.
   */
  async runTick(
    tick: DueEntry,
    bid: string,
    machineId: string,
    useId: string | undefined,
    reminders: (m: Machine, lead: number, now: number) => DueJob[],
  ): Promise<LogEvent[]> {
    return await retryCommit(async () => {
      const now = Date.now();
      const [entry, head] = await this.kv.getMany<[Machine, number]>([
        K.machine(bid, machineId),
        K.logHead(boardScope(bid)),
      ]);
      const op = consume(this.kv.atomic(), tick);
      const stale = !entry.value || (useId !== undefined && entry.value.useId !== useId);
      if (stale) return await this.finishDue(op, tick, []);
      const settled = settle(entry.value!, now);
      const m = settled.machine;
      const lead = await this.leadMinutes(m.ownerId ?? entry.value!.ownerId);
      const owed = m.useId === useId || useId === undefined ? reminders(m, lead, now) : [];
      this.addDue(op, owed, now);
      if (!settled.event) return await this.finishDue(op, tick, []);
      if (settled.event === "machine.hold_expired" && entry.value!.ownerId) {
        const idx = await this.kv.get<string>(K.hold(entry.value!.ownerId, entry.value!.kind));
        if (idx.value === holdRef(bid, machineId)) op.check(idx).delete(idx.key);
      }
      const events = await this.commitMachine(
        entry,
        m,
        [settledDraft(entry.value!, m, settled.event)],
        op,
        { head, lead, now },
      );
      if (events) return events;
      return await this.dueGone(tick) ? [] : null;
    }, BUSY_BOARD);
  }

  /** Commit `op` that consumes a due entry; `out` when done (or done by someone else), null to retry. */
  async finishDue<T>(op: Deno.AtomicOperation, entry: DueEntry, out: T): Promise<T | null> {
    if (await tryCommit(op)) return out;
    return await this.dueGone(entry) ? out : null;
  }

  /**
   * Check the machine is unchanged, write it (or delete it), append the
   * board events and the due records the change owes, and commit. Null when
   * a checked key changed (the caller re-reads and retries).
   */
  async commitMachine(
    entry: Deno.KvEntryMaybe<Machine> | null,
    m: Machine | null,
    drafts: Draft[],
    op: Deno.AtomicOperation = this.kv.atomic(),
    known: { head?: Deno.KvEntryMaybe<number>; lead?: number; now?: number } = {},
  ): Promise<LogEvent[] | null> {
    const before = entry?.value ?? null;
    const bid = m?.buildingId ?? before!.buildingId;
    const key = entry?.key ?? K.machine(bid, m!.id);
    const now = known.now ?? Date.now();
    if (entry) op.check(entry);
    else op.check({ key, versionstamp: null });
    if (m) op.set(key, m);
    else op.delete(key);
    usageOps(op, bid, usageWrites(before, m, now), now); // busy hours: a use that ended
    const lead = known.lead ?? await this.leadMinutes(m?.ownerId);
    // A lapsed offer counts against its holder's place in line, in this commit.
    for (const d of [...drafts]) {
      const who = d.type === "machine.offer_lapsed" ? d.data?.userId as string : undefined;
      if (who) drafts.push(...await lapseOps(this.kv, op, bid, who, d.machine!.kind, now));
    }
    this.addDue(
      op,
      planMachineChange({
        before,
        after: m,
        events: drafts.filter((d) => d.machine || d.machineId),
        leadMinutes: lead,
        now,
        settings: this.settings,
      }),
      now,
    );
    const head = known.head ?? await this.kv.get<number>(K.logHead(boardScope(bid)));
    const events = this.appendOp(op, boardScope(bid), drafts, head, now);
    return await tryCommit(op) ? events : null;
  }

  /** Users of a machine within the last 24 h. */
  async machineUsers(machineId: string, now = Date.now()): Promise<string[]> {
    const out: string[] = [];
    for await (const e of this.kv.list<{ at: number }>({ prefix: K.machineUsers(machineId) })) {
      if (e.value.at > now - 24 * 3600_000) out.push(e.key[2] as string);
    }
    return out;
  }
}

/** The value of a hold index entry: the machine, with its building. */
export function holdRef(bid: string, machineId: string): string {
  return `${bid}/${machineId}`;
}

/** Split a hold index value; a bare machine id (older release) is in `bid`. */
export function parseHoldRef(ref: string, bid: string): [string, string] {
  const i = ref.indexOf("/");
  return i < 0 ? [bid, ref] : [ref.slice(0, i), ref.slice(i + 1)];
}

/**
 * The event of a time-driven change. A hold that expired clears the machine,
 * so the event names whose hold it was (the holder is told); a lapsed offer
 * names whose offer it was.
 */
export function settledDraft(prev: Machine, next: Machine, type: MachineEventType): Draft {
  if (type === "machine.hold_expired") {
    return { type, machine: next, data: { ownerId: prev.ownerId, useId: prev.useId } };
  }
  // A lapsed offer names whose it was (their place in line counts it).
  if (type === "machine.offer_lapsed") {
    return { type, machine: next, data: { userId: prev.offer?.userId } };
  }
  return { type, machine: next };
}
