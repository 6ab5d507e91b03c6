/**
 * Every error code the server can emit has a translation in both languages,
 * and the client shows that translation (never the API's English message).
 * The codes are collected from the server's source, so a new
 * `throw new HttpError(…, "code", …)` without catalogue entries fails here.
 */
import assert from "node:assert/strict";
import { catalogue, type MessageKey } from "../lib/i18n.ts";
import { ApiError } from "./api.ts";
import { errorField, errorText, formatWait } from "./errors.ts";

const root = new URL("../", import.meta.url);

async function* sources(dir: string): AsyncGenerator<[string, string]> {
  for await (const e of Deno.readDir(new URL(dir, root))) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* sources(path);
    else if (/\.tsx?$/.test(e.name) && !/_test\.tsx?$/.test(e.name)) {
      yield [path, await Deno.readTextFile(new URL(path, root))];
    }
  }
}

/** Codes the server can put in `{error:{code}}` (HTTP) or `{type:"error",code}` (WebSocket). */
async function serverCodes(): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const patterns = [
    /new HttpError\(\s*[^,]+,\s*"([a-z_]+)"/g, // HttpError(status, "code", …)
    /new StoreError\(\s*"([a-z_]+)"/g, // StoreError("code", …)
    /\bfail\(\s*"([a-z_]+)"/g, // lifecycle refusals
    /\bcode:\s*"([a-z_]+)"/g, // refusal objects, protocol errors
    /errorBody\(\s*"([a-z_]+)"/g, // notFound / onError bodies
  ];
  for (const dir of ["lib", "routes"]) {
    for await (const [path, text] of sources(dir)) {
      for (const re of patterns) {
        for (const m of text.matchAll(re)) if (!found.has(m[1])) found.set(m[1], path);
      }
      // Conditional status codes: HttpError(cond ? 404 : 409, r.code, …) forward a refusal's code;
      // the union type of refusal codes lists them.
      for (const m of text.matchAll(/code:\s*((?:"[a-z_]+"\s*\|\s*)+"[a-z_]+")/g)) {
        for (const c of m[1].matchAll(/"([a-z_]+)"/g)) found.set(c[1], path);
      }
      for (const m of text.matchAll(/type LifecycleError =([^;]+);/g)) {
        for (const c of m[1].matchAll(/"([a-z_]+)"/g)) found.set(c[1], path);
      }
    }
  }
  return found;
}

Deno.test("every error code the server emits has err.<code> in Korean and English", async () => {
  const codes = await serverCodes();
  // Sanity: the scan sees codes from each source kind.
  for (const c of ["bad_credentials", "login_taken", "invalid_state", "cooldown", "bad_frame"]) {
    assert.ok(codes.has(c), `scan found ${c}`);
  }
  assert.ok(codes.size >= 35, `found ${codes.size} codes`);
  const ko = catalogue("ko") as Record<string, string>;
  const en = catalogue("en") as Record<string, string>;
  const missing = [...codes].filter(([c]) => !ko[`err.${c}`] || !en[`err.${c}`])
    .map(([c, path]) => `${c} (${path})`);
  assert.deepEqual(missing, [], "codes without both translations");
  // The client-only code too.
  assert.ok(ko["err.network"] && en["err.network"]);
});

Deno.test("errorText translates the code and never shows the API's message", () => {
  const e = new ApiError(401, "bad_credentials", "Wrong login id or password.");
  assert.equal(errorText("ko", e), catalogue("ko")["err.bad_credentials"]);
  assert.equal(errorText("en", e), catalogue("en")["err.bad_credentials"]);
  // An unknown code falls back to a generic sentence, not the raw English message.
  const odd = new ApiError(409, "brand_new_code", "Some English text");
  assert.equal(errorText("ko", odd), catalogue("ko")["error.generic"]);
  assert.equal(
    errorText("ko", new ApiError(502, "http_502", "Bad Gateway")),
    catalogue("ko")["err.internal"],
  );
  assert.equal(errorText("ko", new TypeError("x")), catalogue("ko")["error.generic"]);
});

Deno.test("errorText adds the wait; invalid_body uses the field's rule", () => {
  const lock = new ApiError(429, "rate_limited", "Too many", undefined, 600);
  assert.equal(errorText("ko", lock), "시도가 너무 많아요. 10분 뒤에 다시 시도할 수 있어요.");
  assert.equal(errorText("en", lock), "Too many attempts. You can try again in 10 min.");
  assert.equal(formatWait("ko", 42), "42초");
  assert.equal(formatWait("en", 61), "2 min");
  const field = new ApiError(400, "invalid_body", "loginId: use letters", "loginId");
  assert.equal(errorText("ko", field), catalogue("ko")["err.field.loginId" as MessageKey]);
  assert.equal(errorField(field), "loginId");
  assert.equal(errorField(new ApiError(409, "login_taken", "")), "loginId");
  assert.equal(errorField(new ApiError(400, "invalid_invite", "")), "inviteCode");
  // A field without a rule of its own gets the generic invalid_body sentence.
  const other = new ApiError(400, "invalid_body", "x: bad", "timeZone");
  assert.equal(errorText("en", other), catalogue("en")["err.invalid_body"]);
});
