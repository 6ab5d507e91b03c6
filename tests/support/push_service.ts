/**
 * A real mock Web Push service for tests: `npm:web-push-testing@1.2.2`, run in
 * a child Deno process. It validates the VAPID JWT and decrypts every
 * aes128gcm message it receives, so a test can check what a browser would
 * have got.
 *
 * The child is this same file run with `--serve`: it loads web-push-testing's
 * own server and model, but listens on 127.0.0.1 on a port the OS picks
 * (the package's `src/bin/server.js` binds all interfaces and needs a port
 * chosen in advance) and reports the port on stdout. It exits when the parent
 * closes its stdin, so it never outlives a crashed test run.
 *
 * Endpoints look like `http://127.0.0.1:PORT/notify/<clientHash>`; allow them
 * with `PUSH_ENDPOINT_ALLOW=<service.origin>` where the endpoint policy applies.
 *
 * @example
 * ```ts
 * await using push = await startWebPushTesting();
 * const sub = await push.subscribe(vapidPublicKey);
 * // ... send a push to sub.endpoint with sub.keys ...
 * const messages = await push.notifications(sub.clientHash); // decrypted strings
 * await push.expire(sub.clientHash); // further pushes get 410 Gone
 * ```
 * @module
 */

/** A subscription created on the mock push service. */
export interface TestSubscription {
  /** `http://127.0.0.1:PORT/notify/<clientHash>` */
  endpoint: string;
  /** The subscription's encryption keys (base64url). */
  keys: { p256dh: string; auth: string };
  /** The service's id for this subscription. */
  clientHash: string;
}

/** A running web-push-testing service. */
export interface WebPushTestingService {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** The loopback port the service listens on. */
  port: number;
  /**
   * Creates a subscription bound to a VAPID public key, like
   * `pushManager.subscribe({applicationServerKey})`.
   */
  subscribe(applicationServerKey: string): Promise<TestSubscription>;
  /** The decrypted payloads received for a subscription, oldest first. */
  notifications(clientHash: string): Promise<string[]>;
  /** Polls until at least `count` payloads arrived (rejects after `timeoutMs`). */
  waitForNotifications(clientHash: string, count: number, timeoutMs?: number): Promise<string[]>;
  /** Expires a subscription: from now on the service answers 410 Gone. */
  expire(clientHash: string): Promise<void>;
  /** Everything the child process printed (for debugging failures). */
  logs(): string;
  /** Stops the child process. */
  stop(): Promise<void>;
  /** Same as {@link WebPushTestingService.stop}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const READY_PREFIX = "WEB_PUSH_TESTING_READY ";

async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      onLine(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
    }
  }
  buffer += decoder.decode();
  if (buffer !== "") onLine(buffer);
}

async function postJson(url: string, body: unknown): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`web-push-testing ${url}: ${res.status} ${text}`);
  return text === "" || text === "OK" ? undefined : JSON.parse(text);
}

/**
 * Starts web-push-testing in a child process on a free loopback port and
 * waits until it accepts requests (about 0.3–1 s).
 *
 * @param options `startTimeoutMs` (default 20 000).
 * @returns The running service; call `stop()` (or `await using`) when done.
 */
export async function startWebPushTesting(
  options: { startTimeoutMs?: number } = {},
): Promise<WebPushTestingService> {
  const root = new URL("../../", import.meta.url);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-env",
      "--allow-read",
      "--allow-sys",
      "--config",
      new URL("deno.json", root).pathname,
      new URL(import.meta.url).pathname,
      "--serve",
    ],
    cwd: root.pathname,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();

  let log = "";
  let resolveReady!: (port: number) => void;
  const ready = new Promise<number>((resolve) => resolveReady = resolve);
  const onLine = (line: string) => {
    if (line.startsWith(READY_PREFIX)) {
      resolveReady(Number(line.slice(READY_PREFIX.length)));
    } else {
      log += line + "\n";
    }
  };
  const drained = Promise.all([
    readLines(child.stdout, onLine),
    readLines(child.stderr, onLine),
  ]);
  const stdin = child.stdin.getWriter();

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      await stdin.close().catch(() => {});
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, 3_000);
      await child.status;
      clearTimeout(timer);
      await drained;
    })();
    return stopped;
  };

  const timeoutMs = options.startTimeoutMs ?? 20_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const port = await Promise.race([
    ready,
    child.status.then((s) => {
      throw new Error(`web-push-testing exited early (code ${s.code}):\n${log}`);
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`web-push-testing did not start in ${timeoutMs} ms:\n${log}`)),
        timeoutMs,
      );
    }),
  ]).catch(async (err) => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await stop();
    throw err;
  }).finally(() => clearTimeout(timer));

  const origin = `http://127.0.0.1:${port}`;

  async function notifications(clientHash: string): Promise<string[]> {
    const res = await postJson(`${origin}/get-notifications`, { clientHash }) as {
      data: { messages: string[] };
    };
    return res.data.messages;
  }

  const service: WebPushTestingService = {
    origin,
    port,
    async subscribe(applicationServerKey) {
      const res = await postJson(`${origin}/subscribe`, {
        userVisibleOnly: "true",
        applicationServerKey,
      }) as { data: TestSubscription };
      const { endpoint, keys, clientHash } = res.data;
      return { endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth }, clientHash };
    },
    notifications,
    async waitForNotifications(clientHash, count, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (true) {
        const messages = await notifications(clientHash);
        if (messages.length >= count) return messages;
        if (Date.now() > deadline) {
          throw new Error(`web-push-testing: ${messages.length}/${count} notifications`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async expire(clientHash) {
      await postJson(`${origin}/expire-subscription/${encodeURIComponent(clientHash)}`, {});
    },
    logs: () => log,
    stop,
    [Symbol.asyncDispose]: stop,
  };
  return service;
}

/** Child side: run web-push-testing's server on 127.0.0.1, port 0. */
async function serveChild(): Promise<void> {
  const { default: TestingServer } = await import("web-push-testing/src/server.js");
  const { PushApiModel } = await import("web-push-testing/src/PushApiModel.js");
  const model = new PushApiModel();
  const server = new TestingServer(model, 0);
  const http = server._app.listen(0, "127.0.0.1", () => {
    const { port } = http.address() as { port: number };
    model.notifyUrl = `http://127.0.0.1:${port}/notify/`;
    console.log(READY_PREFIX + port);
  });
  server.setRequestHandlers();
  // Exit when the parent closes our stdin (or dies).
  for await (const _ of Deno.stdin.readable) { /* ignore input */ }
  Deno.exit(0);
}

if (import.meta.main && Deno.args.includes("--serve")) {
  await serveChild();
}
