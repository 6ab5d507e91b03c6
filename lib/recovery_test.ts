import assert from "node:assert/strict";
import { Store, StoreError } from "./db/mod.ts";
import { issueReset, normalizeResetCode, redeemReset } from "./recovery.ts";
import { CTL_SCOPE, K } from "./keys.ts";
import { sha256Hex } from "./ids.ts";

async function withStore(fn: (store: Store) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-recovery-" });
  const kv = await Deno.openKv(`${dir}/kv.sqlite`);
  try {
    await fn(new Store(kv));
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function user(store: Store, loginId: string) {
  const inv = await store.createInvite("b1", "admin", { code: `INV-${loginId}` });
  return await store.createUser(
    { loginId, passwordHash: "old", name: loginId, room: "101", role: "resident", buildingId: "" },
    inv.code,
  );
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof StoreError) return e.code;
    throw e;
  }
  return "none";
}

Deno.test("a reset code works once, ends every session, and only its hash is stored", async () => {
  await withStore(async (store) => {
    const u = await user(store, "reset01");
    const t1 = await store.createSession(u.id);
    const t2 = await store.createSession(u.id);
    const { code, expiresAt } = await issueReset(store, u.id, "admin");
    assert.match(code, /^RSET-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    assert.ok(expiresAt > Date.now());
    for await (const e of store.kv.list({ prefix: ["reset"] })) {
      assert.ok(!JSON.stringify(e).includes(code), "the code itself is not in KV");
    }
    // Typed in lower case with spaces: still the code.
    const updated = await redeemReset(store, ` ${code.toLowerCase()} `, "new-hash");
    assert.equal(updated.passwordHash, "new-hash");
    assert.equal((await store.getUser(u.id))?.passwordHash, "new-hash");
    assert.equal(await store.getSession(t1), null);
    assert.equal(await store.getSession(t2), null);
    assert.equal(await refusal(redeemReset(store, code, "again")), "invalid_reset");
    assert.equal(normalizeResetCode(" rset-ab cd "), "RSET-ABCD");
  });
});

Deno.test("a reset's own commit ends the sessions and announces the change (a crash before the records go loses nothing)", async () => {
  await withStore(async (store) => {
    const u = await user(store, "reset03");
    const t1 = await store.createSession(u.id);
    await new Promise((r) => setTimeout(r, 2)); // the reset lands in a later millisecond
    const { code } = await issueReset(store, u.id, "admin");
    const ctlBefore = await store.logHead(CTL_SCOPE);
    // As if the process died right after the reset's commit: the session records stay.
    store.deleteSessionRecordsOf = () => Promise.resolve();
    await redeemReset(store, code, "new-hash");
    assert.ok(
      (await store.kv.get(K.session(await sha256Hex(t1)))).value,
      "its record is still there",
    );
    assert.equal(await store.getSession(t1), null, "and refused all the same");
    const entries = await store.readFeed(CTL_SCOPE, ctlBefore, ctlBefore + 1);
    assert.deepEqual(entries.map((e) => [e.userId, e.userChanged]), [[u.id, true]]);
  });
});

Deno.test("a new code replaces the old; expired and wrong codes are refused", async () => {
  await withStore(async (store) => {
    const u = await user(store, "reset02");
    const first = await issueReset(store, u.id, "admin");
    const second = await issueReset(store, u.id, "admin");
    assert.equal(await refusal(redeemReset(store, first.code, "h")), "invalid_reset");
    assert.equal(await refusal(redeemReset(store, "RSET-0000-0000-0000", "h")), "invalid_reset");
    const old = await issueReset(store, u.id, "admin", Date.now() - 2000, 1000);
    assert.equal(await refusal(redeemReset(store, old.code, "h")), "invalid_reset");
    assert.equal(await refusal(redeemReset(store, second.code, "h")), "invalid_reset");
    assert.equal(await refusal(issueReset(store, "nobody", "admin")), "not_found");
  });
});

Deno.test("two redemptions racing: exactly one wins", async () => {
  await withStore(async (store) => {
    const u = await user(store, "reset03");
    const { code } = await issueReset(store, u.id, "admin");
    const results = await Promise.allSettled([
      redeemReset(store, code, "a"),
      redeemReset(store, code, "b"),
      redeemReset(store, code, "c"),
    ]);
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
  });
});
