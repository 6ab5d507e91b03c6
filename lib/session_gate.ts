/**
 * Checks a WebSocket handshake's session without a KV read per socket.
 *
 * A signed token (lib/session_token.ts) proves who it was issued to and when;
 * whether it was revoked since is on the user record (`sessionsNotBefore`,
 * `revokedSessions`, written in the same commit that ends sessions), which
 * the gate caches per instance. Every change of a user record puts a
 * `userChanged` entry on the control feed in the same commit (`patchUser`);
 * the hub follows that feed and calls {@link SessionGate.invalidate}, so a
 * cached record is dropped within the feed's delay (a `kv.watch` wake-up,
 * milliseconds). A session ended in that window may still open a socket,
 * which the same change's `disconnect` entry then closes. A reconnect storm
 * of N sockets from R residents then costs R reads instead of N.
 *
 * The gate answers only while the control feed is followed ({@link live});
 * otherwise (and for tokens of the older unsigned format) the caller reads
 * the session from KV as every HTTP request does.
 * @module
 */
import type { Store } from "./db/mod.ts";
import { SESSION_TTL_MS } from "./db/records.ts";
import { sessionAccepted } from "./db/users.ts";
import { sha256Hex } from "./ids.ts";
import { verifySessionToken } from "./session_token.ts";
import type { User } from "./types.ts";

/** Options of a {@link SessionGate}. */
export interface SessionGateOptions {
  /** Drop a cached user after this long even without a feed entry (default 10 min). */
  ttlMs: number;
  /** Users cached at most (the oldest go first; default 100,000). */
  max: number;
}

/** A session the gate accepted: its user and id (SHA-256 of the token). */
export interface GateSession {
  user: User;
  id: string;
}

/** Per-instance check of signed session tokens against cached user records. */
export class SessionGate {
  /**
   * Whether the control feed is being followed, so the cache is kept right.
   * Set by the hub; while false, {@link check} does not answer.
   */
  #live = false;
  #users = new Map<string, { user: User; at: number }>();
  #filling = new Map<string, Promise<User | null>>();
  /** Per user, the {@link #tick} of their last invalidation (while reads are in flight). */
  #invalidated = new Map<string, number>();
  #tick = 0;
  #opts: SessionGateOptions;

  /** A gate over `store`'s users (its session key signs the tokens). */
  constructor(readonly store: Store, opts: Partial<SessionGateOptions> = {}) {
    this.#opts = { ttlMs: 600_000, max: 100_000, ...opts };
  }

  /** Whether the gate answers (the control feed is followed). */
  get live(): boolean {
    return this.#live;
  }

  /** Start or stop answering; stopping forgets every cached user. */
  set live(on: boolean) {
    this.#live = on;
    if (!on) this.#users.clear();
  }

  /** Number of users cached. */
  get size(): number {
    return this.#users.size;
  }

  /**
   * The session of `token`: the session when valid; null when its user's
   * record refuses it (revoked, disabled, gone); undefined when the gate
   * cannot say (not live, a token of the unsigned format, or one whose
   * signature does not verify or whose time is up): then read the session
   * from KV, which decides as for any request. So the gate never accepts
   * what KV would refuse, nor refuses what KV would accept.
   */
  async check(token: string, now = Date.now()): Promise<GateSession | null | undefined> {
    const key = this.store.sessionKey;
    if (!this.#live || !key) return undefined;
    const claims = await verifySessionToken(key, token, now, SESSION_TTL_MS);
    if (!claims) return undefined;
    const id = await sha256Hex(token);
    const user = await this.#user(claims.userId, now);
    if (!sessionAccepted(user, id, claims.issuedAt)) return null;
    return { user, id };
  }

  /** Forget what is cached of `userId` (their record changed). */
  invalidate(userId: string): void {
    this.#users.delete(userId);
    // Only a read already in flight can be stale (see #user); none: nothing to note.
    if (this.#filling.size) this.#invalidated.set(userId, ++this.#tick);
  }

  async #user(userId: string, now: number): Promise<User | null> {
    const hit = this.#users.get(userId);
    if (hit && now - hit.at < this.#opts.ttlMs) return hit.user;
    // One read per user however many of their sockets arrive at once.
    let p = this.#filling.get(userId);
    if (!p) {
      const start = this.#tick;
      p = this.store.getUser(userId).then((user) => {
        // Cache it only if nothing said it changed while it was being read.
        if (user && this.#live && (this.#invalidated.get(userId) ?? -1) <= start) {
          if (this.#users.size >= this.#opts.max) {
            this.#users.delete(this.#users.keys().next().value!);
          }
          this.#users.set(userId, { user, at: now });
        }
        return user;
      }).finally(() => {
        this.#filling.delete(userId);
        if (this.#filling.size === 0) this.#invalidated.clear();
      });
      this.#filling.set(userId, p);
    }
    return await p;
  }
}
