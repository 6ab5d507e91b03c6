/**
 * The notification service: handles the due-index's jobs (`lib/outbox.ts`)
 * and the admin and resident actions that owe notifications.
 *
 * - `tick`: settle the machine and owe the reminders due for its current use
 *   ({@link dueReminders}), in one commit. Stale ticks do nothing.
 * - `free`: offer a machine that became available (or whose offer lapsed
 *   or was passed) to the next in its waitlist ({@link NotificationService.offer}).
 * - `notice`: expand an admin notice into one `notify` job per recipient, in
 *   batches, each batch one commit that also records how far it got.
 * - `notify`, `push`, `ack_check`, `held`: the {@link Notifier}'s.
 *
 * Nudges and notices are recorded together with what they owe, in one
 * commit; nothing here sends anything after a commit.
 * @module
 */
import type { Config } from "../config.ts";
import { retryCommit, tryCommit } from "../commit.ts";
import type { Store } from "../db/mod.ts";
import { newId } from "../ids.ts";
import { K, statScope } from "../keys.ts";
import { type Actor, nudgeRefusal, offeredTo } from "../lifecycle.ts";
import { StoreError } from "../store_error.ts";
import { consume, type DueEntry, type DueWorker } from "../outbox.ts";
import type { Machine, Notice, NoticeTarget, User } from "../types.ts";
import type { DeviceOutcome, Notifier, TestPushReport } from "./notifier.ts";
import { outcomeOf } from "./health.ts";
import { due, type DueJob, type Job, machineSpec, type NotificationSpec } from "./plan.ts";
import { dueReminders, type Reminder } from "./reminders.ts";

/** Recipients expanded per commit when a notice is sent (a batch of the longest notice is ~340 KB, well under 800 KiB). */
export const NOTICE_BATCH = 50;
/** How long `POST /api/push/test` waits for devices before answering "pending". */
export const TEST_PUSH_WAIT_MS = 4_000;

/** The spec of a time-driven reminder. */
export function reminderSpec(m: Machine, r: Reminder): NotificationSpec {
  const keys = {
    "use.ending_soon": ["n.ending_soon.title", "n.ending_soon.body"],
    "use.overdue": ["n.overdue.title", "n.overdue.body"],
    "hold.expiring": ["n.hold_expiring.title", "n.hold_expiring.body"],
  } as const;
  const [title, body] = keys[r.kind as keyof typeof keys];
  return machineSpec(m, r.id, r.kind, title, body, { n: r.minutes }, r.expiresAt);
}

/** The jobs the reminders due now for a machine's use owe (pure). */
export function reminderJobs(
  m: Machine,
  lead: number,
  now: number,
  settings: Store["settings"],
): DueJob[] {
  if (!m.ownerId) return [];
  return dueReminders(m, now, lead, settings).map((r) =>
    due({ t: "notify", userId: m.ownerId!, b: m.buildingId, n: reminderSpec(m, r) }, now)
  );
}

/** The actor of waitlist offers. */
const WAITLIST: Actor = { id: "system", name: "", role: "system" };

/** Notifications, reminders, nudges, waitlist offers and admin notices. */
export class NotificationService {
  /** Wire the service. */
  constructor(
    readonly store: Store,
    readonly notifier: Notifier,
    readonly config: Config,
  ) {}

  /** Handle one due-index entry (the worker's handler). Idempotent. */
  async handle(entry: DueEntry, _worker?: DueWorker): Promise<void> {
    const job = entry.value.job as Job;
    switch (job.t) {
      case "tick":
        await this.store.runTick(
          entry,
          job.b,
          job.machineId,
          job.useId,
          (m, lead, now) => reminderJobs(m, lead, now, this.store.settings),
        );
        return;
      case "notify":
        return await this.notifier.deliver(entry, job);
      case "push":
        return await this.notifier.push(entry, job);
      case "ack_check":
      case "held":
        return await this.notifier.pushLater(entry, job);
      case "free":
        return await this.offer(entry, job);
      case "notice":
        return await this.expandNotice(entry, job.b, job.noticeId);
      case "sensor":
        await this.store.sensorCheck(entry, job.b, job.machineId);
        return;
      case "email":
        if (this.notifier.email) return await this.notifier.email.send(entry, job);
        // SMTP_URL was removed since it was owed: nothing can send it.
        await tryCommit(consume(this.store.kv.atomic(), entry));
        return;
      case "trim":
        await this.store.trimLog(job.scope, job.upTo);
        await tryCommit(consume(this.store.kv.atomic(), entry));
        return;
      default:
        // A record this release does not know (written by a newer one): leave it.
        console.error("outbox: unknown job", job);
        await tryCommit(consume(this.store.kv.atomic(), entry));
    }
  }

  /**
   * A `free` record: while the machine is still free (same generation) and
   * not offered to anyone, offer it to the first in its laundry room's queue
   * of its kind who has not let it go already (one checked machine command:
   * the offer, its board event and the notice to its holder are one commit).
   * The record is consumed afterwards; a crash in between re-runs it, which
   * then finds the offer made and does nothing (an offer is made only to a
   * machine without one, so there is never more than one).
   */
  async offer(entry: DueEntry, job: Extract<Job, { t: "free" }>): Promise<void> {
    const m = await this.store.getMachine(job.b, job.machineId);
    const now = Date.now();
    if (m && m.gen === job.gen && m.state === "available" && !offeredTo(m, now)) {
      const next = await this.store.nextInLine(job.b, m.room, m.kind, m.passed);
      if (next) {
        try {
          await this.store.command(job.b, m.id, { type: "offer", userId: next }, WAITLIST);
        } catch (err) {
          // The machine changed meanwhile (taken, offered by a newer record): nothing to offer.
          if (!(err instanceof StoreError)) throw err;
        }
      }
    }
    await tryCommit(consume(this.store.kv.atomic(), entry));
  }

  /**
   * A neighbour asks the owner of a done machine to collect (수거 요청). The
   * owner only learns "a neighbour". The nudge and the owner's notification
   * are one commit.
   */
  async nudge(
    bid: string,
    machineId: string,
    sender: User,
  ): Promise<{ ok: true } | { ok: false; code: string; message: string }> {
    const now = Date.now();
    const refusal = await this.store.nudge(
      bid,
      machineId,
      sender.id,
      (m, lastAt) => nudgeRefusal(m, sender.id, now, this.store.settings, lastAt),
      // Never the sender's id: the owner sees this id (payload, inbox) and must
      // only learn "a neighbour".
      (m) =>
        machineSpec(
          m,
          `pickup.nudge:${m.useId}:${newId(12)}`,
          "pickup.nudge",
          "n.nudge.title",
          "n.nudge.body",
        ),
    );
    return refusal ? { ok: false, ...refusal } : { ok: true };
  }

  /**
   * Send a test notification to the user's devices and report per device:
   * each device's answer as it arrives, "pending" for any still sending
   * after {@link TEST_PUSH_WAIT_MS}.
   */
  async testPush(user: User, bid: string, waitMs = TEST_PUSH_WAIT_MS): Promise<TestPushReport> {
    const item = await this.notifier.toInbox(user.id, bid, {
      id: `test:${newId(10)}`,
      kind: "test",
      url: "/settings",
      text: { key: { title: "n.test.title", body: "n.test.body" }, params: {} },
    });
    const devices = await this.store.listDevices(user.id);
    const outcomes: DeviceOutcome[] = devices.map((d) => ({
      deviceId: d.deviceId,
      kind: d.kind,
      label: d.label,
      result: { status: "pending", detail: `no answer within ${waitMs} ms` },
    }));
    const sends = devices.map(async (d, i) => {
      const result = await this.notifier.sendTo(d, item, false);
      outcomes[i] = { ...outcomes[i], result };
      if (result.status === "gone") await this.store.deleteDevice(user.id, d.deviceId);
      else await this.store.recordDeviceResult(user.id, d.deviceId, outcomeOf(result));
      if (result.status === "alarm") {
        await this.store.kv.set(K.alarm("push"), this.notifier.alarm(d, result));
      }
      await this.store.countDelivery(["all", statScope(bid)], {
        pushed: result.status === "ok" ? 1 : 0,
        pruned: result.status === "gone" ? 1 : 0,
        failed: result.status === "ok" || result.status === "gone" ? 0 : 1,
      });
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled(sends),
      new Promise((r) => (timer = setTimeout(r, waitMs))),
    ]);
    clearTimeout(timer);
    return { id: item.id, devices: outcomes.map((o) => ({ ...o })) };
  }

  // ───────────────────────────── admin notices ─────────────────────────────

  /**
   * Create a notice: stored with its `notice` job (due now, or at `sendAt`)
   * in one commit. Answers once the work is recorded, not when the slowest
   * phone answers.
   */
  async createNotice(
    admin: User,
    bid: string,
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
      buildingId: bid,
      title: input.title,
      body: input.body,
      target: input.target,
      sendAt: later ? input.sendAt! : now,
      sound: input.sound,
      critical: input.critical,
      // Going out now: "sending" until the worker has owed it to everyone.
      status: later ? "scheduled" : "sending",
      createdBy: admin.id,
      createdAt: now,
    };
    await this.store.createNotice(notice);
    return notice;
  }

  /** Cancel a scheduled notice; null when it already went out. */
  cancelNotice(bid: string, id: string): Promise<Notice | null> {
    return this.store.transitionNotice(bid, id, ["scheduled"], "cancelled", {
      cancelledAt: Date.now(),
    });
  }

  /**
   * Recipients of a notice target in building `bid` (its active members
   * only), in id order: everyone; a room number; the users (current and
   * within 24 h) of one machine, or of every machine of one laundry room.
   */
  async recipients(bid: string, target: NoticeTarget): Promise<User[]> {
    const users = (await this.store.listUsers(bid)).filter((u) =>
      !u.disabled && u.buildingId === bid
    );
    let out = users;
    if (target.type === "room") out = users.filter((u) => u.room === target.room);
    else if (target.type === "machine" || target.type === "laundry") {
      const machines = target.type === "machine"
        ? [await this.store.getMachine(bid, target.machineId)]
        : (await this.store.listMachines(bid)).filter((m) => m.room === target.laundry);
      const ids = new Set<string>();
      for (const m of machines) {
        if (!m) continue;
        for (const id of await this.store.machineUsers(m.id)) ids.add(id);
        if (m.ownerId) ids.add(m.ownerId);
      }
      out = users.filter((u) => ids.has(u.id));
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * A `notice` record: move the notice to "sending", then owe a `notify`
   * job to each recipient, {@link NOTICE_BATCH} per commit, each commit
   * recording the last recipient done (a dispatcher that dies resumes
   * there); the last commit marks it sent and consumes the record.
   */
  async expandNotice(entry: DueEntry, bid: string, noticeId: string): Promise<void> {
    for (let batch = 0; batch < 100_000; batch++) {
      const finished = await retryCommit(async () => {
        const now = Date.now();
        const [noticeE, current] = await this.store.kv.getMany<[Notice, unknown]>([
          K.notice(bid, noticeId),
          entry.key,
        ]);
        if (current.versionstamp !== entry.versionstamp) return true;
        const n = noticeE.value;
        const op = this.store.kv.atomic().check(current).check(noticeE);
        if (!n || (n.status !== "scheduled" && n.status !== "sending")) {
          return await tryCommit(op.delete(entry.key)) ? true : null;
        }
        const all = await this.recipients(bid, n.target);
        const rest = n.cursor ? all.filter((u) => u.id > n.cursor!) : all;
        const take = rest.slice(0, NOTICE_BATCH);
        const last = rest.length <= NOTICE_BATCH;
        const spec: NotificationSpec = {
          id: `notice:${n.id}`,
          kind: "notice",
          url: `/inbox?n=${n.id}`,
          noticeId: n.id,
          critical: n.critical,
          sound: n.sound,
          text: { literal: { title: n.title, body: n.body } },
        };
        this.store.addDue(
          op,
          take.map((u) => due({ t: "notify", userId: u.id, b: bid, n: spec, scopes: [n.id] }, now)),
          now,
        );
        const next: Notice = last
          ? { ...n, status: "sent", sentAt: now, cursor: undefined }
          : { ...n, status: "sending", cursor: take[take.length - 1].id };
        op.set(noticeE.key, next);
        if (last) op.delete(entry.key);
        if (!(await tryCommit(op))) return null;
        return last;
      });
      if (finished) return;
      const again = await this.store.kv.get<DueEntry["value"]>(entry.key);
      if (!again.value) return;
      entry = again as DueEntry;
    }
  }

  // ───────────────────────────── sweep ─────────────────────────────

  /**
   * The minute sweep: once per minute slot however many workers or
   * instances run it (a KV lease), trim old events, inboxes and presence.
   * Returns whether this call did the work.
   */
  async sweep(now = Date.now()): Promise<boolean> {
    const slot = Math.floor(now / 60_000);
    const key = K.lease("sweep", slot);
    const won = await tryCommit(
      this.store.kv.atomic().check({ key, versionstamp: null }).set(key, { at: now }, {
        expireIn: 3_600_000,
      }).sum(K.stat("ops", "sweeps"), 1n),
    );
    if (!won) return false;
    // Old events, inboxes and presence need no scan here: logs owe
    // themselves trims as due records (lib/db/log.ts) and presence rows
    // expire by themselves. The sweep's lease is what makes cron work
    // (woken workers, `ops.sweeps`) happen once per minute.
    return true;
  }
}
