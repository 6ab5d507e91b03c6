/**
 * Baseline for reminder precision: the floor the app's reminders stand on.
 * A bare Deno KV queue on a fresh local (SQLite) store: `count` messages
 * enqueued with `delay` so that they fall due at the same times as the app's
 * cycle ends (the first `leadMs` from now, then one every `windowMs/count`),
 * and a `listenQueue` handler that notes how late each one arrived. Nothing
 * else runs in the process.
 *
 * Usage: deno run -A --unstable-kv bench/baseline_kv_queue.ts <count> <windowMs> <leadMs>
 * Prints `RESULT {"lateness":[ms…], …}`.
 * @module
 */
const [count, windowMs, leadMs] = Deno.args.map(Number);
const dir = await Deno.makeTempDir({ prefix: "laundrylive-kvq-" });
const kv = await Deno.openKv(`${dir}/kv.sqlite`);
const lateness: number[] = [];
let done!: () => void;
const all = new Promise<void>((r) => (done = r));
kv.listenQueue((msg: { due: number }) => {
  lateness.push(Date.now() - msg.due);
  if (lateness.length === count) done();
});
const t0 = Date.now() + leadMs;
// Enqueued in atomic batches, so that on a busy machine the enqueueing itself
// does not run past the first due times (the app schedules each tick in the
// commit of its start, long before it is due).
for (let i = 0; i < count; i += 100) {
  const op = kv.atomic();
  for (let k = i; k < Math.min(count, i + 100); k++) {
    const due = t0 + Math.round((k * windowMs) / count);
    op.enqueue({ due }, { delay: Math.max(0, due - Date.now()) });
  }
  await op.commit();
}
const timeout = setTimeout(() => done(), leadMs + windowMs + 15_000);
await all;
clearTimeout(timeout);
console.log("RESULT " + JSON.stringify({ count, received: lateness.length, lateness }));
kv.close();
await Deno.remove(dir, { recursive: true }).catch(() => {});
Deno.exit(0);
