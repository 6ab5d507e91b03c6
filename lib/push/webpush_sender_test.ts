import assert from "node:assert/strict";
import {
  generateVapidKeys,
  MAX_ENCRYPTED_BODY_BYTES,
  parseRetryAfter,
  sanitizeTopic,
  validateSubject,
  WebPushSender,
} from "./webpush_sender.ts";
import type { PushOptions, PushPayload, SendResult } from "../types.ts";
import { startWebPushTesting } from "../../tests/support/push_service.ts";
import { startCapturePush } from "../../tests/support/capture_push.ts";

const SUBJECT = "mailto:ops@laundrylive.example";
const OPTS: PushOptions = { ttlSeconds: 60, urgency: "high", topic: "machine-w1" };

function b64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function unb64url(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text.replaceAll("-", "+").replaceAll("_", "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** Browser-like subscription keys (P-256 public key + 16-byte auth secret). */
async function subscriptionKeys(): Promise<{ p256dh: string; auth: string }> {
  const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
    "deriveBits",
  ]);
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { p256dh: b64url(raw), auth: b64url(crypto.getRandomValues(new Uint8Array(16))) };
}

function payload(overrides: Partial<PushPayload> = {}): PushPayload {
  return {
    id: "n-1",
    kind: "use.done",
    title: "세탁 완료",
    body: "Washer 1 is done",
    tag: "machine-w1",
    url: "/machines/w1",
    silent: false,
    ts: 1_700_000_000_000,
    ...overrides,
  };
}

/** Splits `vapid t=<jwt>, k=<key>` and decodes the JWT. */
function parseVapid(header: string | undefined) {
  assert.ok(header, "Authorization header missing");
  const m = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+), k=([\w-]+)$/.exec(header);
  assert.ok(m, `unexpected Authorization: ${header}`);
  const [h, p, s] = m[1].split(".");
  const decode = (part: string) => JSON.parse(new TextDecoder().decode(unb64url(part)));
  return {
    jwt: m[1],
    key: m[2],
    header: decode(h),
    claims: decode(p) as { aud: string; exp: number; sub: string },
    signingInput: `${h}.${p}`,
    signature: unb64url(s),
  };
}

Deno.test("web-push-testing decrypts what WebPushSender sends, then expiry gives gone", async () => {
  await using service = await startWebPushTesting();
  const keys = await generateVapidKeys();
  const sender = new WebPushSender({ ...keys, subject: SUBJECT });
  const sub = await service.subscribe(keys.publicKey);
  assert.ok(sub.endpoint.startsWith(service.origin + "/notify/"));

  const body = JSON.stringify(payload());
  const result = await sender.send(sub, body, OPTS);
  assert.deepEqual(result, { status: "ok", httpStatus: 201 });
  const messages = await service.waitForNotifications(sub.clientHash, 1);
  assert.deepEqual(messages.map((m) => JSON.parse(m)), [payload()]);

  // A second message on the same subscription (cached VAPID JWT) also decrypts.
  const second = JSON.stringify(payload({ id: "n-2", kind: "use.overdue" }));
  assert.equal((await sender.send(sub, second, OPTS)).status, "ok");
  assert.equal((await service.waitForNotifications(sub.clientHash, 2))[1], second);

  await service.expire(sub.clientHash);
  const gone = await sender.send(sub, body, OPTS);
  assert.equal(gone.status, "gone");
  assert.equal(gone.httpStatus, 410);
  assert.match((gone as { detail: string }).detail, /unsubscribed or expired/);
});

Deno.test("web-push-testing refuses a push signed with another VAPID key", async () => {
  await using service = await startWebPushTesting();
  const sub = await service.subscribe((await generateVapidKeys()).publicKey);
  const sender = new WebPushSender({ ...(await generateVapidKeys()), subject: SUBJECT });
  const result = await sender.send(sub, "hi", OPTS);
  // Real services answer 401/403 (alarm); web-push-testing answers 400.
  assert.deepEqual([result.status, result.httpStatus], ["rejected", 400]);
  assert.match((result as { detail: string }).detail, /Invalid Crypto-Key header/);
  assert.deepEqual(await service.notifications(sub.clientHash), []);
});

Deno.test("WebPushSender sets TTL, Urgency, Topic, aes128gcm and a valid VAPID header", async () => {
  await using capture = await startCapturePush();
  const keys = await generateVapidKeys();
  const before = Math.floor(Date.now() / 1000);
  const sender = new WebPushSender({ ...keys, subject: SUBJECT });
  const endpoint = capture.url("/push/sub-1");
  const result = await sender.send(
    { endpoint, keys: await subscriptionKeys() },
    JSON.stringify(payload()),
    OPTS,
  );
  assert.deepEqual(result, { status: "ok", httpStatus: 201 });

  const [req] = capture.requests;
  assert.equal(req.method, "POST");
  assert.equal(req.path, "/push/sub-1");
  assert.equal(req.headers["ttl"], "60");
  assert.equal(req.headers["urgency"], "high");
  assert.equal(req.headers["topic"], "machine-w1");
  assert.equal(req.headers["content-encoding"], "aes128gcm");
  assert.equal(req.headers["content-type"], "application/octet-stream");
  assert.equal(req.headers["content-length"], String(req.body.length));
  assert.equal(req.headers["crypto-key"], undefined);

  // RFC 8188 header: salt(16) | rs(4) = 4096 | idlen(1) = 65 | keyid(65).
  assert.ok(req.body.length > 86 && req.body.length <= MAX_ENCRYPTED_BODY_BYTES);
  assert.equal(new DataView(req.body.buffer, req.body.byteOffset).getUint32(16), 4096);
  assert.equal(req.body[20], 65);

  const vapid = parseVapid(req.headers["authorization"]);
  assert.equal(vapid.key, keys.publicKey);
  assert.deepEqual(vapid.header, { typ: "JWT", alg: "ES256" });
  assert.equal(vapid.claims.aud, capture.origin);
  assert.equal(vapid.claims.sub, SUBJECT);
  const lifetime = vapid.claims.exp - before;
  assert.ok(lifetime >= 12 * 3600 - 5 && lifetime <= 12 * 3600 + 5, `exp in ${lifetime}s`);

  const publicKey = await crypto.subtle.importKey(
    "raw",
    unb64url(keys.publicKey),
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["verify"],
  );
  const valid = await crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    publicKey,
    vapid.signature,
    new TextEncoder().encode(vapid.signingInput),
  );
  assert.ok(valid, "VAPID JWT signature does not verify with the public key");
});

Deno.test("WebPushSender omits Topic when none is given and clamps TTL", async () => {
  await using capture = await startCapturePush();
  const sender = new WebPushSender({ ...(await generateVapidKeys()), subject: SUBJECT });
  const device = { endpoint: capture.url(), keys: await subscriptionKeys() };
  await sender.send(device, "x", { ttlSeconds: 10 ** 9, urgency: "very-low" });
  await sender.send(device, "x", { ttlSeconds: -5.5, urgency: "low", topic: "" });
  const [a, b] = capture.requests;
  assert.equal(a.headers["topic"], undefined);
  assert.equal(a.headers["ttl"], String(28 * 24 * 3600));
  assert.equal(a.headers["urgency"], "very-low");
  assert.equal(b.headers["topic"], undefined);
  assert.equal(b.headers["ttl"], "0");
  assert.equal(b.headers["urgency"], "low");
});

Deno.test("WebPushSender sanitises topics to at most 32 URL-safe base64 characters", async () => {
  await using capture = await startCapturePush();
  const sender = new WebPushSender({ ...(await generateVapidKeys()), subject: SUBJECT });
  const device = { endpoint: capture.url(), keys: await subscriptionKeys() };
  const topics = ["machine:w1/세탁", "machine:w1/세탁", "machine:w2/세탁", "a".repeat(33)];
  for (const topic of topics) {
    assert.equal((await sender.send(device, "x", { ...OPTS, topic })).status, "ok");
  }
  const sent = capture.requests.map((r) => r.headers["topic"]);
  for (const t of sent) assert.match(t, /^[A-Za-z0-9_-]{1,32}$/);
  assert.equal(sent[0], sent[1], "same input must collapse onto the same topic");
  assert.notEqual(sent[0], sent[2]);
  assert.equal(await sanitizeTopic("ok_Topic-1"), "ok_Topic-1");
  assert.equal(await sanitizeTopic(undefined), undefined);
});

Deno.test("VAPID JWT is reused per push-service origin and differs between origins", async () => {
  await using a = await startCapturePush();
  await using b = await startCapturePush();
  const sender = new WebPushSender({ ...(await generateVapidKeys()), subject: SUBJECT });
  const keys = await subscriptionKeys();
  await sender.send({ endpoint: a.url("/one"), keys }, "1", OPTS);
  await sender.send({ endpoint: a.url("/two"), keys }, "2", OPTS);
  await sender.send({ endpoint: b.url("/one"), keys }, "3", OPTS);

  const [a1, a2] = a.requests.map((r) => parseVapid(r.headers["authorization"]));
  const [b1] = b.requests.map((r) => parseVapid(r.headers["authorization"]));
  assert.equal(a1.jwt, a2.jwt, "same origin must reuse the JWT");
  assert.notEqual(a1.jwt, b1.jwt);
  assert.equal(a1.claims.aud, a.origin);
  assert.equal(b1.claims.aud, b.origin);
});

Deno.test("VAPID JWT is renewed 10 minutes before it expires", async () => {
  let now = Date.now();
  const sender = new WebPushSender({
    ...(await generateVapidKeys()),
    subject: SUBJECT,
    now: () => now,
  });
  const origin = "https://fcm.googleapis.com";
  const first = await sender.vapidAuthorization(origin);
  now += (11 * 3600 + 49 * 60) * 1000; // 11 min before exp
  assert.equal(await sender.vapidAuthorization(origin), first);
  now += 2 * 60 * 1000; // 9 min before exp
  const renewed = await sender.vapidAuthorization(origin);
  assert.notEqual(renewed, first);
  const exp = parseVapid(renewed).claims.exp;
  assert.equal(exp, Math.floor(now / 1000) + 12 * 3600);
});

Deno.test("WebPushSender reports a VAPID signing failure as alarm, without sending", async () => {
  let calls = 0;
  const sender = new WebPushSender({
    ...(await generateVapidKeys()),
    subject: SUBJECT,
    // A clock 13 h ahead makes exp more than 24 h away: web-push refuses to sign.
    now: () => Date.now() + 13 * 3600 * 1000,
    fetch: () => (calls++, Promise.resolve(new Response(null, { status: 201 }))),
  });
  const endpoint = "https://fcm.googleapis.com/fcm/send/abc";
  const result = await sender.send({ endpoint, keys: await subscriptionKeys() }, "x", OPTS);
  assert.equal(result.status, "alarm");
  assert.match((result as { detail: string }).detail, /cannot sign VAPID JWT/);
  assert.equal(calls, 0);
});

Deno.test("WebPushSender reads Retry-After on a 503 into the retry result", async () => {
  await using capture = await startCapturePush({
    responses: [{ status: 503, headers: { "Retry-After": "7" }, body: "busy" }],
  });
  const sender = new WebPushSender({ ...(await generateVapidKeys()), subject: SUBJECT });
  const device = { endpoint: capture.url(), keys: await subscriptionKeys() };
  const result = await sender.send(device, "x", OPTS);
  assert.equal(result.status, "retry");
  assert.equal((result as { retryAfterMs: number }).retryAfterMs, 7000);
  assert.equal((result as { httpStatus: number }).httpStatus, 503);
});

Deno.test("WebPushSender maps 403 to alarm and drops the cached JWT for that origin", async () => {
  await using capture = await startCapturePush({
    responses: [201, { status: 403, body: '{"reason":"BadJwtToken"}' }, 201],
  });
  let now = Date.now();
  const sender = new WebPushSender({
    ...(await generateVapidKeys()),
    subject: SUBJECT,
    now: () => now,
  });
  const device = { endpoint: capture.url(), keys: await subscriptionKeys() };
  assert.equal((await sender.send(device, "x", OPTS)).status, "ok");
  const alarm = await sender.send(device, "x", OPTS);
  assert.equal(alarm.status, "alarm");
  assert.equal(alarm.httpStatus, 403);
  assert.match((alarm as { detail: string }).detail, /BadJwtToken/);
  now += 1000; // far inside the reuse window: only the 403 can force a new JWT
  await sender.send(device, "x", OPTS);
  const claims = capture.requests.map((r) => parseVapid(r.headers["authorization"]).claims);
  assert.equal(claims[0].exp, claims[1].exp);
  assert.equal(claims[2].exp, claims[1].exp + 1, "a fresh JWT is minted after a 403");
});

Deno.test("WebPushSender maps HTTP statuses to SendResult", async () => {
  const retryAt = new Date(Date.now() + 120_000).toUTCString();
  await using capture = await startCapturePush({
    responses: [
      200,
      202,
      { status: 429, headers: { "Retry-After": "7" } },
      429,
      { status: 500, headers: { "Retry-After": retryAt } },
      502,
      404,
      410,
      401,
      400,
      { status: 413, body: "Payload Too Large" },
      { status: 301, headers: { Location: "https://evil.example/" } },
    ],
  });
  const sender = new WebPushSender({
    ...(await generateVapidKeys()),
    subject: SUBJECT,
    defaultRetryAfterMs: 1234,
  });
  const device = { endpoint: capture.url(), keys: await subscriptionKeys() };
  const results: SendResult[] = [];
  for (let i = 0; i < 12; i++) results.push(await sender.send(device, "x", OPTS));
  const brief = results.map((r) => [r.status, r.httpStatus]);
  assert.deepEqual(brief, [
    ["ok", 200],
    ["ok", 202],
    ["retry", 429],
    ["retry", 429],
    ["retry", 500],
    ["retry", 502],
    ["gone", 404],
    ["gone", 410],
    ["alarm", 401],
    ["rejected", 400],
    ["rejected", 413],
    ["rejected", 301],
  ]);
  const retryMs = results.slice(2, 6).map((r) => (r as { retryAfterMs: number }).retryAfterMs);
  assert.equal(retryMs[0], 7000);
  assert.equal(retryMs[1], 1234);
  assert.ok(retryMs[2] > 100_000 && retryMs[2] <= 120_000, `HTTP-date gave ${retryMs[2]}`);
  assert.equal(retryMs[3], 1234);
  assert.match((results[10] as { detail: string }).detail, /^413 .*Payload Too Large/);
  assert.equal(capture.requests.length, 12, "the redirect must not be followed");
});

Deno.test("WebPushSender gives retry on network errors and timeouts", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const sender = new WebPushSender({
    ...(await generateVapidKeys()),
    subject: SUBJECT,
    defaultRetryAfterMs: 555,
  });
  const keys = await subscriptionKeys();
  const refused = await sender.send({ endpoint: `http://127.0.0.1:${port}/x`, keys }, "x", OPTS);
  assert.equal(refused.status, "retry");
  assert.equal((refused as { retryAfterMs: number }).retryAfterMs, 555);
  assert.match((refused as { detail: string }).detail, /network error/);

  await using slow = await startCapturePush({ defaultResponse: { status: 201, delayMs: 200 } });
  const impatient = new WebPushSender({
    ...(await generateVapidKeys()),
    subject: SUBJECT,
    timeoutMs: 50,
  });
  const timedOut = await impatient.send({ endpoint: slow.url(), keys }, "x", OPTS);
  assert.equal(timedOut.status, "retry");
  assert.match((timedOut as { detail: string }).detail, /timeout after 50 ms/);
});

Deno.test("WebPushSender rejects bad input without contacting the push service", async () => {
  await using capture = await startCapturePush();
  const sender = new WebPushSender({ ...(await generateVapidKeys()), subject: SUBJECT });
  const keys = await subscriptionKeys();
  const endpoint = capture.url();
  const cases: [Parameters<WebPushSender["send"]>, RegExp][] = [
    [[{ endpoint }, "x", OPTS], /no web push subscription/],
    [[{ keys }, "x", OPTS], /no web push subscription/],
    [[{ endpoint: "not a url", keys }, "x", OPTS], /not a URL/],
    [[{ endpoint: "ftp://127.0.0.1/x", keys }, "x", OPTS], /scheme/],
    [[{ endpoint, keys: { p256dh: "AAAA", auth: keys.auth } }, "x", OPTS], /cannot encrypt/],
    [[{ endpoint, keys }, "x", { ...OPTS, ttlSeconds: NaN }], /invalid TTL/],
    [[{ endpoint, keys }, "x".repeat(4000), OPTS], /payload too large/],
  ];
  for (const [args, pattern] of cases) {
    const result = await sender.send(...args);
    assert.equal(result.status, "rejected");
    assert.match((result as { detail: string }).detail, pattern);
  }
  assert.equal(capture.requests.length, 0);
  // The largest payload that fits: 4096 - 86 header bytes - 1 delimiter - 16 tag.
  assert.equal((await sender.send({ endpoint, keys }, "x".repeat(3993), OPTS)).status, "ok");
});

Deno.test("WebPushSender uses the injected fetch", async () => {
  const seen: string[] = [];
  const fakeFetch: typeof fetch = (input) => {
    seen.push(String(input));
    return Promise.resolve(new Response("", { status: 201 }));
  };
  const sender = new WebPushSender({
    ...(await generateVapidKeys()),
    subject: SUBJECT,
    fetch: fakeFetch,
  });
  const endpoint = "https://fcm.googleapis.com/fcm/send/abc";
  const result = await sender.send({ endpoint, keys: await subscriptionKeys() }, "x", OPTS);
  assert.deepEqual(result, { status: "ok", httpStatus: 201 });
  assert.deepEqual(seen, [endpoint]);
});

Deno.test("parseRetryAfter reads delay-seconds and HTTP-dates", () => {
  const now = Date.parse("2026-11-22T03:00:00Z");
  assert.equal(parseRetryAfter(null, now), undefined);
  assert.equal(parseRetryAfter("0", now), 0);
  assert.equal(parseRetryAfter(" 120 ", now), 120_000);
  assert.equal(parseRetryAfter("Sun, 22 Nov 2026 03:00:30 GMT", now), 30_000);
  assert.equal(parseRetryAfter("Sun, 22 Nov 2026 02:00:00 GMT", now), 0);
  assert.equal(parseRetryAfter("-5", now), undefined);
  assert.equal(parseRetryAfter("1.5", now), undefined);
  assert.equal(parseRetryAfter("soon", now), undefined);
});

Deno.test("validateSubject accepts mailto: and https: only; keys are checked", async () => {
  assert.equal(validateSubject(" mailto:ops@example.org "), "mailto:ops@example.org");
  assert.equal(validateSubject("https://laundry.example.org/"), "https://laundry.example.org/");
  for (const bad of ["", "ops@example.org", "mailto:", "mailto:nobody", "http://example.org"]) {
    assert.throws(() => validateSubject(bad), TypeError, bad);
  }
  const keys = await generateVapidKeys();
  assert.match(keys.publicKey, /^[A-Za-z0-9_-]{87}$/);
  assert.match(keys.privateKey, /^[A-Za-z0-9_-]{43}$/);
  assert.throws(() => new WebPushSender({ ...keys, subject: "nope" }), TypeError);
  assert.throws(
    () => new WebPushSender({ ...keys, publicKey: keys.privateKey, subject: SUBJECT }),
    TypeError,
  );
  assert.throws(
    () => new WebPushSender({ ...keys, privateKey: "abc", subject: SUBJECT }),
    TypeError,
  );
  assert.equal(new WebPushSender({ ...keys, subject: SUBJECT }).publicKey, keys.publicKey);
});
