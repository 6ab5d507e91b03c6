/**
 * Production entry point: `deno task start` (after `deno task build`), and
 * the entry Deno Deploy runs. Reads the environment (lib/config.ts), seeds an
 * empty store, serves, and registers the cron sweep and the queue listener at
 * top level as Deno Deploy requires.
 * @module
 */
import { loadConfig } from "./lib/config.ts";
import { startServer } from "./lib/server.ts";
import { wireFeatures } from "./lib/features.ts";

const config = loadConfig();
const server = await startServer(config, { setup: wireFeatures });

if (server.seed) {
  const s = server.seed;
  console.log("");
  console.log("  세탁실 라이브 · LaundryLive");
  console.log(`  Open:         ${server.url}`);
  console.log(
    `  Admin login:  ${s.adminLogin}` +
      (s.adminPassword
        ? `  password: ${s.adminPassword}`
        : "  (password from ADMIN_PASSWORD or set earlier)"),
  );
  if (s.inviteCode) console.log(`  Invite code:  ${s.inviteCode}`);
  console.log("");
}

Deno.addSignalListener("SIGINT", async () => {
  await server.close();
  Deno.exit(0);
});
