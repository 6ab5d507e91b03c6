/**
 * What the browser can do about push notifications, as pure functions of the
 * user agent and a few feature flags, so the rules are testable without a
 * browser (lib/platform_test.ts) and shared by the bell and the e2e tests.
 *
 * iOS rules (WebKit): Web Push works only on iOS/iPadOS 16.4 or later and
 * only for a web app added to the home screen and opened from there
 * (`navigator.standalone === true` or `display-mode: standalone`). In Safari
 * itself `PushManager` does not exist, so feature detection alone would just
 * say "unsupported"; the user must be told to add the app to the home screen.
 * @module
 */

/** An iOS version. */
export interface IosVersion {
  major: number;
  minor: number;
  patch: number;
}

/**
 * The iOS/iPadOS version of an iPhone, iPad or iPod user agent, or null for
 * anything else. Every iOS browser (Safari, Chrome "CriOS", Firefox "FxiOS",
 * in-app browsers) is WebKit and reports `OS 16_4_1 like Mac OS X`.
 *
 * iPadOS 13+ Safari asks for the desktop site by default and reports itself
 * as a Mac (`Macintosh; Intel Mac OS X 10_15_7`); pass `maxTouchPoints` so
 * such an iPad (a "Mac" with a touch screen) is recognised. Its OS version is
 * not in the UA; `Version/16.4` (Safari's version, which follows iPadOS) is
 * used instead, and when even that is missing the version is unknown and
 * reported as 0.0.0.
 */
export function iosVersion(userAgent: string, maxTouchPoints = 0): IosVersion | null {
  const ua = userAgent ?? "";
  const mobile = /\b(iPhone|iPad|iPod)\b/.test(ua);
  const desktopIpad = !mobile && /\bMacintosh\b/.test(ua) && maxTouchPoints > 1;
  if (!mobile && !desktopIpad) return null;
  const os = mobile ? /\bOS (\d+)(?:[_.](\d+))?(?:[_.](\d+))?\b/.exec(ua) : null;
  const safari = /\bVersion\/(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(ua);
  const m = os ?? safari;
  if (!m) return { major: 0, minor: 0, patch: 0 };
  return { major: Number(m[1]), minor: Number(m[2] ?? 0), patch: Number(m[3] ?? 0) };
}

/** True if `v` is at least `major.minor`. */
export function atLeast(v: IosVersion, major: number, minor = 0): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

/** Facts about the browser the push UI depends on. */
export interface PushEnvironment {
  userAgent: string;
  maxTouchPoints?: number;
  /** `navigator.standalone === true` (iOS home-screen app) or `display-mode: standalone`. */
  standalone: boolean;
  /** `"serviceWorker" in navigator && "PushManager" in window && "Notification" in window`. */
  pushSupported: boolean;
}

/**
 * What the bell can offer:
 * - `ok`: Web Push can be switched on here;
 * - `ios_install`: iOS 16.4+ in a browser tab: add to home screen first
 *   (keys `ios.install_title`, `ios.install_steps`);
 * - `ios_too_old`: iOS before 16.4: no push at all, the live board still
 *   works (key `ios.too_old`);
 * - `unsupported`: any other browser without Push API (`bell.unsupported`).
 */
export type PushAvailability = "ok" | "ios_install" | "ios_too_old" | "unsupported";

/** Decide {@link PushAvailability} for a browser. */
export function pushAvailability(env: PushEnvironment): PushAvailability {
  const ios = iosVersion(env.userAgent, env.maxTouchPoints ?? 0);
  if (ios) {
    // Unknown version (0.0.0, desktop-mode iPad without Version/): trust feature detection.
    const known = ios.major > 0;
    if (known && !atLeast(ios, 16, 4)) return "ios_too_old";
    if (!env.standalone) return env.pushSupported && !known ? "ok" : "ios_install";
    return env.pushSupported ? "ok" : known ? "ios_too_old" : "unsupported";
  }
  return env.pushSupported ? "ok" : "unsupported";
}
