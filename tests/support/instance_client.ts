/**
 * The test side of `instance_worker.ts`: start a LaundryLive instance in a
 * Worker and talk to it. A Worker type-checks and loads the whole app before
 * it answers, which on a loaded CI machine takes many seconds, so starting
 * waits up to {@link START_TIMEOUT_MS} (a readiness bound, not a speed target).
 * @module
 */
import type { FromWorker, ToWorker } from "./instance_worker.ts";

/** How long an instance may take to answer `start`. */
export const START_TIMEOUT_MS = 60_000;
/** How long an instance may take to answer `close`. */
export const CLOSE_TIMEOUT_MS = 10_000;

/** The worker's next message, or a rejection after `timeoutMs`. */
export function reply(worker: Worker, timeoutMs: number): Promise<FromWorker> {
  return new Promise((resolve, reject) => {
    const onMsg = (ev: MessageEvent<FromWorker>) => {
      clearTimeout(timer);
      resolve(ev.data);
    };
    const timer = setTimeout(() => {
      worker.removeEventListener("message", onMsg);
      reject(new Error(`worker silent for ${timeoutMs} ms`));
    }, timeoutMs);
    worker.addEventListener("message", onMsg, { once: true });
  });
}

/** A started instance: its URL and its worker. */
export interface StartedWorker {
  url: string;
  worker: Worker;
}

/** Start an instance in a new Worker (terminated again if it does not start). */
export async function spawnInstance(
  env: Record<string, string>,
  opts: { full?: boolean; name?: string } = {},
): Promise<StartedWorker> {
  const worker = new Worker(new URL("./instance_worker.ts", import.meta.url), { type: "module" });
  const answer = reply(worker, START_TIMEOUT_MS);
  worker.postMessage({ type: "start", env, full: opts.full } satisfies ToWorker);
  const msg = await answer.catch((e) => {
    worker.terminate();
    throw e;
  });
  if (msg.type !== "started") {
    worker.terminate();
    throw new Error(`${opts.name ?? "instance"} did not start: ${JSON.stringify(msg)}`);
  }
  return { url: msg.url, worker };
}

/** Ask an instance to close gracefully (jobs in flight finish), then end its worker. */
export async function closeInstance(worker: Worker): Promise<void> {
  try {
    const answer = reply(worker, CLOSE_TIMEOUT_MS);
    worker.postMessage({ type: "close" } satisfies ToWorker);
    const r = await answer;
    if (r.type !== "closed") throw new Error(`close failed: ${JSON.stringify(r)}`);
  } finally {
    worker.terminate();
  }
}
