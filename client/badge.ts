/**
 * The app icon's badge (Badging API: iOS 16.4+ home-screen apps with
 * notification permission, Safari 17 web apps on macOS, Chrome/Edge on
 * desktop; not Android): the unread inbox count, cleared at 0. Pages that
 * show the count set it (the inbox); the service worker sets it from each
 * push's `app_badge` and after a notification click. Imported only by pages
 * other than the board, so the board's script stays within its budget.
 * @module
 */

type BadgeNavigator = Navigator & {
  setAppBadge?: (n?: number) => Promise<void>;
  clearAppBadge?: () => Promise<void>;
};

/** Show `n` on the app icon (clear it at 0); silently nothing where unsupported. */
export function showAppBadge(n: number, nav: BadgeNavigator = navigator): void {
  try {
    const p = n > 0 ? nav.setAppBadge?.(Math.floor(n)) : nav.clearAppBadge?.();
    p?.catch(() => {});
  } catch { /* no permission or no badge here */ }
}
