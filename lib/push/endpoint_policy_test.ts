import assert from "node:assert/strict";
import { isAllowedEndpoint, MAX_ENDPOINT_LENGTH, parseAllowList } from "./endpoint_policy.ts";

const REAL_ENDPOINTS = [
  "https://fcm.googleapis.com/fcm/send/dQw4w9WgXcQ:APA91bHun4MxP5egoKMwt2KZFBaFUH",
  "https://fcm.googleapis.com/wp/dQw4w9WgXcQ:APA91bHun4MxP5egoKMwt2KZFBaFUH",
  "https://android.googleapis.com/gcm/send/abc123",
  "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABl_abc-def",
  "https://updates.push.services.mozilla.com/wpush/v1/gAAAAABl",
  "https://web.push.apple.com/QGZ2x0Yp8yLr-hmvG7wR2uBGY",
  "https://api.push.apple.com/3/device/abc",
  "https://wns2-par02p.notify.windows.com/w/?token=BQYAAADa%2bXk%3d",
  "https://db5p.notify.windows.com/w/?token=AwYAAAB",
];

Deno.test("isAllowedEndpoint accepts real endpoints of the known push services", () => {
  for (const endpoint of REAL_ENDPOINTS) {
    assert.equal(isAllowedEndpoint(endpoint, []), true, endpoint);
  }
});

Deno.test("isAllowedEndpoint rejects plain http and explicit ports on known services", () => {
  for (
    const endpoint of [
      "http://fcm.googleapis.com/fcm/send/abc",
      "https://fcm.googleapis.com:8443/fcm/send/abc",
      "https://fcm.googleapis.com:443/fcm/send/abc", // not canonical
      "wss://fcm.googleapis.com/fcm/send/abc",
      "ftp://fcm.googleapis.com/abc",
    ]
  ) {
    assert.equal(isAllowedEndpoint(endpoint, []), false, endpoint);
  }
});

Deno.test("isAllowedEndpoint rejects other hosts and look-alikes", () => {
  for (
    const endpoint of [
      "https://example.com/push",
      "https://fcm.googleapis.com.evil.example/fcm/send/abc",
      "https://evilfcm.googleapis.com/fcm/send/abc",
      "https://googleapis.com/fcm/send/abc",
      "https://push.apple.com/abc",
      "https://a.b.push.apple.com/abc",
      "https://notify.windows.com/w/",
      "https://-x.notify.windows.com/w/",
      "https://x_y.notify.windows.com/w/",
      "https://push.services.mozilla.com/wpush/v2/abc",
      "https://updates.push.services.mozilla.com.evil.example/wpush",
      "https://127.0.0.1/fcm/send/abc",
      "https://[::1]/fcm/send/abc",
      "https://2130706433/fcm/send/abc",
      "https://0x7f.0.0.1/fcm/send/abc",
    ]
  ) {
    assert.equal(isAllowedEndpoint(endpoint, []), false, endpoint);
  }
});

Deno.test("isAllowedEndpoint rejects userinfo, fragments and non-canonical URLs", () => {
  for (
    const endpoint of [
      "https://user@fcm.googleapis.com/fcm/send/abc",
      "https://user:pw@fcm.googleapis.com/fcm/send/abc",
      "https://fcm.googleapis.com@127.0.0.1/fcm/send/abc",
      "https://fcm.googleapis.com/fcm/send/abc#frag",
      "https://fcm.googleapis.com./fcm/send/abc",
      "https://FCM.googleapis.com/fcm/send/abc",
      "HTTPS://fcm.googleapis.com/fcm/send/abc",
      "https://fcm.googleapis%2Ecom/fcm/send/abc",
      "https://fcm.googleapis.com/fcm/../send/abc",
      "https://fcm.googleapis.com",
      "https://evil.example\\@fcm.googleapis.com/",
      "https://fcm.googleapis.com\\@evil.example/",
      " https://fcm.googleapis.com/fcm/send/abc",
      "https://fcm.googleapis.com/fcm/send/a b",
      "https://fcm.googleapis.com/fcm/send/a\nb",
      "https://fcm.googleapis.com/fcm/send/a\tb",
      "https://xn--fcm-googleapis-com.notify.windows.com.evil/",
      "//fcm.googleapis.com/fcm/send/abc",
      "fcm.googleapis.com/fcm/send/abc",
      "",
    ]
  ) {
    assert.equal(isAllowedEndpoint(endpoint, []), false, JSON.stringify(endpoint));
  }
});

Deno.test("isAllowedEndpoint rejects overlong endpoints", () => {
  const prefix = "https://fcm.googleapis.com/fcm/send/";
  const ok = prefix + "a".repeat(MAX_ENDPOINT_LENGTH - prefix.length);
  assert.equal(isAllowedEndpoint(ok, []), true);
  assert.equal(isAllowedEndpoint(ok + "a", []), false);
});

Deno.test("isAllowedEndpoint accepts extra origins exactly (scheme, host and port)", () => {
  const extra = parseAllowList("http://127.0.0.1:9012, https://push.example.test");
  assert.equal(isAllowedEndpoint("http://127.0.0.1:9012/notify/abc", extra), true);
  assert.equal(isAllowedEndpoint("https://push.example.test/x/y?z=1", extra), true);

  for (
    const endpoint of [
      "http://127.0.0.1:9013/notify/abc", // other port
      "http://127.0.0.1/notify/abc", // default port
      "https://127.0.0.1:9012/notify/abc", // other scheme
      "http://localhost:9012/notify/abc", // other host name
      "http://127.0.0.2:9012/notify/abc",
      "http://push.example.test/x", // http not listed for this host
      "https://push.example.test:444/x",
      "https://sub.push.example.test/x",
      "http://u@127.0.0.1:9012/notify/abc",
      "http://127.0.0.1:9012/notify/abc#x",
    ]
  ) {
    assert.equal(isAllowedEndpoint(endpoint, extra), false, endpoint);
  }
});

Deno.test("isAllowedEndpoint normalises raw extra origins and skips invalid ones", () => {
  assert.equal(isAllowedEndpoint("http://127.0.0.1:9012/n", ["HTTP://127.0.0.1:9012/"]), true);
  assert.equal(isAllowedEndpoint("http://127.0.0.1:9012/n", ["not a url", "file:///x"]), false);
  assert.equal(isAllowedEndpoint("file:///etc/passwd", ["file:///etc"]), false);
});

Deno.test("parseAllowList splits, trims, normalises and de-duplicates", () => {
  assert.deepEqual(parseAllowList(undefined), []);
  assert.deepEqual(parseAllowList(""), []);
  assert.deepEqual(parseAllowList(" , ,"), []);
  assert.deepEqual(
    parseAllowList(" http://127.0.0.1:9012 ,HTTPS://Push.Example.test:443/,http://127.0.0.1:9012"),
    ["http://127.0.0.1:9012", "https://push.example.test"],
  );
  assert.deepEqual(parseAllowList("http://[::1]:8080"), ["http://[::1]:8080"]);
});

Deno.test("parseAllowList throws on entries that are not plain origins", () => {
  for (
    const env of [
      "127.0.0.1:9012",
      "localhost",
      "ftp://127.0.0.1:21",
      "http://127.0.0.1:9012/path",
      "http://127.0.0.1:9012/?q=1",
      "http://127.0.0.1:9012/#x",
      "http://user@127.0.0.1:9012",
      "http://127.0.0.1:99999",
      "http://ok.test, nope",
      "http://a b.test",
    ]
  ) {
    assert.throws(() => parseAllowList(env), TypeError, env);
  }
});

Deno.test("isAllowedEndpoint accepts a one-letter label under a wildcard service", () => {
  assert.equal(isAllowedEndpoint("https://a.notify.windows.com/w/?token=x", []), true);
  assert.equal(isAllowedEndpoint("https://7.push.apple.com/3/device/abc", []), true);
  assert.equal(isAllowedEndpoint("https://a-.push.apple.com/3/device/abc", []), false);
});

Deno.test("isAllowedEndpoint rejects a password without a user name and an empty fragment", () => {
  for (
    const endpoint of [
      "https://:pw@fcm.googleapis.com/fcm/send/abc", // canonical, username ""
      "https://fcm.googleapis.com/fcm/send/abc#", // canonical, hash ""
    ]
  ) {
    assert.equal(new URL(endpoint).href, endpoint, "the URL parser keeps it as is");
    assert.equal(isAllowedEndpoint(endpoint, []), false, endpoint);
  }
  const extra = ["http://127.0.0.1:9012"];
  assert.equal(isAllowedEndpoint("http://:pw@127.0.0.1:9012/n", extra), false);
  assert.equal(isAllowedEndpoint("http://127.0.0.1:9012/n#", extra), false);
});

Deno.test("parseAllowList refuses what the URL parser would quietly repair", () => {
  for (
    const env of [
      "\x01http://127.0.0.1:9012", // leading control character (the parser strips it)
      "http://127.0.0.1:9012\\", // backslash (the parser reads it as "/")
      "http://127.0.0.1:9012\x00",
      "http://:pw@127.0.0.1:9012", // password without a user name
      "http://push.example.test.:9012", // trailing-dot host
      "http://push.example.test.",
    ]
  ) {
    assert.throws(
      () => parseAllowList(env),
      (e: unknown) =>
        e instanceof TypeError &&
        e.message === `PUSH_ENDPOINT_ALLOW: "${env}" is not an origin like http://127.0.0.1:9012`,
      JSON.stringify(env),
    );
  }
});

Deno.test("parseAllowList names the bad entry when it does not parse at all", () => {
  assert.throws(
    () => parseAllowList("http://127.0.0.1:9012, nope"),
    (e: unknown) =>
      e instanceof TypeError &&
      e.message === 'PUSH_ENDPOINT_ALLOW: "nope" is not an origin like http://127.0.0.1:9012',
  );
});

Deno.test("isAllowedEndpoint rejects a backslash in the query, which the URL parser keeps as is", () => {
  const endpoint = "https://fcm.googleapis.com/fcm/send/abc?x=a\\b";
  assert.equal(new URL(endpoint).href, endpoint, "canonical, so only the character check stops it");
  assert.equal(isAllowedEndpoint(endpoint, []), false);
});
