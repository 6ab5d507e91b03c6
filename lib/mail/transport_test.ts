import assert from "node:assert/strict";
import { SMTP_PASS, SMTP_USER, startSmtpPeer } from "../../tests/support/smtp_peer.ts";
import { defaultFrom, SmtpTransport } from "./transport.ts";

const MAIL = {
  to: "ann@example.org",
  subject: "[세탁실 라이브] 세탁 완료",
  text: "끝났어요.",
  html: "<p>끝났어요.</p>",
  messageId: "<use.done%3Au1.ann@laundrylive.mail>",
  lang: "ko",
};

Deno.test("SmtpTransport: delivers text and HTML with our From, Message-ID and headers to a real SMTP peer", async () => {
  await using peer = await startSmtpPeer();
  const t = new SmtpTransport(peer.url, "LaundryLive <no-reply@laundry.test>", 5000);
  try {
    assert.deepEqual(await t.send(MAIL), { status: "ok" });
    const m = await peer.waitFor(() => true);
    assert.equal(m.user, SMTP_USER);
    assert.equal(m.from, "no-reply@laundry.test");
    assert.deepEqual(m.to, ["ann@example.org"]);
    assert.equal(m.subject, MAIL.subject);
    assert.equal(m.text.trim(), "끝났어요.");
    assert.equal(m.html.trim(), "<p>끝났어요.</p>");
    assert.equal(m.messageId, MAIL.messageId);
    assert.equal(m.headers.get("content-language"), "ko");
    assert.equal(m.headers.get("auto-submitted"), "auto-generated");
  } finally {
    t.close();
  }
});

Deno.test("SmtpTransport: 550 at RCPT TO is a bounce, 451 is retried, a wrong password is our setup, a dead server is retried", async () => {
  const peer = await startSmtpPeer();
  const t = new SmtpTransport(peer.url, "no-reply@laundry.test", 3000);
  const wrong = new SmtpTransport(
    peer.url.replace(SMTP_PASS, "wrong-pass"),
    "no-reply@laundry.test",
    3000,
  );
  try {
    peer.refuse.set("gone@example.org", 550);
    const bounce = await t.send({ ...MAIL, to: "gone@example.org" });
    assert.equal(bounce.status, "bounce");
    assert.equal((bounce as { code: number }).code, 550);
    assert.match((bounce as { detail: string }).detail, /No such mailbox/);
    peer.tempFailNext = 1;
    assert.equal((await t.send(MAIL)).status, "retry");
    assert.equal((await wrong.send(MAIL)).status, "setup");
    assert.equal(peer.received.length, 0);
  } finally {
    t.close();
    wrong.close();
    await peer.stop();
  }
  // Nobody listens on that port any more.
  const dead = new SmtpTransport(peer.url, "no-reply@laundry.test", 2000);
  try {
    assert.equal((await dead.send(MAIL)).status, "retry");
  } finally {
    dead.close();
  }
});

Deno.test("defaultFrom: no-reply at the public host, else localhost", () => {
  assert.equal(
    defaultFrom("https://laundry.example.org"),
    "LaundryLive <no-reply@laundry.example.org>",
  );
  assert.equal(defaultFrom(undefined), "LaundryLive <no-reply@localhost>");
});

Deno.test("SmtpTransport: a server that holds the data answers retry after 3 × the step timeout", async () => {
  await using peer = await startSmtpPeer();
  peer.holdDataMs = 5_000;
  const t = new SmtpTransport(peer.url, "no-reply@laundry.test", 200);
  try {
    const start = Date.now();
    const r = await t.send(MAIL);
    assert.equal(r.status, "retry");
    assert.ok(Date.now() - start < 2000, `${Date.now() - start} ms`);
  } finally {
    t.close();
    peer.holdDataMs = 0;
  }
});
