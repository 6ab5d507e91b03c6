// LaundryLive benchmark load generator AND event driver (Node + npm `ws`).
//
// One process holds N WebSocket clients and also fires the board changes
// (HTTP POSTs), so "just before the POST" and "frame received" are read from
// the same monotonic clock (performance.now()) — no cross-process clock skew.
//
// Protocol: one JSON command per line on stdin, one JSON answer per line on
// stdout (in order). Logs go to stderr. Commands:
//   {cmd:"connect", url, n, headers:[{...}], concurrency, timeoutMs}
//   {cmd:"latency", trigger, rounds, gapMs, timeoutMs}      single events, one at a time
//   {cmd:"ramp", trigger, rate, durationMs, drainMs}         open-loop events at `rate`/s
//   {cmd:"close", timeoutMs}                                 close every socket
//   {cmd:"exit"}
// A trigger is {kind:"bare", url, size} (POST {id,size} to a baseline
// server's /broadcast) or {kind:"app", base, origin, machines:[{id, cookie}]}
// (POST /api/machines/:id/hold, then /release, alternating per machine).
//
// The process exits when stdin closes, so it never outlives the runner.
import { performance } from "node:perf_hooks";
import process from "node:process";
import readline from "node:readline";
import crypto from "node:crypto";
import http from "node:http";
import net from "node:net";
import WebSocket from "ws";

const log = (...a) => process.stderr.write(`[load] ${a.join(" ")}\n`);
const reply = (o) => process.stdout.write(JSON.stringify(o) + "\n");

// Board changes are POSTed with node:http over keep-alive connections
// (cheaper and steadier than undici's fetch on a busy event loop).
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
/** POST `body` to `url`; resolves {status, text}. */
function post(url, headers, body) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({
      host: u.hostname,
      port: u.port,
      path: u.pathname + u.search,
      method: "POST",
      agent,
      headers: { ...headers, "content-length": Buffer.byteLength(body) },
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode, ok: res.statusCode < 300, text }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** @type {WebSocket[]} */
let sockets = [];
/** Per-socket frame handler, swapped by phase. */
let onFrame = (_i, _buf) => {};

// ───────────────────────── latency histogram (0.05 ms buckets) ─────────────────────────
const BUCKET_MS = 0.05;
const MAX_MS = 60_000;
class Hist {
  constructor() {
    this.b = new Uint32Array(Math.ceil(MAX_MS / BUCKET_MS) + 1);
    this.n = 0;
    this.max = 0;
    this.sum = 0;
  }
  add(ms) {
    if (ms < 0) ms = 0;
    const i = Math.min(this.b.length - 1, Math.floor(ms / BUCKET_MS));
    this.b[i]++;
    this.n++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }
  q(p) {
    if (this.n === 0) return null;
    const rank = Math.ceil(p * this.n);
    let acc = 0;
    for (let i = 0; i < this.b.length; i++) {
      acc += this.b[i];
      if (acc >= rank) return (i + 0.5) * BUCKET_MS;
    }
    return this.max;
  }
  reset() {
    this.b.fill(0);
    this.n = 0;
    this.max = 0;
    this.sum = 0;
  }
  summary() {
    return {
      n: this.n,
      p50: this.q(0.5),
      p90: this.q(0.9),
      p99: this.q(0.99),
      p999: this.q(0.999),
      max: this.n ? this.max : null,
      mean: this.n ? this.sum / this.n : null,
    };
  }
}

function cpuNow() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000; // ms
}

// ───────────────────────── raw client (default) ─────────────────────────
// A minimal RFC 6455 client on a plain TCP socket: it sends the same upgrade
// request a browser would (Cookie, Origin), checks the 101 and
// Sec-WebSocket-Accept, then parses server frames (unmasked; text, ping,
// close; continuation frames are joined). It exists because `ws` spends
// ~7 µs of CPU per received frame (stream machinery), which on 2 cores made
// the load generator, not the server, the bottleneck; `--client ws` keeps
// the npm `ws` client for cross-checks. Frames handed to `onFrame` are
// Buffers, as with `ws`.
const READ_BUF = Buffer.alloc(256 * 1024);
const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
class RawWs {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  constructor(url, { headers = {}, localAddress } = {}) {
    const u = new URL(url);
    this.readyState = RawWs.CONNECTING;
    this.handlers = { message: [], close: [], error: [], open: [], "unexpected-response": [] };
    this.buf = null;
    this.frag = null;
    const key = crypto.randomBytes(16).toString("base64");
    this.expect = crypto.createHash("sha1").update(key + WS_GUID).digest("base64");
    const lines = [
      `GET ${u.pathname}${u.search} HTTP/1.1`,
      `Host: ${u.host}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${key}`,
      "Sec-WebSocket-Version: 13",
    ];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    // `onread` hands reads straight to us from one shared buffer (no stream
    // machinery, no per-read allocation); #onData copies what it keeps.
    const sock = net.connect({
      host: u.hostname,
      port: Number(u.port),
      ...(localAddress ? { localAddress } : {}),
      onread: { buffer: READ_BUF, callback: (nread, buf) => this.#onData(buf.subarray(0, nread)) },
    });
    this.sock = sock;
    sock.setNoDelay(true);
    sock.on("connect", () => sock.write(lines.join("\r\n") + "\r\n\r\n"));
    sock.on("error", (e) => this.#emit("error", e));
    sock.on("close", () => {
      const was = this.readyState;
      this.readyState = RawWs.CLOSED;
      if (was !== RawWs.CLOSED) this.#emit("close", this.closeCode ?? 1006);
    });
  }
  on(ev, fn) {
    this.handlers[ev].push(fn);
    return this;
  }
  once(ev, fn) {
    const w = (...a) => {
      this.handlers[ev] = this.handlers[ev].filter((f) => f !== w);
      fn(...a);
    };
    return this.on(ev, w);
  }
  #emit(ev, ...a) {
    for (const fn of this.handlers[ev]) fn(...a);
  }
  #onData(chunk) {
    let b = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    this.buf = null;
    if (this.readyState === RawWs.CONNECTING) {
      const end = b.indexOf("\r\n\r\n");
      if (end < 0) {
        this.buf = Buffer.from(b);
        return;
      }
      const head = b.toString("latin1", 0, end);
      const status = Number(head.split(" ")[1]);
      if (status !== 101 || !head.includes(this.expect)) {
        this.#emit("unexpected-response", null, { statusCode: status });
        this.readyState = RawWs.CLOSED;
        this.sock.destroy();
        return;
      }
      this.readyState = RawWs.OPEN;
      this.#emit("open");
      b = b.subarray(end + 4);
    }
    let off = 0;
    const n = b.length;
    while (n - off >= 2) {
      const b0 = b[off];
      let len = b[off + 1] & 0x7f;
      let hdr = 2;
      if (len === 126) {
        if (n - off < 4) break;
        len = b.readUInt16BE(off + 2);
        hdr = 4;
      } else if (len === 127) {
        if (n - off < 10) break;
        len = Number(b.readBigUInt64BE(off + 2));
        hdr = 10;
      }
      if (n - off < hdr + len) break;
      const payload = b.subarray(off + hdr, off + hdr + len);
      off += hdr + len;
      const fin = (b0 & 0x80) !== 0;
      const op = b0 & 0x0f;
      if (op === 0x1 || op === 0x2 || op === 0x0) {
        if (!fin) {
          this.frag = this.frag ? Buffer.concat([this.frag, payload]) : Buffer.from(payload);
          continue;
        }
        const data = this.frag ? Buffer.concat([this.frag, payload]) : payload;
        this.frag = null;
        for (const fn of this.handlers.message) fn(data);
      } else if (op === 0x9) this.#control(0xa, payload);
      else if (op === 0x8) {
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        if (this.readyState === RawWs.OPEN) this.#control(0x8, payload.subarray(0, 2));
        this.readyState = RawWs.CLOSING;
        this.sock.end();
      }
    }
    if (off < n) this.buf = Buffer.from(b.subarray(off));
  }
  #control(op, payload) {
    const mask = crypto.randomBytes(4);
    const f = Buffer.alloc(6 + payload.length);
    f[0] = 0x80 | op;
    f[1] = 0x80 | payload.length;
    mask.copy(f, 2);
    for (let i = 0; i < payload.length; i++) f[6 + i] = payload[i] ^ mask[i & 3];
    if (!this.sock.destroyed) this.sock.write(f);
  }
  close(code = 1000) {
    if (this.readyState !== RawWs.OPEN) {
      this.sock.destroy();
      return;
    }
    this.readyState = RawWs.CLOSING;
    const p = Buffer.alloc(2);
    p.writeUInt16BE(code);
    this.#control(0x8, p);
    setTimeout(() => this.sock.destroy(), 2_000).unref();
  }
  terminate() {
    this.sock.destroy();
  }
}

const CLIENT = process.argv.includes("--client=ws") ? "ws" : "raw";

// ───────────────────────── connect ─────────────────────────
async function connect(
  { url, n, headers, concurrency = 200, timeoutMs = 120_000, localAddress },
) {
  const t0 = performance.now();
  const cpu0 = cpuNow();
  let next = 0;
  let ok = 0;
  let failed = 0;
  let helloBytes = 0;
  const errors = new Map();
  const base = sockets.length;
  await new Promise((resolveAll) => {
    const deadline = setTimeout(() => resolveAll(), timeoutMs);
    let inflight = 0;
    const done = () => {
      inflight--;
      if (ok + failed === n) {
        clearTimeout(deadline);
        resolveAll();
      } else pump();
    };
    const pump = () => {
      while (inflight < concurrency && next < n) {
        const i = base + next;
        const h = headers[next % headers.length];
        next++;
        inflight++;
        const ws = CLIENT === "ws"
          ? new WebSocket(url, {
            headers: h,
            perMessageDeflate: false,
            skipUTF8Validation: true,
            ...(localAddress ? { localAddress } : {}),
          })
          : new RawWs(url, { headers: h, localAddress });
        sockets[i] = ws;
        let settled = false;
        ws.on("message", (data) => {
          if (!settled) {
            settled = true;
            ok++;
            helloBytes += data.length;
            done();
            return;
          }
          onFrame(i, data);
        });
        const fail = (why) => {
          if (settled) return;
          settled = true;
          failed++;
          errors.set(why, (errors.get(why) ?? 0) + 1);
          done();
        };
        ws.on("error", (e) => fail(String(e.code ?? e.message).slice(0, 80)));
        ws.on("close", (code) => fail(`closed ${code}`));
        ws.on("unexpected-response", (_req, res) => fail(`http ${res.statusCode}`));
      }
    };
    pump();
  });
  return {
    connected: ok,
    failed,
    errors: Object.fromEntries(errors),
    ms: performance.now() - t0,
    clientCpuMs: cpuNow() - cpu0,
    helloBytes: ok ? helloBytes / ok : 0,
    open: sockets.filter((s) => s && s.readyState === 1).length,
  };
}

// ───────────────────────── triggers ─────────────────────────
const MARK_APP = Buffer.from('"machine":{"id":"');
const MARK_BARE = Buffer.from('"id":');

/**
 * A trigger fires one board change and tells which frames belong to it.
 * `fire()` returns the send time, or false when it could not fire (every
 * machine still has a change in flight). Its matching state (ids, per-socket
 * per-machine counters) lives as long as the connections, so a frame that
 * arrives after its phase ended is still matched to the right change;
 * `begin()` starts fresh statistics for a phase.
 */
let triggerCore = null;

function makeCore(spec, nSockets) {
  if (spec.kind === "bare") {
    const sendAt = [];
    let nextId = 0;
    return {
      spec,
      fire(stats) {
        const id = nextId++;
        const t0 = performance.now();
        sendAt[id] = t0;
        stats.fired++;
        post(
          spec.url,
          { "content-type": "application/json" },
          JSON.stringify({ id, size: spec.size }),
        )
          .then((r) => {
            stats.hist.add(performance.now() - t0);
            if (r.ok) stats.ok++;
            else stats.failed++;
          }, () => stats.failed++);
        return t0;
      },
      match(_i, buf) {
        const at = buf.indexOf(MARK_BARE);
        if (at < 0) return undefined;
        let id = 0;
        for (let k = at + MARK_BARE.length; k < buf.length; k++) {
          const c = buf[k];
          if (c < 48 || c > 57) break;
          id = id * 10 + (c - 48);
        }
        return sendAt[id];
      },
    };
  }
  // The app: one machine per resident; hold then release, alternating.
  const M = spec.machines.length;
  const index = new Map(spec.machines.map((m, k) => [m.id, k]));
  const sendAt = spec.machines.map(() => []);
  const busy = new Array(M).fill(false);
  const action = spec.machines.map((m) => m.next ?? "hold");
  const seen = new Uint32Array(nSockets * M);
  let rr = 0;
  return {
    spec,
    fire(stats) {
      for (let tries = 0; tries < M; tries++) {
        const k = rr++ % M;
        if (busy[k]) continue;
        busy[k] = true;
        const m = spec.machines[k];
        const act = action[k];
        action[k] = act === "hold" ? "release" : "hold";
        const t0 = performance.now();
        sendAt[k].push(t0);
        stats.fired++;
        const fail = (key) => {
          // No event was committed: forget this send time (per-machine order is serial).
          sendAt[k].pop();
          action[k] = act;
          stats.fired--;
          stats.failed++;
          stats.errors[key] = (stats.errors[key] ?? 0) + 1;
          busy[k] = false;
        };
        post(`${spec.base}/api/machines/${m.id}/${act}`, {
          "content-type": "application/json",
          origin: spec.origin,
          cookie: m.cookie,
        }, "{}").then((r) => {
          stats.hist.add(performance.now() - t0);
          if (r.ok) {
            stats.ok++;
            busy[k] = false;
          } else fail(`${r.status} ${r.text.slice(0, 80)}`);
        }, (e) => fail(String(e).slice(0, 80)));
        return t0;
      }
      return false;
    },
    match(i, buf) {
      const at = buf.indexOf(MARK_APP);
      if (at < 0) return undefined;
      const start = at + MARK_APP.length;
      const end = buf.indexOf(34, start); // closing quote
      const k = index.get(buf.toString("latin1", start, end));
      if (k === undefined) return undefined;
      const nth = seen[i * M + k]++;
      return sendAt[k][nth];
    },
  };
}

function makeTrigger(spec, nSockets) {
  if (!triggerCore || triggerCore.spec.kind !== spec.kind) triggerCore = makeCore(spec, nSockets);
  const core = triggerCore;
  const stats = { fired: 0, ok: 0, failed: 0, errors: {}, hist: new Hist() };
  return {
    posts: stats,
    fire: () => core.fire(stats),
    match: (i, buf) => core.match(i, buf),
    events: () => stats.fired,
  };
}

// ───────────────────────── single-event latency rounds ─────────────────────────
async function latency({ trigger: spec, rounds, warmup = 2, gapMs = 100, timeoutMs = 5_000 }) {
  const n = sockets.length;
  const trig = makeTrigger(spec, n);
  const hist = new Hist();
  const completion = new Hist(); // time until the LAST client got the event
  let got = 0;
  let unmatched = 0;
  let lastAt = 0;
  let wake = null;
  let frameBytes = 0;
  let frameCount = 0;
  onFrame = (i, buf) => {
    const t = performance.now();
    const sent = trig.match(i, buf);
    if (sent === undefined) {
      unmatched++;
      return;
    }
    hist.add(t - sent);
    frameBytes += buf.length;
    frameCount++;
    got++;
    lastAt = t;
    if (wake) wake();
  };
  let cpu0 = cpuNow();
  let t0 = performance.now();
  let lost = 0;
  for (let r = 0; r < warmup + rounds; r++) {
    if (r === warmup) {
      hist.reset();
      lost = 0;
      cpu0 = cpuNow();
      t0 = performance.now();
    }
    got = 0;
    const sent = trig.fire();
    if (sent === false) throw new Error("trigger could not fire");
    await new Promise((res) => {
      const timer = setTimeout(() => {
        wake = null;
        res();
      }, timeoutMs);
      wake = () => {
        if (got >= n) {
          clearTimeout(timer);
          wake = null;
          res();
        }
      };
      wake();
    });
    if (got < n) lost += n - got;
    else if (r >= warmup) completion.add(lastAt - sent);
    // let the POST finish before the next round (per-machine serial order)
    const t = performance.now();
    while (trig.posts.ok + trig.posts.failed < r + 1 && performance.now() - t < timeoutMs) {
      await new Promise((r2) => setTimeout(r2, 1));
    }
    await new Promise((r2) => setTimeout(r2, gapMs));
  }
  onFrame = () => {};
  return {
    rounds,
    frameBytes: frameCount ? frameBytes / frameCount : 0,
    latency: hist.summary(),
    completion: completion.summary(),
    lost,
    unmatched,
    posts: {
      ok: trig.posts.ok,
      failed: trig.posts.failed,
      errors: trig.posts.errors,
      ...trig.posts.hist.summary(),
    },
    ms: performance.now() - t0,
    clientCpuMs: cpuNow() - cpu0,
  };
}

// ───────────────────────── open-loop rate step ─────────────────────────
async function ramp({ trigger: spec, rate, durationMs, drainMs = 2_000 }) {
  const n = sockets.length;
  const trig = makeTrigger(spec, n);
  const hist = new Hist();
  let frames = 0;
  let unmatched = 0;
  let lastAt = 0;
  onFrame = (i, buf) => {
    const t = performance.now();
    const sent = trig.match(i, buf);
    if (sent === undefined) {
      unmatched++;
      return;
    }
    hist.add(t - sent);
    frames++;
    lastAt = t;
  };
  const cpu0 = cpuNow();
  const start = performance.now();
  const interval = 1000 / rate;
  let k = 0;
  let skipped = 0;
  let maxSlip = 0;
  while (true) {
    const due = start + k * interval;
    if (due - start >= durationMs) break;
    const now = performance.now();
    if (due > now) await new Promise((r) => setTimeout(r, due - now));
    const slip = performance.now() - due;
    if (slip > maxSlip) maxSlip = slip;
    if (trig.fire() === false) skipped++;
    k++;
  }
  const sendEnd = performance.now();
  // Drain: wait until every fired event reached every socket (or time out).
  const drainStart = performance.now();
  while (performance.now() - drainStart < drainMs) {
    const settledPosts = trig.posts.ok + trig.posts.failed;
    if (settledPosts >= k - skipped && frames >= trig.events() * n) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  onFrame = () => {};
  const events = trig.events();
  const expected = events * n;
  return {
    rate,
    offered: k,
    fired: events,
    skipped,
    maxSlipMs: maxSlip,
    sendMs: sendEnd - start,
    achievedRate: events / ((sendEnd - start) / 1000),
    frames,
    expected,
    lostFrames: expected - frames,
    unmatched,
    deliveredFramesPerSec: frames / (((lastAt || sendEnd) - start) / 1000),
    latency: hist.summary(),
    posts: {
      ok: trig.posts.ok,
      failed: trig.posts.failed,
      errors: trig.posts.errors,
      ...trig.posts.hist.summary(),
    },
    clientCpuMs: cpuNow() - cpu0,
    wallMs: performance.now() - start,
  };
}

async function closeAll({ timeoutMs = 10_000 } = {}) {
  const t0 = performance.now();
  const open = sockets.filter((s) => s && s.readyState <= 1);
  await Promise.race([
    Promise.all(open.map((s) =>
      new Promise((r) => {
        s.once("close", r);
        try {
          s.close(1000, "bench done");
        } catch {
          r();
        }
      })
    )),
    new Promise((r) => setTimeout(r, timeoutMs)),
  ]);
  for (const s of sockets) if (s && s.readyState !== 3) s.terminate();
  const closed = open.length;
  sockets = [];
  triggerCore = null;
  return { closed, ms: performance.now() - t0 };
}

const handlers = { connect, latency, ramp, close: closeAll };

const rl = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
rl.on("line", (line) => {
  if (!line.trim()) return;
  queue = queue.then(async () => {
    let msg;
    try {
      msg = JSON.parse(line);
      if (msg.cmd === "exit") {
        await closeAll({ timeoutMs: 2_000 });
        reply({ ok: true });
        process.exit(0);
      }
      const h = handlers[msg.cmd];
      if (!h) throw new Error(`unknown command ${msg.cmd}`);
      reply({ ok: true, ...(await h(msg)) });
    } catch (e) {
      reply({ ok: false, error: String(e?.stack ?? e) });
    }
  });
});
rl.on("close", () => process.exit(0));
log(`ready pid ${process.pid} client ${CLIENT}`);
