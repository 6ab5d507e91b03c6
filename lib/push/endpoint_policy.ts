/**
 * Which Web Push endpoints the server is willing to POST to.
 *
 * A push subscription's endpoint comes from the client, so without a check the
 * server could be told to send requests to any host (SSRF). Only https
 * endpoints on the well-known browser push services are accepted, plus the
 * exact origins an operator lists in `PUSH_ENDPOINT_ALLOW` (for example a
 * local test push service on `http://127.0.0.1:9012`).
 *
 * @example
 * ```ts
 * import { isAllowedEndpoint, parseAllowList } from "./endpoint_policy.ts";
 * const extra = parseAllowList(Deno.env.get("PUSH_ENDPOINT_ALLOW"));
 * isAllowedEndpoint("https://fcm.googleapis.com/fcm/send/abc", extra); // true
 * ```
 * @module
 */

/** Longest endpoint accepted, in characters (real ones are under 600). */
export const MAX_ENDPOINT_LENGTH = 2048;

/** Push-service host names accepted exactly. */
const EXACT_HOSTS: ReadonlySet<string> = new Set([
  "fcm.googleapis.com",
  "android.googleapis.com",
  "updates.push.services.mozilla.com",
  "web.push.apple.com",
]);

/**
 * Push-service domains under which exactly one extra DNS label is accepted
 * (`*.push.apple.com` matches `api.push.apple.com`, not `a.b.push.apple.com`).
 */
const WILDCARD_SUFFIXES: readonly string[] = [
  ".push.services.mozilla.com",
  ".push.apple.com",
  ".notify.windows.com",
];

/** One letter-digit-hyphen DNS label (no leading/trailing hyphen). */
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** True for characters never found in a genuine endpoint: whitespace, controls, backslash. */
function hasForbiddenChars(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x5c) return true; // controls, space, DEL, "\"
  }
  return /\s/.test(value); // other Unicode white space (NBSP, U+2028, …)
}

function isKnownPushHost(hostname: string): boolean {
  if (EXACT_HOSTS.has(hostname)) return true;
  for (const suffix of WILDCARD_SUFFIXES) {
    if (hostname.endsWith(suffix)) {
      const label = hostname.slice(0, -suffix.length);
      return DNS_LABEL.test(label);
    }
  }
  return false;
}

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/**
 * Parses `PUSH_ENDPOINT_ALLOW`: a comma-separated list of origins such as
 * `http://127.0.0.1:9012,https://push.example.test`. Blank entries are
 * ignored. Each entry must be an `http:` or `https:` origin (an optional
 * trailing `/` is tolerated) without user info, path, query or fragment.
 *
 * @param env The raw variable value; `undefined` or blank gives `[]`.
 * @returns The normalised origins (`URL.origin` form), without duplicates.
 * @throws {TypeError} When an entry is not a plain http(s) origin, so that a
 *   typo in the configuration fails loudly at start-up.
 */
export function parseAllowList(env: string | undefined): string[] {
  if (env === undefined) return [];
  const origins: string[] = [];
  for (const raw of env.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const url = hasForbiddenChars(entry) ? undefined : parseUrl(entry);
    if (
      url === undefined ||
      (url.protocol !== "http:" && url.protocol !== "https:") ||
      url.username !== "" || url.password !== "" ||
      url.pathname !== "/" || url.search !== "" || url.hash !== "" ||
      entry.includes("?") || entry.includes("#") ||
      url.hostname === "" || url.hostname.endsWith(".")
    ) {
      throw new TypeError(
        `PUSH_ENDPOINT_ALLOW: "${entry}" is not an origin like http://127.0.0.1:9012`,
      );
    }
    if (!origins.includes(url.origin)) origins.push(url.origin);
  }
  return origins;
}

/**
 * Tells whether the server may send Web Push messages to `endpoint`.
 *
 * Accepted:
 * - `https:` endpoints on FCM (`fcm.googleapis.com`, `android.googleapis.com`),
 *   Mozilla (`updates.push.services.mozilla.com`, `*.push.services.mozilla.com`),
 *   Apple (`web.push.apple.com`, `*.push.apple.com`) and Windows
 *   (`*.notify.windows.com`) on the default port;
 * - any endpoint whose origin (scheme, host and port) equals one of
 *   `extraOrigins` exactly; plain `http:` is allowed only this way.
 *
 * Rejected: anything that does not parse, is longer than
 * {@link MAX_ENDPOINT_LENGTH}, carries user info or a fragment, contains
 * whitespace, control characters or backslashes, is not in canonical URL form
 * (so `HTTPS://FCM.googleapis.com`, `:443`, percent-encoded or trailing-dot host
 * names and dot segments are refused), uses an explicit port or an IP address
 * on a known service.
 *
 * @param endpoint The subscription endpoint sent by the client.
 * @param extraOrigins Origins from {@link parseAllowList}; raw origins are
 *   normalised too, invalid ones are ignored.
 * @returns `true` when the endpoint is acceptable.
 */
export function isAllowedEndpoint(endpoint: string, extraOrigins: string[]): boolean {
  if (typeof endpoint !== "string" || endpoint.length === 0) return false;
  if (endpoint.length > MAX_ENDPOINT_LENGTH) return false;
  if (hasForbiddenChars(endpoint)) return false;
  const url = parseUrl(endpoint);
  if (url === undefined) return false;
  // Canonical form only: what we store is exactly what fetch() will request.
  if (url.href !== endpoint) return false;
  if (url.username !== "" || url.password !== "") return false;
  if (url.hash !== "" || endpoint.includes("#")) return false;

  for (const extra of extraOrigins) {
    const allowed = parseUrl(extra);
    if (allowed === undefined) continue;
    if (allowed.protocol !== "http:" && allowed.protocol !== "https:") continue;
    if (allowed.origin === url.origin) return true;
  }

  if (url.protocol !== "https:") return false;
  if (url.port !== "") return false;
  return isKnownPushHost(url.hostname);
}
