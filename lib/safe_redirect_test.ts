import assert from "node:assert/strict";
import { sameOriginPath } from "./safe_redirect.ts";

Deno.test("sameOriginPath: keeps our own paths", () => {
  const self = "https://app.test";
  assert.equal(sameOriginPath("https://app.test/inbox?x=1", self), "/inbox?x=1");
  assert.equal(sameOriginPath("https://app.test/", self), "/");
});

Deno.test("sameOriginPath: never another origin or a protocol-relative path", () => {
  const self = "https://app.test";
  for (
    const bad of [
      "https://app.test//evil.example/",
      "https://app.test//evil.example",
      "https://app.test/\\evil.example",
      "https://app.test.evil.example/",
      "https://evil.example/",
      "http://app.test/",
      "javascript:alert(1)",
      "//evil.example",
      "/relative",
      "not a url",
      "",
      undefined,
    ]
  ) {
    assert.equal(sameOriginPath(bad, self), "/", String(bad));
  }
});
