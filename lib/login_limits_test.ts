import assert from "node:assert/strict";
import {
  delayAfter,
  LoginLimiter,
  loginLimitKeys,
  type LoginLimitSettings,
  retryMessage,
} from "./login_limits.ts";

const SETTINGS: LoginLimitSettings = {
  freeAttempts: 5,
  delayBaseMs: 1000,
  delayMaxMs: 15 * 60_000,
  accountLimit: 20,
  ipLimit: 30,
  windowMs: 15 * 60_000,
};

async function withKv(fn: (kv: Deno.Kv) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "login-limits-" });
  const kv = await Deno.openKv(`${dir}/kv.sqlite`);
  try {
    await fn(kv);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("delayAfter: free attempts, then doubling waits up to the cap", () => {
  assert.deepEqual([1, 4, 5, 6, 7].map((n) => delayAfter(n, SETTINGS)), [0, 0, 1000, 2000, 4000]);
  assert.equal(delayAfter(60, SETTINGS), 15 * 60_000);
});

Deno.test("LoginLimiter: 40 parallel attempts on one account admit exactly the free ones", async () => {
  await withKv(async (kv) => {
    const lim = new LoginLimiter(kv, SETTINGS);
    const gates = await Promise.all(
      Array.from({ length: 40 }, () => lim.begin("Alice", "203.0.113.7")),
    );
    assert.equal(gates.filter((g) => g.ok).length, SETTINGS.freeAttempts);
    for (const g of gates) {
      if (!g.ok) assert.ok(g.retryAfterMs > 0 && g.retryAfterMs <= 1000, String(g.retryAfterMs));
    }
  });
});

Deno.test("LoginLimiter: 100 parallel attempts from one address admit at most the IP ceiling", async () => {
  await withKv(async (kv) => {
    const lim = new LoginLimiter(kv, SETTINGS);
    const gates = await Promise.all(
      Array.from({ length: 100 }, (_, i) => lim.begin(`user${i}`, "198.51.100.1")),
    );
    assert.equal(gates.filter((g) => g.ok).length, SETTINGS.ipLimit);
    assert.ok(gates.some((g) => !g.ok && g.reason === "ip"));
  });
});

Deno.test("LoginLimiter: waits double after the free attempts and are told", async () => {
  await withKv(async (kv) => {
    let t = 1_000_000;
    const now = () => t;
    const lim = new LoginLimiter(kv, SETTINGS);
    for (let i = 0; i < 5; i++) assert.ok((await lim.begin("bob", "10.1.1.1", now)).ok);
    const refused = await lim.begin("bob", "10.1.1.1", now);
    assert.deepEqual(refused, { ok: false, reason: "pair", retryAfterMs: 1000 });
    t += 1000;
    assert.ok((await lim.begin("bob", "10.1.1.1", now)).ok);
    const again = await lim.begin("bob", "10.1.1.1", now);
    assert.equal(!again.ok && again.retryAfterMs, 2000);
  });
});

Deno.test("LoginLimiter: the owner's familiar address is not locked out by an attacker's", async () => {
  await withKv(async (kv) => {
    const lim = new LoginLimiter(kv, SETTINGS);
    const home = "192.0.2.10";
    const first = await lim.begin("carol", home);
    assert.ok(first.ok);
    await lim.succeeded(first.ticket);
    // An attacker spreads guesses over many addresses until the account ceiling holds.
    let admitted = 0;
    for (let i = 0; i < 60; i++) {
      if ((await lim.begin("carol", `198.18.0.${i}`)).ok) admitted++;
    }
    assert.equal(admitted, SETTINGS.accountLimit);
    const stranger = await lim.begin("carol", "198.18.1.1");
    assert.equal(!stranger.ok && stranger.reason, "account");
    // Carol, at home, still gets in.
    const home2 = await lim.begin("carol", home);
    assert.ok(home2.ok);
    assert.equal(home2.ticket.familiar, true);
  });
});

Deno.test("LoginLimiter: a resident behind a sprayed NAT address still signs in", async () => {
  await withKv(async (kv) => {
    const lim = new LoginLimiter(kv, SETTINGS);
    const nat = "100.64.0.1";
    const g = await lim.begin("dave", nat);
    assert.ok(g.ok);
    await lim.succeeded(g.ticket);
    for (let i = 0; i < 40; i++) await lim.begin(`victim${i}`, nat);
    assert.equal((await lim.begin("newcomer", nat)).ok, false, "the IP ceiling holds");
    assert.ok((await lim.begin("dave", nat)).ok, "a familiar resident is not held by it");
  });
});

Deno.test("LoginLimiter: success forgets the pair and gives back the ceilings' places", async () => {
  await withKv(async (kv) => {
    const lim = new LoginLimiter(kv, SETTINGS);
    for (let i = 0; i < 3; i++) await lim.begin("erin", "10.2.2.2");
    const g = await lim.begin("erin", "10.2.2.2");
    assert.ok(g.ok);
    await lim.succeeded(g.ticket);
    assert.equal((await kv.get(loginLimitKeys.pair("erin", "10.2.2.2"))).value, null);
    assert.equal((await kv.get(loginLimitKeys.known("erin", "10.2.2.2"))).value, true);
    const acct = await kv.get<{ count: number }>(loginLimitKeys.account("erin"));
    assert.equal(acct.value?.count, 3);
  });
});

Deno.test("retryMessage: in the user's language, with the wait", () => {
  assert.match(retryMessage("en", 30), /Try again in 30 s/);
  assert.match(retryMessage("ko", 30), /30초/);
  assert.match(retryMessage("en", 900), /15 min/);
});

// ───────────── what mutation testing found unguarded (issue 14) ─────────────

import { DatabaseSync } from "node:sqlite";
import { accountName, KNOWN_TTL_MS } from "./login_limits.ts";

/** A fresh KV file; `path` lets a test read what KV stored beside the values. */
async function withKvFile(fn: (kv: Deno.Kv, path: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "login-limits-" });
  const path = `${dir}/kv.sqlite`;
  const kv = await Deno.openKv(path);
  try {
    await fn(kv, path);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * When KV will drop a key (ms since the epoch), or -1 for never. Deno KV has no
 * API for a key's expiry and deletes expired keys lazily (they are still read
 * back for a while), so this reads the `expiration_ms` column of the KV file
 * itself. Keys here are tuples of strings: each part is 0x02, its UTF-8 bytes, 0x00.
 */
function expiryOf(path: string, key: Deno.KvKey): number | undefined {
  const bytes: number[] = [];
  for (const part of key) bytes.push(0x02, ...new TextEncoder().encode(String(part)), 0x00);
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const row = db.prepare("SELECT expiration_ms FROM kv WHERE k = ?").get(
      new Uint8Array(bytes),
    ) as { expiration_ms: number } | undefined;
    return row?.expiration_ms;
  } finally {
    db.close();
  }
}

/** A KV handle whose atomic commits all lose a race (as if another instance always wrote first). */
function alwaysContended(kv: Deno.Kv) {
  const calls = { commits: 0, gets: 0 };
  const handle = {
    getMany: (keys: Deno.KvKey[]) => kv.getMany(keys),
    get: (key: Deno.KvKey) => (calls.gets++, kv.get(key)),
    atomic: () => {
      const op = kv.atomic();
      op.commit = () => (calls.commits++, Promise.resolve({ ok: false } as Deno.KvCommitError));
      return op;
    },
  } as unknown as Deno.Kv;
  return { handle, calls };
}

Deno.test("loginLimitKeys: the stored key layout documented in the module comment", () => {
  assert.deepEqual(loginLimitKeys.pair("ann", "10.0.0.1"), [
    "login_limit",
    "pair",
    "ann",
    "10.0.0.1",
  ]);
  assert.deepEqual(loginLimitKeys.account("ann"), ["login_limit", "acct", "ann"]);
  assert.deepEqual(loginLimitKeys.ip("10.0.0.1"), ["login_limit", "ip", "10.0.0.1"]);
  assert.deepEqual(loginLimitKeys.known("ann", "10.0.0.1"), [
    "login_limit",
    "known",
    "ann",
    "10.0.0.1",
  ]);
});

Deno.test("accountName: trimmed, lower-cased, at most 64 characters; spellings share one counter", async () => {
  assert.equal(accountName("  Alice \n"), "alice");
  assert.equal(accountName("B".repeat(100)), "b".repeat(64));
  await withKv(async (kv) => {
    const lim = new LoginLimiter(kv, SETTINGS);
    for (const id of ["Frank", "frank ", " FRANK", "frank", "fRaNk"]) {
      assert.ok((await lim.begin(id, "10.3.3.3", () => 5_000)).ok, id);
    }
    assert.equal((await lim.begin("frank", "10.3.3.3", () => 5_000)).ok, false);
    const long = "x".repeat(64);
    assert.ok((await lim.begin(long + "-one", "10.3.3.4", () => 5_000)).ok);
    const g = await lim.begin(long + "-two", "10.3.3.4", () => 5_000);
    assert.ok(g.ok);
    assert.equal(g.ticket.account, long);
    const pair = await kv.get<{ attempts: number }>(loginLimitKeys.pair(long, "10.3.3.4"));
    assert.equal(pair.value?.attempts, 2, "both long ids counted on one 64-character name");
  });
});

Deno.test("LoginLimiter: a pair's count is forgotten once its window has passed (at resetAt exactly)", async () => {
  await withKv(async (kv) => {
    let t = 1_000_000;
    const lim = new LoginLimiter(kv, SETTINGS);
    for (let i = 0; i < 5; i++) assert.ok((await lim.begin("gus", "10.4.4.4", () => t)).ok);
    const pair = await kv.get<{ resetAt: number; attempts: number }>(
      loginLimitKeys.pair("gus", "10.4.4.4"),
    );
    assert.equal(pair.value?.attempts, 5);
    // The fifth attempt waits delayBaseMs; the window ends windowMs after that.
    assert.equal(pair.value?.resetAt, t + SETTINGS.delayBaseMs + SETTINGS.windowMs);
    t = pair.value!.resetAt;
    // A fresh window: five free attempts at once again, with no wait between them.
    for (let i = 0; i < 5; i++) {
      assert.ok((await lim.begin("gus", "10.4.4.4", () => t)).ok, `#${i}`);
    }
  });
});

Deno.test("LoginLimiter: the ceilings count per window and start over when it ends (at resetAt exactly)", async () => {
  await withKv(async (kv) => {
    let t = 2_000_000;
    const s = { ...SETTINGS, accountLimit: 3, ipLimit: 1000 };
    const lim = new LoginLimiter(kv, s);
    for (let i = 0; i < 3; i++) assert.ok((await lim.begin("hal", `198.18.2.${i}`, () => t)).ok);
    t += 60_000;
    const refused = await lim.begin("hal", "198.18.2.99", () => t);
    assert.deepEqual(refused, {
      ok: false,
      reason: "account",
      retryAfterMs: s.windowMs - 60_000,
    });
    t = 2_000_000 + s.windowMs;
    const fresh = await lim.begin("hal", "198.18.2.99", () => t);
    assert.ok(fresh.ok, "a new window");
    const acct = await kv.get<{ count: number; resetAt: number }>(loginLimitKeys.account("hal"));
    assert.deepEqual(acct.value, { count: 1, resetAt: t + s.windowMs });
  });
  await withKv(async (kv) => {
    const t = 3_000_000;
    const lim = new LoginLimiter(kv, { ...SETTINGS, ipLimit: 2 });
    assert.ok((await lim.begin("u1", "10.9.9.9", () => t)).ok);
    assert.ok((await lim.begin("u2", "10.9.9.9", () => t + 1000)).ok);
    const refused = await lim.begin("u3", "10.9.9.9", () => t + 5000);
    assert.deepEqual(refused, { ok: false, reason: "ip", retryAfterMs: SETTINGS.windowMs - 5000 });
  });
});

Deno.test("LoginLimiter: counters are stored to expire when their windows end; familiar pairs after 30 days", async () => {
  await withKvFile(async (kv, path) => {
    const lim = new LoginLimiter(kv, SETTINGS);
    const before = Date.now();
    const g = await lim.begin("ivy", "10.5.5.5");
    const after = Date.now();
    assert.ok(g.ok);
    // KV dates an expiry from its commit, a moment after the code read the clock: a
    // value written by `upTo` expires by `upTo + ms` at the latest.
    const near = (key: Deno.KvKey, ms: number, upTo = after) => {
      const at = expiryOf(path, key);
      assert.ok(at !== undefined && at >= before + ms && at <= upTo + ms, `${key}: ${at}`);
    };
    near(loginLimitKeys.pair("ivy", "10.5.5.5"), SETTINGS.windowMs);
    near(loginLimitKeys.account("ivy"), SETTINGS.windowMs);
    near(loginLimitKeys.ip("10.5.5.5"), SETTINGS.windowMs);
    await lim.succeeded(g.ticket);
    const done = Date.now();
    const known = expiryOf(path, loginLimitKeys.known("ivy", "10.5.5.5"));
    assert.ok(known! >= after + KNOWN_TTL_MS && known! <= done + KNOWN_TTL_MS, String(known));
    // The places given back keep the window's end (rewritten with the time left, so their
    // expiry may move by as much as that rewrite took; on a loaded machine, a few ms).
    near(loginLimitKeys.account("ivy"), SETTINGS.windowMs, done);
    near(loginLimitKeys.ip("10.5.5.5"), SETTINGS.windowMs, done);
    assert.equal((await kv.get<{ count: number }>(loginLimitKeys.account("ivy"))).value?.count, 0);
  });
});

Deno.test("LoginLimiter: a familiar success gives back nothing it did not take", async () => {
  await withKv(async (kv) => {
    const lim = new LoginLimiter(kv, SETTINGS);
    const home = "192.0.2.20";
    const first = await lim.begin("jay", home);
    assert.ok(first.ok && !first.ticket.familiar);
    await lim.succeeded(first.ticket);
    assert.ok((await lim.begin("jay", "198.18.3.1")).ok, "a stranger's attempt is charged");
    const again = await lim.begin("jay", home);
    assert.ok(again.ok && again.ticket.familiar);
    await lim.succeeded(again.ticket);
    const acct = await kv.get<{ count: number }>(loginLimitKeys.account("jay"));
    assert.equal(acct.value?.count, 1, "the stranger's attempt still counts");
    const ip = await kv.get<{ count: number }>(loginLimitKeys.ip("198.18.3.1"));
    assert.equal(ip.value?.count, 1);
  });
});

Deno.test("LoginLimiter.succeeded: never below zero, nothing for a missing or ended window", async () => {
  await withKv(async (kv) => {
    const lim = new LoginLimiter(kv, SETTINGS);
    // A counter already at zero (its place was given back) stays at zero.
    const g = await lim.begin("kim", "10.6.6.6");
    assert.ok(g.ok);
    await lim.succeeded(g.ticket);
    await lim.succeeded(g.ticket);
    assert.equal((await kv.get<{ count: number }>(loginLimitKeys.account("kim"))).value?.count, 0);
    assert.equal((await kv.get<{ count: number }>(loginLimitKeys.ip("10.6.6.6"))).value?.count, 0);
    // Counters already gone (expired): nothing to give back, and no error.
    const h = await lim.begin("lee", "10.7.7.7");
    assert.ok(h.ok);
    await kv.delete(loginLimitKeys.account("lee"));
    await kv.delete(loginLimitKeys.ip("10.7.7.7"));
    await lim.succeeded(h.ticket);
    assert.equal((await kv.get(loginLimitKeys.account("lee"))).value, null);
    assert.equal((await kv.get(loginLimitKeys.ip("10.7.7.7"))).value, null);
    // A window that has ended (still stored: KV expires lazily) is not touched.
    const m = await lim.begin("max", "10.8.8.8");
    assert.ok(m.ok);
    const ended = { count: 4, resetAt: Date.now() - 1000 };
    await kv.set(loginLimitKeys.account("max"), ended);
    await lim.succeeded(m.ticket);
    assert.deepEqual((await kv.get(loginLimitKeys.account("max"))).value, ended);
  });
});

Deno.test("LoginLimiter: always losing the race ends as 'busy' after a bounded number of tries", async () => {
  await withKv(async (kv) => {
    const { handle, calls } = alwaysContended(kv);
    const lim = new LoginLimiter(handle, SETTINGS);
    const gate = await lim.begin("ned", "10.10.10.10");
    assert.deepEqual(gate, { ok: false, reason: "busy", retryAfterMs: 1000 });
    assert.equal(calls.commits, 200);
    assert.equal((await kv.get(loginLimitKeys.pair("ned", "10.10.10.10"))).value, null);
  });
  await withKv(async (kv) => {
    // Giving places back also gives up after 20 lost races per counter.
    const lim = new LoginLimiter(kv, SETTINGS);
    const g = await lim.begin("ola", "10.11.11.11");
    assert.ok(g.ok);
    const { handle, calls } = alwaysContended(kv);
    await new LoginLimiter(handle, SETTINGS).succeeded(g.ticket);
    assert.equal(calls.gets, 40, "20 tries on each of the two counters");
    assert.equal((await kv.get<{ count: number }>(loginLimitKeys.account("ola"))).value?.count, 1);
  });
});

Deno.test("LoginLimiter: a KV failure that is not a lost race is not taken for 'busy'", async () => {
  await withKv(async (kv) => {
    const lim = new LoginLimiter(kv, SETTINGS);
    const g = await lim.begin("pia", "10.12.12.12");
    assert.ok(g.ok);
    const broken = {
      getMany: () => Promise.reject(new Error("connection lost")),
      get: () => Promise.reject(new Error("connection lost")),
      atomic: () => kv.atomic(),
    } as unknown as Deno.Kv;
    const failing = new LoginLimiter(broken, SETTINGS);
    await assert.rejects(failing.begin("pia", "10.12.12.12"), /connection lost/);
    await assert.rejects(failing.succeeded(g.ticket), /connection lost/);
    // The counters are as the first attempt left them.
    assert.equal((await kv.get<{ count: number }>(loginLimitKeys.account("pia"))).value?.count, 1);
  });
});

Deno.test("retryMessage: whole minutes from two minutes on, exactly worded in both languages", () => {
  assert.equal(retryMessage("en", 119), "Too many sign-in attempts. Try again in 119 s.");
  assert.equal(retryMessage("en", 120), "Too many sign-in attempts. Try again in 2 min.");
  assert.equal(retryMessage("en", 121), "Too many sign-in attempts. Try again in 3 min.");
  assert.equal(retryMessage("ko", 45), "로그인 시도가 너무 많아요. 45초 후에 다시 시도해 주세요.");
  assert.equal(retryMessage("ko", 900), "로그인 시도가 너무 많아요. 15분 후에 다시 시도해 주세요.");
});
