/**
 * What the minute's `Deno.cron` does on one worker or instance: wake the
 * due-index worker (this is what processes what came due while a Deno
 * Deploy app was stopped) and run the sweep (once per minute however many
 * run it: a KV lease).
 * @module
 */
import type { AppContext } from "./context.ts";

/** Run the minute's cron work on this instance. */
export async function runCron(ctx: AppContext): Promise<void> {
  ctx.worker?.poke();
  await ctx.notifications?.sweep();
}
