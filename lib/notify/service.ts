/**
 * The notification service: turns board changes and time into notifications.
 *
 * - Board changes (a listener on {@link Board}) schedule `tick` queue messages
 *   for every moment something may be due (reminders, hold expiry, cycle end),
 *   and notify on state changes that matter (cycle done, hold expired, a
 *   watched kind free).
 * - A `tick` settles the machine (time-driven state changes become events)
 *   and sends the reminders {@link dueReminders} says are due. Stale ticks do
 *   nothing; missed ones are caught by {@link NotificationService.sweep}.
 * - Admin notices: now or scheduled (a delayed `notice` message), cancellable.
 * @module
 */
import type { Board, MachineChange } from "../board.ts";
import type { Config } from "../config.ts";
import type { LogEvent, Store } from "../db.ts";
import { newId } from "../ids.ts";
import { type MessageKey, t } from "../i18n.ts";
import { nudgeRefusal } from "../lifecycle.ts";
import type {
  Machine,
  MachineKind,
  Notice,
  NoticeTarget,
  NotificationKind,
  User,
} from "../types.ts";
import type { DeliveryReport, NotificationDraft, Notifier, NotifierMessage } from "./notifier.ts";
import { dueReminders, nextStateChangeAt, type Reminder, remindersFor } from "./reminders.ts";

/** Every message on the KV queue. */
export type QueueMessage =
  | { t: "tick"; machineId: string; useId?: string }
  | { t: "notice"; id: string }
  | NotifierMessage;

/** Machine events after which the machine is free for someone else. */
const FREEING = new Set([
  "machine.collected",
  "machine.released",
  "machine.hold_expired",
  "machine.repaired",
  "machine.added",
]);

/** Machine events that start or re-time a use (schedule ticks). */
const TIMING = new Set([
  "machine.held",
  "machine.arrived",
  "machine.started",
  "machine.extended",
  "machine.finished",
  "machine.done",
]);

function machineUrl(machineId: string): string {
  return `/?m=${machineId}`;
}

function kindName(lang: "ko" | "en", kind: MachineKind): string {
  return t(lang, kind === "washer" ? "kind.washer" : "kind.dryer");
}

/** A notification about machine `m` with a catalogue title and body. */
function machineDraft(
  m: Machine,
  id: string,
  kind: NotificationKind,
  title: MessageKey,
  body: MessageKey,
  params: Record<string, string | number> = {},
  expiresAt?: number,
): NotificationDraft {
  const all = { machine: m.name, ...params };
  return {
    id,
    kind,
    url: machineUrl(m.id),
    machineId: m.id,
    expiresAt,
    text: (lang) => ({ title: t(lang, title, all), body: t(lang, body, all) }),
  };
}

/**
 * The state changes that concern the machine's (former) owner: their cycle
 * ended, their hold expired, or a breakdown ended their use. Null otherwise.
 */
export function ownerNotice(
  e: LogEvent,
  before: Machine | null,
):
  | { userId: string; id: string; kind: NotificationKind; title: MessageKey; body: MessageKey }
  | null {
  const m = e.machine;
  if (!m) return null;
  if (e.type === "machine.done" && m.ownerId && m.useId) {
    return {
      userId: m.ownerId,
      id: `use.done:${m.useId}`,
      kind: "use.done",
      title: "n.done.title",
      body: "n.done.body",
    };
  }
  if (e.type === "machine.out_of_order" && before?.ownerId && before.useId) {
    return {
      userId: before.ownerId,
      id: `out_of_order:${before.useId}`,
      kind: "notice",
      title: "n.out_of_order.title",
      body: "n.out_of_order.body",
    };
  }
  // An expired hold clears the machine; the event names whose hold it was.
  const held = e.data as { ownerId?: string; useId?: string } | undefined;
  if (e.type === "machine.hold_expired" && held?.ownerId && held.useId) {
    return {
      userId: held.ownerId,
      id: `hold.expired:${held.useId}`,
      kind: "hold.expired",
      title: "n.hold_expired.title",
      body: "n.hold_expired.body",
    };
  }
  return null;
}

/** The draft of a time-driven reminder. */
export function reminderDraft(m: Machine, r: Reminder): NotificationDraft {
  const keys = {
    "use.ending_soon": ["n.ending_soon.title", "n.ending_soon.body"],
    "use.overdue": ["n.overdue.title", "n.overdue.body"],
    "hold.expiring": ["n.hold_expiring.title", "n.hold_expiring.body"],
  } as const;
  const [title, body] = keys[r.kind as keyof typeof keys];
  return machineDraft(m, r.id, r.kind, title, body, { n: r.minutes }, r.expiresAt);
}

/** Notifications, reminders, nudges, watches and admin notices. */
export class NotificationService {
  #failedOnce = new Set<string>();

  /** Wire the service; call {@link attach} to start listening to the board. */
  constructor(
    readonly store: Store,
    readonly board: Board,
    readonly notifier: Notifier,
    readonly config: Config,
    readonly enqueue: (msg: QueueMessage, delayMs: number) => Promise<void>,
  ) {}

  /** Listen to board changes. */
  attach(): void {
    this.board.onChange((change) => this.onChange(change));
  }

  /** React to one committed board change. */
  async onChange(change: MachineChange): Promise<void> {
    const m = change.machine;
    for (const e of change.events) {
      if (e.type === "machine.started" && m?.ownerId) {
        await this.store.markMachineUser(m.id, m.ownerId);
      }
      const notice = ownerNotice(e, change.before);
      if (notice && e.machine) {
        await this.notifier.notify(
          notice.userId,
          machineDraft(e.machine, notice.id, notice.kind, notice.title, notice.body),
        );
      }
    }
    if (!m) return;
    const types = new Set(change.events.map((e) => e.type));
    if ([...types].some((ty) => TIMING.has(ty))) await this.scheduleTicks(m);
    if ([...types].some((ty) => FREEING.has(ty)) && m.state === "available") {
      await this.offerToWatchers(m);
    }
  }

  /** Enqueue a tick for every future moment this machine's use has something due. */
  async scheduleTicks(m: Machine): Promise<void> {
    const now = Date.now();
    const lead = m.ownerId ? (await this.notifier.preferences(m.ownerId)).endingSoonMinutes : 5;
    const times = new Set<number>();
    for (const r of remindersFor(m, lead, this.store.settings)) if (r.at > now) times.add(r.at);
    const change = nextStateChangeAt(m);
    if (change !== null && change > now) times.add(change);
    for (const at of times) {
      await this.enqueue({ t: "tick", machineId: m.id, useId: m.useId }, at - now);
    }
  }

  /**
   * A tick: persist time-driven state changes, then send whatever reminders
   * are due now for the machine's current use. A tick for a use that is gone
   * does nothing.
   */
  async tick(machineId: string, useId?: string, now = Date.now()): Promise<void> {
    const before = await this.store.getMachine(machineId);
    if (!before) return;
    if (useId !== undefined && before.useId !== useId) return; // stale: that use is over
    const settled = await this.board.settle(machineId, now);
    const m = settled ? settled.machine : before;
    if (!m || !m.ownerId || (useId !== undefined && m.useId !== useId)) return;
    const lead = (await this.notifier.preferences(m.ownerId)).endingSoonMinutes;
    for (const r of dueReminders(m, now, lead, this.store.settings)) {
      await this.notifier.notify(m.ownerId, reminderDraft(m, r));
    }
  }

  /** Offer a free machine to everyone watching its kind (one-shot watches). */
  async offerToWatchers(m: Machine): Promise<void> {
    const watchers = await this.store.takeWatchers(m.kind);
    for (const userId of watchers) {
      await this.notifier.notify(userId, {
        id: `machine.free:${m.id}:${m.gen}:${userId}`,
        kind: "machine.free",
        url: machineUrl(m.id),
        machineId: m.id,
        text: (lang) => ({
          title: t(lang, "n.free.title", { kind: kindName(lang, m.kind) }),
          body: t(lang, "n.free.body", { machine: m.name }),
        }),
      });
    }
  }

  /**
   * A neighbour asks the owner of a done machine to collect (수거 요청).
   * The owner only learns "a neighbour". Throws a refusal code on failure.
   */
  async nudge(
    machineId: string,
    sender: User,
  ): Promise<{ ok: true } | { ok: false; code: string; message: string }> {
    const now = Date.now();
    await this.board.settle(machineId, now);
    const m = await this.store.getMachine(machineId);
    if (!m) return { ok: false, code: "not_found", message: "No such machine." };
    const refusal = await this.store.recordNudge(
      machineId,
      sender.id,
      (lastAt) => nudgeRefusal(m, sender.id, now, this.store.settings, lastAt),
    );
    if (refusal) return { ok: false, ...refusal };
    // Never the sender's id: the owner sees this id (payload, inbox) and must
    // only learn "a neighbour". recordNudge already makes it once per cooldown.
    await this.notifier.notify(
      m.ownerId!,
      machineDraft(
        m,
        `pickup.nudge:${m.useId}:${newId(12)}`,
        "pickup.nudge",
        "n.nudge.title",
        "n.nudge.body",
      ),
    );
    return { ok: true };
  }

  /** Send a test notification to the user's devices and report per device. */
  async testPush(user: User): Promise<DeliveryReport> {
    const { item } = await this.notifier.toInbox(user.id, {
      id: `test:${newId(10)}`,
      kind: "test",
      url: "/settings",
      text: (lang) => ({ title: t(lang, "n.test.title"), body: t(lang, "n.test.body") }),
    });
    const devices = await this.notifier.pushToDevices(user.id, item, false);
    return {
      userId: user.id,
      id: item.id,
      duplicate: false,
      decision: { inApp: true, push: true, silent: false, reason: "test" },
      devices,
    };
  }

  // ───────────────────────────── admin notices ─────────────────────────────

  /** Create a notice; sends now, or schedules it for `sendAt`. */
  async createNotice(
    admin: User,
    input: {
      title: string;
      body: string;
      target: NoticeTarget;
      sendAt?: number;
      sound: boolean;
      critical: boolean;
    },
  ): Promise<Notice> {
    const now = Date.now();
    const later = input.sendAt !== undefined && input.sendAt > now + 1000;
    const notice: Notice = {
      id: newId(12),
      title: input.title,
      body: input.body,
      target: input.target,
      sendAt: later ? input.sendAt! : now,
      sound: input.sound,
      critical: input.critical,
      status: "scheduled",
      createdBy: admin.id,
      createdAt: now,
    };
    await this.store.createNotice(notice);
    if (later) await this.enqueue({ t: "notice", id: notice.id }, notice.sendAt - now);
    else await this.dispatchNotice(notice.id);
    return (await this.store.getNotice(notice.id))!;
  }

  /** Cancel a scheduled notice; null when it already went out. */
  cancelNotice(id: string): Promise<Notice | null> {
    return this.store.transitionNotice(id, ["scheduled"], "cancelled", {
      cancelledAt: Date.now(),
    });
  }

  /** Recipients of a notice target (active users only). */
  async recipients(target: NoticeTarget): Promise<User[]> {
    const users = (await this.store.listUsers()).filter((u) => !u.disabled);
    if (target.type === "all") return users;
    if (target.type === "room") return users.filter((u) => u.room === target.room);
    const m = await this.store.getMachine(target.machineId);
    const ids = new Set(await this.store.machineUsers(target.machineId));
    if (m?.ownerId) ids.add(m.ownerId);
    return users.filter((u) => ids.has(u.id));
  }

  /**
   * Send a notice to its recipients. Safe to run twice: the status moves
   * scheduled → sending atomically, each recipient's inbox entry is keyed by
   * the notice id, and a dispatcher that died mid-way is resumed by the sweep.
   */
  async dispatchNotice(id: string, now = Date.now()): Promise<void> {
    const current = await this.store.getNotice(id);
    if (!current || current.sendAt > now + 1000) return;
    let n = current;
    if (n.status === "scheduled") {
      const moved = await this.store.transitionNotice(id, ["scheduled"], "sending");
      if (!moved) return;
      n = moved;
    } else if (n.status !== "sending") return;
    for (const u of await this.recipients(n.target)) {
      await this.notifier.notify(u.id, {
        id: `notice:${n.id}`,
        kind: "notice",
        url: `/inbox?n=${n.id}`,
        noticeId: n.id,
        critical: n.critical,
        sound: n.sound,
        text: () => ({ title: n.title, body: n.body }),
      }, [n.id]);
    }
    await this.store.transitionNotice(id, ["sending"], "sent", { sentAt: Date.now() });
  }

  // ───────────────────────────── queue & sweep ─────────────────────────────

  /** Handle one queue message. Must be idempotent (delivery is at-least-once). */
  async handle(msg: QueueMessage): Promise<void> {
    switch (msg.t) {
      case "tick":
        await this.tick(msg.machineId, msg.useId);
        break;
      case "notice":
        await this.dispatchNotice(msg.id);
        break;
      case "push_retry":
      case "push_held":
      case "ack_check":
        await this.notifier.handle(msg);
        break;
    }
    // Test-only fault: fail once *after* the work is done, to prove redelivery is harmless.
    if (this.config.faults.includes("queue-fail-once-after-send")) {
      const key = JSON.stringify(msg);
      if (!this.#failedOnce.has(key)) {
        this.#failedOnce.add(key);
        throw new Error("injected fault: queue-fail-once-after-send");
      }
    }
  }

  /**
   * The cron sweep (every minute): settle every machine and send anything due
   * that a queue message missed; send notices whose time has come; trim old
   * events, inboxes and presence.
   */
  async sweep(now = Date.now()): Promise<void> {
    for (const m of await this.store.listMachines()) {
      await this.tick(m.id, undefined, now);
    }
    for (const n of await this.store.listNotices(1000)) {
      if ((n.status === "scheduled" || n.status === "sending") && n.sendAt <= now) {
        await this.dispatchNotice(n.id, now);
      }
    }
    await this.store.trimLogs(this.config.retentionMs, now);
    await this.store.trimInboxes();
    await this.store.sweepPresence(now);
  }
}
