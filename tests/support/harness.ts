/**
 * Integration-test helpers: a real LaundryLive server on a loopback port with
 * its own temporary KV file, an HTTP client with a cookie jar that follows the
 * CSRF rules, a WebSocket client that records what it receives, a raw
 * upgrade request (to read refused handshakes' status codes), and a real
 * `deno run main.ts` subprocess.
 *
 * Everything here is disposable with `await using`, or closed explicitly:
 *
 * @example
 * ```ts
 * await using srv = await startTestServer();
 * const a = new Client(srv.url);
 * await a.register("alice", "Alice", "101");
 * await using ws = openSocket(srv.url, a.cookie);
 * const hello = await ws.hello;
 * ```
 * @module
 */
import { loadConfig } from "../../lib/config.ts";
import { type Server, type ServerOptions, startServer } from "../../lib/server.ts";
import { createApp } from "../../app.ts";
import { advanceCursor, WS_PROTOCOL } from "../../lib/cursor.ts";
import type { LogEvent } from "../../lib/db/mod.ts";

/** Admin password every test server is seeded with (login `admin`). */
export const TEST_ADMIN_PASSWORD = "admin-pass-123";
/** Invite code every test server is seeded with. */
export const TEST_INVITE = "TEST-INVITE";
/** Password {@link Client.register} uses unless told otherwise. */
export const TEST_PASSWORD = "resident-pass-123";

/**
 * The environment of a test server on a KV file: loopback, a free port, the
 * test admin password and invite code, no cron, no colours; `extra` adds or
 * overrides.
 */
export function serverEnv(
  kvPath: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PORT: "0",
    HOSTNAME_BIND: "127.0.0.1",
    KV_PATH: kvPath,
    ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
    INVITE_CODE: TEST_INVITE,
    BACKGROUND: "0",
    NO_COLOR: "1",
    ...extra,
  };
}

/** The project root (where `main.ts` lives). */
export const PROJECT_ROOT: string = new URL("../../", import.meta.url).pathname;

// ───────────────────────────── in-process server ─────────────────────────────

/** A server started by {@link startTestServer}. */
export interface TestServer extends Server {
  /** The temporary directory holding the KV file. */
  dir: string;
  /** The KV file path. */
  kvPath: string;
  /** Stop the server and remove the temporary directory. Idempotent. */
  close(): Promise<void>;
  /** Same as {@link TestServer.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Start a real server on `127.0.0.1` and a free port, with a fresh KV file in
 * a new temporary directory, the test admin password and invite code, no
 * cron. `env` overrides or extends
 * the environment (e.g. `{WS_PING_MS: "100"}`); `opts` the server options.
 */
export async function startTestServer(
  env: Record<string, string> = {},
  opts: Partial<ServerOptions> = {},
): Promise<TestServer> {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-test-" });
  const kvPath = `${dir}/kv.sqlite`;
  let server: Server;
  try {
    server = await startServer(
      loadConfig({
        PORT: "0",
        HOSTNAME_BIND: "127.0.0.1",
        KV_PATH: kvPath,
        ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
        INVITE_CODE: TEST_INVITE,
        BACKGROUND: "0",
        ...env,
      }),
      { quiet: true, createApp, ...opts },
    );
    // Tests read the seeded operator straight from the store.
    await server.seeded;
  } catch (err) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
  let closing: Promise<void> | null = null;
  const close = () =>
    closing ??= (async () => {
      try {
        await server.close();
      } finally {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    })();
  return { ...server, dir, kvPath, close, [Symbol.asyncDispose]: close };
}

// ───────────────────────────── HTTP client ─────────────────────────────

/** What {@link Client} requests resolve to. */
export interface ApiResponse {
  status: number;
  // deno-lint-ignore no-explicit-any
  json: any;
  headers: Headers;
}

/** Options of one raw {@link Client.request}. */
export interface RequestOptions {
  /** Extra headers (override the defaults; `null` removes a default header). */
  headers?: Record<string, string | null>;
  /** Send this exact body text instead of `JSON.stringify(body)`. */
  rawBody?: string;
}

/**
 * A minimal API client for one user: keeps cookies from `Set-Cookie`, sends
 * `Origin: <baseUrl>` and `content-type: application/json` on every write (as
 * a same-origin browser page would), and never throws on 4xx/5xx.
 */
export class Client {
  /** Cookie jar: name → value. */
  readonly cookies: Map<string, string> = new Map();
  /** The raw `Set-Cookie` headers of the last response that had any. */
  lastSetCookie: string[] = [];
  /** The signed-in user from the last successful register/login. */
  // deno-lint-ignore no-explicit-any
  user: any = null;
  /** Origin sent on writes (default: the server's own origin). */
  readonly origin: string;

  /** A client of the server at `baseUrl` (e.g. `http://127.0.0.1:1234`). */
  constructor(readonly baseUrl: string, opts: { origin?: string } = {}) {
    this.origin = opts.origin ?? new URL(baseUrl).origin;
  }

  /** The `Cookie` header value for the jar ("" when empty). */
  get cookie(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  /** The session cookie value, if signed in. */
  get sessionToken(): string | undefined {
    return this.cookies.get("ll_session");
  }

  /** Send one request; `body` is JSON-encoded unless `opts.rawBody` is given. */
  async request(
    method: string,
    path: string,
    body?: unknown,
    opts: RequestOptions = {},
  ): Promise<ApiResponse> {
    const headers: Record<string, string> = {};
    const write = method !== "GET" && method !== "HEAD";
    if (write) {
      headers["origin"] = this.origin;
      headers["content-type"] = "application/json";
    }
    if (this.cookies.size) headers["cookie"] = this.cookie;
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      if (v === null) delete headers[k.toLowerCase()];
      else headers[k.toLowerCase()] = v;
    }
    const text = opts.rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
    const res = await fetch(new URL(path, this.baseUrl), { method, headers, body: text });
    this.#storeCookies(res.headers);
    const raw = await res.text();
    let json: unknown = null;
    if (raw !== "") {
      try {
        json = JSON.parse(raw);
      } catch {
        json = { _text: raw };
      }
    }
    return { status: res.status, json, headers: res.headers };
  }

  #storeCookies(h: Headers): void {
    const set = h.getSetCookie();
    if (!set.length) return;
    this.lastSetCookie = set;
    for (const line of set) {
      const [pair, ...attrs] = line.split(";").map((s) => s.trim());
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const expired = attrs.some((a) => /^max-age=0$/i.test(a)) ||
        attrs.some((a) => /^expires=/i.test(a) && Date.parse(a.slice(8)) < Date.now());
      if (expired || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** `GET path`. */
  get(path: string, opts?: RequestOptions): Promise<ApiResponse> {
    return this.request("GET", path, undefined, opts);
  }

  /** `POST path` with a JSON body (none when `body` is undefined). */
  post(path: string, body?: unknown, opts?: RequestOptions): Promise<ApiResponse> {
    return this.request("POST", path, body, opts);
  }

  /** `PUT path` with a JSON body. */
  put(path: string, body?: unknown, opts?: RequestOptions): Promise<ApiResponse> {
    return this.request("PUT", path, body, opts);
  }

  /** `PATCH path` with a JSON body. */
  patch(path: string, body?: unknown, opts?: RequestOptions): Promise<ApiResponse> {
    return this.request("PATCH", path, body, opts);
  }

  /** `DELETE path`. */
  del(path: string, body?: unknown, opts?: RequestOptions): Promise<ApiResponse> {
    return this.request("DELETE", path, body, opts);
  }

  /**
   * Register a resident with the test invite code (or `opts.inviteCode`) and
   * keep the session cookie. The password defaults to {@link TEST_PASSWORD}.
   */
  async register(
    loginId: string,
    name: string,
    room: string,
    opts: { password?: string; inviteCode?: string } = {},
  ): Promise<ApiResponse> {
    const r = await this.post("/api/auth/register", {
      inviteCode: opts.inviteCode ?? TEST_INVITE,
      loginId,
      password: opts.password ?? TEST_PASSWORD,
      name,
      room,
    });
    if (r.status === 201) this.user = r.json.user;
    return r;
  }

  /** Log in and keep the session cookie. */
  async login(loginId: string, password: string = TEST_PASSWORD): Promise<ApiResponse> {
    const r = await this.post("/api/auth/login", { loginId, password });
    if (r.status === 200) this.user = r.json.user;
    return r;
  }
}

/**
 * Register a resident and return its client; throws unless the server
 * answered 201.
 */
export async function resident(baseUrl: string, loginId: string, room = "101"): Promise<Client> {
  const c = new Client(baseUrl);
  const r = await c.register(loginId, loginId, room);
  if (r.status !== 201) {
    throw new Error(`register ${loginId}: ${r.status} ${JSON.stringify(r.json)}`);
  }
  return c;
}

/** Log in as the seeded admin and return its client; throws on failure. */
export async function admin(baseUrl: string, password = TEST_ADMIN_PASSWORD): Promise<Client> {
  const c = new Client(baseUrl);
  const r = await c.login("admin", password);
  if (r.status !== 200) throw new Error(`admin login: ${r.status} ${JSON.stringify(r.json)}`);
  return c;
}

// ───────────────────────────── WebSocket client ─────────────────────────────

/** A message the server sent over the socket (parsed JSON). */
// deno-lint-ignore no-explicit-any
export type WsMessage = any;

/** How a socket ended. */
export interface CloseInfo {
  code: number;
  reason: string;
  wasClean: boolean;
}

/** Options of {@link openSocket}. */
export interface SocketOptions {
  /** `Origin` header to send; `null` sends none. Default: the server's origin. */
  origin?: string | null;
  /** Answer every server `ping` with `{type:"pong", t}` (default false). */
  autoPong?: boolean;
  /** The building to name (`?building=`), as a page of that building does. */
  building?: string;
  /**
   * The protocol to ask for (`?v=`; lib/cursor.ts WS_PROTOCOL). Default 2, as
   * client/live.ts: `event` messages carry no cursor and the socket's
   * `cursor` follows the events with `advanceCursor`. 1: a cursor in each.
   */
  protocol?: 1 | 2;
}

/** A recording WebSocket client (see {@link openSocket}). */
export interface TestSocket {
  /** The underlying WebSocket. */
  ws: WebSocket;
  /** Every message received, parsed, in order. */
  messages: WsMessage[];
  /** `performance.now()` at the receipt of each entry of `messages`. */
  receivedAt: number[];
  /** The first message if it is a `hello`; rejects if the socket ends or says otherwise first. */
  hello: Promise<WsMessage>;
  /** Resolves when the socket has closed (for whatever reason). */
  closed: Promise<CloseInfo>;
  /** The cursor of the last `hello` or `event` received. */
  readonly cursor: string | undefined;
  /** Whether the socket is open. */
  readonly isOpen: boolean;
  /**
   * The next message matching `predicate`, scanning forward from just after
   * the previous match (messages already received count; non-matching ones
   * are skipped). Rejects after `timeoutMs` or when the socket closes first.
   */
  next(predicate?: (m: WsMessage) => boolean, timeoutMs?: number): Promise<WsMessage>;
  /** Like {@link TestSocket.next}, also giving the receipt time and index. */
  nextEntry(
    predicate?: (m: WsMessage) => boolean,
    timeoutMs?: number,
  ): Promise<{ msg: WsMessage; at: number; index: number }>;
  /** Send an object as JSON, or a string / binary frame as is. */
  send(data: unknown): void;
  /** Close (code 1000) and wait until closed. Idempotent. */
  close(): Promise<CloseInfo>;
  /** Same as close, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** The `ws://` URL of `/ws` on `baseUrl`, with `?since=` when given. */
export function wsUrl(baseUrl: string, since?: string): string {
  const u = new URL("/ws", baseUrl);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  if (since !== undefined) u.searchParams.set("since", since);
  return u.href;
}

/**
 * Open `/ws` (with `?since=` when given) as a signed-in browser would: Deno's
 * non-standard `headers` option sends the session `cookie` and an `Origin`.
 */
export function openSocket(
  baseUrl: string,
  cookie: string,
  since?: string,
  opts: SocketOptions = {},
): TestSocket {
  const headers: Record<string, string> = {};
  const origin = opts.origin === undefined ? new URL(baseUrl).origin : opts.origin;
  if (origin !== null) headers["origin"] = origin;
  if (cookie) headers["cookie"] = cookie;
  // `lib: ["dom"]` hides Deno's `WebSocketOptions` overload; the runtime has it.
  const DenoWebSocket = WebSocket as unknown as new (
    url: string,
    opts: { headers: HeadersInit },
  ) => WebSocket;
  const url = new URL(wsUrl(baseUrl, since));
  if (opts.building !== undefined) url.searchParams.set("building", opts.building);
  if ((opts.protocol ?? WS_PROTOCOL) === WS_PROTOCOL) {
    url.searchParams.set("v", String(WS_PROTOCOL));
  }
  const ws = new DenoWebSocket(url.href, { headers });
  const messages: WsMessage[] = [];
  const receivedAt: number[] = [];
  let pos = 0;
  let cursor: string | undefined;
  let closedInfo: CloseInfo | null = null;
  const waiters = new Set<{ check: () => boolean; fail: (e: Error) => void }>();

  let helloResolve!: (m: WsMessage) => void;
  let helloReject!: (e: Error) => void;
  const hello = new Promise<WsMessage>((res, rej) => {
    helloResolve = res;
    helloReject = rej;
  });
  hello.catch(() => {}); // a test that never awaits it must not fail on "unhandled rejection"
  let closedResolve!: (c: CloseInfo) => void;
  const closed = new Promise<CloseInfo>((res) => (closedResolve = res));

  ws.binaryType = "arraybuffer";
  ws.onmessage = (ev) => {
    const at = performance.now();
    let msg: WsMessage;
    try {
      msg = JSON.parse(typeof ev.data === "string" ? ev.data : new TextDecoder().decode(ev.data));
    } catch {
      msg = { type: "_unparsable", data: ev.data };
    }
    if (messages.length === 0) {
      if (msg.type === "hello") helloResolve(msg);
      else helloReject(new Error(`first message was not hello: ${JSON.stringify(msg)}`));
    }
    messages.push(msg);
    receivedAt.push(at);
    if ((msg.type === "hello" || msg.type === "event") && typeof msg.cursor === "string") {
      cursor = msg.cursor;
    } else if (msg.type === "event" && cursor !== undefined) {
      cursor = advanceCursor(cursor, msg.event as LogEvent);
    }
    if (opts.autoPong && msg.type === "ping" && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify({ type: "pong", t: msg.t }));
    }
    for (const w of [...waiters]) if (w.check()) waiters.delete(w);
  };
  ws.onerror = () => {}; // the close event follows; refused handshakes end up there too
  ws.onclose = (ev) => {
    closedInfo = { code: ev.code, reason: ev.reason, wasClean: ev.wasClean };
    helloReject(new Error(`socket closed before hello (code ${ev.code} ${ev.reason})`));
    for (const w of waiters) w.fail(new Error(`socket closed (code ${ev.code} ${ev.reason})`));
    waiters.clear();
    closedResolve(closedInfo);
  };

  const nextEntry = (
    predicate: (m: WsMessage) => boolean = () => true,
    timeoutMs = 2000,
  ): Promise<{ msg: WsMessage; at: number; index: number }> =>
    new Promise((resolve, reject) => {
      const t: { timer?: ReturnType<typeof setTimeout> } = {};
      const check = () => {
        for (let i = pos; i < messages.length; i++) {
          if (predicate(messages[i])) {
            pos = i + 1;
            clearTimeout(t.timer);
            resolve({ msg: messages[i], at: receivedAt[i], index: i });
            return true;
          }
        }
        return false;
      };
      if (check()) return;
      if (closedInfo) {
        reject(new Error(`socket already closed (code ${closedInfo.code})`));
        return;
      }
      const waiter = {
        check,
        fail: (e: Error) => {
          clearTimeout(t.timer);
          reject(e);
        },
      };
      t.timer = setTimeout(() => {
        waiters.delete(waiter);
        const recent = messages.slice(pos).map((m) => m.type === "event" ? m.event.type : m.type);
        reject(new Error(`no matching message within ${timeoutMs} ms; unmatched: ${recent}`));
      }, timeoutMs);
      waiters.add(waiter);
    });

  const close = async (): Promise<CloseInfo> => {
    if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) {
      ws.close(1000, "test done");
    }
    return await closed;
  };

  return {
    ws,
    messages,
    receivedAt,
    hello,
    closed,
    get cursor() {
      return cursor;
    },
    get isOpen() {
      return ws.readyState === WebSocket.OPEN;
    },
    nextEntry,
    next: async (predicate, timeoutMs) => (await nextEntry(predicate, timeoutMs)).msg,
    send(data: unknown) {
      if (typeof data === "string" || data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
        ws.send(data as string | ArrayBuffer);
      } else ws.send(JSON.stringify(data));
    },
    close,
    async [Symbol.asyncDispose]() {
      await close();
    },
  };
}

/** A predicate for `event` messages of one type (and machine, when given). */
export function isEvent(type: string, machineId?: string): (m: WsMessage) => boolean {
  return (m) =>
    m.type === "event" && m.event.type === type &&
    (machineId === undefined || m.event.machine?.id === machineId ||
      m.event.machineId === machineId);
}

/** The response to a hand-written WebSocket handshake. */
export interface RawResponse {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  json: any;
}

/**
 * Send a WebSocket upgrade request over a raw TCP connection and return the
 * status line, headers and (JSON) body, so refused handshakes can be checked
 * exactly (a browser-style WebSocket only reports "error"). A 101 answer is
 * returned too; the connection is then dropped.
 */
export async function rawUpgrade(
  baseUrl: string,
  opts: { origin?: string; cookie?: string; path?: string } = {},
): Promise<RawResponse> {
  const u = new URL(opts.path ?? "/ws", baseUrl);
  const lines = [
    `GET ${u.pathname}${u.search} HTTP/1.1`,
    `Host: ${u.host}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
  ];
  if (opts.origin) lines.push(`Origin: ${opts.origin}`);
  if (opts.cookie) lines.push(`Cookie: ${opts.cookie}`);
  const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
  try {
    await conn.write(new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"));
    let buf = new Uint8Array(0);
    const chunk = new Uint8Array(16 * 1024);
    const dec = new TextDecoder();
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const text = dec.decode(buf);
      const end = text.indexOf("\r\n\r\n");
      if (end !== -1) {
        const [statusLine, ...headerLines] = text.slice(0, end).split("\r\n");
        const status = Number(statusLine.split(" ")[1]);
        const headers = new Headers();
        for (const h of headerLines) {
          const i = h.indexOf(":");
          headers.append(h.slice(0, i).trim(), h.slice(i + 1).trim());
        }
        const len = Number(headers.get("content-length") ?? 0);
        const bodyBytes = buf.slice(new TextEncoder().encode(text.slice(0, end + 4)).length);
        if (status === 101 || bodyBytes.length >= len) {
          const bodyText = dec.decode(bodyBytes.slice(0, len));
          let json: unknown = null;
          try {
            json = bodyText ? JSON.parse(bodyText) : null;
          } catch {
            json = { _text: bodyText };
          }
          return { status, headers, json };
        }
      }
      const n = await conn.read(chunk);
      if (n === null) break;
      const next = new Uint8Array(buf.length + n);
      next.set(buf);
      next.set(chunk.subarray(0, n), buf.length);
      buf = next;
    }
    throw new Error(`incomplete upgrade response: ${JSON.stringify(dec.decode(buf))}`);
  } finally {
    conn.close();
  }
}

// ───────────────────────────── waiting ─────────────────────────────

/**
 * Poll `fn` (every `intervalMs`, default 10 ms) until it returns a truthy
 * value, and return that; throws after `timeoutMs` naming `what`.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 2000,
  what = "condition",
  intervalMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  while (true) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// ───────────────────────────── subprocess ─────────────────────────────

/** A `deno run -A main.ts` child process (see {@link runServerProcess}). */
export interface ServerProcess {
  /** `http://…` as printed in "LaundryLive listening on …". */
  url: string;
  child: Deno.ChildProcess;
  /** Everything printed on stdout and stderr so far. */
  output(): string;
  /**
   * Send `signal` (default SIGTERM) and wait for the exit and the end of its
   * output. Idempotent.
   */
  kill(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
  /** Same as kill("SIGKILL") for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Start the production entry point (`deno run -A main.ts`) with `env` added
 * to this process's environment (set `PORT: "0"` for a free port), wait for
 * "listening on <url>" on stdout (at most `timeoutMs`), and return it. The
 * child's output is drained continuously; a child that exits first rejects
 * with its output.
 */
export async function runServerProcess(
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts"],
    cwd: PROJECT_ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let resolveUrl!: (u: string) => void;
  let rejectUrl!: (e: Error) => void;
  const urlPromise = new Promise<string>((res, rej) => {
    resolveUrl = res;
    rejectUrl = rej;
  });
  const drain = async (stream: ReadableStream<Uint8Array>, watch: boolean) => {
    const dec = new TextDecoder();
    for await (const bytes of stream) {
      out += dec.decode(bytes, { stream: true });
      const m = watch ? /listening on (https?:\/\/\S+)/.exec(out) : null;
      if (m) resolveUrl(m[1]);
    }
  };
  const drained = Promise.all([drain(child.stdout, true), drain(child.stderr, false)]);
  const status = child.status;
  status.then((s) =>
    rejectUrl(new Error(`main.ts exited (code ${s.code}) before listening:\n${out}`))
  );
  const timer = setTimeout(
    () => rejectUrl(new Error(`main.ts not listening after ${timeoutMs} ms:\n${out}`)),
    timeoutMs,
  );
  let killing: Promise<Deno.CommandStatus> | null = null;
  const kill = (signal: Deno.Signal = "SIGTERM") =>
    killing ??= (async () => {
      clearTimeout(timer);
      try {
        child.kill(signal);
      } catch { /* already exited */ }
      const s = await status;
      await drained;
      return s;
    })();
  let url: string;
  try {
    url = await urlPromise;
  } catch (err) {
    await kill("SIGKILL");
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return {
    url,
    child,
    output: () => out,
    kill,
    async [Symbol.asyncDispose]() {
      await kill("SIGKILL");
    },
  };
}
