/**
 * The email fallback across restarts of the production entry point
 * (`deno run -A main.ts`, SIGKILL) on one KV file, against a real SMTP peer
 * (npm `smtp-server`) on loopback. Email jobs live in the outbox with the
 * pushes, so:
 * - a use.done that fell due while the server was down is emailed after the
 *   restart, one due after the restart at its time;
 * - a mail in flight when the server was killed (the peer held its data and
 *   the connection dropped, so the peer kept nothing) is sent after the lease;
 * - each exactly once: a further SIGKILL and restart sends nothing again
 *   (the `["mailed", id, user]` mark is committed with the job's consumption).
 * @module
 */
import assert from "node:assert/strict";
import { Client, runServerProcess, type ServerProcess } from "./support/harness.ts";
import {
  act,
  type Json,
  machines,
  ok,
  setPrefs,
  sleep,
  TEST_VAPID_SUBJECT,
} from "./support/notify_kit.ts";
import { type ReceivedMail, type SmtpPeer, startSmtpPeer, tokenOf } from "./support/smtp_peer.ts";

async function waitUntil(
  what: string,
  cond: () => boolean | Promise<boolean>,
  ms: number,
  out: () => string,
) {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what}; server output:\n${out()}`);
    await sleep(20);
  }
}

function mailsFor(peer: SmtpPeer, address: string, id: string): ReceivedMail[] {
  return peer.received.filter((m) =>
    m.to.includes(address) && m.messageId.includes(encodeURIComponent(id))
  );
}

Deno.test("email restart: due during the downtime, due after it, and in flight at a SIGKILL: each mailed exactly once", async () => {
  await using peer = await startSmtpPeer();
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-email-restart-" });
  const env = {
    PORT: "0",
    HOSTNAME_BIND: "127.0.0.1",
    KV_PATH: `${dir}/kv.sqlite`,
    MINUTE_MS: "500",
    SMTP_URL: peer.url,
    MAIL_FROM: "LaundryLive <no-reply@laundry.test>",
    MAIL_RETRY_BASE_MS: "200",
    // A leased job of a killed worker comes due again after max(lease, 2 × timeout).
    PUSH_LEASE_MS: "3000",
    PUSH_TIMEOUT_MS: "500",
    INVITE_CODE: "MAIL-INVITE",
    ADMIN_PASSWORD: "mail-admin-pass-1",
    VAPID_SUBJECT: TEST_VAPID_SUBJECT,
    BACKGROUND: "1",
    SEED: "1",
    NO_COLOR: "1",
  };
  const servers: ServerProcess[] = [];
  try {
    const p1 = await runServerProcess(env);
    servers.push(p1);
    const names = ["cam", "ada", "ben"] as const; // in flight, during the downtime, after it
    const users: Record<string, { client: Client; address: string; id?: string; endsAt?: number }> =
      {};
    for (const name of names) {
      const c = new Client(p1.url);
      assert.equal(
        (await c.register(name, name, "101", { inviteCode: env.INVITE_CODE })).status,
        201,
      );
      await setPrefs(c, { endingSoonMinutes: 0 });
      const address = `${name}@example.org`;
      ok(await c.put("/api/email", { address }));
      const link = await peer.waitFor((m) => m.to.includes(address));
      ok(await c.post("/api/email/verify", { token: tokenOf(link) }));
      users[name] = { client: c, address };
    }
    const washers = (await machines(users.cam.client)).filter((m: Json) => m.kind === "washer");
    peer.holdDataMs = 60_000; // cam's mail will hang in DATA until the kill
    const plan = { cam: 1, ada: 5, ben: 14 }; // ends 0.5 s, 2.5 s, 7 s from now
    for (const [i, name] of names.entries()) {
      const m = await act(users[name].client, washers[i].id, "start", { minutes: plan[name] });
      users[name].id = `use.done:${m.useId}`;
      users[name].endsAt = m.endsAt;
    }
    // cam's mail is in flight: the peer has its data and has not answered.
    await waitUntil(
      "cam's mail never reached DATA",
      () => peer.rcptSeen.filter((a) => a === users.cam.address).length >= 2,
      8000,
      p1.output,
    );
    await sleep(100);
    await p1.kill("SIGKILL");
    assert.ok(Date.now() < users.ada.endsAt!, "killed before ada's cycle ended");
    await waitUntil(
      "the peer never saw the connection drop",
      () => peer.dropped.length === 1,
      5000,
      p1.output,
    );
    peer.holdDataMs = 0;
    assert.equal(
      peer.received.filter((m) => m.messageId.includes("use.done")).length,
      0,
      "nothing delivered yet",
    );
    // Down until ada's cycle is over; ben's is still ahead after the restart.
    await sleep(users.ada.endsAt! + 300 - Date.now());

    const p2 = await runServerProcess(env);
    servers.push(p2);
    for (const name of names) {
      const u = users[name];
      await waitUntil(
        `${u.id} never mailed`,
        () => mailsFor(peer, u.address, u.id!).length > 0,
        15_000,
        p2.output,
      );
    }
    const ben = mailsFor(peer, users.ben.address, users.ben.id!)[0];
    assert.ok(ben.subject.includes("완료"), ben.subject);
    await sleep(3000); // stragglers: a second send would come within a lease (3 s)
    // A second SIGKILL and restart: the marks are in KV, nothing is sent again.
    await p2.kill("SIGKILL");
    const p3 = await runServerProcess(env);
    servers.push(p3);
    await sleep(3500);
    for (const name of names) {
      const u = users[name];
      assert.equal(mailsFor(peer, u.address, u.id!).length, 1, `${name}: exactly one mail`);
      const c = new Client(p3.url);
      for (const [k, v] of u.client.cookies) c.cookies.set(k, v);
      const items = ok(await c.get("/api/notifications")).items.filter((i: Json) => i.id === u.id);
      assert.equal(items.length, 1, `${name}: once in the inbox`);
    }
    assert.equal(peer.dropped.length, 1, "only cam's first attempt was cut off");
    assert.equal(
      peer.dropped[0].messageId,
      mailsFor(peer, users.cam.address, users.cam.id!)[0].messageId,
      "the same Message-ID",
    );
  } finally {
    for (const s of servers) await s.kill("SIGKILL");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
