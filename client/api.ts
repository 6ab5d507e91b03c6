/**
 * Browser helpers for the JSON API: same-origin fetch with JSON bodies and
 * the API's `{error:{code,message}}` shape turned into {@link ApiError}.
 * @module
 */

/** An API error with its code and HTTP status. */
export class ApiError extends Error {
  /** Create an API error. */
  constructor(readonly status: number, readonly code: string, message: string) {
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
    const e = (json as { error?: { code?: string; message?: string } }).error;
    throw new ApiError(res.status, e?.code ?? "http_" + res.status, e?.message ?? res.statusText);
  }
  return json as T;
}
