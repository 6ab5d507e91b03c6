/**
 * Production entry point: `deno task start` (after `deno task build`), and
 * the entry Deno Deploy runs. Registers the minute cron at top level before
 * serving (Deno Deploy requires it), reads the environment
 * (lib/config.ts), seeds an empty store and serves: one server, or with
 * `WORKERS=N` a pool of N workers on one port (lib/pool.ts).
 * @module
 */
import { loadConfig } from "./lib/config.ts";
import { startServer } from "./lib/server.ts";
import { composed } from "./app.ts";
import { startPool } from "./lib/pool.ts";
import { runCron } from "./lib/cron.ts";
import { prepareStore } from "./lib/server.ts";
import type { SeedReport } from "./lib/seed.ts";

const config = loadConfig();

// The cron wakes the due-index worker (a stopped Deploy app is started by
// it) and runs the sweep; registered before anything is served.
let onCron: () => Promise<void> = async () => {};
if (config.background) {
  Deno.cron("laundrylive-sweep", "* * * * *", () => onCron());
}

let url: string;
let seed: SeedReport | null;
let close: () => Promise<void>;
if (config.workers > 1) {
  seed = await prepareStore(config);
  const pool = await startPool(
    config,
    Deno.env.toObject(),
    new URL("./pool_worker.ts", import.meta.url),
  );
  onCron = () => Promise.resolve(pool.cron());
  url = pool.url;
  close = () => pool.close();
  console.log(`LaundryLive listening on ${url} (${config.workers} workers)`);
} else {
  const server = await startServer(config, composed());
  onCron = () => runCron(server.ctx);
  url = server.url;
  seed = server.seed;
  close = () => server.close();
}

if (seed) {
  const s = seed;
  const password = s.adminPassword
    ? `  password: ${s.adminPassword}  (shown once; set ADMIN_PASSWORD to choose)`
    : "  (password from ADMIN_PASSWORD, or the one printed on first start)";
  console.log("");
  console.log("  세탁실 라이브 · LaundryLive");
  console.log(`  Open:         ${url}`);
  console.log(`  Admin login:  ${s.adminLogin}${password}`);
  if (s.inviteCode) {
    console.log(`  Invite code:  ${s.inviteCode}  (residents register at ${url}/register)`);
  }
  console.log("");
}

// Deno Deploy stops an idle app with SIGINT (and kills it 5 s later): close
// gracefully, letting pushes in flight finish; what is left stays owed in KV.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await close();
    Deno.exit(0);
  });
}
