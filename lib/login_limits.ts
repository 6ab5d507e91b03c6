/**
 * Login attempt limits that slow password guessing without locking out the
 * account's owner or everyone behind one NAT address (issue 8).
 *
 * Every attempt is counted *before* its password is checked, in one checked
 * KV atomic commit, so parallel attempts can never be checked more often than
 * the limits allow. Three counters, all in `store.kv`:
 *
 * | key | value | what it limits |
 * | --- | --- | --- |
 * | `["login_limit", "pair", account, ip]` | {@link PairWindow} | attempts on one account from one address: {@link LoginLimitSettings.freeAttempts} free, then each needs a wait that doubles (`delayBaseMs` · 2ⁿ, at most `delayMaxMs`); forgotten `windowMs` after the wait ends, cleared by a successful login |
 * | `["login_limit", "acct", account]` | {@link CountWindow} | attempts on one account from addresses it never signed in from (`accountLimit` per `windowMs`): a botnet cannot try more, while the owner's familiar address is not held by it |
 * | `["login_limit", "ip", ip]` | {@link CountWindow} | attempts from one address on accounts that never signed in from it (`ipLimit` per `windowMs`): password spraying from one address stops, while residents who signed in from that address before (a dormitory behind one NAT) are not held by it |
 * | `["login_limit", "known", account, ip]` | `true` (kept {@link KNOWN_TTL_MS}) | this account signed in successfully from this address: a *familiar* pair, exempt from the two ceilings above |
 *
 * `account` is the lower-cased login id (at most 64 characters, so keys stay
 * far below KV's 2 KiB); `ip` the client address from `clientIp`
 * (`TRUST_PROXY`-aware). A successful login deletes the pair counter and
 * gives back its place in the two ceilings (it was not an attack).
 * @module
 */
import { K } from "./keys.ts";
import { retryCommit, tryCommit } from "./commit.ts";
import { StoreError } from "./store_error.ts";

/** Tunables (environment variables in brackets; defaults in lib/config.ts). */
export interface LoginLimitSettings {
  /** Attempts per (account, IP) before waits start (`LOGIN_FREE_ATTEMPTS`, 5). */
  freeAttempts: number;
  /** First wait, doubled for each further attempt (`LOGIN_DELAY_BASE_MS`, 1 s). */
  delayBaseMs: number;
  /** Longest wait (`LOGIN_DELAY_MAX_MS`, 15 min). */
  delayMaxMs: number;
  /** Attempts on one account from unfamiliar addresses per window (`LOGIN_ACCOUNT_LIMIT`, 50). */
  accountLimit: number;
  /** Attempts from one address on accounts unfamiliar to it per window (`LOGIN_IP_LIMIT`, 100). */
  ipLimit: number;
  /** Window of the ceilings; pair memory after its wait (`LOGIN_WINDOW_MS`, 15 min). */
  windowMs: number;
}

/** How long a successful (account, IP) pair stays familiar: 30 days. */
export const KNOWN_TTL_MS = 30 * 86_400_000;

/** The (account, IP) counter. */
export interface PairWindow {
  /** Attempts counted so far. */
  attempts: number;
  /** No further attempt before this time (ms). */
  nextAt: number;
  /** The counter is forgotten after this time (ms). */
  resetAt: number;
}

/** A fixed-window counter. */
export interface CountWindow {
  count: number;
  resetAt: number;
}

/** Why an attempt was refused. */
export type RefusalReason = "pair" | "account" | "ip" | "busy";

/** An attempt that may go ahead; hand it back to {@link LoginLimiter.succeeded}. */
export interface LoginTicket {
  account: string;
  ip: string;
  /** The pair was familiar: the ceilings were not charged. */
  familiar: boolean;
}

/** The outcome of {@link LoginLimiter.begin}. */
export type LoginGate =
  | { ok: true; ticket: LoginTicket }
  | { ok: false; reason: RefusalReason; retryAfterMs: number };

/** The KV keys of the limiter (built in lib/keys.ts, the one place that builds keys). */
export const loginLimitKeys = {
  pair: K.loginPair,
  account: K.loginAccount,
  ip: K.loginIp,
  known: K.loginKnown,
};

/** The wait after the `attempts`-th attempt on a pair (0 while still free). */
export function delayAfter(attempts: number, s: LoginLimitSettings): number {
  if (attempts < s.freeAttempts) return 0;
  const n = Math.min(attempts - s.freeAttempts, 40);
  return Math.min(s.delayMaxMs, s.delayBaseMs * 2 ** n);
}

/** Normalise a login id to its counter name. */
export function accountName(loginId: string): string {
  return loginId.trim().toLowerCase().slice(0, 64);
}

const MAX_ROUNDS = 200;

/** Counts and limits login attempts in Deno KV (see the module comment). */
export class LoginLimiter {
  /** Create a limiter over a KV handle. */
  constructor(readonly kv: Deno.Kv, readonly settings: LoginLimitSettings) {}

  /**
   * Count one attempt on `loginId` from `ip`, or refuse it with the time to
   * wait. Counting is a checked atomic commit on every counter it reads, so
   * any number of parallel attempts is admitted at most as often as the
   * limits allow.
   */
  async begin(loginId: string, ip: string, now: () => number = Date.now): Promise<LoginGate> {
    const s = this.settings;
    const account = accountName(loginId);
    const keys: [Deno.KvKey, Deno.KvKey, Deno.KvKey, Deno.KvKey] = [
      loginLimitKeys.pair(account, ip),
      loginLimitKeys.known(account, ip),
      loginLimitKeys.account(account),
      loginLimitKeys.ip(ip),
    ];
    const attempt = async (): Promise<LoginGate | null> => {
      const [pairE, knownE, acctE, ipE] = await this.kv.getMany<
        [PairWindow, boolean, CountWindow, CountWindow]
      >(keys);
      const t = now();
      const pair = pairE.value && pairE.value.resetAt > t
        ? pairE.value
        : { attempts: 0, nextAt: 0, resetAt: 0 };
      if (pair.nextAt > t) return { ok: false, reason: "pair", retryAfterMs: pair.nextAt - t };
      const familiar = knownE.value === true;
      const attempts = pair.attempts + 1;
      const nextAt = t + delayAfter(attempts, s);
      const nextPair: PairWindow = { attempts, nextAt, resetAt: nextAt + s.windowMs };
      const op = this.kv.atomic().check(pairE).check(knownE).set(keys[0], nextPair, {
        expireIn: nextPair.resetAt - t,
      });
      if (!familiar) {
        const acct = live(acctE.value, t, s.windowMs);
        if (acct.count >= s.accountLimit) {
          return { ok: false, reason: "account", retryAfterMs: acct.resetAt - t };
        }
        const byIp = live(ipE.value, t, s.windowMs);
        if (byIp.count >= s.ipLimit) {
          return { ok: false, reason: "ip", retryAfterMs: byIp.resetAt - t };
        }
        op.check(acctE).check(ipE)
          .set(keys[2], { count: acct.count + 1, resetAt: acct.resetAt }, {
            expireIn: acct.resetAt - t,
          })
          .set(keys[3], { count: byIp.count + 1, resetAt: byIp.resetAt }, {
            expireIn: byIp.resetAt - t,
          });
      }
      // Lost a race with a parallel attempt (null): re-read and decide again.
      return await tryCommit(op) ? { ok: true, ticket: { account, ip, familiar } } : null;
    };
    try {
      return await retryCommit(attempt, { attempts: MAX_ROUNDS });
    } catch (err) {
      if (err instanceof StoreError && err.code === "busy") {
        return { ok: false, reason: "busy", retryAfterMs: 1000 };
      }
      throw err;
    }
  }

  /**
   * The attempt's password was right: forget the pair's count, give back its
   * place in the ceilings, and remember the pair as familiar.
   */
  async succeeded(ticket: LoginTicket): Promise<void> {
    const { account, ip } = ticket;
    await this.kv.atomic()
      .delete(loginLimitKeys.pair(account, ip))
      .set(loginLimitKeys.known(account, ip), true, { expireIn: KNOWN_TTL_MS })
      .commit();
    if (ticket.familiar) return;
    for (const key of [loginLimitKeys.account(account), loginLimitKeys.ip(ip)]) {
      await retryCommit(async () => {
        const e = await this.kv.get<CountWindow>(key);
        if (!e.value || e.value.count <= 0) return true;
        const left = e.value.resetAt - Date.now();
        if (left <= 0) return true;
        return await tryCommit(
            this.kv.atomic().check(e)
              .set(key, { ...e.value, count: e.value.count - 1 }, { expireIn: left }),
          )
          ? true
          : null;
      }, { attempts: 20 }).catch((err) => {
        // Giving the place back is a courtesy: a busy counter keeps it until its window ends.
        if (!(err instanceof StoreError && err.code === "busy")) throw err;
      });
    }
  }
}

function live(w: CountWindow | null, now: number, windowMs: number): CountWindow {
  return w && w.resetAt > now ? w : { count: 0, resetAt: now + windowMs };
}

/** The refusal message, in the user's language, with the wait rounded up. */
export function retryMessage(lang: "ko" | "en", retryAfterSec: number): string {
  const wait = retryAfterSec >= 120
    ? (lang === "ko"
      ? `${Math.ceil(retryAfterSec / 60)}분`
      : `${Math.ceil(retryAfterSec / 60)} min`)
    : (lang === "ko" ? `${retryAfterSec}초` : `${retryAfterSec} s`);
  return lang === "ko"
    ? `로그인 시도가 너무 많아요. ${wait} 후에 다시 시도해 주세요.`
    : `Too many sign-in attempts. Try again in ${wait}.`;
}
