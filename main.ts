/**
 * Production entry point: `deno task start` (after `deno task build`), and
 * the entry Deno Deploy runs. Reads the environment (lib/config.ts), seeds an
 * empty store, serves, and registers the cron sweep and the queue listener at
 * top level, as Deno Deploy requires.
 * @module
 */
import { loadConfig } from "./lib/config.ts";
import { startServer } from "./lib/server.ts";
import { wireFeatures } from "./lib/features.ts";

const config = loadConfig();
const server = await startServer(config, { setup: wireFeatures });

// The sweep catches anything a queue message missed, expires holds and
// presence, sends due notices and trims old events (SPEC section 3).
if (config.background) {
  Deno.cron("laundrylive-sweep", "* * * * *", async () => {
    await server.ctx.notifications?.sweep();
  });
}

if (server.seed) {
  const s = server.seed;
  const password = s.adminPassword
    ? `  password: ${s.adminPassword}  (shown once; set ADMIN_PASSWORD to choose)`
    : "  (password from ADMIN_PASSWORD, or the one printed on first start)";
  console.log("");
  console.log("  세탁실 라이브 · LaundryLive");
  console.log(`  Open:         ${server.url}`);
  console.log(`  Admin login:  ${s.adminLogin}${password}`);
  if (s.inviteCode) {
    console.log(`  Invite code:  ${s.inviteCode}  (residents register at ${server.url}/register)`);
  }
  console.log("");
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await server.close();
    Deno.exit(0);
  });
}
