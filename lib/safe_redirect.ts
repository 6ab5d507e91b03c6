/**
 * Where a "go back" redirect may point: only a path on our own origin.
 * @module
 */

/**
 * The path (with query) of `target` if it is a URL on `selfOrigin`, else
 * `fallback`. The result always starts with exactly one `/` and contains no
 * backslash or control character, so a browser cannot read it as another
 * host (`//evil.example`, `/\evil.example`, `/%09/evil.example` decoded …).
 */
export function sameOriginPath(
  target: string | undefined | null,
  selfOrigin: string,
  fallback = "/",
): string {
  if (!target) return fallback;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return fallback;
  }
  if (url.origin !== selfOrigin) return fallback;
  const path = url.pathname + url.search;
  // deno-lint-ignore no-control-regex
  if (!path.startsWith("/") || path.startsWith("//") || /[\\\x00-\x1f\x7f]/.test(path)) {
    return fallback;
  }
  return path;
}
