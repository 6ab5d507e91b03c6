import assert from "node:assert/strict";
import { Store } from "../db/mod.ts";
import { K } from "../keys.ts";
import { startSmtpPeer, tokenOf } from "../../tests/support/smtp_peer.ts";
import { EmailAccounts, EmailError, verifyPath } from "./accounts.ts";
import { SmtpTransport } from "./transport.ts";

async function withAccounts(
  fn: (a: EmailAccounts, peer: Awaited<ReturnType<typeof startSmtpPeer>>) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive_mail_test_" });
  const kv = await Deno.openKv(`${dir}/kv.sqlite3`);
  const peer = await startSmtpPeer();
  const transport = new SmtpTransport(peer.url, "no-reply@laundry.test", 2000);
  try {
    const store = new Store(kv, {});
    await store.init();
    await fn(new EmailAccounts(store, transport, "https://laundry.example.org"), peer);
  } finally {
    transport.close();
    await peer.stop();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function tokens(a: EmailAccounts): Promise<number> {
  let n = 0;
  for await (const _ of a.store.kv.list({ prefix: ["email_token"] })) n++;
  return n;
}

Deno.test("verifyPath: the settings page with the token", () => {
  assert.equal(verifyPath("ab-_C"), "/settings?verify=ab-_C");
});

Deno.test("EmailAccounts: PUBLIC_URL is the link's origin; a new link replaces the old one; confirm uses it up", async () => {
  await withAccounts(async (a, peer) => {
    await a.request("u1", " Ann@Example.org ", "ko", "http://ignored.local");
    const first = tokenOf(peer.received[0]);
    assert.ok(
      peer.received[0].text.includes(`https://laundry.example.org/settings?verify=${first}`),
    );
    // Trimmed (the domain part is case-insensitive; nodemailer lowers it).
    assert.deepEqual(peer.received[0].to.map((s) => s.toLowerCase()), ["ann@example.org"]);
    await a.request("u1", "ann@example.org", "en", "http://ignored.local");
    const second = tokenOf(peer.received[1]);
    assert.equal(await tokens(a), 1, "one live link per user");
    await assert.rejects(
      a.confirm("u1", first),
      (e) => e instanceof EmailError && e.code === "email_token_invalid",
    );
    const rec = await a.confirm("u1", second);
    assert.equal(rec.address, "ann@example.org");
    assert.equal(rec.origin, "https://laundry.example.org");
    assert.equal(await tokens(a), 0);
    assert.equal((await a.store.kv.get(K.emailTokenOfUser("u1"))).value, null);
  });
});

Deno.test("EmailAccounts: a mail server that is down answers 503 mail_unavailable and leaves no link behind", async () => {
  await withAccounts(async (a, peer) => {
    await peer.stop();
    await assert.rejects(
      a.request("u2", "bo@example.org", "ko", "http://x.local"),
      (e) => e instanceof EmailError && e.status === 503 && e.code === "mail_unavailable",
    );
    assert.equal(await tokens(a), 0);
    assert.equal(await a.get("u2"), null);
  });
});

Deno.test("EmailAccounts: at most 5 links per address per day, whoever asks", async () => {
  await withAccounts(async (a) => {
    for (let i = 0; i < 5; i++) {
      await a.request(`user${i}`, "same@example.org", "ko", "http://x.local");
    }
    await assert.rejects(
      a.request("user9", "SAME@example.org", "ko", "http://x.local"),
      (e) => e instanceof EmailError && e.status === 429 && e.retryAfterMs > 0,
    );
  });
});
