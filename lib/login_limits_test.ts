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
