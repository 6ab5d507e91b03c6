/**
 * A local fake of the FCM HTTP v1 API, over real TLS, for testing code that
 * uses `npm:firebase-admin` messaging.
 *
 * firebase-admin hard-codes `https://fcm.googleapis.com` and has no emulator,
 * so {@link fakeFcmAppOptions} gives the firebase-admin app options that route
 * to this server: a credential returning a fixed access token, and an
 * `httpAgent` (an `https.Agent` subclass) whose `createConnection` opens TLS
 * to 127.0.0.1:PORT while keeping `servername: "fcm.googleapis.com"` and
 * trusting a throw-away test CA. Certificate checking stays on: the server's
 * certificate is issued by that CA for `fcm.googleapis.com`.
 *
 * Certificates are generated with the `openssl` command on first use (once per
 * process, about 30 ms) in a temporary directory that is removed at once;
 * nothing is committed to the repository.
 *
 * Only `messaging.send()` (HTTP/1.1) goes through the agent; `sendEach*()`
 * use HTTP/2 unless `enableLegacyHttpTransport()` is called.
 *
 * @example
 * ```ts
 * await using fcm = await startFakeFcm();
 * fcm.unregister("stale-token");
 * const app = initializeApp(fakeFcmAppOptions(fcm), "test");
 * await getMessaging(app).send({ token: "good-token", webpush: { data: { a: "b" } } });
 * fcm.messages[0].token; // "good-token"
 * ```
 * @module
 */

import https from "node:https";
import tls from "node:tls";
import type { Socket } from "node:net";

/** PEM material for the fake server. */
export interface TestCertificates {
  /** The test CA certificate, to trust on the client side. */
  caCert: string;
  /** Server certificate for `fcm.googleapis.com`, `localhost` and `127.0.0.1`. */
  serverCert: string;
  /** The server certificate's private key. */
  serverKey: string;
}

let certificates: Promise<TestCertificates> | undefined;

async function openssl(cwd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function generate(): Promise<TestCertificates> {
  const dir = await Deno.makeTempDir({ prefix: "fake_fcm_certs_" });
  try {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    await openssl(dir, [
      "req",
      "-x509",
      ...ec,
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "2",
      "-subj",
      "/CN=LaundryLive Test CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    await openssl(dir, [
      "req",
      ...ec,
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
      "-subj",
      "/CN=fcm.googleapis.com",
    ]);
    await Deno.writeTextFile(
      `${dir}/ext.cnf`,
      "subjectAltName=DNS:fcm.googleapis.com,DNS:localhost,IP:127.0.0.1\n" +
        "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    );
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.pem",
      "-days",
      "2",
      "-extfile",
      "ext.cnf",
    ]);
    return {
      caCert: await Deno.readTextFile(`${dir}/ca.pem`),
      serverCert: await Deno.readTextFile(`${dir}/server.pem`),
      serverKey: await Deno.readTextFile(`${dir}/server.key`),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * A throw-away CA and a server certificate for `fcm.googleapis.com`, made with
 * the `openssl` command once per process (valid for 2 days).
 *
 * @returns The PEM strings.
 */
export function testCertificates(): Promise<TestCertificates> {
  certificates ??= generate().catch((err) => {
    certificates = undefined;
    throw err;
  });
  return certificates;
}

/** One message the fake FCM received. */
export interface FakeFcmMessage {
  /** The project id from the URL path. */
  project: string;
  /** `message.token`. */
  token: string | undefined;
  /** The whole `message` object, as firebase-admin serialised it. */
  message: Record<string, unknown>;
  /** The request's `Authorization` header. */
  authorization: string | null;
  /** The request's `Host` header (`fcm.googleapis.com` through the agent). */
  host: string | null;
}

/** A canned error answer for a token. */
export interface FakeFcmError {
  /** HTTP status, e.g. 429. */
  status: number;
  /** The JSON body (an FCM `{error: …}` object). */
  body: unknown;
  /** Extra response headers, e.g. `{"Retry-After": "30"}`. */
  headers?: Record<string, string>;
}

/** Options for {@link startFakeFcm}. */
export interface FakeFcmOptions {
  /** Project id used by {@link fakeFcmAppOptions} (default `"demo-laundrylive"`). */
  projectId?: string;
  /** Bearer token the server expects; others get 401 (default `"fake-fcm-token"`). */
  accessToken?: string;
}

/** A running fake FCM server. */
export interface FakeFcmServer {
  /** The loopback port (TLS). */
  port: number;
  /** The project id {@link fakeFcmAppOptions} configures. */
  projectId: string;
  /** The bearer token the server accepts. */
  accessToken: string;
  /** The test CA certificate (PEM) the server's certificate chains to. */
  caCert: string;
  /** Messages accepted or refused so far, oldest first. */
  messages: FakeFcmMessage[];
  /** TLS connections opened by agents from {@link fakeFcmAppOptions}. */
  readonly connections: number;
  /** Makes a token answer 404 `UNREGISTERED`, like an uninstalled app. */
  unregister(token: string): void;
  /** Makes a token answer with a canned error (e.g. 429 `QUOTA_EXCEEDED`). */
  failToken(token: string, error: FakeFcmError): void;
  /** Stops the server and destroys the agents it handed out. */
  close(): Promise<void>;
  /** Same as {@link FakeFcmServer.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
  /**
   * A new `https.Agent` whose connections go to this server over TLS (server
   * name `fcm.googleapis.com`, test CA trusted). Destroyed by `close()`.
   */
  createAgent(): https.Agent;
}

/**
 * The FCM v1 error body for a status and an FCM error code.
 *
 * @param code HTTP status, e.g. 404.
 * @param status Canonical status, e.g. `"NOT_FOUND"`.
 * @param errorCode FCM error code, e.g. `"UNREGISTERED"`.
 * @param message Human text.
 * @returns The JSON-ready body.
 */
export function fcmErrorBody(
  code: number,
  status: string,
  errorCode: string,
  message: string,
): unknown {
  return {
    error: {
      code,
      message,
      status,
      details: [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode }],
    },
  };
}

const SEND_PATH = /^\/v1\/projects\/([^/]+)\/messages:send$/;

/**
 * Starts the fake FCM HTTP v1 server on a free loopback port, speaking TLS
 * with a certificate for `fcm.googleapis.com` from a test CA.
 *
 * `POST /v1/projects/:project/messages:send` records the message and answers
 * `{"name": "projects/:project/messages/<n>"}`, or the error set for its token
 * ({@link FakeFcmServer.unregister}, {@link FakeFcmServer.failToken}). A wrong
 * bearer token gets 401 `UNAUTHENTICATED`.
 *
 * @param options Project id and expected access token.
 * @returns The running server; call `close()` (or `await using`) when done.
 */
export async function startFakeFcm(options: FakeFcmOptions = {}): Promise<FakeFcmServer> {
  const { caCert, serverCert, serverKey } = await testCertificates();
  const projectId = options.projectId ?? "demo-laundrylive";
  const accessToken = options.accessToken ?? "fake-fcm-token";
  const messages: FakeFcmMessage[] = [];
  const failures = new Map<string, FakeFcmError>();
  const agents = new Set<https.Agent>();
  let connections = 0;
  let counter = 0;

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: serverCert, key: serverKey, onListen() {} },
    async (req) => {
      const path = new URL(req.url).pathname;
      const match = SEND_PATH.exec(path);
      if (req.method !== "POST" || !match) {
        return Response.json(fcmErrorBody(404, "NOT_FOUND", "UNSPECIFIED_ERROR", "Not found"), {
          status: 404,
        });
      }
      if (req.headers.get("authorization") !== `Bearer ${accessToken}`) {
        return Response.json({
          error: {
            code: 401,
            message: "Request had invalid authentication credentials. " +
              "Expected OAuth 2 access token, login cookie or other valid authentication credential.",
            status: "UNAUTHENTICATED",
          },
        }, { status: 401 });
      }
      let body: { message?: Record<string, unknown> };
      try {
        body = await req.json();
      } catch {
        return Response.json(
          fcmErrorBody(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Invalid JSON payload"),
          { status: 400 },
        );
      }
      const message = body.message ?? {};
      const token = typeof message.token === "string" ? message.token : undefined;
      messages.push({
        project: decodeURIComponent(match[1]),
        token,
        message,
        authorization: req.headers.get("authorization"),
        host: req.headers.get("host"),
      });
      const failure = token === undefined ? undefined : failures.get(token);
      if (failure) {
        return Response.json(failure.body, { status: failure.status, headers: failure.headers });
      }
      counter += 1;
      return Response.json({ name: `projects/${match[1]}/messages/${counter}` });
    },
  );
  const port = server.addr.port;

  class FakeFcmAgent extends https.Agent {
    override createConnection(
      _options: unknown,
      _callback?: (err: Error | null, socket: Socket) => void,
    ): Socket {
      connections += 1;
      return tls.connect({
        host: "127.0.0.1",
        port,
        servername: "fcm.googleapis.com",
        ca: caCert,
        ALPNProtocols: ["http/1.1"],
      });
    }
  }

  const fake: FakeFcmServer = {
    port,
    projectId,
    accessToken,
    caCert,
    messages,
    get connections() {
      return connections;
    },
    unregister(token) {
      failures.set(token, {
        status: 404,
        body: fcmErrorBody(404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found."),
      });
    },
    failToken(token, error) {
      failures.set(token, error);
    },
    createAgent() {
      const agent = new FakeFcmAgent({ keepAlive: false });
      agents.add(agent);
      return agent;
    },
    async close() {
      for (const agent of agents) agent.destroy();
      agents.clear();
      await server.shutdown();
    },
    [Symbol.asyncDispose]() {
      return fake.close();
    },
  };
  return fake;
}

/** firebase-admin app options that reach a {@link FakeFcmServer}. */
export interface FakeFcmAppOptions {
  /** The fake server's project id. */
  projectId: string;
  /** A firebase-admin `Credential`: a fixed access token, no network. */
  credential: { getAccessToken(): Promise<{ access_token: string; expires_in: number }> };
  /** Routes firebase-admin's HTTPS requests to the fake server over TLS. */
  httpAgent: https.Agent;
}

/**
 * Builds the options to give `initializeApp()` (or `FcmSender.create()`) so
 * that `messaging.send()` reaches the fake server. The agent is destroyed by
 * `fake.close()`.
 *
 * @param fake The running fake server.
 * @returns `{projectId, credential, httpAgent}`.
 */
export function fakeFcmAppOptions(fake: FakeFcmServer): FakeFcmAppOptions {
  const token = fake.accessToken;
  return {
    projectId: fake.projectId,
    credential: {
      getAccessToken: () => Promise.resolve({ access_token: token, expires_in: 3600 }),
    },
    httpAgent: fake.createAgent(),
  };
}
