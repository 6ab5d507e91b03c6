/**
 * Browser helpers for the JSON API: same-origin fetch with JSON bodies and
 * the API's `{error:{code,message}}` shape turned into {@link ApiError}.
 * @module
 */

/**
 * An API error with its code and HTTP status, the body field at fault (if
 * any) and when a retry can succeed (`retryAfterSec`, from the body or the
 * `Retry-After` header). Its `message` is the API's English developer text:
 * show {@link ../client/errors.ts errorText} to people instead.
 */
export class ApiError extends Error {
  /** Create an API error. */
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly retryAfterSec?: number,
  ) {
    super(message);
  }
}

/** Call the API: `api("POST", "/api/machines/x/hold", {})`. */
export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "network");
  }
  const json = await res.json().catch(() => ({}));
  if (!res.ok) {
    const e = (json as {
      error?: { code?: string; message?: string; field?: string; retryAfterSec?: number };
    }).error;
    const header = Number(res.headers.get("retry-after"));
    const retry = typeof e?.retryAfterSec === "number"
      ? e.retryAfterSec
      : Number.isFinite(header) && header > 0
      ? header
      : undefined;
    throw new ApiError(
      res.status,
      e?.code ?? "http_" + res.status,
      e?.message ?? res.statusText,
      typeof e?.field === "string" ? e.field : undefined,
      retry,
    );
  }
  return json as T;
}
