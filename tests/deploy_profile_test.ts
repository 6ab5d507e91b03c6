/**
 * The deploy profile (issue: "a transactional delivery core that runs on
 * today's Deno Deploy"): 3 instances (Workers in this process, each its own
 * port and its own KV handle on one file), KV queues off, no
 * BroadcastChannel. Residents' sockets are spread over the instances; 100
 * cycles end within 60 s while instances are stopped and restarted at random
 * (a graceful close like Deploy's SIGINT, and a hard kill), never all at once.
 *
 * Shows: every ending-soon/done/overdue notification lands exactly once in
 * the inbox and at least once at the push peer (a push in flight at a hard
 * kill may be sent again: counted), every socket sees every board event in
 * order, and a client of a stopped instance resumes on another with
 * `recovered: true`.
 * @module
 */
import assert from "node:assert/strict";
import { advanceCursor, WS_PROTOCOL } from "../lib/cursor.ts";
import { admin, Client, resident, TEST_ADMIN_PASSWORD, TEST_INVITE } from "./support/harness.ts";
import type { ToWorker } from "./support/instance_worker.ts";
import { CLOSE_TIMEOUT_MS, reply, spawnInstance } from "./support/instance_client.ts";
import { startWebPushTesting, type TestSubscription } from "./support/push_service.ts";
import {
  addWebPushDevice,
  decodePush,
  type Json,
  ok,
  setPrefs,
  sleep,
  TEST_VAPID_SUBJECT,
} from "./support/notify_kit.ts";

const MINUTE_MS = 500;
const RESIDENTS = 20;
const CYCLES_EACH = 5;

/** A small seeded random generator (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One instance: a Worker running a full server. */
interface Instance {
  name: string;
  url: string;
  alive: boolean;
  worker: Worker;
}

async function startInstance(name: string, env: Record<string, string>): Promise<Instance> {
  const { url, worker } = await spawnInstance(env, { full: true, name });
  return { name, url, alive: true, worker };
}

/** Stop gracefully (Deploy's SIGINT: sockets closed, jobs in flight finish) or kill. */
async function stopInstance(i: Instance, hard: boolean): Promise<void> {
  i.alive = false;
  if (!hard) {
    const answer = reply(i.worker, CLOSE_TIMEOUT_MS).catch(() => null);
    i.worker.postMessage({ type: "close" } satisfies ToWorker);
    await answer;
  }
  i.worker.terminate();
}

/**
 * A resident's socket that follows a live instance: on close it reconnects
 * to another with its cursor, and records what each hello said and every
 * board event in the order received. With `protocol` 2 (the browser's) its
 * events carry no cursor and it keeps its own with `advanceCursor`.
 */
class FollowingSocket {
  boardSeqs: number[] = [];
  hellos: { recovered: boolean; resumed: boolean }[] = [];
  cursor: string | undefined;
  #ws: WebSocket | null = null;
  #stopped = false;

  constructor(
    readonly cookie: string,
    readonly live: () => Instance[],
    readonly pick: () => number,
    readonly protocol: 1 | 2 = WS_PROTOCOL,
  ) {}

  connect(): void {
    if (this.#stopped) return;
    const targets = this.live();
    if (!targets.length) {
      setTimeout(() => this.connect(), 100);
      return;
    }
    const target = targets[Math.floor(this.pick() * targets.length)];
    const url = new URL("/ws", target.url);
    url.protocol = "ws:";
    if (this.cursor) url.searchParams.set("since", this.cursor);
    if (this.protocol === WS_PROTOCOL) url.searchParams.set("v", String(WS_PROTOCOL));
    const DenoWebSocket = WebSocket as unknown as new (
      url: string,
      opts: { headers: HeadersInit },
    ) => WebSocket;
    const ws = new DenoWebSocket(url.href, {
      headers: { origin: new URL(target.url).origin, cookie: this.cookie },
    });
    this.#ws = ws;
    const resumed = !!this.cursor;
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type === "hello") {
        this.hellos.push({ recovered: msg.recovered, resumed });
        for (const e of msg.events) if (e.scope === "board") this.boardSeqs.push(e.seq);
        this.cursor = msg.cursor;
        // A hidden page: notifications are pushed too (in-app and push).
        ws.send(JSON.stringify({ type: "visibility", visible: false }));
      } else if (msg.type === "event") {
        if (msg.event.scope === "board") this.boardSeqs.push(msg.event.seq);
        if (this.protocol === WS_PROTOCOL) {
          assert.equal(msg.cursor, undefined, "protocol 2: no cursor in events");
          this.cursor = advanceCursor(this.cursor!, msg.event);
        } else this.cursor = msg.cursor;
      } else if (msg.type === "ping") ws.send(JSON.stringify({ type: "pong", t: msg.t }));
    };
    ws.onerror = () => {};
    ws.onclose = () => {
      if (this.#ws === ws) this.#ws = null;
      if (!this.#stopped) setTimeout(() => this.connect(), 100 + this.pick() * 200);
    };
  }

  close(): void {
    this.#stopped = true;
    try {
      this.#ws?.close();
    } catch { /* closing */ }
  }
}

Deno.test("deploy profile: 3 instances, no queues, random stops: exactly once, in order, resumed", async () => {
  const random = rng(20261202);
  await using push = await startWebPushTesting();
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-deploy-" });
  const env = (seed: boolean): Record<string, string> => ({
    PORT: "0",
    HOSTNAME_BIND: "127.0.0.1",
    KV_PATH: `${dir}/kv.sqlite`,
    ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
    INVITE_CODE: TEST_INVITE,
    MINUTE_MS: String(MINUTE_MS),
    KV_QUEUES: "off",
    PUSH_ENDPOINT_ALLOW: push.origin,
    VAPID_SUBJECT: TEST_VAPID_SUBJECT,
    PUSH_TIMEOUT_MS: "700",
    PUSH_LEASE_MS: "1500",
    BACKGROUND: "0",
    SEED: seed ? "1" : "0",
  });
  const instances: Instance[] = [];
  const sockets: FollowingSocket[] = [];
  let hardKills = 0;
  let gracefulStops = 0;
  try {
    instances.push(await startInstance("i1", env(true)));
    instances.push(await startInstance("i2", env(false)));
    instances.push(await startInstance("i3", env(false)));
    const live = () => instances.filter((i) => i.alive);
    const on = (url: string, c: Client) => {
      const x = new Client(url);
      for (const [k, v] of c.cookies) x.cookies.set(k, v);
      return x;
    };

    // Residents, spread over the instances, each with a device and a socket.
    const adm = await admin(instances[0].url);
    const residents: { c: Client; sub: TestSubscription }[] = [];
    for (let r = 0; r < RESIDENTS; r++) {
      const c = await resident(instances[r % 3].url, `res${r}`, String(200 + r));
      const { sub } = await addWebPushDevice(c, push);
      await setPrefs(c, { endingSoonMinutes: 2 });
      residents.push({ c, sub });
      // Half speak protocol 1 (a cursor in every event), half the browser's protocol 2.
      const s = new FollowingSocket(c.cookie, live, random, r % 2 ? 1 : WS_PROTOCOL);
      sockets.push(s);
      s.connect();
    }
    // 100 machines: the 6 seeded and 94 more.
    for (let m = 0; m < RESIDENTS * CYCLES_EACH - 6; m++) {
      ok(
        await adm.post("/api/admin/machines", { name: `M${m}`, kind: "washer", room: "B1" }),
        "add machine",
      );
    }
    const machines = ok(await adm.get("/api/machines")).machines as Json[];
    assert.equal(machines.length, RESIDENTS * CYCLES_EACH);
    await sleep(300);

    // 100 cycles, ending between 3 s and 50 s from now.
    const cycles: { r: number; useId: string; gen: number; endsAt: number }[] = [];
    for (let k = 0; k < machines.length; k++) {
      const r = k % RESIDENTS;
      const minutes = 6 + Math.floor(random() * 94);
      const via = on(live()[k % live().length].url, residents[r].c);
      const m = ok(await via.post(`/api/machines/${machines[k].id}/start`, { minutes }), "start")
        .machine;
      cycles.push({ r, useId: m.useId, gen: m.gen, endsAt: m.endsAt });
    }
    const lastEnd = Math.max(...cycles.map((c) => c.endsAt));
    // The last overdue reminder (+30 minutes) and a margin.
    const until = lastEnd + 30 * MINUTE_MS + 3000;

    // Chaos: every 1.5–4 s one instance stops (graceful or hard) and a new one
    // starts 0.5–1.5 s later; at least one is always alive. It goes on while
    // cycles end, and into the overdue reminders until at least 10 stops
    // (how many fit before the last end depends on how fast the machine
    // starts instances), leaving the last instance 4 s before the checks.
    let n = 4;
    while (
      Date.now() < until - 4000 &&
      (Date.now() < lastEnd + 2000 || gracefulStops + hardKills < 10)
    ) {
      await sleep(1500 + random() * 2500);
      const victims = live();
      if (victims.length < 2) continue;
      const v = victims[Math.floor(random() * victims.length)];
      const hard = random() < 0.5;
      if (hard) hardKills++;
      else gracefulStops++;
      await stopInstance(v, hard);
      await sleep(500 + random() * 1000);
      instances.push(await startInstance(`i${n++}`, env(false)));
    }
    await sleep(Math.max(0, until - Date.now()));

    // Inbox: exactly once each; at the push peer: at least once each.
    const through = live()[0].url;
    let resent = 0;
    let endingSoon = 0;
    for (let r = 0; r < RESIDENTS; r++) {
      const mine = cycles.filter((c) => c.r === r);
      const expected = (ids: string[]) => {
        for (const c of mine) {
          const done = `use.done:${c.useId}`;
          assert.equal(ids.filter((id) => id.startsWith(done)).length, 1, `${done} in ${ids}`);
          // "Ending soon" is dropped by design when its tick runs after the end (an instance
          // killed just before it, on a loaded machine): never twice, and counted below.
          const soon = ids.filter((id) => id.startsWith(`use.ending_soon:${c.useId}:`)).length;
          assert.ok(soon <= 1, `use.ending_soon:${c.useId} twice in ${ids}`);
          endingSoon += soon;
          assert.equal(
            ids.filter((id) => id.startsWith(`use.overdue:${c.useId}:`)).length,
            2,
            `overdue +10 and +30 for ${c.useId}`,
          );
        }
      };
      const items = ok(await on(through, residents[r].c).get("/api/notifications?limit=200")).items;
      const inboxIds = items.map((i: Json) => i.id);
      assert.equal(new Set(inboxIds).size, inboxIds.length, "no duplicate in the inbox");
      expected(inboxIds);
      const pushed = (await push.notifications(residents[r].sub.clientHash)).map((p) =>
        decodePush(p).id as string
      );
      const unique = [...new Set(pushed)];
      expected(unique);
      resent += pushed.length - unique.length;
    }

    // Counted in the inbox and at the push peer: most cycles got their "ending soon".
    assert.ok(
      endingSoon >= cycles.length,
      `ending soon reached ${endingSoon / 2} of ${cycles.length} cycles`,
    );

    // Sockets: every board event, in order, across reconnects.
    await sleep(500);
    const head = Number(ok(await on(live()[0].url, adm).get("/api/machines")).cursor.split(":")[2]);
    let resumes = 0;
    const resumesBy = { 1: 0, 2: 0 };
    for (const s of sockets) {
      const seqs = s.boardSeqs;
      assert.ok(seqs.length > 0);
      assert.deepEqual(seqs, seqs.map((_, i) => seqs[0] + i), "consecutive, no gap, no repeat");
      assert.equal(seqs[seqs.length - 1], head, "caught up to the head");
      for (const h of s.hellos.filter((h) => h.resumed)) {
        assert.equal(h.recovered, true, "a resumed client recovered its missed events");
        resumes++;
        resumesBy[s.protocol]++;
      }
    }
    console.log(
      `  ${cycles.length} cycles, ${gracefulStops} graceful stops, ${hardKills} hard kills, ` +
        `${resumes} resumes on another instance, pushes sent again after a kill: ${resent}`,
    );
    assert.ok(gracefulStops + hardKills >= 8, "instances were stopped");
    assert.ok(resumes > 0, "clients of stopped instances resumed elsewhere");
    assert.ok(
      resumesBy[1] > 0 && resumesBy[2] > 0,
      `both protocols resumed: ${JSON.stringify(resumesBy)}`,
    );
    assert.ok(resent <= hardKills * 16, "re-sends only for pushes in flight at a hard kill");
  } finally {
    for (const s of sockets) s.close();
    for (const i of instances.filter((x) => x.alive)) await stopInstance(i, false);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
