import assert from "node:assert/strict";
import { BACKOFF_MAX_MS, BACKOFF_MIN_MS, backoffDelay } from "./live.ts";

Deno.test("backoffDelay: full jitter between 0.5 s and an exponentially growing cap of 20 s", () => {
  assert.equal(backoffDelay(0, () => 0), BACKOFF_MIN_MS);
  assert.equal(backoffDelay(3, () => 0.999), Math.floor(0.999 * 4000));
  assert.equal(backoffDelay(30, () => 0.999), Math.floor(0.999 * BACKOFF_MAX_MS));
  for (let a = 0; a < 12; a++) {
    const d = backoffDelay(a);
    assert.ok(d >= BACKOFF_MIN_MS && d <= BACKOFF_MAX_MS, `attempt ${a}: ${d}`);
  }
});
