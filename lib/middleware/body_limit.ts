/**
 * Request body size limit, enforced before sessions, CSRF and parsing.
 *
 * Built on Hono's `hono/body-limit`, which fits: a declared `Content-Length`
 * over the limit is refused at once without reading a byte of the body, and a
 * body without one (chunked) is read chunk by chunk and refused as soon as the
 * running total passes the limit, so at most `maxBytes` are ever held in
 * memory. We only replace its plain-text 413 with the API's JSON error.
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import { errorBody } from "../http.ts";

/** Refuse request bodies over `maxBytes` with 413 `{error:{code:"too_large"}}`. */
export function bodyLimit(maxBytes: number): MiddlewareHandler {
  return honoBodyLimit({
    maxSize: maxBytes,
    onError: (c) => {
      c.header("Connection", "close");
      return c.json(
        errorBody("too_large", `Request body too large (at most ${maxBytes} bytes).`),
        413,
      );
    },
  });
}
