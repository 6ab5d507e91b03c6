import assert from "node:assert/strict";
import { asciiJson, MAX_CLIENT_FRAME, parseClientMessage } from "./protocol.ts";

function code(data: unknown): string | undefined {
  const r = parseClientMessage(data);
  return r.ok ? undefined : r.code;
}

Deno.test("parseClientMessage: valid messages", () => {
  assert.deepEqual(parseClientMessage('{"type":"ping"}'), { ok: true, msg: { type: "ping" } });
  assert.deepEqual(parseClientMessage('{"type":"ping","t":123}'), {
    ok: true,
    msg: { type: "ping", t: 123 },
  });
  assert.deepEqual(parseClientMessage('{"type":"pong","t":1.5}'), {
    ok: true,
    msg: { type: "pong", t: 1.5 },
  });
  assert.deepEqual(parseClientMessage('{"type":"pong"}'), { ok: true, msg: { type: "pong" } });
  assert.deepEqual(parseClientMessage('{"type":"visibility","visible":true}'), {
    ok: true,
    msg: { type: "visibility", visible: true },
  });
  assert.deepEqual(parseClientMessage(' {"visible":false, "type":"visibility"} '), {
    ok: true,
    msg: { type: "visibility", visible: false },
  });
});

Deno.test("parseClientMessage: bad JSON", () => {
  for (const s of ["", "{", "not json", "{'type':'ping'}", '{"type":"ping",}']) {
    const r = parseClientMessage(s);
    assert.equal(r.ok, false, s);
    if (!r.ok) {
      assert.equal(r.code, "bad_json", s);
      assert.ok(r.message.length > 0);
    }
  }
});

Deno.test("parseClientMessage: unknown type, unknown or wrong fields", () => {
  const bad = [
    '{"type":"subscribe"}',
    '{"type":"PING"}',
    '{"t":1}',
    "{}",
    "[]",
    "42",
    "null",
    '"ping"',
    '{"type":"ping","extra":1}',
    '{"type":"visibility","visible":true,"x":null}',
    '{"type":"visibility"}',
    '{"type":"visibility","visible":"yes"}',
    '{"type":"ping","t":"1"}',
    '{"type":"pong","t":null}',
  ];
  for (const s of bad) {
    const r = parseClientMessage(s);
    assert.equal(r.ok, false, s);
    if (!r.ok) {
      assert.equal(r.code, "bad_message", s);
      assert.ok(r.message.length > 0, s);
    }
  }
});

Deno.test("parseClientMessage: frames over MAX_CLIENT_FRAME are too large", () => {
  assert.equal(MAX_CLIENT_FRAME, 4096);
  const msg = '{"type":"ping"}';
  const atLimit = msg + " ".repeat(MAX_CLIENT_FRAME - msg.length);
  assert.equal(atLimit.length, MAX_CLIENT_FRAME);
  assert.equal(parseClientMessage(atLimit).ok, true);
  assert.equal(code(atLimit + " "), "too_large");
  assert.equal(code("x".repeat(100_000)), "too_large");
});

Deno.test("parseClientMessage: binary and non-string frames are refused", () => {
  const bytes = new TextEncoder().encode('{"type":"ping"}');
  assert.equal(code(bytes), "bad_frame");
  assert.equal(code(bytes.buffer), "bad_frame");
  assert.equal(code(new Blob([bytes])), "bad_frame");
  assert.equal(code(undefined), "bad_frame");
  assert.equal(code(null), "bad_frame");
  assert.equal(code(42), "bad_frame");
  assert.equal(code({ type: "ping" }), "bad_frame");
});

Deno.test("asciiJson: ASCII only, and the same JSON to a parser (Hangul, Latin-1, emoji, escapes)", () => {
  const values = [
    { name: "세탁기 1 · Washer 1", body: "세탁물을 가져가 주세요.", emoji: "🧺✨" },
    { literal: "a \\u0041 stays text", quote: '"', nl: "line\nbreak", nul: "\u0000" },
    ["é", "ß", "\u00ff", "\u0100", "\uffff"],
    { n: 1, b: true, z: null },
  ];
  for (const v of values) {
    const s = asciiJson(v);
    assert.match(s, /^[\x20-\x7e]*$/, s);
    assert.deepEqual(JSON.parse(s), v);
  }
  assert.equal(asciiJson({ m: "세" }), '{"m":"\\uc138"}');
  assert.equal(asciiJson({ m: "plain" }), JSON.stringify({ m: "plain" }));
});

Deno.test("parseClientMessage: ack ids are 1–100 ids of 1–200 characters; every refusal says why", () => {
  const ack = (ids: unknown) => parseClientMessage(JSON.stringify({ type: "ack", ids }));
  const id = (n: number) => "x".repeat(n);
  for (
    const ids of [
      [id(1)],
      [id(200)],
      ["a", "b"],
      Array.from({ length: 100 }, (_, i) => `n${i}`),
    ]
  ) {
    assert.deepEqual(
      ack(ids),
      { ok: true, msg: { type: "ack", ids } },
      JSON.stringify(ids).length + "",
    );
  }
  for (const ids of [[], [""], [id(201)], Array.from({ length: 101 }, (_, i) => `n${i}`)]) {
    const r = ack(ids);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.code, "bad_message");
      assert.match(r.message, /^ids(\.\d+)?: \S/, r.message);
    }
  }
  // The field that is wrong leads the message; a message that is not an object says so.
  const wrong = parseClientMessage('{"type":"visibility","visible":"yes"}');
  assert.ok(!wrong.ok && wrong.message.startsWith("visible: "), JSON.stringify(wrong));
  const notObject = parseClientMessage("42");
  assert.ok(!notObject.ok && notObject.message.startsWith("message: "), JSON.stringify(notObject));
  assert.deepEqual(parseClientMessage(new Uint8Array([1])), {
    ok: false,
    code: "bad_frame",
    message: "Only text frames are accepted.",
  });
  assert.deepEqual(parseClientMessage(" ".repeat(MAX_CLIENT_FRAME + 1)), {
    ok: false,
    code: "too_large",
    message: "Frame too large.",
  });
});
