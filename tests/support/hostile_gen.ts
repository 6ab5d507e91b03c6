/**
 * A deterministic, seeded generator of hostile and careless HTTP requests for
 * every route of the app: odd methods, bodies (near-valid, wrong types,
 * unknown keys, deep nesting, invalid JSON, binary, oversized), ids (valid,
 * unknown, over-long, unicode, traversal, percent garbage), content types,
 * Origin / Host / Cookie / forwarding / upgrade headers. The same seed gives
 * the same requests.
 * @module
 */

/** A small fast PRNG (mulberry32): same seed, same sequence. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The caller a request is sent as. */
export type Role = "anon" | "resident" | "admin";

/** One generated request, with everything needed to replay it. */
export interface HostileRequest {
  role: Role;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

/** What the generator needs to know about the server under test. */
export interface GenContext {
  /** The app's own origin, e.g. `http://127.0.0.1:1234`. */
  origin: string;
  /** Ids that exist (machines, users, notices, invite codes, device ids). */
  machineIds: string[];
  userIds: string[];
  noticeIds: string[];
  inviteCodes: string[];
}

type Rand = () => number;

function pick<T>(r: Rand, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

function chance(r: Rand, p: number): boolean {
  return r() < p;
}

const ODD_CHARS = [
  "\u0000",
  "\n",
  "\r\n",
  "\u202E",
  "\u200B",
  "'",
  '"',
  "<script>",
  "../",
  "%",
  "%00",
  "😀",
  "한",
  "\uFFFF",
  "\uD800",
  "\\",
  " ",
  "{}",
];

function junkString(r: Rand, max = 64): string {
  const n = Math.floor(r() * max);
  let s = "";
  for (let i = 0; i < n; i++) {
    s += chance(r, 0.2) ? pick(r, ODD_CHARS) : String.fromCharCode(32 + Math.floor(r() * 95));
  }
  return s;
}

/** Percent-encode, turning lone surrogates into invalid UTF-8 (`%ED%A0%80`) as a client might. */
function enc(s: string): string {
  return s.replace(/[\s\S]/gu, (ch) => {
    const code = ch.codePointAt(0)!;
    return code >= 0xD800 && code <= 0xDFFF ? "%ED%A0%80" : encodeURIComponent(ch);
  });
}

function idLike(r: Rand, valid: string[]): string {
  const k = r();
  if (k < 0.3 && valid.length) return pick(r, valid);
  if (k < 0.4) return "x".repeat(150 + Math.floor(r() * 60)); // near the segment limit
  if (k < 0.45) return "y".repeat(1000 + Math.floor(r() * 3000)); // over KV's 2 KiB key limit
  if (k < 0.5) return "..";
  if (k < 0.55) return "%E0%A4%A"; // broken percent-encoding
  if (k < 0.6) return enc(junkString(r, 20)) || "%20";
  if (k < 0.65) return "0";
  if (k < 0.7) return "ABCDEFGH1234";
  if (k < 0.75) return "%2F%2Fevil.example";
  if (k < 0.8) return encodeURIComponent("한글아이디");
  return Array.from(
    { length: 4 + Math.floor(r() * 28) },
    () => pick(r, [..."0123456789abcdefghjk"]),
  )
    .join("");
}

/** A random JSON-ish value, sometimes deep. */
function junkValue(r: Rand, depth = 0): unknown {
  const k = r();
  if (depth > 3 || k < 0.2) return junkString(r, 30);
  if (k < 0.3) return Math.floor(r() * 2e9) - 1e9;
  if (k < 0.35) return pick(r, [1e308, -0, 0.5, Number.MAX_SAFE_INTEGER + 2, 601, -1]);
  if (k < 0.45) return pick(r, [true, false, null]);
  if (k < 0.6) return Array.from({ length: Math.floor(r() * 4) }, () => junkValue(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(r() * 4); i > 0; i--) {
    o[pick(r, ["id", "name", "__proto__", "constructor", junkString(r, 8), "kind"])] = junkValue(
      r,
      depth + 1,
    );
  }
  return o;
}

/** Near-valid bodies per route family, mutated. */
function sampleBody(r: Rand, path: string, ctx: GenContext): unknown {
  const m = ctx.machineIds.length ? pick(r, ctx.machineIds) : "abcd";
  const samples: unknown[] = path.includes("/auth/register")
    ? [{
      inviteCode: pick(r, [...ctx.inviteCodes, "NOPE-NOPE", ""]),
      loginId: pick(r, [
        "resident",
        "admin",
        "fuzzer" + Math.floor(r() * 1e6),
        "a",
        "x".repeat(40),
      ]),
      password: pick(r, ["12345678", "password", "        ", "resident-pass-123", "p", ""]),
      name: pick(r, ["Name", "\u202Eevil", "\u200B", "a\u0000b", "x".repeat(100)]),
      room: pick(r, ["101", "", "\n", "x".repeat(30)]),
    }]
    : path.includes("/auth/login")
    ? [{
      loginId: pick(r, ["resident", "admin", "ghost", "x".repeat(70), ""]),
      password: pick(r, ["wrong-password", "", "x".repeat(300)]),
    }]
    : path.includes("/auth/logout")
    ? [{ deviceId: pick(r, ["dev-12345678", "x".repeat(100)]) }, {}]
    : path.includes("/announcements")
    ? [{
      title: pick(r, ["Notice", "", "x".repeat(100)]),
      body: "Body",
      target: pick(r, [
        { type: "all" },
        { type: "room", room: "101" },
        { type: "machine", machineId: m },
        { type: "machine", machineId: "x".repeat(3000) },
        { type: "nope" },
      ]),
      sendAt: pick(r, [
        undefined,
        new Date(Date.now() + 3600_000).toISOString(),
        "2001-01-01T00:00:00Z",
        "not a date",
        "9999-12-31T23:59:59Z",
      ]),
      critical: pick(r, [true, false, "yes"]),
    }]
    : path.includes("/admin/machines") && path.endsWith("/out_of_order")
    ? [{ reason: pick(r, ["broken", "x".repeat(300), 5]) }, {}]
    : path.includes("/admin/machines")
    ? [{
      name: pick(r, ["W9", "", "\u202E", "x".repeat(50)]),
      kind: pick(r, ["washer", "dryer", "oven"]),
      room: "R",
    }, { order: pick(r, [1, -1, 1e9, 0.5]) }]
    : path.includes("/admin/residents")
    ? [{ disabled: pick(r, [true, false, "true", null]) }]
    : path.includes("/admin/invites")
    ? [{
      code: pick(r, [undefined, "FUZZ-" + Math.floor(r() * 1e6), "bad code", "x".repeat(60)]),
      maxUses: pick(r, [undefined, 1, 0, 1e9]),
      expiresInDays: pick(r, [undefined, 1, 0, 99999]),
    }]
    : path.includes("/machines/")
    ? [{ minutes: pick(r, [1, 45, 0, 601, -5, 1.5, "45", null]) }, {}]
    : path.includes("/preferences")
    ? [{
      lang: pick(r, ["ko", "en", "fr"]),
      timeZone: pick(r, ["Asia/Seoul", "Mars/Olympus", "x".repeat(100), "UTC"]),
      endingSoonMinutes: pick(r, [5, 31, -1]),
      quiet: pick(r, [
        undefined,
        { enabled: true, start: "22:00", end: "07:00", mode: "hold" },
        { enabled: true, start: "25:00", end: "7", mode: "loud" },
      ]),
      push: pick(r, [undefined, { "use.done": false }, { nope: true }]),
    }]
    : path.includes("/notifications/read")
    ? [{ ids: pick(r, [[], ["x"], Array(600).fill("a"), ["x".repeat(300)]]) }]
    : path.includes("/waitlist")
    ? [{
      room: pick(r, ["1층 세탁실 · 1F laundry", "", "x".repeat(100), 7]),
      kind: pick(r, ["washer", "dryer", "car"]),
    }]
    : path.includes("/push/devices")
    ? [{
      kind: "webpush",
      subscription: {
        endpoint: pick(r, [
          "https://fcm.googleapis.com/fcm/send/abc",
          "http://127.0.0.1:1/x",
          "https://169.254.169.254/latest",
          "not a url",
        ]),
        keys: { p256dh: pick(r, ["BAAA", "x".repeat(87)]), auth: "AAAAAAAAAAAAAAAAAAAAAA" },
      },
    }, { kind: "fcm", token: pick(r, ["t".repeat(30), "bad token!", "x".repeat(5000)]) }]
    : [{}];
  let v = pick(r, samples);
  if (chance(r, 0.3) && v && typeof v === "object") {
    const o = { ...(v as Record<string, unknown>) };
    const keys = Object.keys(o);
    const k = r();
    if (k < 0.3 && keys.length) delete o[pick(r, keys)];
    else if (k < 0.6 && keys.length) o[pick(r, keys)] = junkValue(r);
    else o[junkString(r, 10) || "extra"] = junkValue(r);
    v = o;
  }
  return v;
}

function body(r: Rand, path: string, ctx: GenContext): string | Uint8Array | undefined {
  const k = r();
  if (k < 0.55) return JSON.stringify(sampleBody(r, path, ctx));
  if (k < 0.65) return JSON.stringify(junkValue(r));
  if (k < 0.7) return "[".repeat(5000) + "]".repeat(5000); // deep nesting
  if (k < 0.75) return '{"a":' + "1".repeat(400) + "}"; // a huge number
  if (k < 0.8) return junkString(r, 200); // not JSON
  if (k < 0.83) return crypto.getRandomValues(new Uint8Array(Math.floor(r() * 512)));
  if (k < 0.86) return JSON.stringify({ pad: "x".repeat(17_000 + Math.floor(r() * 30_000)) }); // over the limit
  if (k < 0.9) return "";
  if (k < 0.93) return "null";
  if (k < 0.95) return '"\\ud800"';
  return undefined;
}

const PAGE_PATHS = [
  "/",
  "/login",
  "/register",
  "/register?invite=" + "x".repeat(100),
  "/inbox",
  "/settings",
  "/admin",
  "/busy",
  "/admin/usage?days=" + "9".repeat(40),
  "/lang/en",
  "/lang/ko",
  "/lang/zz",
  "/sw.js",
  "/manifest.webmanifest",
  "/_app/nope.js",
  "/_app/../../etc/passwd",
  "/icons/nope.png",
  "/nope",
  "/api",
  "/api/",
  "/api/nope",
  "//api/machines",
  "/healthz",
];

/** Every route of the app as `[method, path template]`. */
export const ROUTES: readonly [string, string][] = [
  ["GET", "/api/machines"],
  ["POST", "/api/machines/:machine/:action"],
  ["GET", "/api/sync?since=:cursor"],
  ["POST", "/api/auth/register"],
  ["POST", "/api/auth/login"],
  ["POST", "/api/auth/logout"],
  ["GET", "/api/me"],
  ["GET", "/api/admin/machines"],
  ["POST", "/api/admin/machines"],
  ["PATCH", "/api/admin/machines/:machine"],
  ["DELETE", "/api/admin/machines/:machine"],
  ["POST", "/api/admin/machines/:machine/out_of_order"],
  ["POST", "/api/admin/machines/:machine/repair"],
  ["GET", "/api/admin/residents"],
  ["PATCH", "/api/admin/residents/:user"],
  ["GET", "/api/admin/invites"],
  ["POST", "/api/admin/invites"],
  ["DELETE", "/api/admin/invites/:invite"],
  ["POST", "/api/admin/announcements"],
  ["GET", "/api/admin/announcements"],
  ["GET", "/api/admin/announcements/:notice"],
  ["DELETE", "/api/admin/announcements/:notice"],
  ["GET", "/api/admin/stats"],
  ["GET", "/api/admin/usage?days=:n"],
  ["GET", "/api/busy"],
  ["GET", "/api/push/config"],
  ["GET", "/api/push/devices"],
  ["PUT", "/api/push/devices/:device"],
  ["DELETE", "/api/push/devices/:device"],
  ["POST", "/api/push/test"],
  ["POST", "/api/push/report"],
  ["GET", "/api/notifications?limit=:n&before=:cursor"],
  ["POST", "/api/notifications/read"],
  ["GET", "/api/preferences"],
  ["PUT", "/api/preferences"],
  ["GET", "/api/waitlist"],
  ["POST", "/api/waitlist"],
  ["DELETE", "/api/waitlist/:kind"],
  ["GET", "/ws?since=:cursor"],
  ["GET", ":page"],
];

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "PROPFIND", "FOO"];
const ACTIONS = ["hold", "arrive", "start", "extend", "finish", "collect", "release", "nudge"];
const CONTENT_TYPES = [
  "application/json",
  "application/json",
  "application/json; charset=utf-8",
  "APPLICATION/JSON",
  "application/json-evil",
  "text/plain",
  "multipart/form-data; boundary=x",
  "application/x-www-form-urlencoded",
  "",
  "application/json; charset=utf-16",
];

function fill(r: Rand, template: string, ctx: GenContext): string {
  return template
    .replace(":machine", idLike(r, ctx.machineIds))
    .replace(":action", chance(r, 0.85) ? pick(r, ACTIONS) : idLike(r, []))
    .replace(":user", idLike(r, ctx.userIds))
    .replace(":notice", idLike(r, ctx.noticeIds))
    .replace(":invite", idLike(r, ctx.inviteCodes))
    .replace(":device", chance(r, 0.5) ? "dev-" + Math.floor(r() * 1e8) : idLike(r, []))
    .replace(":kind", pick(r, ["washer", "dryer", "x", idLike(r, [])]))
    .replace(":n", pick(r, ["10", "-1", "1e9", "abc", "", "5"]))
    .replace(
      ":cursor",
      enc(pick(r, ["", "0:0:0", "x", "1:2", "999999:1:1", junkString(r, 20)])),
    )
    .replace(":page", pick(r, PAGE_PATHS));
}

/** Generate the `i`-th request of the sequence for `seed` (pure in `seed`, `i`, `ctx`). */
export function hostileRequest(seed: number, i: number, ctx: GenContext): HostileRequest {
  const r = rng(seed * 1_000_003 + i);
  const role = pick(r, ["anon", "resident", "admin"] as const);
  const [routeMethod, template] = pick(r, ROUTES);
  const method = chance(r, 0.85) ? routeMethod : pick(r, METHODS);
  const path = fill(r, template, ctx);
  const headers: Record<string, string> = {};
  const write = !["GET", "HEAD", "OPTIONS"].includes(method);
  const o = r();
  if (o < 0.7) headers["origin"] = ctx.origin;
  else if (o < 0.8) headers["origin"] = "http://evil.example";
  else if (o < 0.85) headers["origin"] = "null";
  else if (o < 0.9) headers["sec-fetch-site"] = pick(r, ["same-origin", "cross-site", "none"]);
  let b: string | Uint8Array | undefined;
  if (write || chance(r, 0.05)) {
    b = body(r, path, ctx);
    const ct = pick(r, CONTENT_TYPES);
    if (ct) headers["content-type"] = ct;
  }
  if (["GET", "HEAD"].includes(method)) b = undefined; // fetch forbids a body there
  if (chance(r, 0.05)) {
    headers["host"] = pick(r, ["a b", "evil.example", "127.0.0.1.nip.io", "x;y"]);
  }
  if (chance(r, 0.1)) {
    headers["x-forwarded-for"] = pick(r, ["1.2.3.4", "1.1.1.1, 2.2.2.2", "garbage", "::1", ""]);
  }
  if (chance(r, 0.05)) headers["x-forwarded-proto"] = pick(r, ["https", "http", "gopher"]);
  if (chance(r, 0.05)) headers["accept-language"] = junkString(r, 100);
  if (chance(r, 0.05)) headers["referer"] = pick(r, [`${ctx.origin}//evil.example`, "junk"]);
  if (chance(r, 0.05)) headers["cookie"] = pick(r, ["ll_session=" + "x".repeat(500), "lang=xx"]);
  if (path.startsWith("/ws") && chance(r, 0.8)) {
    headers["upgrade"] = "websocket";
    if (chance(r, 0.6)) headers["connection"] = "Upgrade";
    if (chance(r, 0.6)) headers["sec-websocket-key"] = "dGhlIHNhbXBsZSBub25jZQ==";
    if (chance(r, 0.6)) headers["sec-websocket-version"] = pick(r, ["13", "8"]);
  }
  if (b !== undefined && chance(r, 0.05)) {
    headers["content-length"] = pick(r, ["100000000", "abc", "-1"]);
  }
  return { role, method, path, headers, body: b };
}
