/**
 * Service worker: PLACEHOLDER created by the asset-build engineer so that the
 * build has an input. The push/offline engineer replaces this file.
 *
 * Built by lib/build.ts with esbuild as a classic script (IIFE) and served at
 * `/sw.js` (unhashed, `Cache-Control: no-cache`, `Service-Worker-Allowed: /`).
 * @module
 */

/** Build hash of the app files (lib/build.ts defines it): name caches after it. */
declare const __LL_VERSION__: string;
/** Every `/_app/` URL of this build (lib/build.ts defines it), for precaching. */
declare const __LL_ASSETS__: string[];

/** The parts of ServiceWorkerGlobalScope this placeholder uses. */
interface SwScope extends EventTarget {
  skipWaiting(): Promise<void>;
}

const sw = self as unknown as SwScope;

sw.addEventListener("install", () => {
  console.debug(`LaundryLive ${__LL_VERSION__}: ${__LL_ASSETS__.length} app files`);
  sw.skipWaiting();
});
