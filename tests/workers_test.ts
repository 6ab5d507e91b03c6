/**
 * `WORKERS=N`: one port served by N workers of one process on one KV file
 * (the real `main.ts`), and the minute sweep that runs once however many
 * workers or instances fire it.
 * @module
 */
import assert from "node:assert/strict";
import {
  Client,
  isEvent,
  openSocket,
  resident,
  runServerProcess,
  serverEnv,
  startTestServer,
  waitFor,
} from "./support/harness.ts";
import { features } from "../app.ts";
import { health } from "../lib/healthz.ts";

/** GET /healthz over a new connection each time (so the kernel picks a worker anew). */
async function healthOnce(url: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const client = Deno.createHttpClient({});
  try {
    const r = await fetch(`${url}/healthz`, { client });
    return { status: r.status, json: await r.json() };
  } finally {
    client.close();
  }
}

Deno.test("WORKERS=2: one port, both workers serve, every socket on either sees every event", async () => {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-workers-" });
  const kvPath = `${dir}/kv.sqlite`;
  const p = await runServerProcess(serverEnv(kvPath, { WORKERS: "2" }), 30_000);
  try {
    // /healthz names the worker that answered; new connections reach both.
    const names = new Set<string>();
    for (let i = 0; i < 60 && names.size < 2; i++) {
      const h = await healthOnce(p.url);
      assert.equal(h.status, 200);
      assert.equal(h.json.ok, true);
      assert.equal(typeof h.json.version, "string");
      names.add(String(h.json.worker));
    }
    assert.deepEqual([...names].sort(), ["w1", "w2"]);
    assert.match(p.output(), /Admin login:\s+admin/, "seeded once, by the main thread");

    // Eight residents' sockets, spread over the workers by the kernel.
    const users: Client[] = [];
    for (let i = 0; i < 8; i++) users.push(await resident(p.url, `res${i}`));
    const sockets = users.map((u) => openSocket(p.url, u.cookie));
    try {
      await Promise.all(sockets.map((s) => s.hello));
      // Which worker holds each socket: the presence rows name their hub.
      const kv = await Deno.openKv(kvPath);
      try {
        await waitFor(
          async () => {
            const hubs = new Set<string>();
            for await (const e of kv.list<{ instance: string }>({ prefix: ["presence"] })) {
              hubs.add(e.value.instance);
            }
            return hubs.size === 2;
          },
          5000,
          "sockets on both workers",
        );
      } finally {
        kv.close();
      }
      // Changes through any worker reach every socket, in order, once.
      const ms = (await users[0].get("/api/machines")).json.machines;
      for (let i = 0; i < 4; i++) {
        const r = await users[i].post(`/api/machines/${ms[i].id}/hold`);
        assert.equal(r.status, 200, JSON.stringify(r.json));
      }
      for (const s of sockets) {
        for (let i = 0; i < 4; i++) await s.next(isEvent("machine.held", ms[i].id), 5000);
        const seqs = s.messages.filter((m) => m.type === "event").map((m) => m.event.seq);
        assert.equal(seqs.length, 4);
        assert.deepEqual(seqs, seqs.map((_, i) => seqs[0] + i));
      }
    } finally {
      await Promise.all(sockets.map((s) => s.close()));
    }
  } finally {
    await p.kill("SIGTERM");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("sweep: once per minute slot however many workers fire it", async () => {
  await using one = await startTestServer({}, { setup: features({ pages: false }) });
  await using two = await startTestServer({ KV_PATH: one.kvPath, SEED: "0" }, {
    setup: features({ pages: false }),
  });
  const slot = Math.floor(Date.now() / 60_000) * 60_000 + 5_000;
  const runs = await Promise.all([
    one.ctx.notifications!.sweep(slot),
    two.ctx.notifications!.sweep(slot),
    one.ctx.notifications!.sweep(slot + 30_000),
    two.ctx.notifications!.sweep(slot + 50_000),
  ]);
  assert.equal(runs.filter(Boolean).length, 1, `one of four ran in one minute: ${runs}`);
  // The next minute: again exactly once.
  const next = await Promise.all([
    two.ctx.notifications!.sweep(slot + 60_000),
    one.ctx.notifications!.sweep(slot + 61_000),
  ]);
  assert.equal(next.filter(Boolean).length, 1);
  const sweeps = await one.ctx.store.kv.get<Deno.KvU64>(["stats", "ops", "sweeps"]);
  assert.equal(sweeps.value?.value, 2n);
});

Deno.test("healthz: 503 when KV does not answer; no session needed", async () => {
  await using srv = await startTestServer();
  const ok = await new Client(srv.url).get("/healthz");
  assert.equal(ok.status, 200);
  assert.deepEqual(Object.keys(ok.json).sort(), ["ok", "version", "worker"]);
  assert.equal(ok.json.worker, "main");
  // A KV handle that no longer answers: the check says so (the route answers 503 then).
  const kv = await Deno.openKv(":memory:");
  kv.close();
  const down = await health(kv, "w9");
  assert.equal(down.ok, false);
  assert.equal(down.worker, "w9");
  assert.match(down.error ?? "", /^kv: /);
  // One that hangs: answered within the timeout.
  const hanging = { get: () => new Promise(() => {}) } as unknown as Deno.Kv;
  const t0 = Date.now();
  assert.equal((await health(hanging, "w1", 100)).ok, false);
  assert.ok(Date.now() - t0 < 1000);
});
