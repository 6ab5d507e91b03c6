import assert from "node:assert/strict";
import { z } from "zod";
import { displayText } from "./text.ts";

const Name = z.object({ name: displayText(10) });

Deno.test("displayText: NFC-normalised and trimmed", () => {
  const decomposed = "\u1112\u1161\u11AB"; // 한 as conjoining jamo
  const r = Name.parse({ name: `  ${decomposed}  ` });
  assert.equal(r.name, "한");
  assert.equal(r.name, r.name.normalize("NFC"));
  assert.equal(Name.parse({ name: "Jos\u0065\u0301" }).name, "Jos\u00e9");
});

Deno.test("displayText: control, bidi-override and invisible-only text refused", () => {
  for (
    const bad of [
      "a\u0000b",
      "a\nb",
      "tab\there",
      "evil\u202Etxt.exe",
      "\u2066iso\u2069",
      "\u200B\u200B",
      "\u200D",
      "   ",
      "\u3164",
      "",
      "x".repeat(11),
    ]
  ) {
    assert.equal(Name.safeParse({ name: bad }).success, false, JSON.stringify(bad));
  }
  assert.equal(Name.safeParse({ name: "김철수 👍" }).success, true);
});
