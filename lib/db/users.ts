/**
 * Accounts and what belongs to them alone: users (with the building index),
 * sessions, invite codes, preferences, presence and rate-limit windows.
 * @module
 */
import { retryCommit, tryCommit } from "../commit.ts";
import { newId, newInviteCode, newSessionToken, sha256Hex } from "../ids.ts";
import { CTL_SCOPE, K } from "../keys.ts";
import { signSessionToken } from "../session_token.ts";
import { StoreError } from "../store_error.ts";
import type { Preferences, PublicUser, Role, User } from "../types.ts";
import { LogStore } from "./log.ts";
import {
  DEFAULT_LEAD_MINUTES,
  type Invite,
  type Presence,
  PRESENCE_TTL_MS,
  type RateWindow,
  type Session,
  SESSION_TTL_MS,
} from "./records.ts";

/** Strip the password hash. */
export function publicUser(u: User): PublicUser {
  const { passwordHash: _, sessionsNotBefore: _n, revokedSessions: _r, ...rest } = u;
  return rest;
}

/** The longest session token accepted (a signed one is ~105 characters). */
export const MAX_TOKEN_LENGTH = 200;

/**
 * `user` with session `id` (expiring at `exp`) noted as signed out, and
 * expired notes dropped. Past {@link MAX_REVOKED_SESSIONS}, every session
 * issued until now is revoked instead (`sessionsNotBefore`).
 */
export function withRevoked(user: User, id: string, exp: number, now = Date.now()): User {
  const kept = (user.revokedSessions ?? []).filter((r) => r.exp > now && r.id !== id);
  if (kept.length >= MAX_REVOKED_SESSIONS) return withSessionsEnded(user, now);
  return { ...user, revokedSessions: [...kept, { id, exp }] };
}

/**
 * `user` with every session issued before `now` revoked (disabled, password
 * reset); the one-by-one sign-out notes are then moot.
 */
export function withSessionsEnded(user: User, now = Date.now()): User {
  return { ...user, sessionsNotBefore: now, revokedSessions: [] };
}

/** Sign-outs remembered on a user record; one more revokes every session instead. */
export const MAX_REVOKED_SESSIONS = 100;

/**
 * Whether session `id` of `user`, issued at `issuedAt`, has been revoked
 * (the user's sessions ended at once after it was issued, or this one signed out).
 */
export function sessionRevoked(user: User, id: string, issuedAt: number): boolean {
  if (issuedAt < (user.sessionsNotBefore ?? 0)) return true;
  return !!user.revokedSessions?.some((r) => r.id === id);
}

/**
 * Whether its user's record accepts session `id`, issued at `issuedAt`: the
 * user exists, is not disabled, and has not revoked it. Both the KV path
 * (`getSession`) and the WebSocket gate (lib/session_gate.ts) ask this.
 */
export function sessionAccepted(user: User | null, id: string, issuedAt: number): user is User {
  return !!user && !user.disabled && !sessionRevoked(user, id, issuedAt);
}

/** What creating a user needs. */
export interface NewUser {
  loginId: string;
  passwordHash: string;
  name: string;
  room: string;
  role: Role;
  /** The building the user belongs to. */
  buildingId: string;
  adminOf?: string[];
}

/** Read many keys in `getMany`'s batches of 10, in parallel. */
export async function getAll<T>(kv: Deno.Kv, keys: Deno.KvKey[]): Promise<(T | null)[]> {
  const batches: Promise<Deno.KvEntryMaybe<T>[]>[] = [];
  for (let i = 0; i < keys.length; i += 10) {
    batches.push(kv.getMany<T[]>(keys.slice(i, i + 10)) as Promise<Deno.KvEntryMaybe<T>[]>);
  }
  return (await Promise.all(batches)).flat().map((e) => e.value);
}

/** Users, sessions, invites, preferences, presence, rate windows. */
export abstract class UserStore extends LogStore {
  // ───────────────────────────── users ─────────────────────────────

  /** A user by id. */
  async getUser(id: string): Promise<User | null> {
    return (await this.kv.get<User>(K.user(id))).value;
  }

  /** A user by login id (case-insensitive). */
  async getUserByLogin(loginId: string): Promise<User | null> {
    const id = (await this.kv.get<string>(K.userByLogin(loginId))).value;
    return id ? await this.getUser(id) : null;
  }

  /** The ids of a building's members. */
  async memberIds(bid: string): Promise<string[]> {
    const out: string[] = [];
    for await (const e of this.kv.list({ prefix: K.buildingUsers(bid) })) {
      out.push(e.key[2] as string);
    }
    return out;
  }

  /** A building's members (and the admins appointed to it), by room then name. */
  async listUsers(bid: string): Promise<User[]> {
    const ids = await this.memberIds(bid);
    const users = (await getAll<User>(this.kv, ids.map((id) => K.user(id))))
      .filter((u): u is User => !!u);
    return users.sort((a, b) => a.room.localeCompare(b.room) || a.name.localeCompare(b.name));
  }

  /**
   * Create a user in their building (index written in the same commit).
   * With `inviteCode`, the invite is redeemed in the same atomic operation
   * (checked: not revoked, not expired, uses left) and decides the building
   * and role: a resident, or an admin of that building.
   */
  async createUser(input: NewUser, inviteCode?: string): Promise<User> {
    return await retryCommit(async () => {
      const loginKey = K.userByLogin(input.loginId);
      const [loginEntry, inv] = await this.kv.getMany<[string, Invite]>([
        loginKey,
        K.invite((inviteCode ?? "-").trim().toUpperCase()),
      ]);
      if (loginEntry.value) {
        throw new StoreError("login_taken", "That login id is already taken.");
      }
      const user: User = {
        id: newId(12),
        buildingId: input.buildingId,
        loginId: input.loginId,
        name: input.name,
        room: input.room,
        role: input.role,
        disabled: false,
        passwordHash: input.passwordHash,
        createdAt: Date.now(),
      };
      if (input.adminOf?.length) user.adminOf = input.adminOf;
      const op = this.kv.atomic().check(loginEntry);
      if (inviteCode !== undefined) {
        const i = inv.value;
        if (!i || i.revoked || i.uses >= i.maxUses || (i.expiresAt && i.expiresAt < Date.now())) {
          throw new StoreError("invalid_invite", "That invite code is not valid.");
        }
        user.buildingId = i.buildingId;
        if (i.role === "admin") {
          user.role = "admin";
          user.adminOf = [i.buildingId];
        }
        op.check(inv).set(inv.key, { ...i, uses: i.uses + 1 });
      }
      op.set(loginKey, user.id).set(K.user(user.id), user)
        .set(K.buildingUser(user.buildingId, user.id), true);
      return await tryCommit(op) ? user : null;
    });
  }

  /**
   * Change a user with `patch(user)` (checked); 404 when there is no such
   * user. The same commit puts a `userChanged` entry on the control feed,
   * so every instance drops what it cached of the user (lib/session_gate.ts),
   * and carries `extra`'s writes.
   */
  async patchUser(
    id: string,
    patch: (u: User) => User,
    extra?: (op: Deno.AtomicOperation) => void,
  ): Promise<User> {
    return await retryCommit(async () => {
      const [entry, ctl] = await this.kv.getMany<[User, number]>([
        K.user(id),
        K.logHead(CTL_SCOPE),
      ]);
      if (!entry.value) throw new StoreError("not_found", "No such user.");
      const user = patch(entry.value);
      const op = this.kv.atomic().check(entry).set(entry.key, user);
      // The building index lists members and the admins appointed to a building.
      const was = new Set([entry.value.buildingId, ...(entry.value.adminOf ?? [])]);
      const is = new Set([user.buildingId, ...(user.adminOf ?? [])]);
      for (const b of was) if (!is.has(b)) op.delete(K.buildingUser(b, id));
      for (const b of is) if (!was.has(b)) op.set(K.buildingUser(b, id), true);
      this.appendCtlOp(op, ctl, { userId: id, userChanged: true });
      extra?.(op);
      return await tryCommit(op) ? user : null;
    });
  }

  /** Enable or disable a user; disabling revokes all their sessions. */
  async setUserDisabled(id: string, disabled: boolean): Promise<User> {
    const user = await this.patchUser(
      id,
      (u) => disabled ? withSessionsEnded({ ...u, disabled }) : { ...u, disabled },
    );
    if (disabled) await this.deleteSessionRecordsOf(id);
    return user;
  }

  /** Replace a user record (seeding: the operator's password hash and role). */
  async updateUser(user: User): Promise<void> {
    await this.patchUser(user.id, () => user);
  }

  // ───────────────────────────── sessions ─────────────────────────────

  /**
   * Start a session; returns the token for the cookie: signed
   * (lib/session_token.ts) once the store is initialised.
   */
  async createSession(userId: string, userAgent?: string): Promise<string> {
    const op = this.kv.atomic();
    const token = await this.addSessionOp(op, userId, Date.now(), userAgent);
    await op.commit();
    return token;
  }

  /**
   * Put a new session of `userId`, issued at `now`, into `op`: its record
   * and the user's index entry, both expiring with it. Returns the token.
   * (The bench seeds thousands of sessions per commit with it.)
   */
  async addSessionOp(
    op: Deno.AtomicOperation,
    userId: string,
    now: number,
    userAgent?: string,
  ): Promise<string> {
    const key = this.sessionKey;
    const token = key ? await signSessionToken(key, userId, now) : newSessionToken(userId);
    const hash = await sha256Hex(token);
    const session: Session = {
      userId,
      createdAt: now,
      expiresAt: now + SESSION_TTL_MS,
      userAgent: userAgent?.slice(0, 200),
    };
    op.set(K.session(hash), session, { expireIn: SESSION_TTL_MS })
      .set(K.sessionOfUser(userId, hash), true, { expireIn: SESSION_TTL_MS });
    return token;
  }

  /** The session and user for a cookie token, or null (expired, disabled, revoked…). */
  async getSession(token: string): Promise<{ session: Session; user: User; id: string } | null> {
    if (!token || token.length > MAX_TOKEN_LENGTH) return null;
    const hash = await sha256Hex(token);
    // `<userId>.…` (newSessionToken, signSessionToken): session and user in
    // one read. A token from before that format names no user: two reads.
    const dot = token.indexOf(".");
    let s: Session | null;
    let user: User | null;
    if (dot > 0) {
      const [se, ue] = await this.kv.getMany<[Session, User]>([
        K.session(hash),
        K.user(token.slice(0, dot)),
      ]);
      s = se.value;
      user = s && s.userId === ue.value?.id ? ue.value : null;
    } else {
      s = (await this.kv.get<Session>(K.session(hash))).value;
      user = s ? await this.getUser(s.userId) : null;
    }
    if (!s || s.expiresAt < Date.now()) return null;
    if (!sessionAccepted(user, hash, s.createdAt)) return null;
    return { session: s, user, id: hash };
  }

  /**
   * End one session (sign-out): the session is deleted and, in the same
   * commit, noted on its user's record as revoked until it would have
   * expired (what a WebSocket handshake checks without reading the session).
   */
  async deleteSession(token: string): Promise<void> {
    const hash = await sha256Hex(token);
    const s = (await this.kv.get<Session>(K.session(hash))).value;
    const drop = (op: Deno.AtomicOperation) => {
      op.delete(K.session(hash));
      if (s) op.delete(K.sessionOfUser(s.userId, hash));
    };
    if (s) {
      try {
        await this.patchUser(s.userId, (u) => withRevoked(u, hash, s.expiresAt), drop);
        return;
      } catch (err) {
        if (!(err instanceof StoreError && err.code === "not_found")) throw err;
      }
    }
    const op = this.kv.atomic();
    drop(op);
    await op.commit();
  }

  /**
   * End every session of a user (password reset): the user record's
   * `sessionsNotBefore` first (one commit, so nothing issued before now is
   * accepted even if a crash stops the rest), then the session records.
   */
  async revokeSessionsOf(userId: string): Promise<void> {
    await this.patchUser(userId, (u) => withSessionsEnded(u));
    await this.deleteSessionRecordsOf(userId);
  }

  /**
   * Delete a user's session records, after their record has revoked them
   * (`sessionsNotBefore`): a crash part-way leaves sessions that are refused
   * anyway, which this tidies.
   */
  async deleteSessionRecordsOf(userId: string): Promise<void> {
    for await (const e of this.kv.list({ prefix: K.sessionsOfUser(userId) })) {
      await this.kv.atomic().delete(e.key).delete(K.session(e.key[2] as string)).commit();
    }
  }

  // ───────────────────────────── invites ─────────────────────────────

  /** Create an invite code of building `bid` (random unless given). */
  async createInvite(
    bid: string,
    createdBy: string,
    opts: { code?: string; maxUses?: number; expiresAt?: number; role?: Invite["role"] } = {},
  ): Promise<Invite> {
    const invite: Invite = {
      code: (opts.code ?? newInviteCode()).trim().toUpperCase(),
      buildingId: bid,
      role: opts.role ?? "resident",
      createdAt: Date.now(),
      createdBy,
      maxUses: opts.maxUses ?? (opts.role === "admin" ? 5 : 1000),
      uses: 0,
      revoked: false,
      expiresAt: opts.expiresAt,
    };
    const res = await this.kv.atomic().check({ key: K.invite(invite.code), versionstamp: null })
      .set(K.invite(invite.code), invite).set(K.buildingInvite(bid, invite.code), true).commit();
    if (!res.ok) throw new StoreError("invite_exists", "That invite code exists already.");
    return invite;
  }

  /** One invite code, or null. */
  async getInvite(code: string): Promise<Invite | null> {
    return (await this.kv.get<Invite>(K.invite(code.trim().toUpperCase()))).value;
  }

  /** A building's invite codes, newest first. */
  async listInvites(bid: string): Promise<Invite[]> {
    const codes: string[] = [];
    for await (const e of this.kv.list({ prefix: K.buildingInvites(bid) })) {
      codes.push(e.key[2] as string);
    }
    const invites = (await getAll<Invite>(this.kv, codes.map((c) => K.invite(c))))
      .filter((i): i is Invite => !!i);
    return invites.sort((a, b) => b.createdAt - a.createdAt);
  }

  /** Revoke an invite code of building `bid` (404 for another building's code). */
  async revokeInvite(bid: string, code: string): Promise<Invite> {
    return await retryCommit(async () => {
      const entry = await this.kv.get<Invite>(K.invite(code.trim().toUpperCase()));
      if (!entry.value || entry.value.buildingId !== bid) {
        throw new StoreError("not_found", "No such invite code.");
      }
      const inv = { ...entry.value, revoked: true };
      return await tryCommit(this.kv.atomic().check(entry).set(entry.key, inv)) ? inv : null;
    });
  }

  // ───────────────────────────── preferences ─────────────────────────────

  /** A user's stored preferences, or null. */
  async getPreferences(userId: string): Promise<Preferences | null> {
    return (await this.kv.get<Preferences>(K.prefs(userId))).value;
  }

  /** Store a user's preferences. */
  async setPreferences(userId: string, prefs: Preferences): Promise<void> {
    await this.kv.set(K.prefs(userId), prefs);
  }

  /** A user's "ending soon" lead time (minutes). */
  async leadMinutes(userId: string | undefined): Promise<number> {
    if (!userId) return DEFAULT_LEAD_MINUTES;
    return (await this.getPreferences(userId))?.endingSoonMinutes ?? DEFAULT_LEAD_MINUTES;
  }

  // ───────────────────────────── presence ─────────────────────────────

  /** Record a user's presence on one instance (heartbeat; rows expire by themselves). */
  async setPresence(userId: string, instance: string, p: Presence): Promise<void> {
    await this.kv.set(K.presence(userId, instance), p, { expireIn: PRESENCE_TTL_MS * 2 });
  }

  /** Forget a user's presence on one instance. */
  async clearPresence(userId: string, instance: string): Promise<void> {
    await this.kv.delete(K.presence(userId, instance));
  }

  /** Whether the user has any live connection, and any visible page. */
  async getPresence(
    userId: string,
    now = Date.now(),
  ): Promise<{ connected: boolean; visible: boolean }> {
    let connected = false;
    let visible = false;
    for await (const e of this.kv.list<Presence>({ prefix: K.presenceOf(userId) })) {
      if (e.value.at < now - PRESENCE_TTL_MS) continue; // expireIn is lazy: filter ourselves
      connected = true;
      if (e.value.visible) visible = true;
    }
    return { connected, visible };
  }

  // ───────────────────────────── rate limits ─────────────────────────────

  /**
   * Count one hit against `key` in a fixed window. Returns whether the hit is
   * within `limit`, and when the window resets.
   */
  async hitRate(
    key: string,
    limit: number,
    windowMs: number,
  ): Promise<{ allowed: boolean; retryAfterMs: number }> {
    return await retryCommit(async () => {
      const now = Date.now();
      const entry = await this.kv.get<RateWindow>(K.rate(key));
      const w = entry.value && entry.value.resetAt > now
        ? entry.value
        : { count: 0, resetAt: now + windowMs };
      if (w.count >= limit) return { allowed: false, retryAfterMs: w.resetAt - now };
      const op = this.kv.atomic().check(entry).set(K.rate(key), {
        count: w.count + 1,
        resetAt: w.resetAt,
      }, { expireIn: windowMs });
      return await tryCommit(op) ? { allowed: true, retryAfterMs: 0 } : null;
    }, { attempts: 20 }).catch(() => ({ allowed: false, retryAfterMs: 1000 }));
  }
}
