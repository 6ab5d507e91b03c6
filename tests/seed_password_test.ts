/**
 * The operator's password (ADMIN_PASSWORD, 600,000 PBKDF2 iterations) is
 * hashed or checked after the server listens, not before: a login that
 * arrives meanwhile waits for it, an unchanged password is not rewritten on
 * a restart, and a changed one still resets the operator's password.
 * Real KV files, real HTTP on loopback.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../lib/config.ts";
import { startServer } from "../lib/server.ts";
import { Store } from "../lib/db/mod.ts";
import { seed } from "../lib/seed.ts";
import { migrate } from "../lib/migrate.ts";
import { verifyPassword } from "../lib/password.ts";
import { createApp } from "../app.ts";
import { Client } from "./support/harness.ts";

function config(kvPath: string, password: string) {
  return loadConfig({
    PORT: "0",
    HOSTNAME_BIND: "127.0.0.1",
    KV_PATH: kvPath,
    ADMIN_PASSWORD: password,
    INVITE_CODE: "SEED-TEST",
    BACKGROUND: "0",
  });
}

Deno.test("first start: an admin login sent the moment the server listens waits for the operator", async () => {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-seed-" });
  try {
    const server = await startServer(config(`${dir}/kv.sqlite`, "first-pass-123"), {
      quiet: true,
      createApp,
    });
    try {
      // Sent before the deferred PBKDF2 work can have finished.
      const client = new Client(server.url);
      const r = await client.post("/api/auth/login", {
        loginId: "admin",
        password: "first-pass-123",
      });
      assert.equal(r.status, 200);
      await server.seeded;
      const op = await server.ctx.store.getUserByLogin("admin");
      assert.equal(op?.role, "operator");
    } finally {
      await server.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("restart: an unchanged ADMIN_PASSWORD is verified, not rewritten; a changed one resets it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-seed-" });
  const kv = await Deno.openKv(`${dir}/kv.sqlite`);
  try {
    const store = new Store(kv, {});
    await store.init();
    const run = async (password: string) => {
      const c = config(`${dir}/kv.sqlite`, password);
      await migrate(store, Date.now(), { adminLogin: c.adminLogin });
      const report = await seed(store, c, { deferPassword: true });
      return report.password;
    };
    const first = await run("pass-one-123");
    assert(first, "a fresh store's operator is created by the deferred work");
    assert.equal(await store.getUserByLogin("admin"), null);
    await first();
    const created = (await store.getUserByLogin("admin"))!;
    assert(await verifyPassword("pass-one-123", created.passwordHash));

    // Same password again: the stored hash (its salt) stays as it was.
    await (await run("pass-one-123"))!();
    assert.equal((await store.getUserByLogin("admin"))!.passwordHash, created.passwordHash);

    // A changed password replaces it; the old one no longer verifies.
    await (await run("pass-two-456"))!();
    const changed = (await store.getUserByLogin("admin"))!;
    assert.notEqual(changed.passwordHash, created.passwordHash);
    assert(await verifyPassword("pass-two-456", changed.passwordHash));
    assert(!(await verifyPassword("pass-one-123", changed.passwordHash)));
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
