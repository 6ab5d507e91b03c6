/**
 * Account recovery: an admin issues a one-time password-reset code for a
 * resident (shown once; expires; single use); the resident sets a new
 * password with it, which ends every session they had.
 *
 * KV keys (this module's own; `lib/db.ts` documents the rest):
 *
 * | key                           | value                    | notes                                |
 * | ----------------------------- | ------------------------ | ------------------------------------ |
 * | `["reset", codeHash]`         | {@link ResetEntry}       | SHA-256 of the code; `expireIn` TTL  |
 * | `["reset_by_user", userId]`   | codeHash                 | the one live code of a user          |
 *
 * It also writes `K.user(id)` (the password hash), whose shape belongs to
 * `lib/db.ts`, and ends sessions on the user record in its own commit (then
 * deletes their records with `Store.deleteSessionRecordsOf`).
 *
 * Invariants, each enforced with `atomic().check()`:
 * - a user has at most one live code: issuing checks `K.resetOfUser(id)`
 *   and replaces (deletes) the previous code in the same commit;
 * - a code is used at most once: redeeming checks the code entry and the user
 *   record it read, and deletes the code in the same commit that sets the
 *   new password; a second redemption finds nothing.
 * Only the hash of a code is stored, so reading KV does not reveal a code.
 * @module
 */
import { type Store, StoreError } from "./db/mod.ts";
import { withSessionsEnded } from "./db/users.ts";
import { newId, sha256Hex } from "./ids.ts";
import { CTL_SCOPE, K } from "./keys.ts";
import { retryCommit, tryCommit } from "./commit.ts";
import type { User } from "./types.ts";

/** How long a reset code is valid. */
export const RESET_TTL_MS = 24 * 60 * 60_000;

/** What a reset code points at. */
export interface ResetEntry {
  userId: string;
  createdBy: string;
  createdAt: number;
  expiresAt: number;
}

/** A human-friendly one-time code like `RSET-7K3Q-9MPA-X2BD` (60 random bits). */
export function newResetCode(): string {
  const up = newId(12).toUpperCase();
  return `RSET-${up.slice(0, 4)}-${up.slice(4, 8)}-${up.slice(8)}`;
}

/** The form a typed code is compared in: upper case, no spaces, dashes kept. */
export function normalizeResetCode(code: string): string {
  return code.trim().toUpperCase().replace(/\s+/g, "");
}

/**
 * Issue a reset code for `userId` (replacing any earlier one). Returns the
 * code, which is not stored and cannot be shown again, and when it expires.
 */
export async function issueReset(
  store: Store,
  userId: string,
  adminId: string,
  now = Date.now(),
  ttlMs = RESET_TTL_MS,
): Promise<{ code: string; expiresAt: number }> {
  const kv = store.kv;
  return await retryCommit(async () => {
    const user = await kv.get<User>(K.user(userId));
    if (!user.value) throw new StoreError("not_found", "No such user.");
    const code = newResetCode();
    const hash = await sha256Hex(normalizeResetCode(code));
    const prev = await kv.get<string>(K.resetOfUser(userId));
    const entry: ResetEntry = {
      userId,
      createdBy: adminId,
      createdAt: now,
      expiresAt: now + ttlMs,
    };
    const op = kv.atomic()
      .check(prev)
      .check({ key: K.reset(hash), versionstamp: null })
      .set(K.reset(hash), entry, { expireIn: ttlMs })
      .set(K.resetOfUser(userId), hash, { expireIn: ttlMs });
    if (prev.value) op.delete(K.reset(prev.value));
    return await tryCommit(op) ? { code, expiresAt: entry.expiresAt } : null;
  }, { attempts: 10 });
}

/**
 * Set a new password with a reset code: once, before it expires. Ends every
 * session of the user. Throws `invalid_reset` (400) for a wrong, used or
 * expired code, and for a disabled account.
 */
export async function redeemReset(
  store: Store,
  code: string,
  passwordHash: string,
  now = Date.now(),
): Promise<User> {
  const kv = store.kv;
  const hash = await sha256Hex(normalizeResetCode(code));
  const updated = await retryCommit(async () => {
    const entry = await kv.get<ResetEntry>(K.reset(hash));
    const invalid = () =>
      new StoreError("invalid_reset", "That reset code is wrong, used or expired.");
    if (!entry.value || entry.value.expiresAt <= now) throw invalid();
    const user = await kv.get<User>(K.user(entry.value.userId));
    if (!user.value || user.value.disabled) throw invalid();
    const [byUser, ctl] = await kv.getMany<[string, number]>([
      K.resetOfUser(entry.value.userId),
      K.logHead(CTL_SCOPE),
    ]);
    // Every session issued before now ends in this very commit (the records go below).
    const updated = withSessionsEnded({ ...user.value, passwordHash });
    const op = kv.atomic()
      .check(entry)
      .check(user)
      .check(byUser)
      .delete(entry.key)
      .set(user.key, updated);
    if (byUser.value === hash) op.delete(byUser.key);
    store.appendCtlOp(op, ctl, { userId: updated.id, userChanged: true });
    return await tryCommit(op) ? updated : null;
  }, { attempts: 10 });
  await store.deleteSessionRecordsOf(updated.id);
  return updated;
}
