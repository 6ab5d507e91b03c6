/**
 * A tiny HTTP capture server for push tests: it records every request
 * (method, path, headers, body) and answers from a programmable sequence of
 * responses, e.g. `[{ status: 503, headers: { "Retry-After": "1" } }, 201]`.
 * Once the sequence is used up it answers the default response (201).
 *
 * Listens on a free port on 127.0.0.1 over plain HTTP, so endpoints look like
 * `http://127.0.0.1:PORT/push/abc`; allow them with
 * `PUSH_ENDPOINT_ALLOW=<server.origin>` where the endpoint policy applies.
 *
 * @example
 * ```ts
 * await using capture = await startCapturePush({ responses: [503, 201] });
 * await fetch(capture.url("/push/a"), { method: "POST", body: "x" });
 * capture.requests[0].headers["ttl"];
 * ```
 * @module
 */

/** One request the capture server received. */
export interface CapturedRequest {
  /** HTTP method, e.g. `POST`. */
  method: string;
  /** Path and query, e.g. `/push/abc?x=1`. */
  path: string;
  /** Headers with lower-case names. */
  headers: Record<string, string>;
  /** The raw body. */
  body: Uint8Array;
  /** The body decoded as UTF-8. */
  text: string;
  /** Epoch ms when the request arrived. */
  receivedAt: number;
}

/** A scripted answer; a bare number means that status with an empty body. */
export type ScriptedResponse =
  | number
  | { status: number; headers?: Record<string, string>; body?: string; delayMs?: number };

/** Options for {@link startCapturePush}. */
export interface CapturePushOptions {
  /** Answers for the first requests, in order. */
  responses?: ScriptedResponse[];
  /** Answer once `responses` are used up (default `201`). */
  defaultResponse?: ScriptedResponse;
}

/** A running capture server. */
export interface CapturePush {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** The loopback port the server listens on. */
  port: number;
  /** Every request received so far, oldest first. */
  requests: CapturedRequest[];
  /** An absolute URL on this server (default path `/push`). */
  url(path?: string): string;
  /** Replaces the queue of scripted answers (the default stays). */
  respondWith(responses: ScriptedResponse[]): void;
  /** Changes the answer given once the queue is empty. */
  setDefaultResponse(response: ScriptedResponse): void;
  /** Forgets recorded requests and scripted answers. */
  reset(): void;
  /** Resolves once at least `count` requests arrived (rejects after `timeoutMs`). */
  waitForRequests(count: number, timeoutMs?: number): Promise<CapturedRequest[]>;
  /** Stops the server and closes its connections. */
  close(): Promise<void>;
  /** Same as {@link CapturePush.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

function normalise(response: ScriptedResponse): Exclude<ScriptedResponse, number> {
  return typeof response === "number" ? { status: response } : response;
}

/**
 * Starts a capture server on a free loopback port.
 *
 * @param options Scripted answers and the default answer.
 * @returns The running server; call `close()` (or `await using`) when done.
 */
export function startCapturePush(options: CapturePushOptions = {}): Promise<CapturePush> {
  const requests: CapturedRequest[] = [];
  let queue: ScriptedResponse[] = [...(options.responses ?? [])];
  let fallback: ScriptedResponse = options.defaultResponse ?? 201;
  const waiters = new Set<() => void>();
  const decoder = new TextDecoder();

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      const url = new URL(req.url);
      const body = new Uint8Array(await req.arrayBuffer());
      const headers: Record<string, string> = {};
      req.headers.forEach((value, name) => headers[name] = value);
      requests.push({
        method: req.method,
        path: url.pathname + url.search,
        headers,
        body,
        text: decoder.decode(body),
        receivedAt: Date.now(),
      });
      for (const wake of waiters) wake();
      const answer = normalise(queue.length > 0 ? queue.shift()! : fallback);
      if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
      const nullBody = answer.status === 204 || answer.status === 304;
      return new Response(nullBody ? null : answer.body ?? "", {
        status: answer.status,
        headers: answer.headers,
      });
    },
  );
  const port = server.addr.port;
  const origin = `http://127.0.0.1:${port}`;

  const capture: CapturePush = {
    origin,
    port,
    requests,
    url: (path = "/push") => origin + (path.startsWith("/") ? path : "/" + path),
    respondWith(responses) {
      queue = [...responses];
    },
    setDefaultResponse(response) {
      fallback = response;
    },
    reset() {
      requests.length = 0;
      queue = [];
    },
    waitForRequests(count, timeoutMs = 5_000) {
      if (requests.length >= count) return Promise.resolve([...requests]);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`capture server: ${requests.length}/${count} requests after ${timeoutMs} ms`),
          );
        }, timeoutMs);
        const check = () => {
          if (requests.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve([...requests]);
        };
        waiters.add(check);
      });
    },
    async close() {
      await server.shutdown();
    },
    [Symbol.asyncDispose]() {
      return capture.close();
    },
  };
  return Promise.resolve(capture);
}
