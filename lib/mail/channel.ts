/**
 * The email channel of the outbox: which notifications owe an `email` due
 * record ({@link EmailChannel.fallback}, called by the notifier in the
 * commit that owes the pushes), and the leased handler that sends one
 * ({@link EmailChannel.send}): the mail goes out, then ONE commit consumes the
 * record and writes the `["mailed", id, user]` mark and the counters, or
 * reschedules it (temporary failure, with backoff), or counts a bounce on
 * the address (marked bouncing after {@link BOUNCE_LIMIT}). A record whose
 * mark exists is only consumed: exactly once per (notification, user); a
 * worker killed between the SMTP answer and the commit sends again after the
 * lease, with the same Message-ID.
 *
 * Counters (`["stats", scope, field]`, scopes "all", "b:<bid>", a notice id):
 * `email:queued`, `email:sent`, `email:failed`, `email:bounced`.
 * @module
 */
import { retryCommit, tryCommit } from "../commit.ts";
import type { SentMark, Store } from "../db/mod.ts";
import { K, statScope } from "../keys.ts";
import { hasDays, utcDay } from "../notify/delivery_stats.ts";
import { consume, type DueEntry, reschedule } from "../outbox.ts";
import { type DueJob, type Job, jobId } from "../notify/plan.ts";
import type { Device, InboxItem, NotificationKind, Preferences } from "../types.ts";
import { notificationMail } from "./compose.ts";
import {
  emailWorthy,
  type MailResult,
  mailRetryDelayMs,
  MAX_MAIL_ATTEMPTS,
  noHealthyDevice,
  sendableAddress,
} from "./policy.ts";
import { BOUNCE_LIMIT, type EmailRecord } from "./records.ts";
import type { MailTransport } from "./transport.ts";

/** An email counter field: `<channel>:<outcome>`. */
export type EmailCounter = "email:queued" | "email:sent" | "email:failed" | "email:bounced";

/**
 * Add one to an email counter in each scope, in a commit, and to today's
 * bucket of the scopes that keep days (the admin page's 30-day chart reads
 * them as the `email` channel: lib/notify/delivery_stats.ts).
 */
export function countEmail(
  op: Deno.AtomicOperation,
  scopes: string[],
  field: EmailCounter,
  now = Date.now(),
): void {
  const day = utcDay(now);
  for (const s of scopes) {
    op.sum(K.stat(s, field), 1n);
    if (hasDays(s)) op.sum(K.statDay(s, day, field), 1n);
  }
}

/** The counter scopes of a notification: everything, its building, its notice. */
export function scopesOf(b: string | undefined, noticeId: string | undefined): string[] {
  return ["all", ...(b ? [statScope(b)] : []), ...(noticeId ? [noticeId] : [])];
}

/** Options of the channel. */
export interface EmailChannelOptions {
  /** Base of the retry backoff (attempt n waits base × 2^(n-1)). */
  retryBaseMs: number;
  /** The origin of links when `PUBLIC_URL` is set (else each record's own). */
  publicUrl?: string;
}

/** Email as a delivery channel of the outbox. */
export class EmailChannel {
  /** Over the store and a transport. */
  constructor(
    readonly store: Store,
    readonly transport: MailTransport,
    readonly opts: EmailChannelOptions,
  ) {}

  /**
   * The `email` record a notification owes a user, if any: it matters
   * (done, overdue, nudge, critical), no push device of theirs is healthy,
   * and they have a verified, opted-in, non-bouncing address.
   */
  async fallback(
    userId: string,
    b: string | undefined,
    n: { id: string; kind: NotificationKind; critical?: boolean },
    devices: Device[],
    now: number,
  ): Promise<DueJob[]> {
    if (!emailWorthy(n) || !noHealthyDevice(devices, now)) return [];
    const rec = (await this.store.kv.get<EmailRecord>(K.email(userId))).value;
    if (!sendableAddress(rec)) return [];
    const job: Job = { t: "email", userId, b, id: n.id, attempt: 1 };
    return [{ at: now, id: jobId(job), job }];
  }

  /**
   * The notifier's hook: add what {@link fallback} owes to the commit that
   * owes the pushes (and count it as `email:queued`).
   */
  async owe(
    op: Deno.AtomicOperation,
    userId: string,
    b: string | undefined,
    n: { id: string; kind: NotificationKind; critical?: boolean; noticeId?: string },
    devices: Device[],
    now: number,
  ): Promise<void> {
    const jobs = await this.fallback(userId, b, n, devices, now);
    if (!jobs.length) return;
    this.store.addDue(op, jobs, now);
    countEmail(op, scopesOf(b, n.noticeId), "email:queued");
  }

  /** A leased `email` record: send once, then one commit records the outcome. */
  async send(entry: DueEntry, job: Extract<Job, { t: "email" }>): Promise<void> {
    const { userId, id } = job;
    const [mark, recE, itemE, prefsE] = await this.store.kv.getMany<
      [SentMark, EmailRecord, InboxItem, Preferences]
    >([K.mailed(id, userId), K.email(userId), K.inboxItem(userId, id), K.prefs(userId)]);
    const rec = recE.value;
    const to = sendableAddress(rec);
    const item = itemE.value;
    if (mark.value || !to || !item) {
      await tryCommit(consume(this.store.kv.atomic(), entry));
      return;
    }
    const scopes = scopesOf(job.b, item.noticeId);
    const lang = prefsE.value?.lang ?? "ko";
    const origin = this.opts.publicUrl ?? rec!.origin;
    const result = await this.transport.send({
      to,
      lang,
      messageId: `<${encodeURIComponent(id)}.${userId}@laundrylive.mail>`,
      ...notificationMail(item, lang, origin),
    });
    const now = Date.now();
    if (result.status === "bounce") return await this.#bounce(entry, job, result, scopes, now);
    const op = this.store.kv.atomic();
    this.#outcome(op, entry, job, result, scopes, now);
    await tryCommit(op);
  }

  #outcome(
    op: Deno.AtomicOperation,
    entry: DueEntry,
    job: Extract<Job, { t: "email" }>,
    result: Exclude<MailResult, { status: "bounce" }>,
    scopes: string[],
    now: number,
  ): void {
    const mark = (outcome: string) =>
      op.set(K.mailed(job.id, job.userId), { status: "sent", at: now, outcome } as SentMark, {
        expireIn: 7 * 86_400_000,
      });
    if (result.status === "ok") {
      consume(op, entry);
      mark("ok");
      countEmail(op, scopes, "email:sent");
    } else if (result.status === "retry" && job.attempt < MAX_MAIL_ATTEMPTS) {
      const next: Job = { ...job, attempt: job.attempt + 1 };
      const at = now + mailRetryDelayMs(job.attempt, this.opts.retryBaseMs);
      reschedule(op, entry, at, { job: next, lease: undefined });
    } else {
      consume(op, entry);
      mark(result.status);
      countEmail(op, scopes, "email:failed");
    }
  }

  /** A permanent rejection: consume, mark, count, and count it on the address. */
  async #bounce(
    entry: DueEntry,
    job: Extract<Job, { t: "email" }>,
    result: Extract<MailResult, { status: "bounce" }>,
    scopes: string[],
    now: number,
  ): Promise<void> {
    await retryCommit(async () => {
      const [cur, recE] = await this.store.kv.getMany<[unknown, EmailRecord]>([
        entry.key,
        K.email(job.userId),
      ]);
      // Our lease was taken over: whoever holds it records the outcome.
      if (cur.versionstamp !== entry.versionstamp) return true;
      const op = consume(this.store.kv.atomic(), entry).check(recE)
        .set(
          K.mailed(job.id, job.userId),
          { status: "sent", at: now, outcome: "bounce" } as SentMark,
          {
            expireIn: 7 * 86_400_000,
          },
        );
      countEmail(op, scopes, "email:bounced");
      const rec = recE.value;
      if (rec?.address) {
        const bounces = rec.bounces + 1;
        op.set(
          recE.key,
          {
            ...rec,
            bounces,
            bouncing: rec.bouncing || bounces >= BOUNCE_LIMIT,
            lastBounce: { at: now, detail: result.detail.slice(0, 200) },
          } satisfies EmailRecord,
        );
      }
      return await tryCommit(op) ? true : null;
    });
  }
}
