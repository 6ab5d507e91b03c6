import assert from "node:assert/strict";
import { atLeast, iosVersion, pushAvailability } from "./platform.ts";

const IPHONE_17 =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1";
const IPHONE_16_4 =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 16_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.4 Mobile/15E148 Safari/604.1";
const IPHONE_16_3 =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 16_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.3 Mobile/15E148 Safari/604.1";
const IPHONE_15_CRIOS =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 15_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/116.0.5845.177 Mobile/15E148 Safari/604.1";
const IPAD_MOBILE =
  "Mozilla/5.0 (iPad; CPU OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.5 Mobile/15E148 Safari/604.1";
const IPAD_DESKTOP =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15";
const ANDROID =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36";

Deno.test("iosVersion parses iPhone, iPad and iOS Chrome user agents", () => {
  assert.deepEqual(iosVersion(IPHONE_17), { major: 17, minor: 2, patch: 1 });
  assert.deepEqual(iosVersion(IPHONE_16_4), { major: 16, minor: 4, patch: 0 });
  assert.deepEqual(iosVersion(IPHONE_16_3), { major: 16, minor: 3, patch: 1 });
  assert.deepEqual(iosVersion(IPHONE_15_CRIOS), { major: 15, minor: 7, patch: 0 });
  assert.deepEqual(iosVersion(IPAD_MOBILE), { major: 16, minor: 5, patch: 0 });
});

Deno.test("iosVersion: desktop-mode iPad only with touch points; others are null", () => {
  assert.equal(iosVersion(IPAD_DESKTOP), null, "a real Mac has no touch points");
  assert.deepEqual(iosVersion(IPAD_DESKTOP, 5), { major: 17, minor: 1, patch: 0 });
  assert.equal(iosVersion(ANDROID), null);
  assert.equal(iosVersion(""), null);
  assert.deepEqual(
    iosVersion("Mozilla/5.0 (iPhone; CPU iPhone OS like Mac OS X)"),
    { major: 0, minor: 0, patch: 0 },
  );
});

Deno.test("atLeast compares major.minor", () => {
  assert.ok(atLeast({ major: 16, minor: 4, patch: 0 }, 16, 4));
  assert.ok(atLeast({ major: 17, minor: 0, patch: 0 }, 16, 4));
  assert.ok(!atLeast({ major: 16, minor: 3, patch: 9 }, 16, 4));
  assert.ok(!atLeast({ major: 15, minor: 9, patch: 0 }, 16, 4));
});

Deno.test("pushAvailability: iOS needs 16.4 and the home-screen app", () => {
  const env = (userAgent: string, standalone: boolean, pushSupported: boolean) => ({
    userAgent,
    standalone,
    pushSupported,
  });
  // Safari tab on a recent iPhone: no PushManager there; tell them to install.
  assert.equal(pushAvailability(env(IPHONE_17, false, false)), "ios_install");
  assert.equal(pushAvailability(env(IPHONE_16_4, false, false)), "ios_install");
  // Installed and opened from the home screen: push works.
  assert.equal(pushAvailability(env(IPHONE_17, true, true)), "ok");
  // Too old, installed or not.
  assert.equal(pushAvailability(env(IPHONE_16_3, false, false)), "ios_too_old");
  assert.equal(pushAvailability(env(IPHONE_16_3, true, false)), "ios_too_old");
  assert.equal(pushAvailability(env(IPHONE_15_CRIOS, false, false)), "ios_too_old");
  // Standalone but no Push API (e.g. disabled by a profile): say it is unavailable.
  assert.equal(pushAvailability(env(IPHONE_17, true, false)), "ios_too_old");
});

Deno.test("pushAvailability: other browsers follow feature detection", () => {
  assert.equal(
    pushAvailability({ userAgent: ANDROID, standalone: false, pushSupported: true }),
    "ok",
  );
  assert.equal(
    pushAvailability({ userAgent: ANDROID, standalone: false, pushSupported: false }),
    "unsupported",
  );
  // A desktop-mode iPad is recognised by its touch points.
  assert.equal(
    pushAvailability({
      userAgent: IPAD_DESKTOP,
      maxTouchPoints: 5,
      standalone: false,
      pushSupported: false,
    }),
    "ios_install",
  );
  assert.equal(
    pushAvailability({ userAgent: IPAD_DESKTOP, standalone: false, pushSupported: true }),
    "ok",
  );
});
