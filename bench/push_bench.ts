/**
 * Push throughput worker: sends Web Push messages (aes128gcm + VAPID) to the
 * local sink (bench/push_sink.mjs, another process) in ONE mode, and prints
 * one JSON line with messages per CPU-second of THIS process (all threads:
 * `Deno.cpuUsage()`, so fetch's I/O threads count too). The runner starts a
 * fresh process per mode, so JIT and heap state never leak between modes.
 *
 * Modes:
 * - `app-sender`       lib/push/webpush_sender.ts WebPushSender.send (VAPID JWT
 *                      cached per origin, fetch), `--concurrency` in flight;
 * - `app-notifier`     Notifier.pushToDevices: the app's device fan-out with its
 *                      KV ledger (claim, finish, device result, counters) on a
 *                      temp KV; 20 devices per notification;
 * - `plain-fetch`      web-push `generateRequestDetails` WITH vapidDetails (a
 *                      fresh JWT per message) + fetch, a sequential loop;
 * - `plain-fetch-conc` the same with `--concurrency` in flight;
 * - `plain-sendnotification` web-push `sendNotification` (node:https, new JWT
 *                      per message), sequential, to the HTTPS sink (self-signed;
 *                      keep-alive agent with rejectUnauthorized:false);
 * - `app-sender-https` WebPushSender over HTTPS to the same sink (fetch with the
 *                      sink's CA), for the like-for-like comparison with the above;
 * - `probe-sendnotification-http` one sendNotification to the plain-HTTP sink
 *                      (records whether it works).
 *
 * Usage: deno run -A bench/push_bench.ts <mode> --sink=<http url>
 *   [--sink-https=<url> --ca=<pem file>] [--count=2000] [--warmup=100] [--concurrency=16]
 * @module
 */
import webpush from "web-push";
import https from "node:https";
import { WebPushSender } from "../lib/push/webpush_sender.ts";
import { declarativeMessage } from "../lib/push/declarative.ts";
import type { PushOptions } from "../lib/types.ts";

// deno-lint-ignore no-explicit-any
const wp = webpush as any;

function arg(name: string, def?: string): string | undefined {
  const a = Deno.args.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : def;
}

const mode = Deno.args[0];
const sink = arg("sink")!;
const sinkHttps = arg("sink-https");
const caFile = arg("ca");
const count = Number(arg("count", "2000"));
const warmup = Number(arg("warmup", "100"));
const concurrency = Number(arg("concurrency", "16"));

const b64u = (b: Uint8Array) =>
  btoa(String.fromCharCode(...b)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

/** `n` browser-like subscriptions (real P-256 keys) on the sink. */
async function subscriptions(n: number, origin: string) {
  return await Promise.all(Array.from({ length: n }, async (_, i) => {
    const kp = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
      "deriveBits",
    ]);
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", kp.publicKey));
    return {
      endpoint: `${origin}/push/${i}`,
      keys: { p256dh: b64u(raw), auth: b64u(crypto.getRandomValues(new Uint8Array(16))) },
    };
  }));
}

/**
 * A real `use.done` push (~450 B): the declarative Web Push message the
 * notifier sends (lib/push/declarative.ts), for a machine's cycle end.
 */
function payload(i: number): string {
  return JSON.stringify(declarativeMessage({
    id: `use.done:bench${i.toString(36).padStart(8, "0")}`,
    kind: "use.done",
    title: "세탁기 3 세탁이 끝났어요",
    body: "세탁물을 가져가 주세요. 다음 이웃이 기다리고 있어요.",
    tag: "m-k3j9x2b7q1",
    url: "/?m=k3j9x2b7q1",
    machineId: "k3j9x2b7q1",
    createdAt: Date.now(),
  }, { silent: false, lang: "ko", unread: 1, b: "b0bench01", channel: "webpush" }));
}
const OPTS: PushOptions = { ttlSeconds: 3600, urgency: "high", topic: "m-k3j9x2b7q1" };

const vapid = wp.generateVAPIDKeys() as { publicKey: string; privateKey: string };
const SUBJECT = "mailto:bench@example.org";

/** Run `total` sends with at most `conc` in flight; counts failures. */
async function pool(total: number, conc: number, one: (i: number) => Promise<boolean>) {
  let next = 0;
  let failed = 0;
  let firstError = "";
  const worker = async () => {
    while (next < total) {
      const i = next++;
      try {
        if (!(await one(i))) failed++;
      } catch (err) {
        failed++;
        firstError ||= String(err).slice(0, 200);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(conc, total) }, worker));
  return { failed, firstError };
}

/** CPU of this process (all threads), ms: Deno.cpuUsage() where present, else /proc. */
function cpuMs(): number {
  const cpuUsage = (Deno as unknown as { cpuUsage?: () => { user: number; system: number } })
    .cpuUsage;
  if (cpuUsage) {
    const u = cpuUsage();
    return (u.user + u.system) / 1000;
  }
  const st = Deno.readTextFileSync("/proc/self/stat");
  const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** Warm up, then measure `count` sends. */
async function measure(conc: number, one: (i: number) => Promise<boolean>) {
  const w = await pool(warmup, conc, one);
  const c0 = cpuMs();
  const t0 = performance.now();
  const r = await pool(count, conc, (i) => one(i + warmup));
  const cpu = cpuMs() - c0;
  const wall = performance.now() - t0;
  return {
    mode,
    count,
    concurrency: conc,
    cpuMs: cpu,
    wallMs: wall,
    perCpuSecond: (count / cpu) * 1000,
    perWallSecond: (count / wall) * 1000,
    cpuUsPerMessage: (cpu * 1000) / count,
    failed: r.failed + w.failed,
    firstError: r.firstError || w.firstError,
  };
}

async function plainRequest(
  sub: { endpoint: string; keys: { p256dh: string; auth: string } },
  i: number,
) {
  const d = wp.generateRequestDetails(sub, payload(i), {
    TTL: OPTS.ttlSeconds,
    urgency: OPTS.urgency,
    topic: OPTS.topic,
    contentEncoding: "aes128gcm",
    vapidDetails: { subject: SUBJECT, publicKey: vapid.publicKey, privateKey: vapid.privateKey },
  });
  const headers = new Headers();
  for (const [k, v] of Object.entries(d.headers)) {
    if (k.toLowerCase() !== "content-length") headers.set(k, String(v));
  }
  const res = await fetch(d.endpoint, { method: d.method, headers, body: d.body });
  await res.body?.cancel();
  return res.status === 201;
}

let result: Record<string, unknown>;
switch (mode) {
  case "app-sender":
  case "app-sender-https": {
    const secure = mode === "app-sender-https";
    const subs = await subscriptions(64, secure ? sinkHttps! : sink);
    const client = secure
      ? Deno.createHttpClient({ caCerts: [await Deno.readTextFile(caFile!)] })
      : undefined;
    const sender = new WebPushSender({
      ...vapid,
      subject: SUBJECT,
      ...(client ? { fetch: (input, init) => fetch(input, { ...init, client }) } : {}),
    });
    result = await measure(concurrency, async (i) => {
      const r = await sender.send(subs[i % subs.length], payload(i), OPTS);
      if (r.status !== "ok") throw new Error(JSON.stringify(r));
      return true;
    });
    break;
  }
  case "plain-fetch":
  case "plain-fetch-conc": {
    const subs = await subscriptions(64, sink);
    result = await measure(
      mode === "plain-fetch" ? 1 : concurrency,
      (i) => plainRequest(subs[i % subs.length], i),
    );
    break;
  }
  case "plain-sendnotification": {
    const subs = await subscriptions(64, sinkHttps!);
    const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
    result = await measure(1, async (i) => {
      const r = await wp.sendNotification(subs[i % subs.length], payload(i), {
        TTL: OPTS.ttlSeconds,
        urgency: OPTS.urgency,
        topic: OPTS.topic,
        vapidDetails: {
          subject: SUBJECT,
          publicKey: vapid.publicKey,
          privateKey: vapid.privateKey,
        },
        agent,
      });
      return r.statusCode === 201;
    });
    agent.destroy();
    break;
  }
  case "probe-sendnotification-http": {
    const [sub] = await subscriptions(1, sink);
    try {
      const r = await wp.sendNotification(sub, payload(0), {
        TTL: 60,
        vapidDetails: {
          subject: SUBJECT,
          publicKey: vapid.publicKey,
          privateKey: vapid.privateKey,
        },
      });
      result = { mode, works: true, status: r.statusCode };
    } catch (err) {
      result = { mode, works: false, error: String(err).slice(0, 200) };
    }
    break;
  }
  case "app-notifier": {
    // The app's whole delivery path per notification: the `notify` record's
    // commit (inbox, event, counters, a push record per device), then per
    // device the leased `push` record: claim, ledger read, send, outcome
    // commit. Driven by the real due-index worker.
    const { Store } = await import("../lib/db/mod.ts");
    const { Hub } = await import("../lib/realtime.ts");
    const { Notifier } = await import("../lib/notify/notifier.ts");
    const { NotificationService } = await import("../lib/notify/service.ts");
    const { DueWorker } = await import("../lib/outbox.ts");
    const { due } = await import("../lib/notify/plan.ts");
    const { loadConfig } = await import("../lib/config.ts");
    const dir = await Deno.makeTempDir({ prefix: "laundrylive-push-" });
    const kv = await Deno.openKv(`${dir}/kv.sqlite`);
    try {
      const store = new Store(kv);
      await store.init();
      const hub = new Hub(store, { pingMs: 3_600_000, timeoutMs: 7_200_000 });
      const config = loadConfig({ PUSH_ENDPOINT_ALLOW: sink, BACKGROUND: "0" });
      const sender = new WebPushSender({ ...vapid, subject: SUBJECT });
      const notifier = new Notifier(store, hub, config, sender, null);
      const service = new NotificationService(store, notifier, config);
      const DEVICES = 20;
      const worker = new DueWorker(kv, {
        instance: "bench",
        handle: (e, w) => service.handle(e, w),
        concurrency: DEVICES,
      });
      const building = await store.createBuilding({ name: "Push bench" });
      const user = await store.createUser({
        buildingId: building.id,
        loginId: "pushbench",
        passwordHash: "x",
        name: "Bench",
        room: "101",
        role: "resident",
      });
      const subs = await subscriptions(DEVICES, sink);
      for (let d = 0; d < DEVICES; d++) {
        await store.upsertDevice(user.id, `bench-device-${d}`, {
          kind: "webpush",
          ...subs[d],
          label: "bench",
        });
      }
      // One "message" = one device push; a notification fans out to all 20.
      const notify = async (n: number) => {
        const op = kv.atomic();
        store.addDue(op, [
          due({
            t: "notify",
            userId: user.id,
            b: building.id,
            n: {
              id: `use.done:bench${n}`,
              kind: "use.done",
              url: "/?m=k3j9x2b7q1",
              machineId: "k3j9x2b7q1",
              text: {
                literal: {
                  title: "세탁기 3 세탁이 끝났어요",
                  body: "세탁물을 가져가 주세요. 다음 이웃이 기다리고 있어요.",
                },
              },
            },
          }, Date.now()),
        ]);
        await op.commit();
        await worker.runDue();
      };
      const notifications = Math.ceil(count / DEVICES);
      const warm = Math.ceil(warmup / DEVICES);
      for (let n = 0; n < warm; n++) await notify(n);
      const c0 = cpuMs();
      const t0 = performance.now();
      for (let n = warm; n < warm + notifications; n++) await notify(n);
      const cpu = cpuMs() - c0;
      const wall = performance.now() - t0;
      const stats = await store.getStats("all");
      const sent = notifications * DEVICES;
      result = {
        mode,
        count: sent,
        concurrency: DEVICES,
        cpuMs: cpu,
        wallMs: wall,
        perCpuSecond: (sent / cpu) * 1000,
        perWallSecond: (sent / wall) * 1000,
        cpuUsPerMessage: (cpu * 1000) / sent,
        failed: (warm + notifications) * DEVICES - stats.pushed,
      };
      await worker.stop();
      await hub.close();
    } finally {
      kv.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
    break;
  }
  default:
    throw new Error(`unknown mode ${mode}`);
}
console.log("RESULT " + JSON.stringify(result));
