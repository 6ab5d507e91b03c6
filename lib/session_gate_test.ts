import assert from "node:assert/strict";
import { Store } from "./db/mod.ts";
import { MAX_REVOKED_SESSIONS, sessionRevoked, withRevoked } from "./db/users.ts";
import { CTL_SCOPE, K } from "./keys.ts";
import { sha256Hex } from "./ids.ts";
import { SessionGate } from "./session_gate.ts";
import { signSessionToken } from "./session_token.ts";
import type { FeedEntry } from "./db/records.ts";
import type { User } from "./types.ts";
import { newResident } from "../tests/support/store_kit.ts";

const B = "bldg-1";

interface Ctx {
  store: Store;
  gate: SessionGate;
  user: User;
  /** store.getUser calls since the start. */
  reads: () => number;
}

async function withGate(fn: (ctx: Ctx) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive_gate_test_" });
  const kv = await Deno.openKv(`${dir}/kv.sqlite3`);
  try {
    const store = new Store(kv);
    await store.init();
    await store.createBuilding({ id: B, name: "Test building" });
    const user = await newResident(store, "alice", B);
    let reads = 0;
    const getUser = store.getUser.bind(store);
    store.getUser = (id) => {
      reads++;
      return getUser(id);
    };
    const gate = new SessionGate(store);
    gate.live = true;
    await fn({ store, gate, user, reads: () => reads });
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The control feed's entries, oldest first. */
async function ctlEntries(store: Store): Promise<FeedEntry[]> {
  return await store.readFeed(CTL_SCOPE, 0, await store.logHead(CTL_SCOPE));
}

Deno.test("gate: a signed session is checked from the cached user, one read per user however many sockets", async () => {
  await withGate(async ({ store, gate, user, reads }) => {
    const tokens = await Promise.all([1, 2, 3, 4, 5].map(() => store.createSession(user.id)));
    const got = await Promise.all(tokens.map((t) => gate.check(t)));
    for (const [i, g] of got.entries()) {
      assert.equal(g?.user.id, user.id);
      assert.equal(g?.id, await sha256Hex(tokens[i]), "the session's id is its token's hash");
    }
    assert.equal(reads(), 1, "five sockets arriving at once: one read");
    await gate.check(tokens[0]);
    assert.equal(reads(), 1, "and none later");
    assert.equal(gate.size, 1);
    // The KV path agrees.
    assert.equal((await store.getSession(tokens[2]))?.user.id, user.id);
  });
});

Deno.test("gate: leaves to KV what it cannot vouch for: not live, unsigned, forged or expired tokens", async () => {
  await withGate(async ({ store, gate, user, reads }) => {
    const token = await store.createSession(user.id);
    gate.live = false;
    assert.equal(await gate.check(token), undefined, "not following the control feed");
    gate.live = true;
    assert.equal(await gate.check(`${user.id}.c2VjcmV0c2VjcmV0`), undefined, "older format: KV");
    const [u, iat, secret, mac] = token.split(".");
    const forged = [u, iat, secret + "x", mac].join(".");
    assert.equal(await gate.check(forged), undefined, "forged");
    assert.equal(await store.getSession(forged), null, "…which KV refuses");
    assert.equal(await gate.check(["someone", iat, secret, mac].join(".")), undefined);
    assert.equal(await gate.check(token, Date.now() + 31 * 24 * 3600_000), undefined, "expired");
    assert.equal(reads(), 0, "none of these read a user");
    assert.equal((await gate.check(token))?.user.id, user.id);
  });
});

Deno.test("gate: sign-out revokes that session alone, in the commit that deletes it, announced on the control feed", async () => {
  await withGate(async ({ store, gate, user }) => {
    const [t1, t2] = [await store.createSession(user.id), await store.createSession(user.id)];
    assert.ok(await gate.check(t1));
    const ctlBefore = (await ctlEntries(store)).length;
    await store.deleteSession(t1);
    const after = (await store.getUser(user.id))!;
    assert.deepEqual(after.revokedSessions?.map((r) => r.id), [await sha256Hex(t1)]);
    assert.equal(await store.getSession(t1), null, "the KV path: gone");
    const ctl = (await ctlEntries(store)).slice(ctlBefore);
    assert.deepEqual(ctl.map((e) => [e.userId, e.userChanged]), [[user.id, true]]);
    // Until the feed's entry reaches the gate, the cached record still says valid…
    assert.ok(await gate.check(t1));
    gate.invalidate(user.id);
    // …then not.
    assert.equal(await gate.check(t1), null);
    assert.equal((await gate.check(t2))?.user.id, user.id, "her other session stays");
  });
});

Deno.test("gate: ending every session (password reset) or disabling refuses all earlier tokens, not later ones", async () => {
  await withGate(async ({ store, gate, user }) => {
    const old = await store.createSession(user.id);
    assert.ok(await gate.check(old));
    await new Promise((r) => setTimeout(r, 2)); // a later millisecond
    await store.revokeSessionsOf(user.id);
    gate.invalidate(user.id);
    assert.equal(await gate.check(old), null);
    assert.equal(await store.getSession(old), null);
    const fresh = await store.createSession(user.id);
    assert.equal((await gate.check(fresh))?.user.id, user.id, "the new session after the reset");
    await store.setUserDisabled(user.id, true);
    gate.invalidate(user.id);
    assert.equal(await gate.check(fresh), null, "disabled");
    assert.equal(await store.getSession(fresh), null);
  });
});

Deno.test("gate: a record read while its change was announced is used once, not cached", async () => {
  await withGate(async ({ store, gate, user, reads }) => {
    const token = await store.createSession(user.id);
    const getUser = store.getUser;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    store.getUser = async (id) => {
      const u = await getUser(id);
      await held; // the read is done; the feed's entry arrives before it lands
      return u;
    };
    const pending = gate.check(token);
    await new Promise((r) => setTimeout(r, 5));
    gate.invalidate(user.id);
    release();
    assert.equal((await pending)?.user.id, user.id);
    assert.equal(gate.size, 0, "not cached");
    store.getUser = getUser;
    await gate.check(token);
    assert.equal(gate.size, 1, "the next read is cached");
    assert.equal(reads(), 2);
  });
});

Deno.test("gate: stops caching when it stops being live, and a cached user ages out", async () => {
  await withGate(async ({ store, user, reads }) => {
    const gate = new SessionGate(store, { ttlMs: 50 });
    gate.live = true;
    const token = await store.createSession(user.id);
    await gate.check(token);
    await gate.check(token);
    assert.equal(reads(), 1);
    await new Promise((r) => setTimeout(r, 60));
    await gate.check(token);
    assert.equal(reads(), 2, "read again after ttlMs");
    gate.live = false;
    assert.equal(gate.size, 0, "forgotten");
  });
});

Deno.test("gate: at most `max` users cached, the oldest dropped", async () => {
  await withGate(async ({ store, user }) => {
    const gate = new SessionGate(store, { max: 2 });
    gate.live = true;
    const others = [await newResident(store, "bob", B), await newResident(store, "cat", B)];
    for (const u of [user, ...others]) await gate.check(await store.createSession(u.id));
    assert.equal(gate.size, 2);
  });
});

Deno.test("patchUser: every change of a user is announced on the control feed in its commit", async () => {
  await withGate(async ({ store, user }) => {
    const before = await store.logHead(CTL_SCOPE);
    await store.patchUser(user.id, (u) => ({ ...u, name: "Alice B" }));
    const entry = (await store.readFeed(CTL_SCOPE, before, before + 1))[0];
    assert.equal(entry.userId, user.id);
    assert.equal(entry.userChanged, true);
    assert.equal(entry.disconnect, undefined);
    assert.equal(await store.logHead(CTL_SCOPE), before + 1);
    const at = (await store.kv.get<{ at: number }>(K.log(CTL_SCOPE, before + 1))).value!.at;
    assert.ok(Math.abs(at - Date.now()) < 5000);
  });
});

Deno.test("withRevoked / sessionRevoked: sign-outs are noted until they expire; past the cap, all sessions end", () => {
  const now = 1_000_000;
  const u = { id: "u", sessionsNotBefore: 500 } as User;
  assert.equal(sessionRevoked(u, "a", 499), true, "issued before the reset");
  assert.equal(sessionRevoked(u, "a", 500), false);
  const one = withRevoked(u, "a", now + 10, now);
  assert.deepEqual(one.revokedSessions, [{ id: "a", exp: now + 10 }]);
  assert.equal(sessionRevoked(one, "a", 600), true);
  assert.equal(sessionRevoked(one, "b", 600), false);
  // An expired note goes; the same id is not noted twice.
  const two = withRevoked(withRevoked(one, "b", now + 5, now), "a", now + 10, now + 6);
  assert.deepEqual(two.revokedSessions, [{ id: "a", exp: now + 10 }]);
  let full: User = { ...u, revokedSessions: [] };
  for (let i = 0; i < MAX_REVOKED_SESSIONS; i++) full = withRevoked(full, `s${i}`, now + 1e6, now);
  assert.equal(full.revokedSessions!.length, MAX_REVOKED_SESSIONS);
  assert.equal(full.sessionsNotBefore, 500);
  const over = withRevoked(full, "last", now + 1e6, now + 1);
  assert.deepEqual(over.revokedSessions, []);
  assert.equal(over.sessionsNotBefore, now + 1, "one more: every session issued until now ends");
});

Deno.test("sessions: a revocation on the user record alone (a crash before the session records went) is enough, on both paths", async () => {
  await withGate(async ({ store, gate, user }) => {
    const [t1, t2] = [await store.createSession(user.id), await store.createSession(user.id)];
    // Only the record's note, as if the process died before deleting the session.
    await store.patchUser(user.id, (u) => withRevoked(u, "", Date.now() + 60_000));
    const id1 = await sha256Hex(t1);
    await store.patchUser(user.id, (u) => withRevoked(u, id1, Date.now() + 60_000));
    gate.invalidate(user.id);
    assert.equal(await store.getSession(t1), null, "KV path");
    assert.equal(await gate.check(t1), null, "gate");
    assert.ok(await store.getSession(t2));
    await new Promise((r) => setTimeout(r, 2));
    await store.patchUser(user.id, (u) => ({ ...u, sessionsNotBefore: Date.now() }));
    gate.invalidate(user.id);
    assert.equal(await store.getSession(t2), null, "KV path");
    assert.equal(await gate.check(t2), null, "gate");
  });
});

Deno.test("gate: a disabled record is refused even without a revocation", async () => {
  await withGate(async ({ store, gate, user }) => {
    const token = await store.createSession(user.id);
    assert.ok(await gate.check(token));
    await store.patchUser(user.id, (u) => ({ ...u, disabled: true }));
    gate.invalidate(user.id);
    assert.equal(await gate.check(token), null);
  });
});

/** Make each `store.getUser` call wait until released (to order reads and feed entries). */
function holdReads(store: Store) {
  const getUser = store.getUser.bind(store);
  const waiting = new Map<string, PromiseWithResolvers<void>>();
  store.getUser = async (id) => {
    const g = Promise.withResolvers<void>();
    waiting.set(id, g);
    const u = await getUser(id);
    await g.promise;
    return u;
  };
  return {
    release(id: string) {
      const g = waiting.get(id);
      assert.ok(g, `a read of ${id} is waiting`);
      waiting.delete(id);
      g.resolve();
    },
    restore() {
      store.getUser = getUser;
    },
  };
}

Deno.test("gate: a new gate answers nothing until live; going live again keeps what it cached", async () => {
  await withGate(async ({ store, user }) => {
    const gate = new SessionGate(store);
    const token = await store.createSession(user.id);
    assert.equal(gate.live, false);
    assert.equal(await gate.check(token), undefined);
    gate.live = true;
    assert.equal(gate.live, true);
    assert.ok(await gate.check(token));
    gate.live = true;
    assert.equal(gate.size, 1);
  });
});

Deno.test("gate: a user who does not exist, or a read that lands after the gate stopped, is not cached", async () => {
  await withGate(async ({ store, gate, user }) => {
    const ghost = await signSessionToken(store.sessionKey!, "ghost", Date.now());
    assert.equal(await gate.check(ghost), null);
    assert.equal(gate.size, 0);
    const hold = holdReads(store);
    const pending = gate.check(await store.createSession(user.id));
    await new Promise((r) => setTimeout(r, 5));
    gate.live = false;
    hold.release(user.id);
    await pending;
    assert.equal(gate.size, 0);
  });
});

Deno.test("gate: a change announced before a read began does not stop it being cached; one during another user's read does", async () => {
  await withGate(async ({ store, gate, user }) => {
    const bob = await newResident(store, "bob", B);
    const [ta, tb] = [await store.createSession(user.id), await store.createSession(bob.id)];
    const hold = holdReads(store);
    // Bob's read is in flight while Alice's change is announced, before her read starts.
    const pb = gate.check(tb);
    await new Promise((r) => setTimeout(r, 5));
    gate.invalidate(user.id);
    const pa = gate.check(ta);
    await new Promise((r) => setTimeout(r, 5));
    hold.release(user.id);
    await pa;
    assert.equal(gate.size, 1, "hers, read after the change, is cached");
    // Now a change of hers lands while Bob's read is still in flight and then hers.
    gate.invalidate(user.id);
    const pa2 = gate.check(ta);
    await new Promise((r) => setTimeout(r, 5));
    gate.invalidate(user.id);
    hold.release(bob.id);
    await pb; // Bob's read ends first: what was noted of Alice must outlive it
    hold.release(user.id);
    await pa2;
    hold.restore();
    assert.equal(gate.size, 1, "Bob's cached; her read, overtaken by a change, is not");
    assert.equal((await gate.check(ta))?.user.id, user.id);
    assert.equal(gate.size, 2);
  });
});

Deno.test("gate: a cached user is used for exactly ttlMs", async () => {
  await withGate(async ({ store, user, reads }) => {
    const gate = new SessionGate(store, { ttlMs: 1000 });
    gate.live = true;
    const token = await store.createSession(user.id);
    const t0 = Date.now();
    await gate.check(token, t0);
    await gate.check(token, t0 + 999);
    assert.equal(reads(), 1);
    await gate.check(token, t0 + 1000);
    assert.equal(reads(), 2);
  });
});
