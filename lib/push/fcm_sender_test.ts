import assert from "node:assert/strict";
import tls from "node:tls";
import { buildFcmMessage, FcmSender, mapFcmError, payloadToData } from "./fcm_sender.ts";
import type { PushPayload } from "../types.ts";
import { fakeFcmAppOptions, fcmErrorBody, startFakeFcm } from "../../tests/support/fake_fcm.ts";

const PAYLOAD: PushPayload = {
  id: "n-42",
  kind: "use.done",
  title: "세탁 완료",
  body: "Washer 1 is done",
  tag: "machine-w1",
  url: "/machines/w1",
  silent: false,
  critical: true,
  ts: 1_700_000_000_000,
};

const OPTS = {
  ttlSeconds: 3600,
  urgency: "high" as const,
  topic: "machine-w1",
  link: "https://laundry.example.org/machines/w1",
};

Deno.test("FcmSender sends a web data message through firebase-admin to the fake FCM over TLS", async () => {
  await using fcm = await startFakeFcm();
  const sender = await FcmSender.create(fakeFcmAppOptions(fcm));
  try {
    const result = await sender.send("token-ok", PAYLOAD, OPTS);
    assert.deepEqual(result, { status: "ok", httpStatus: 200 });
  } finally {
    await sender.close();
  }

  assert.equal(fcm.messages.length, 1);
  assert.ok(fcm.connections >= 1, "firebase-admin did not use the agent");
  const [sent] = fcm.messages;
  assert.equal(sent.project, fcm.projectId);
  assert.equal(sent.token, "token-ok");
  assert.equal(sent.host, "fcm.googleapis.com");
  assert.equal(sent.authorization, `Bearer ${fcm.accessToken}`);
  assert.deepEqual(sent.message, {
    token: "token-ok",
    webpush: {
      headers: { Urgency: "high", TTL: "3600", Topic: "machine-w1" },
      data: {
        id: "n-42",
        kind: "use.done",
        title: "세탁 완료",
        body: "Washer 1 is done",
        tag: "machine-w1",
        url: "/machines/w1",
        silent: "false",
        critical: "true",
        ts: "1700000000000",
      },
      fcmOptions: { link: "https://laundry.example.org/machines/w1" },
    },
    android: { priority: "high", ttl: "3600s", collapse_key: "machine-w1" },
  });
});

Deno.test("FcmSender maps FCM errors: UNREGISTERED is gone, quota is retry, sender mismatch is alarm", async () => {
  await using fcm = await startFakeFcm();
  fcm.unregister("token-stale");
  fcm.failToken("token-quota", {
    status: 429,
    headers: { "Retry-After": "30" },
    body: fcmErrorBody(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "Quota exceeded."),
  });
  fcm.failToken("token-other-project", {
    status: 403,
    body: fcmErrorBody(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", "SenderId mismatch"),
  });
  fcm.failToken("token-bad", {
    status: 400,
    body: fcmErrorBody(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Invalid registration"),
  });
  const sender = await FcmSender.create(fakeFcmAppOptions(fcm));
  try {
    const gone = await sender.send("token-stale", PAYLOAD, OPTS);
    assert.equal(gone.status, "gone");
    assert.equal(gone.httpStatus, 404);
    assert.match(
      (gone as { detail: string }).detail,
      /^messaging\/registration-token-not-registered: Requested entity was not found\./,
    );

    const quota = await sender.send("token-quota", PAYLOAD, OPTS);
    assert.equal(quota.status, "retry");
    assert.equal(quota.httpStatus, 429);
    assert.equal((quota as { retryAfterMs: number }).retryAfterMs, 30_000);

    const mismatch = await sender.send("token-other-project", PAYLOAD, OPTS);
    assert.equal(mismatch.status, "alarm");
    assert.match((mismatch as { detail: string }).detail, /mismatched-credential/);

    const bad = await sender.send("token-bad", PAYLOAD, OPTS);
    assert.equal(bad.status, "rejected");
    assert.match((bad as { detail: string }).detail, /invalid-argument/);

    // The good path still works on the same app afterwards.
    assert.equal((await sender.send("token-ok", PAYLOAD, OPTS)).status, "ok");
  } finally {
    await sender.close();
  }
  assert.deepEqual(fcm.messages.map((m) => m.token), [
    "token-stale",
    "token-quota",
    "token-other-project",
    "token-bad",
    "token-ok",
  ]);
});

Deno.test("FcmSender reports credential problems as alarm", async () => {
  await using fcm = await startFakeFcm();
  const options = fakeFcmAppOptions(fcm);
  const wrongToken = await FcmSender.create({
    ...options,
    credential: { getAccessToken: () => Promise.resolve({ access_token: "x", expires_in: 3600 }) },
  });
  const failing = await FcmSender.create({
    ...options,
    credential: { getAccessToken: () => Promise.reject(new Error("invalid_grant")) },
  });
  try {
    const unauthenticated = await wrongToken.send("token-ok", PAYLOAD, OPTS);
    assert.equal(unauthenticated.status, "alarm");
    assert.equal(unauthenticated.httpStatus, 401);

    const noToken = await failing.send("token-ok", PAYLOAD, OPTS);
    assert.equal(noToken.status, "alarm");
    assert.match((noToken as { detail: string }).detail, /^app\/invalid-credential/);
  } finally {
    await wrongToken.close();
    await failing.close();
  }
  assert.equal(fcm.messages.length, 0);
});

Deno.test("FcmSender leaves out non-https links and sends normal priority for other urgencies", async () => {
  await using fcm = await startFakeFcm();
  const sender = await FcmSender.create({ ...fakeFcmAppOptions(fcm), appName: "fcm-test-links" });
  try {
    assert.equal(sender.appName, "fcm-test-links");
    const result = await sender.send("token-ok", { ...PAYLOAD, critical: undefined }, {
      ttlSeconds: 600,
      urgency: "normal",
      link: "http://localhost:8000/machines/w1",
    });
    assert.equal(result.status, "ok");
  } finally {
    await sender.close();
  }
  const message = fcm.messages[0].message as {
    webpush: { headers: Record<string, string>; data: Record<string, string> };
    android: Record<string, string>;
  };
  assert.deepEqual(message.webpush.headers, { Urgency: "normal", TTL: "600" });
  assert.equal("fcmOptions" in message.webpush || "fcm_options" in message.webpush, false);
  assert.equal("critical" in message.webpush.data, false);
  assert.deepEqual(message.android, { priority: "normal", ttl: "600s" });
});

Deno.test("FcmSender.create validates options, names apps uniquely and parses service accounts", async () => {
  await assert.rejects(() => FcmSender.create({}), TypeError);
  await assert.rejects(
    () =>
      FcmSender.create({
        credential: { getAccessToken: () => Promise.resolve({ access_token: "a", expires_in: 1 }) },
      }),
    /projectId/,
  );
  await assert.rejects(() => FcmSender.create({ serviceAccount: "{not json" }), /not valid JSON/);

  const keys = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
  const der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const pem = `-----BEGIN PRIVATE KEY-----\n${
    btoa(String.fromCharCode(...der)).replace(/.{64}/g, "$&\n")
  }\n-----END PRIVATE KEY-----\n`;
  const serviceAccount = JSON.stringify({
    type: "service_account",
    project_id: "demo-from-account",
    private_key_id: "k1",
    private_key: pem,
    client_email: "fcm@demo-from-account.iam.gserviceaccount.com",
  });
  const a = await FcmSender.create({ serviceAccount });
  const b = await FcmSender.create({ serviceAccount });
  try {
    assert.equal(a.appName, "laundrylive-fcm");
    assert.equal(b.appName, "laundrylive-fcm-2");
    await assert.rejects(
      () => FcmSender.create({ serviceAccount, appName: "laundrylive-fcm" }),
      /already exists/,
    );
  } finally {
    await a.close();
    await b.close();
  }
  await a.close(); // idempotent
  assert.equal((await a.send("t", PAYLOAD, OPTS)).status, "alarm");
});

Deno.test("mapFcmError maps firebase-admin error codes and statuses", () => {
  const err = (code: string, status?: number, headers: Record<string, string> = {}) => ({
    code,
    message: "m",
    ...(status ? { httpResponse: { status, headers } } : {}),
  });
  const table: [unknown, string][] = [
    [err("messaging/registration-token-not-registered", 404), "gone"],
    [err("messaging/installation-id-not-registered", 404), "gone"],
    [err("messaging/message-rate-exceeded", 429), "retry"],
    [err("messaging/device-message-rate-exceeded", 429), "retry"],
    [err("messaging/server-unavailable", 503), "retry"],
    [err("messaging/internal-error", 500), "retry"],
    [err("messaging/unavailable"), "retry"],
    [err("app/network-error"), "retry"],
    [err("app/network-timeout"), "retry"],
    [err("messaging/unknown-error", 502), "retry"],
    [err("messaging/mismatched-credential", 403), "alarm"],
    [err("messaging/third-party-auth-error", 401), "alarm"],
    [err("messaging/authentication-error"), "alarm"],
    [err("app/invalid-credential"), "alarm"],
    [err("messaging/unknown-error", 403), "alarm"],
    [err("messaging/invalid-argument", 400), "rejected"],
    [err("messaging/invalid-payload"), "rejected"],
    [err("messaging/payload-size-limit-exceeded", 400), "rejected"],
    [err("messaging/invalid-registration-token", 400), "rejected"],
    [err("messaging/unknown-error", 418), "rejected"],
    [new Error("boom"), "rejected"],
    ["weird", "rejected"],
  ];
  for (const [input, expected] of table) {
    assert.equal(mapFcmError(input).status, expected, JSON.stringify(input));
  }
  const now = Date.parse("2026-11-22T03:00:00Z");
  const dated = mapFcmError(
    err("messaging/server-unavailable", 503, { "retry-after": "Sun, 22 Nov 2026 03:01:00 GMT" }),
    5,
    now,
  );
  assert.deepEqual(dated, {
    status: "retry",
    httpStatus: 503,
    retryAfterMs: 60_000,
    detail: "messaging/server-unavailable: m",
  });
  assert.equal(
    (mapFcmError(err("app/network-error"), 777) as { retryAfterMs: number })
      .retryAfterMs,
    777,
  );
});

Deno.test("buildFcmMessage and payloadToData turn the payload into strings", async () => {
  assert.deepEqual(payloadToData({ ...PAYLOAD, silent: true, critical: undefined }), {
    id: "n-42",
    kind: "use.done",
    title: "세탁 완료",
    body: "Washer 1 is done",
    tag: "machine-w1",
    url: "/machines/w1",
    silent: "true",
    ts: "1700000000000",
  });
  const message = await buildFcmMessage("t", PAYLOAD, { ...OPTS, topic: "machine:w1 (세탁)" }) as {
    webpush: { headers: Record<string, string> };
    android: { collapseKey: string };
  };
  assert.match(message.webpush.headers.Topic, /^[A-Za-z0-9_-]{32}$/);
  assert.equal(message.android.collapseKey, message.webpush.headers.Topic);
});

Deno.test("the fake FCM really speaks TLS: its certificate verifies only with the test CA", async () => {
  await using fcm = await startFakeFcm();
  const connect = async (ca?: string) => {
    const socket = tls.connect({
      host: "127.0.0.1",
      port: fcm.port,
      servername: "fcm.googleapis.com",
      ...(ca ? { ca } : {}),
    });
    try {
      return await new Promise<string>((resolve) => {
        socket.once("secureConnect", () => resolve("trusted"));
        socket.once("error", (e: Error & { code?: string }) => resolve(e.code ?? e.message));
      });
    } finally {
      socket.destroy();
    }
  };
  assert.equal(await connect(fcm.caCert), "trusted");
  assert.equal(await connect(), "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
});
