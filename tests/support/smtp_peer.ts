/**
 * A real SMTP server on loopback for the email tests: npm `smtp-server` as
 * the peer (plain SMTP, AUTH PLAIN/LOGIN required, no STARTTLS), keeping
 * every message it accepted, parsed with npm `mailparser`. It can refuse a
 * recipient for good (550 at RCPT TO: a bounce) or for now (451).
 * @module
 */
// @ts-types="@types/smtp-server"
import { SMTPServer } from "smtp-server";
// @ts-types="@types/mailparser"
import { simpleParser } from "mailparser";

/** One message the peer accepted. */
export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  messageId: string;
  headers: Map<string, unknown>;
  /** The authenticated user of the session. */
  user: string;
}

/** The running peer. */
export interface SmtpPeer {
  /** `smtp://user:pass@127.0.0.1:port` for `SMTP_URL`. */
  url: string;
  port: number;
  /** Messages accepted so far, in order. */
  received: ReceivedMail[];
  /** Addresses refused at RCPT TO with this code (550: for good; 451: for now). */
  refuse: Map<string, number>;
  /** Refuse the next `n` RCPT TO with 451 (a temporary failure), whoever they are for. */
  tempFailNext: number;
  /** RCPT TO commands seen (also the refused ones). */
  rcptSeen: string[];
  /**
   * Hold each message this long after its data arrived before answering
   * (a mail in flight); one whose connection closed meanwhile is dropped.
   */
  holdDataMs: number;
  /** Messages dropped because the sender went away while they were held. */
  dropped: ReceivedMail[];
  /** Wait until `pred` holds for a received mail; returns it. */
  waitFor(pred: (m: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The credentials the peer accepts. */
export const SMTP_USER = "mailer";
/** The password the peer accepts. */
export const SMTP_PASS = "mail-pass-1";

/** Start the peer on 127.0.0.1 and a free port (or `port`). */
export async function startSmtpPeer(port = 0): Promise<SmtpPeer> {
  const received: ReceivedMail[] = [];
  const refuse = new Map<string, number>();
  const rcptSeen: string[] = [];
  const pending = new Set<Promise<void>>();
  const dropped: ReceivedMail[] = [];
  const closed = new Set<string>();
  const peer = {} as SmtpPeer;
  const server = new SMTPServer({
    logger: false,
    disabledCommands: ["STARTTLS"],
    authMethods: ["PLAIN", "LOGIN"],
    onAuth(auth, _session, cb) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASS) {
        return cb(null, { user: auth.username });
      }
      cb(Object.assign(new Error("Invalid username or password"), { responseCode: 535 }));
    },
    onRcptTo(addr, _session, cb) {
      rcptSeen.push(addr.address);
      if (peer.tempFailNext > 0) {
        peer.tempFailNext--;
        return cb(Object.assign(new Error("Try again later"), { responseCode: 451 }));
      }
      const code = refuse.get(addr.address.toLowerCase());
      if (code) return cb(Object.assign(new Error("No such mailbox"), { responseCode: code }));
      cb();
    },
    onClose(session) {
      closed.add(session.id);
    },
    onData(stream, session, cb) {
      const done = (async () => {
        const parsed = await simpleParser(stream);
        const until = Date.now() + peer.holdDataMs;
        while (Date.now() < until && !closed.has(session.id)) {
          await new Promise((r) => setTimeout(r, 20));
        }
        const mail: ReceivedMail = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          subject: parsed.subject ?? "",
          text: parsed.text ?? "",
          html: typeof parsed.html === "string" ? parsed.html : "",
          messageId: parsed.messageId ?? "",
          headers: parsed.headers,
          user: String(session.user ?? ""),
        };
        if (closed.has(session.id)) {
          dropped.push(mail);
          throw new Error("the client went away");
        }
        received.push(mail);
      })();
      pending.add(done);
      done.then(() => cb(), (err) => cb(err)).finally(() => pending.delete(done));
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const bound = (server.server.address() as { port: number }).port;
  let stopping: Promise<void> | null = null;
  const stop = () => stopping ??= new Promise<void>((resolve) => server.close(() => resolve()));
  Object.assign(peer, {
    url: `smtp://${SMTP_USER}:${SMTP_PASS}@127.0.0.1:${bound}`,
    port: bound,
    received,
    refuse,
    rcptSeen,
    tempFailNext: 0,
    holdDataMs: 0,
    dropped,
    async waitFor(pred: (m: ReceivedMail) => boolean, timeoutMs = 8000) {
      const deadline = Date.now() + timeoutMs;
      while (true) {
        await Promise.allSettled([...pending]);
        const m = received.find(pred);
        if (m) return m;
        if (Date.now() > deadline) {
          throw new Error(
            `no such mail within ${timeoutMs} ms; received: ${
              JSON.stringify(received.map((r) => ({ to: r.to, subject: r.subject })))
            }`,
          );
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    stop,
    [Symbol.asyncDispose]: stop,
  });
  return peer;
}

/** The verification token in a verification mail's text (`/settings?verify=…`). */
export function tokenOf(mail: ReceivedMail): string {
  const m = /\/settings\?verify=([A-Za-z0-9_-]+)/.exec(mail.text);
  if (!m) throw new Error(`no verification link in: ${mail.text}`);
  return m[1];
}
