/**
 * Decides which origin a request is "for", before anything reads
 * `c.req.url`:
 *
 * - with `PUBLIC_URL` configured, the request URL's scheme and host are
 *   replaced by it, whatever `Host` says. Cookies' `Secure` flag, HSTS, the
 *   CSP's `connect-src`, and the CSRF and WebSocket Origin checks all read the
 *   URL, so they are pinned to the public origin and no client-chosen Host is
 *   reflected anywhere.
 * - otherwise, behind a trusted proxy (`TRUST_PROXY`), `X-Forwarded-Proto`
 *   (its right-most value, the one our proxy set) replaces the scheme, so a
 *   TLS-terminating proxy yields `https:` (Secure cookies, HSTS, `wss:`).
 *
 * The replaced request keeps method, headers and body. Deno cannot upgrade a
 * copied request (the handshake answers 101 but the socket never opens), so
 * the WebSocket route upgrades {@link originalRequest} instead.
 * @module
 */
import type { MiddlewareHandler } from "hono";

/** Options of {@link publicOrigin}. */
export interface PublicOriginOptions {
  /** The configured public origin (`PUBLIC_URL`), if any. */
  publicUrl?: string;
  /** Honour `X-Forwarded-Proto` (`TRUST_PROXY`). */
  trustProxy: boolean;
}

/** The origin a request is for (see the module comment). */
export function effectiveUrl(req: Request, opts: PublicOriginOptions): URL {
  const url = new URL(req.url);
  // A fresh URL: assigning `host` would keep the client's port when ours has none.
  if (opts.publicUrl) return new URL(url.pathname + url.search, opts.publicUrl);
  if (opts.trustProxy) {
    const xfp = req.headers.get("x-forwarded-proto");
    const proto = xfp?.split(",").pop()?.trim().toLowerCase();
    if (proto === "https" || proto === "http") url.protocol = proto + ":";
  }
  return url;
}

/** Rewrite the request URL to its public origin (see the module comment). */
export function publicOrigin(opts: PublicOriginOptions): MiddlewareHandler {
  return async (c, next) => {
    const url = effectiveUrl(c.req.raw, opts).href;
    if (url !== c.req.url) {
      const original = c.req.raw;
      // Not `new Request(url, original)`: that reads `original.signal`, which makes Deno
      // print its legacy-abort warning; nothing here listens to the signal.
      c.req.raw = new Request(url, {
        method: original.method,
        headers: original.headers,
        body: original.body,
        duplex: "half",
      } as RequestInit);
      originals.set(c.req.raw, original);
    }
    await next();
  };
}

const originals = new WeakMap<Request, Request>();

/** The request as Deno.serve delivered it (to pass to `Deno.upgradeWebSocket`). */
export function originalRequest(req: Request): Request {
  return originals.get(req) ?? req;
}
