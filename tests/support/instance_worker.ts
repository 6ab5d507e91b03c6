/**
 * A LaundryLive instance inside a Deno Worker, for multi-instance tests: the
 * test posts `{type: "start", env}` and gets `{type: "started", url, port}`;
 * `{type: "close"}` stops it and answers `{type: "closed"}`; Errors come back as
 * `{type: "error", message}`. Each worker opens its own KV handle, like an
 * isolate on Deno Deploy.
 * @module
 */
import { loadConfig } from "../../lib/config.ts";
import { type Server, startServer } from "../../lib/server.ts";
import { composed } from "../../app.ts";

/** What the test sends to the worker. */
export type ToWorker =
  | { type: "start"; env: Record<string, string>; full?: boolean }
  | { type: "close" };

/** What the worker answers. */
export type FromWorker =
  | { type: "started"; url: string; port: number }
  | { type: "closed" }
  | { type: "error"; message: string };

const scope = self as unknown as {
  onmessage: ((ev: MessageEvent<ToWorker>) => void) | null;
  postMessage(msg: FromWorker): void;
};

let server: Server | null = null;

scope.onmessage = async (ev) => {
  const msg = ev.data;
  try {
    if (msg.type === "start") {
      const opts = composed(msg.full ? { pages: false } : null);
      server = await startServer(loadConfig(msg.env), { quiet: true, ...opts });
      scope.postMessage({ type: "started", url: server.url, port: server.port });
    } else if (msg.type === "close") {
      await server?.close();
      server = null;
      scope.postMessage({ type: "closed" });
    }
  } catch (err) {
    scope.postMessage({ type: "error", message: String((err as Error)?.stack ?? err) });
  }
};
