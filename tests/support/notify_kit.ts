/**
 * Helpers shared by the `tests/notify_*_test.ts` suites: a full server with
 * the notification features (due-index worker on), devices registered at the
 * web-push-testing peer, decoded payloads, event-driven waits, and
 * self-made subscription keys so bodies captured by `capture_push.ts` can be
 * decrypted too.
 * @module
 */
import assert from "node:assert/strict";
import { createECDH, randomBytes } from "node:crypto";
import { features } from "../../app.ts";
import type { NotifySetupOptions } from "../../lib/notify/setup.ts";
import { type ApiResponse, Client, startTestServer, type TestServer } from "./harness.ts";
import type { TestSubscription, WebPushTestingService } from "./push_service.ts";
import { parsePushData } from "../../lib/sw_logic.ts";
import { readDeclarative } from "../../lib/push/declarative.ts";

// deno-lint-ignore no-explicit-any
export type Json = any;

/** VAPID subject used by test servers (keeps the "not set" warning out of the logs). */
export const TEST_VAPID_SUBJECT = "mailto:ops@laundrylive.test";

/**
 * A full in-process server (notifications wired, pages off) whose KV queue
 * worker runs. `env` extends/overrides the environment.
 */
export async function startNotifyServer(
  env: Record<string, string> = {},
  notify?: NotifySetupOptions,
): Promise<TestServer> {
  const srv = await startTestServer(
    { VAPID_SUBJECT: TEST_VAPID_SUBJECT, ...env },
    { setup: features({ pages: false, notify }) },
  );
  // `Server.close()` stops the due-index worker, waiting (at most 4 s) for
  // jobs in flight, so a test's end does not cut a delivery in half.
  return srv;
}

/** Assert a 2xx answer and return its JSON. */
export function ok(r: ApiResponse, what = "request"): Json {
  assert.ok(r.status >= 200 && r.status < 300, `${what}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

/** Assert an API error with this status and code (never a 500). */
export function assertApiError(r: ApiResponse, status: number, code?: string): void {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${JSON.stringify(r.json)}`);
  assert.equal(typeof r.json?.error?.code, "string", JSON.stringify(r.json));
  if (code) assert.equal(r.json.error.code, code, JSON.stringify(r.json));
}

/** A fresh, valid device id. */
export function newDeviceId(): string {
  return `dev_${crypto.randomUUID().replaceAll("-", "")}`;
}

/** The server's VAPID public key, from `GET /api/push/config`. */
export async function vapidKey(c: Client): Promise<string> {
  const j = ok(await c.get("/api/push/config"), "push config");
  assert.equal(typeof j.vapidPublicKey, "string");
  return j.vapidPublicKey;
}

/** `PUT /api/push/devices/:id` for a Web Push subscription. */
export function putWebPush(
  c: Client,
  deviceId: string,
  sub: { endpoint: string; keys: { p256dh: string; auth: string } },
  label?: string,
): Promise<ApiResponse> {
  return c.put(`/api/push/devices/${deviceId}`, {
    kind: "webpush",
    subscription: { endpoint: sub.endpoint, keys: sub.keys },
    ...(label ? { label } : {}),
  });
}

/**
 * Subscribe at web-push-testing with the server's VAPID key (as a browser
 * would) and register the subscription as a device of `c`.
 */
export async function addWebPushDevice(
  c: Client,
  push: WebPushTestingService,
  deviceId = newDeviceId(),
): Promise<{ deviceId: string; sub: TestSubscription }> {
  const sub = await push.subscribe(await vapidKey(c));
  const r = await putWebPush(c, deviceId, sub);
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return { deviceId, sub };
}

/**
 * A received push's plaintext as the tests read it: the declarative message
 * (asserted to be one) as the service worker reads it (`parsePushData`:
 * `{id, kind, title, body, tag, url, silent, critical, ts, machineId?, b?,
 * badge?, ch, lang}`), with the message itself under `message`.
 */
export function decodePush(raw: string): Json {
  const message = readDeclarative(raw);
  assert.ok(message, `a declarative Web Push message: ${raw}`);
  const p = parsePushData(message);
  assert.ok(p, `readable: ${raw}`);
  return { ...p, message };
}

/** Decrypted payloads received at web-push-testing for a subscription, decoded. */
export async function payloads(push: WebPushTestingService, clientHash: string): Promise<Json[]> {
  return (await push.notifications(clientHash)).map(decodePush);
}

/**
 * Poll web-push-testing until a payload matching `pred` arrived; returns it
 * with every payload so far. Rejects after `timeoutMs`.
 */
export async function waitForPayload(
  push: WebPushTestingService,
  clientHash: string,
  pred: (p: Json) => boolean,
  timeoutMs = 8000,
): Promise<{ payload: Json; all: Json[]; raw: string }> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const raw = await push.notifications(clientHash);
    const all = raw.map(decodePush);
    const i = all.findIndex(pred);
    if (i >= 0) return { payload: all[i], all, raw: raw[i] };
    if (Date.now() > deadline) {
      throw new Error(
        `no matching push within ${timeoutMs} ms; got ${JSON.stringify(all.map((p) => p.kind))}`,
      );
    }
    await sleep(25);
  }
}

/** Poll until at least `count` payloads arrived for the subscription. */
export async function waitForCount(
  push: WebPushTestingService,
  clientHash: string,
  count: number,
  timeoutMs = 8000,
): Promise<Json[]> {
  return (await push.waitForNotifications(clientHash, count, timeoutMs)).map(decodePush);
}

/**
 * A short "nothing else arrives" window: wait `windowMs` (≤ 1.5 s) and
 * assert the subscription still has exactly `count` payloads.
 */
export async function assertPushCountStays(
  push: WebPushTestingService,
  clientHash: string,
  count: number,
  windowMs = 1200,
): Promise<Json[]> {
  assert.ok(windowMs <= 1500, "keep quiet windows short");
  await sleep(windowMs);
  const all = await payloads(push, clientHash);
  assert.equal(all.length, count, `expected ${count} pushes, got ${JSON.stringify(all)}`);
  return all;
}

/** The machines on the board, in board order. */
export async function machines(c: Client): Promise<Json[]> {
  return ok(await c.get("/api/machines"), "machines").machines;
}

/** The first machine of a kind on the board (by default the first washer). */
export async function machineOf(c: Client, kind: "washer" | "dryer", index = 0): Promise<Json> {
  const m = (await machines(c)).filter((x) => x.kind === kind)[index];
  assert.ok(m, `no ${kind} #${index}`);
  return m;
}

/**
 * A quick non-critical notification for `reporter`: they report machine
 * `machineId`, the admin marks it out of order and repairs it, and the
 * reporter is owed `machine.repaired` (normal urgency, may be held or silenced).
 */
export async function reportAndRepair(
  reporter: Client,
  adminClient: Client,
  machineId: string,
): Promise<void> {
  ok(await reporter.post(`/api/machines/${machineId}/report`, { category: "noise" }), "report");
  ok(
    await adminClient.post(`/api/admin/machines/${machineId}/out_of_order`, { reason: "점검" }),
    "out of order",
  );
  ok(await adminClient.post(`/api/admin/machines/${machineId}/repair`, {}), "repair");
}

/** Run a machine action and return the machine after it (asserts 200). */
export async function act(
  c: Client,
  machineId: string,
  action: string,
  body?: unknown,
): Promise<Json> {
  return ok(await c.post(`/api/machines/${machineId}/${action}`, body), action).machine;
}

/** The caller's devices as `GET /api/push/devices` shows them. */
export async function devices(c: Client): Promise<Json[]> {
  return ok(await c.get("/api/push/devices"), "devices").devices;
}

/** The caller's inbox items (newest first). */
export async function inbox(c: Client): Promise<Json[]> {
  return ok(await c.get("/api/notifications"), "inbox").items;
}

/** Overall delivery statistics (admin client). */
export async function overallStats(adminClient: Client): Promise<Json> {
  return ok(await adminClient.get("/api/admin/stats"), "stats").overall;
}

/** Set (merge) the caller's preferences. */
export async function setPrefs(c: Client, prefs: Json): Promise<Json> {
  return ok(await c.put("/api/preferences", prefs), "preferences").preferences;
}

/** `setTimeout` as a promise. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** "HH:MM" of `now + offsetMinutes` in `timeZone`. */
export function localHHMM(timeZone: string, offsetMinutes: number, now = Date.now()): string {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone,
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(now + offsetMinutes * 60_000));
  const h = parts.find((p) => p.type === "hour")!.value;
  const m = parts.find((p) => p.type === "minute")!.value;
  return `${h}:${m}`;
}

// ───────────────────── self-made subscriptions (capture server) ─────────────────────

function b64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromB64url(s: string): Uint8Array {
  const b64 = s.replaceAll("-", "+").replaceAll("_", "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function hkdf(
  salt: Uint8Array,
  ikm: Uint8Array,
  info: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", ikm as BufferSource, "HKDF", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: salt as BufferSource, info: info as BufferSource },
    key,
    length * 8,
  );
  return new Uint8Array(bits);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A browser-side Web Push key pair made in the test, able to decrypt what it receives. */
export interface TestKeys {
  /** `{p256dh, auth}` for a subscription (base64url). */
  keys: { p256dh: string; auth: string };
  /** Decrypt an RFC 8291 aes128gcm body sent to these keys; returns the plaintext. */
  decrypt(body: Uint8Array): Promise<string>;
}

/** Make subscription keys (P-256 + 16-byte auth secret) like a browser does. */
export function makeSubscriptionKeys(): TestKeys {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  const pub = new Uint8Array(ecdh.getPublicKey());
  const auth = new Uint8Array(randomBytes(16));
  const enc = new TextEncoder();
  return {
    keys: { p256dh: b64url(pub), auth: b64url(auth) },
    async decrypt(body: Uint8Array): Promise<string> {
      // RFC 8188 header: salt(16) | rs(4) | idlen(1) | keyid(idlen = 65: sender's public key)
      const salt = body.slice(0, 16);
      const idlen = body[20];
      const senderPub = body.slice(21, 21 + idlen);
      const ciphertext = body.slice(21 + idlen);
      const shared = new Uint8Array(ecdh.computeSecret(senderPub));
      const keyInfo = concat(enc.encode("WebPush: info\0"), pub, senderPub);
      const ikm = await hkdf(auth, shared, keyInfo, 32);
      const cek = await hkdf(salt, ikm, enc.encode("Content-Encoding: aes128gcm\0"), 16);
      const nonce = await hkdf(salt, ikm, enc.encode("Content-Encoding: nonce\0"), 12);
      const key = await crypto.subtle.importKey("raw", cek as BufferSource, "AES-GCM", false, [
        "decrypt",
      ]);
      const plain = new Uint8Array(
        await crypto.subtle.decrypt(
          { name: "AES-GCM", iv: nonce as BufferSource },
          key,
          ciphertext as BufferSource,
        ),
      );
      // Single record: strip padding back to the delimiter (0x02 = last record).
      let end = plain.length - 1;
      while (end >= 0 && plain[end] === 0) end--;
      assert.equal(plain[end], 2, "aes128gcm: last-record delimiter");
      return new TextDecoder().decode(plain.slice(0, end));
    },
  };
}

/** Parse `Authorization: vapid t=<jwt>, k=<key>` into the JWT claims and key. */
export function parseVapid(header: string | undefined): { claims: Json; k: string; alg: string } {
  assert.ok(header, "Authorization header present");
  const m = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header);
  assert.ok(m, `Authorization is "vapid t=…, k=…": ${header}`);
  const [h, p] = m[1].split(".");
  const dec = (s: string) => JSON.parse(new TextDecoder().decode(fromB64url(s)));
  return { claims: dec(p), k: m[2], alg: dec(h).alg };
}

/**
 * Nudge the owner of `machineId` as soon as the grace period allows: repeats
 * the request while it is refused with `too_early` (polling, every 25 ms)
 * and returns the first other answer. Rejects after `timeoutMs`.
 */
export async function nudgeWhenAllowed(
  c: Client,
  machineId: string,
  timeoutMs = 5000,
): Promise<{ res: ApiResponse; tooEarly: number }> {
  const deadline = Date.now() + timeoutMs;
  let tooEarly = 0;
  while (true) {
    const res = await c.post(`/api/machines/${machineId}/nudge`, {});
    if (res.json?.error?.code !== "too_early") return { res, tooEarly };
    tooEarly++;
    if (Date.now() > deadline) throw new Error(`nudge still too_early after ${timeoutMs} ms`);
    await sleep(25);
  }
}

/**
 * Wait until the server's overall delivery counter `field` reaches `n` (read
 * straight from the store): the last step of recording a push outcome, so a
 * test that ends after this does not close the server mid-delivery.
 */
export async function waitForStat(
  srv: TestServer,
  field: "recipients" | "inApp" | "pushed" | "failed" | "pruned" | "held",
  n: number,
  timeoutMs = 3000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const v = (await srv.ctx.store.getStats("all"))[field];
    if (v >= n) return;
    if (Date.now() > deadline) throw new Error(`stats.${field} = ${v}, wanted ${n}`);
    await sleep(15);
  }
}
