/**
 * The browser facts the push UI needs, kept apart from client/push.ts so the
 * bell can show iOS guidance without loading the push code (which it
 * imports lazily: only when push is on here, or the user opens its panel).
 * @module
 */
import { type PushAvailability, pushAvailability } from "../lib/platform.ts";

/** localStorage: `{kind}` while push is switched on in this browser. */
export const ENABLED_KEY = "ll.push";

/**
 * The window event a logout dispatches before it leaves for /login
 * (client/push.ts), so the live socket (client/live.ts) does not start a
 * second navigation when the server closes it.
 */
export const LOGOUT_EVENT = "ll:logout";

/** True when running as the installed app (home screen / standalone window). */
export function isStandalone(): boolean {
  const nav = navigator as Navigator & { standalone?: boolean };
  return nav.standalone === true ||
    (typeof matchMedia === "function" && matchMedia("(display-mode: standalone)").matches);
}

/** What this browser can do: iOS install guidance, too old, unsupported, or ok. */
export function availability(): PushAvailability {
  return pushAvailability({
    userAgent: navigator.userAgent,
    maxTouchPoints: navigator.maxTouchPoints ?? 0,
    standalone: isStandalone(),
    pushSupported: "serviceWorker" in navigator && "PushManager" in globalThis &&
      "Notification" in globalThis,
  });
}

/** Whether push was switched on in this browser (cheap; no push code needed). */
export function pushWasEnabled(): boolean {
  try {
    return !!localStorage.getItem(ENABLED_KEY);
  } catch {
    return false;
  }
}
