/**
 * `GET /healthz`: no auth, for load balancers and uptime checks. Answers
 * `{ok, version, worker}` (the worker that served it) with 200, or 503 when
 * KV does not answer a read within {@link HEALTH_KV_TIMEOUT_MS}.
 * @module
 */
import type { Context } from "hono";
import { K } from "./keys.ts";
import { VERSION } from "./version.ts";

/** How long the health check waits for KV. */
export const HEALTH_KV_TIMEOUT_MS = 2_000;

/** The health of one worker: whether its KV handle answers. */
export async function health(
  kv: Deno.Kv,
  worker: string,
  timeoutMs = HEALTH_KV_TIMEOUT_MS,
): Promise<{ ok: boolean; version: string; worker: string; error?: string }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      kv.get(K.epoch()),
      new Promise((
        _,
        reject,
      ) => (timer = setTimeout(() => reject(new Error("timeout")), timeoutMs))),
    ]);
    return { ok: true, version: VERSION, worker };
  } catch (err) {
    return { ok: false, version: VERSION, worker, error: `kv: ${(err as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}

/** The Hono handler. */
export function healthHandler(kv: Deno.Kv, worker: string) {
  return async (c: Context): Promise<Response> => {
    const h = await health(kv, worker);
    c.header("Cache-Control", "no-store");
    return c.json(h, h.ok ? 200 : 503);
  };
}
