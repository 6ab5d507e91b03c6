import assert from "node:assert/strict";
import { base64UrlToBytes } from "./base64url.ts";

Deno.test("base64UrlToBytes decodes with or without padding and refuses other alphabets", () => {
  assert.deepEqual([...base64UrlToBytes("AQID")!], [1, 2, 3]);
  assert.deepEqual([...base64UrlToBytes("-_8")!], [251, 255]);
  assert.deepEqual([...base64UrlToBytes("-_8=")!], [251, 255]);
  assert.equal(base64UrlToBytes("+/8="), null, "standard base64 is not base64url");
  assert.equal(base64UrlToBytes("A"), null, "impossible length");
  assert.deepEqual([...base64UrlToBytes("")!], []);
});
