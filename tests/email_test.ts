/**
 * The email fallback against a real SMTP server on loopback (npm
 * `smtp-server`, messages parsed with `mailparser`): verification by a
 * one-time link, email only when no push device of the resident is healthy
 * (a web-push-testing device that works means no email), bounces counted and
 * shown in Settings, temporary failures retried, and no email option at all
 * without `SMTP_URL`.
 * @module
 */
import assert from "node:assert/strict";
import { K } from "../lib/keys.ts";
import { due } from "../lib/notify/plan.ts";
import { BOUNCE_LIMIT, type EmailRecord, type EmailToken } from "../lib/mail/records.ts";
import { escapeHtml } from "../lib/mail/compose.ts";
import { admin, Client, TEST_INVITE, type TestServer } from "./support/harness.ts";
import { startAppServer } from "./support/browser.ts";
import { startWebPushTesting } from "./support/push_service.ts";
import {
  act,
  addWebPushDevice,
  assertApiError,
  inbox,
  type Json,
  machineOf,
  nudgeWhenAllowed,
  ok,
  payloads,
  setPrefs,
  sleep,
  waitForPayload,
} from "./support/notify_kit.ts";
import { type SmtpPeer, startSmtpPeer, tokenOf } from "./support/smtp_peer.ts";

const MINUTE_MS = "200";

async function start(peer: SmtpPeer, env: Record<string, string> = {}): Promise<TestServer> {
  return await startAppServer({
    SMTP_URL: peer.url,
    MAIL_FROM: "LaundryLive <no-reply@laundry.test>",
    MINUTE_MS,
    MAIL_RETRY_BASE_MS: "100",
    ...env,
  });
}

async function newResident(srv: TestServer, login: string): Promise<Client> {
  const c = new Client(srv.url);
  const r = await c.register(login, login, "101", { inviteCode: TEST_INVITE });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  // Only use.done in these tests: no "ending soon" reminder.
  await setPrefs(c, { endingSoonMinutes: 0 });
  return c;
}

/** Ask for a link, read it from the peer, confirm it: a verified, opted-in address. */
async function verify(c: Client, peer: SmtpPeer, address: string): Promise<Json> {
  const before = peer.received.length;
  const r = ok(await c.put("/api/email", { address }), "request link");
  assert.equal(r.email.pending, address);
  const mail = await peer.waitFor((m) =>
    m.to.includes(address) && peer.received.indexOf(m) >= before
  );
  return ok(await c.post("/api/email/verify", { token: tokenOf(mail) }), "verify").email;
}

/** A page's HTML as the signed-in client gets it. */
async function pageHtml(c: Client, path: string): Promise<{ status: number; text: string }> {
  const r = await fetch(new URL(path, c.baseUrl), { headers: { cookie: c.cookie } });
  return { status: r.status, text: await r.text() };
}

async function stat(srv: TestServer, field: string, scope = "all"): Promise<number> {
  return Number((await srv.ctx.store.kv.get<Deno.KvU64>(K.stat(scope, field))).value?.value ?? 0n);
}

async function waitForStat(srv: TestServer, field: string, n: number, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (await stat(srv, field) < n) {
    if (Date.now() > deadline) throw new Error(`${field} = ${await stat(srv, field)}, wanted ${n}`);
    await sleep(20);
  }
}

/** Owe a user a use.done notification straight through the outbox. */
async function oweDone(srv: TestServer, userId: string, id: string): Promise<void> {
  const user = (await srv.ctx.store.getUser(userId))!;
  const op = srv.ctx.store.kv.atomic();
  srv.ctx.store.addDue(op, [due({
    t: "notify",
    userId,
    b: user.buildingId,
    n: { id, kind: "use.done", url: "/", text: { literal: { title: `Done ${id}`, body: "b" } } },
  }, Date.now())]);
  assert.ok((await op.commit()).ok);
}

Deno.test("email: verification by a one-time link (hashed, single use, expiring, rate limited), in Korean", async () => {
  await using peer = await startSmtpPeer();
  await using srv = await start(peer);
  const ann = await newResident(srv, "ann");
  const bob = await newResident(srv, "bob");

  const empty = ok(await ann.get("/api/email"));
  assert.deepEqual(empty, { available: true, email: null });
  assertApiError(await ann.put("/api/email", { address: "not an address" }), 400, "invalid_body");
  assertApiError(await ann.put("/api/email", { address: "a@b.c", extra: 1 }), 400, "invalid_body");

  const asked = await ann.put("/api/email", { address: "ann@example.org" });
  assert.equal(asked.status, 202, JSON.stringify(asked.json));
  assert.equal(asked.json.email.verified, false);
  assert.equal(asked.json.email.pending, "ann@example.org");
  const mail = await peer.waitFor((m) => m.to.includes("ann@example.org"));
  // Through the configured SMTP server, authenticated, from MAIL_FROM, in Korean (the default).
  assert.equal(mail.user, "mailer");
  assert.equal(mail.from, "no-reply@laundry.test");
  assert.match(mail.subject, /^\[세탁실 라이브\] 이메일 주소를 확인해 주세요$/);
  assert.match(mail.text, /24시간 동안 한 번만/);
  const token = tokenOf(mail);
  assert.ok(mail.text.includes(`${srv.url}/settings?verify=${token}`), mail.text);
  assert.ok(mail.html.includes(`href="${srv.url}/settings?verify=${token}"`), mail.html);

  // The token is kept only as its hash.
  const stored: Deno.KvEntry<EmailToken>[] = [];
  for await (const e of srv.ctx.store.kv.list<EmailToken>({ prefix: ["email_token"] })) {
    stored.push(e);
  }
  assert.equal(stored.length, 1);
  assert.notEqual(stored[0].key[1], token);
  assert.ok(!JSON.stringify(stored[0].value).includes(token));

  // The link opens Settings, which asks for a click (a prefetching scanner changes nothing).
  const page = await pageHtml(ann, `/settings?verify=${token}`);
  assert.equal(page.status, 200);
  assert.match(page.text, /data-email-confirm/);
  assert.equal(ok(await ann.get("/api/email")).email.verified, false);

  // Someone else's link is no link; then the owner confirms it, once.
  assertApiError(await bob.post("/api/email/verify", { token }), 404, "email_token_invalid");
  const confirmed = ok(await ann.post("/api/email/verify", { token })).email;
  assert.deepEqual(confirmed, {
    address: "ann@example.org",
    verified: true,
    enabled: true,
    bounces: 0,
    bouncing: false,
    pending: null,
  });
  assertApiError(await ann.post("/api/email/verify", { token }), 404, "email_token_invalid");

  // Opt out and in again.
  assert.equal(ok(await ann.patch("/api/email", { enabled: false })).email.enabled, false);
  assert.equal(ok(await ann.patch("/api/email", { enabled: true })).email.enabled, true);
  assertApiError(await bob.patch("/api/email", { enabled: true }), 409, "email_not_verified");

  // A link expires; a new one replaces the old one. English for an English user.
  await setPrefs(bob, { lang: "en" });
  ok(await bob.put("/api/email", { address: "bob@example.org" }));
  const first = tokenOf(await peer.waitFor((m) => m.to.includes("bob@example.org")));
  const tokKey = K.emailToken(stored[0].key[1] as string);
  assert.equal((await srv.ctx.store.kv.get(tokKey)).value, null, "ann's used token is gone");
  const bobKeys: Deno.KvEntry<EmailToken>[] = [];
  for await (const e of srv.ctx.store.kv.list<EmailToken>({ prefix: ["email_token"] })) {
    bobKeys.push(e);
  }
  assert.equal(bobKeys.length, 1);
  await srv.ctx.store.kv.set(bobKeys[0].key, { ...bobKeys[0].value, expiresAt: Date.now() - 1 });
  assertApiError(await bob.post("/api/email/verify", { token: first }), 410, "email_token_expired");
  ok(await bob.put("/api/email", { address: "bob@example.org" }));
  const second = await peer.waitFor((m) =>
    m.to.includes("bob@example.org") && tokenOf(m) !== first
  );
  assert.match(second.subject, /^\[LaundryLive\] Please confirm your email address$/);
  assertApiError(await bob.post("/api/email/verify", { token: first }), 404, "email_token_invalid");
  assert.equal(
    ok(await bob.post("/api/email/verify", { token: tokenOf(second) })).email.verified,
    true,
  );

  // Rate limited: 3 links per user per hour (bob asked twice already).
  ok(await bob.put("/api/email", { address: "bob2@example.org" }));
  const limited = await bob.put("/api/email", { address: "bob3@example.org" });
  assertApiError(limited, 429, "rate_limited");
  assert.ok(Number(limited.headers.get("retry-after")) > 0);
  // A recipient the server refuses is said so, and leaves no pending link.
  peer.refuse.set("nobody@example.org", 550);
  assertApiError(
    await ann.put("/api/email", { address: "nobody@example.org" }),
    422,
    "email_rejected",
  );
  assert.equal(ok(await ann.get("/api/email")).email.pending, null);
  assert.equal(ok(await ann.get("/api/email")).email.address, "ann@example.org");

  ok(await ann.del("/api/email"));
  assert.equal(ok(await ann.get("/api/email")).email, null);
});

Deno.test("email: a use.done goes by email only to residents without a healthy push device", async () => {
  await using peer = await startSmtpPeer();
  await using push = await startWebPushTesting();
  await using srv = await start(peer, { PUSH_ENDPOINT_ALLOW: push.origin });
  const withPush = await newResident(srv, "pia"); // a healthy web-push-testing device
  const noDevice = await newResident(srv, "noa"); // no device at all
  const failing = await newResident(srv, "fay"); // a device that keeps failing
  const optedOut = await newResident(srv, "oli"); // verified, then opted out
  const pia = await addWebPushDevice(withPush, push);
  const fay = await addWebPushDevice(failing, push);
  for (let i = 0; i < 3; i++) {
    await srv.ctx.store.recordDeviceResult(failing.user.id, fay.deviceId, {
      ok: false,
      detail: "test: failing",
    });
  }
  for (
    const [c, a] of [
      [withPush, "pia@example.org"],
      [noDevice, "noa@example.org"],
      [failing, "fay@example.org"],
      [optedOut, "oli@example.org"],
    ] as const
  ) await verify(c, peer, a);
  ok(await optedOut.patch("/api/email", { enabled: false }));
  await setPrefs(noDevice, { lang: "en" });
  const verifications = peer.received.length;

  const uses: Record<string, string> = {};
  for (const [i, c] of [withPush, noDevice, failing, optedOut].entries()) {
    const m = await machineOf(c, "washer", i);
    uses[c.user.loginId] = (await act(c, m.id, "start", { minutes: 1 })).useId;
  }
  await waitForStat(srv, "email:sent", 2);
  const noa = await peer.waitFor((m) =>
    m.to.includes("noa@example.org") && /Done|done/.test(m.subject)
  );
  const fayMail = await peer.waitFor((m) =>
    m.to.includes("fay@example.org") && m.subject.includes("완료")
  );
  // The push of the healthy device arrived; the failing device was still tried.
  await waitForPayload(push, pia.sub.clientHash, (p) => p.id === `use.done:${uses.pia}`);
  await waitForPayload(push, fay.sub.clientHash, (p) => p.id === `use.done:${uses.fay}`);
  await sleep(600); // anything else that might come
  const mails = peer.received.slice(verifications);
  assert.deepEqual(mails.map((m) => m.to[0]).sort(), ["fay@example.org", "noa@example.org"]);
  assert.equal(await stat(srv, "email:sent"), 2);
  assert.equal(await stat(srv, "email:queued"), 2);
  assert.equal(await stat(srv, "email:failed"), 0);
  assert.equal(await stat(srv, `email:sent`, `b:${withPush.user.buildingId}`), 2);

  // The mail: the inbox item's text in the resident's language, a link to the machine.
  const item = (await inbox(noDevice)).find((i: Json) => i.id === `use.done:${uses.noa}`);
  assert.ok(item, "in the inbox too");
  assert.equal(noa.subject, `[LaundryLive] ${item.title}`);
  assert.ok(noa.text.includes(item.body), noa.text);
  assert.ok(noa.text.includes(`${srv.url}${item.url}`), noa.text);
  assert.ok(noa.text.includes(`${srv.url}/settings`), "how to turn it off");
  // The link is an attribute: its `&` is escaped (a browser reads it back as the URL).
  assert.match(item.url, /^\/\?building=[0-9a-z]+&m=[0-9a-z]+$/);
  assert.ok(noa.html.includes(`href="${escapeHtml(`${srv.url}${item.url}`)}"`), noa.html);
  assert.match(noa.html, /<html lang="en">/);
  assert.match(fayMail.html, /<html lang="ko">/);
  assert.match(fayMail.text, /푸시 알림을 받을 수 있는 기기가 없어서/);
  assert.equal(
    noa.messageId,
    `<${encodeURIComponent(`use.done:${uses.noa}`)}.${noDevice.user.id}@laundrylive.mail>`,
  );
  // No other kind goes by email: the residents' inboxes have more than what was mailed.
  assert.equal(
    (await payloads(push, pia.sub.clientHash)).filter((p) => p.kind === "use.done").length,
    1,
  );
});

Deno.test("email: the overdue reminder and a neighbour's nudge go by email to a resident without push, in English", async () => {
  await using peer = await startSmtpPeer();
  await using srv = await start(peer);
  const noa = await newResident(srv, "noa"); // no device at all
  const ned = await newResident(srv, "ned"); // the neighbour waiting for the machine
  await verify(noa, peer, "noa@example.org");
  await setPrefs(noa, { lang: "en" });
  const m = await machineOf(noa, "washer", 0);
  const { useId } = await act(noa, m.id, "start", { minutes: 1 });
  const mailOf = (kind: string) =>
    peer.waitFor((mail) =>
      mail.to.includes("noa@example.org") &&
      mail.messageId.startsWith(`<${encodeURIComponent(`${kind}:${useId}`)}`), 15_000);
  await mailOf("use.done");
  // Not collected: 10 "minutes" after the end the overdue reminder falls due.
  const overdue = await mailOf("use.overdue");
  const overdueItem = (await inbox(noa)).find((i: Json) => i.kind === "use.overdue");
  assert.ok(overdueItem, "the overdue reminder is in the inbox too");
  assert.equal(overdue.subject, `[LaundryLive] ${overdueItem.title}`);
  assert.ok(overdue.text.includes(overdueItem.body), overdue.text);
  assert.match(overdue.html, /<html lang="en">/);
  // A neighbour asks for the machine: the nudge goes by email as well.
  ok((await nudgeWhenAllowed(ned, m.id, 15_000)).res, "nudge");
  const nudge = await peer.waitFor((mail) =>
    mail.to.includes("noa@example.org") &&
    mail.messageId.startsWith(`<${encodeURIComponent("pickup.nudge:")}`), 15_000);
  const nudgeItem = (await inbox(noa)).find((i: Json) => i.kind === "pickup.nudge");
  assert.ok(nudgeItem, "the nudge is in the inbox");
  assert.equal(nudge.subject, `[LaundryLive] ${nudgeItem.title}`);
  assert.ok(nudge.text.includes(`${srv.url}${nudgeItem.url}`), nudge.text);
  // The neighbour, who has no verified address, got nothing by email.
  assert.ok(peer.received.every((mail) => mail.to.includes("noa@example.org")));
});

Deno.test("email: a critical notice goes by email to a resident without push; an ordinary notice does not", async () => {
  await using peer = await startSmtpPeer();
  await using push = await startWebPushTesting();
  await using srv = await start(peer, { PUSH_ENDPOINT_ALLOW: push.origin });
  const noDevice = await newResident(srv, "nia");
  const withPush = await newResident(srv, "pat");
  const pat = await addWebPushDevice(withPush, push);
  await verify(noDevice, peer, "nia@example.org");
  await verify(withPush, peer, "pat@example.org");
  await setPrefs(noDevice, { lang: "en" });
  const verifications = peer.received.length;
  const adm = await admin(srv.url);
  const send = async (title: string, critical: boolean) => {
    const r = await adm.post("/api/admin/announcements", {
      title,
      body: `${title}: details`,
      target: { type: "all" },
      critical,
    });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    return r.json.notice.id as string;
  };
  const plain = await send("Dryer lint filters cleaned", false);
  const urgent = await send("Water shut off at 14:00", true);
  const mail = await peer.waitFor((m) =>
    m.to.includes("nia@example.org") && m.subject.includes("Water shut off")
  );
  // Both notices reached the resident with a push device by push.
  for (const id of [plain, urgent]) {
    await waitForPayload(push, pat.sub.clientHash, (p) => p.id === `notice:${id}`);
  }
  await waitForStat(srv, "email:sent", 1);
  await sleep(600); // anything else that might come
  const mails = peer.received.slice(verifications);
  assert.deepEqual(mails.map((m) => [m.to[0], m.subject]), [[
    "nia@example.org",
    "[LaundryLive] Water shut off at 14:00",
  ]], "only the critical notice, only to the resident without push");
  assert.ok(mail.text.includes("Water shut off at 14:00: details"), mail.text);
  assert.match(mail.html, /<html lang="en">/);
  assert.equal(await stat(srv, "email:sent", urgent), 1, "counted on the notice");
  assert.equal(await stat(srv, "email:queued", plain), 0);
  // The admin's delivery report: email is a channel, per notice and per building, by day.
  const zero = { sent: 0, delivered: 0, clicked: 0, acted: 0, failed: 0, pruned: 0 };
  const mailed = { ...zero, sent: 1, delivered: 1 };
  const one = async (id: string) => ok(await adm.get(`/api/admin/announcements/${id}`)).channels;
  assert.deepEqual((await one(urgent)).email, mailed);
  assert.deepEqual((await one(plain)).email, zero);
  assert.equal((await one(plain)).webpush.delivered, 1, "the push to pat");
  const stats = ok(await adm.get("/api/admin/stats"));
  assert.deepEqual(stats.channels.email, mailed);
  const today = stats.days.at(-1);
  const web = stats.channels.webpush;
  assert.equal(today.sent, web.sent + 1, "today's column adds the mail to the pushes");
  assert.equal(today.delivered, web.delivered + 1);
  const html = await pageHtml(adm, "/admin");
  assert.match(html.text, /<tr data-channel="email"><th scope="row">이메일<\/th>/);
  assert.match(html.text, /<tr data-channel="email">.*?<td data-outcome="delivered">1<\/td>/s);
});

Deno.test("email: a 550 at RCPT TO is a bounce: counted, shown in Settings, and after 3 the address is paused", async () => {
  await using peer = await startSmtpPeer();
  await using srv = await start(peer);
  const c = await newResident(srv, "bea");
  await verify(c, peer, "bea@example.org");
  peer.refuse.set("bea@example.org", 550);

  const m = await machineOf(c, "washer");
  await act(c, m.id, "start", { minutes: 1 });
  await waitForStat(srv, "email:bounced", 1);
  const one = ok(await c.get("/api/email")).email;
  assert.equal(one.bounces, 1);
  assert.equal(one.bouncing, false);
  assert.equal(await stat(srv, "email:sent"), 0);
  // Shown in Settings.
  const page = await pageHtml(c, "/settings");
  assert.match(page.text, /data-email-bounces="1"/);
  assert.match(page.text, /반송 1회/);
  assert.doesNotMatch(page.text, /data-email-bouncing/);

  for (let i = 2; i <= BOUNCE_LIMIT; i++) {
    await oweDone(srv, c.user.id, `use.done:test-${i}`);
    await waitForStat(srv, "email:bounced", i);
  }
  const paused = ok(await c.get("/api/email")).email;
  assert.equal(paused.bounces, BOUNCE_LIMIT);
  assert.equal(paused.bouncing, true);
  const rec = (await srv.ctx.store.kv.get<EmailRecord>(K.email(c.user.id))).value!;
  assert.match(rec.lastBounce!.detail, /No such mailbox/);
  const shown = await pageHtml(c, "/settings");
  assert.match(shown.text, /data-email-bouncing/);
  assert.match(shown.text, new RegExp(`${BOUNCE_LIMIT}번 반송돼서 이메일 알림을 멈췄어요`));

  // Paused: the next notification owes no email.
  const rcpts = peer.rcptSeen.length;
  await oweDone(srv, c.user.id, "use.done:after-pause");
  while (!(await inbox(c)).some((i: Json) => i.id === "use.done:after-pause")) await sleep(20);
  await sleep(300);
  assert.equal(peer.rcptSeen.length, rcpts, "nothing sent to a bouncing address");
  assert.equal(await stat(srv, "email:queued"), BOUNCE_LIMIT);
  // The admin's report counts each bounce as a failed email.
  const report = ok(await (await admin(srv.url)).get("/api/admin/stats"));
  assert.deepEqual(report.channels.email, {
    sent: BOUNCE_LIMIT,
    delivered: 0,
    clicked: 0,
    acted: 0,
    failed: BOUNCE_LIMIT,
    pruned: 0,
  });
  assert.equal(report.days.at(-1).failed, BOUNCE_LIMIT);
  // Confirming the address again clears it.
  peer.refuse.delete("bea@example.org");
  const again = await verify(c, peer, "bea@example.org");
  assert.equal(again.bouncing, false);
  assert.equal(again.bounces, 0);
});

Deno.test("email: a temporary refusal (451) is retried with backoff, then sent once", async () => {
  await using peer = await startSmtpPeer();
  await using srv = await start(peer);
  const c = await newResident(srv, "tim");
  await verify(c, peer, "tim@example.org");
  peer.tempFailNext = 2;
  await oweDone(srv, c.user.id, "use.done:retry-1");
  await waitForStat(srv, "email:sent", 1);
  await sleep(300);
  const got = peer.received.filter((m) =>
    m.to.includes("tim@example.org") && m.subject.includes("retry-1")
  );
  assert.equal(got.length, 1);
  assert.equal(
    peer.rcptSeen.filter((a) => a === "tim@example.org").length,
    1 + 3,
    "verification + 2 refused + 1",
  );
  assert.equal(await stat(srv, "email:failed"), 0);
  assert.equal(
    (await srv.ctx.store.kv.get(K.mailed("use.done:retry-1", c.user.id))).value !== null,
    true,
  );
});

Deno.test("email: without SMTP_URL there is no email option, and nothing else changes", async () => {
  await using srv = await startAppServer({ MINUTE_MS });
  const c = await newResident(srv, "nik");
  assert.deepEqual(ok(await c.get("/api/email")), { available: false, email: null });
  assertApiError(
    await c.put("/api/email", { address: "nik@example.org" }),
    422,
    "email_not_configured",
  );
  const page = await pageHtml(c, "/settings");
  assert.equal(page.status, 200);
  assert.doesNotMatch(page.text, /data-email/);
  const m = await machineOf(c, "washer");
  const use = (await act(c, m.id, "start", { minutes: 1 })).useId;
  while (!(await inbox(c)).some((i: Json) => i.id === `use.done:${use}`)) await sleep(20);
  assert.equal(srv.ctx.notifier!.email, null);
});
