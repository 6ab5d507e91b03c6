/**
 * One worker of a `WORKERS=N` pool (see `lib/pool.ts`): starts a full server
 * on the shared port with `reusePort`, runs the cron when told, and closes
 * gracefully.
 * @module
 */
import { loadConfig } from "./config.ts";
import { type Server, startServer } from "./server.ts";
import { wireFeatures } from "./features.ts";
import type { FromPoolWorker, ToPoolWorker } from "./pool.ts";
import { runCron } from "./cron.ts";

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
      server = await startServer(config, { setup: wireFeatures, reusePort: true, quiet: true });
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
