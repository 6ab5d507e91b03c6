/**
 * One worker of a `WORKERS=N` pool (see `lib/pool.ts`; it lives beside the
 * composition root, `app.ts`, which it starts): starts a full server
 * on the shared port with `reusePort`, runs the cron when told, and closes
 * gracefully.
 * @module
 */
import { loadConfig } from "./lib/config.ts";
import { type Server, startServer } from "./lib/server.ts";
import { composed } from "./app.ts";
import type { FromPoolWorker, ToPoolWorker } from "./lib/pool.ts";
import { runCron } from "./lib/cron.ts";

const scope = self as unknown as {
  onmessage: ((ev: MessageEvent<ToPoolWorker>) => void) | null;
  postMessage(msg: FromPoolWorker): void;
};

let server: Server | null = null;

scope.onmessage = async (ev) => {
  const msg = ev.data;
  try {
    if (msg.type === "start") {
      const config = loadConfig({ ...msg.env, WORKER_NAME: msg.name });
      server = await startServer(config, { ...composed(), reusePort: true, quiet: true });
      scope.postMessage({ type: "started", url: server.url });
    } else if (msg.type === "cron") {
      if (server) await runCron(server.ctx);
    } else if (msg.type === "close") {
      await server?.close();
      server = null;
      scope.postMessage({ type: "closed" });
    }
  } catch (err) {
    scope.postMessage({ type: "error", message: String((err as Error)?.stack ?? err) });
  }
};
