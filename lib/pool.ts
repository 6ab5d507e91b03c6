/**
 * `WORKERS=N`: N servers on one port, one per Deno Worker of this process
 * (SO_REUSEPORT: the kernel spreads connections over them), each with its
 * own KV handle on the one KV file. They share nothing in memory: a change
 * made through any worker reaches every socket on every worker through
 * `kv.watch` on the log heads (SQLite's watch works across handles of one
 * process), and due-index jobs are claimed atomically, so they work like
 * instances on Deno Deploy.
 * @module
 */
import type { Config } from "./config.ts";

/** What the main thread tells a pool worker. */
export type ToPoolWorker =
  | { type: "start"; env: Record<string, string>; name: string }
  | { type: "cron" }
  | { type: "close" };

/** What a pool worker answers. */
export type FromPoolWorker =
  | { type: "started"; url: string }
  | { type: "closed" }
  | { type: "error"; message: string };

/** A running pool. */
export interface Pool {
  url: string;
  port: number;
  /** Run the minute's cron on every worker (the sweep's lease makes it once). */
  cron(): void;
  close(): Promise<void>;
}

/** A free TCP port on `hostname` (asked of the kernel). */
export function freePort(hostname: string): number {
  const l = Deno.listen({ hostname, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function next(w: Worker): Promise<FromPoolWorker> {
  return new Promise((resolve) => {
    w.addEventListener("message", (ev: MessageEvent<FromPoolWorker>) => resolve(ev.data), {
      once: true,
    });
  });
}

/**
 * Start `config.workers` workers serving `config.port` (a free one when 0),
 * each running `workerModule` (the root's `pool_worker.ts`).
 */
export async function startPool(
  config: Config,
  env: Record<string, string | undefined>,
  workerModule: URL,
): Promise<Pool> {
  const port = config.port || freePort(config.hostname);
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) base[k] = v;
  Object.assign(base, { PORT: String(port), SEED: "0" });
  const workers: Worker[] = [];
  let url = "";
  for (let i = 1; i <= config.workers; i++) {
    const w = new Worker(workerModule, { type: "module" });
    workers.push(w);
    const started = next(w);
    w.postMessage({ type: "start", env: base, name: `w${i}` } satisfies ToPoolWorker);
    const msg = await started;
    if (msg.type !== "started") {
      for (const x of workers) x.terminate();
      throw new Error(`worker w${i} did not start: ${JSON.stringify(msg)}`);
    }
    url = msg.url;
  }
  return {
    url,
    port,
    cron() {
      for (const w of workers) w.postMessage({ type: "cron" } satisfies ToPoolWorker);
    },
    async close() {
      await Promise.all(workers.map(async (w) => {
        const closed = next(w);
        w.postMessage({ type: "close" } satisfies ToPoolWorker);
        await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
        w.terminate();
      }));
    },
  };
}
