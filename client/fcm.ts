/**
 * FCM registration in the browser with the Firebase JS SDK (the modular
 * `@firebase/app` and `@firebase/messaging` packages the npm package
 * `firebase` is made of). Imported only by a dynamic `import()` in
 * client/push.ts, so esbuild puts it (about 14 KB gzipped) in its own
 * `fcm-HASH.js` chunk that only browsers of FCM-configured servers fetch.
 *
 * Our own service worker (`/sw.js`) is passed to `getToken`, so the SDK does
 * not register `firebase-messaging-sw.js`; our `push` handler reads FCM data
 * messages (lib/sw_logic.ts `parsePushData`).
 *
 * The web config comes from `FIREBASE_WEB_CONFIG` (via `GET
 * /api/push/config`): the Firebase console's web app config (`apiKey`,
 * `projectId`, `messagingSenderId`, `appId`, …) plus `vapidKey`, the
 * project's Web Push certificate public key.
 * @module
 */
import { type FirebaseApp, getApps, initializeApp } from "@firebase/app";
import { deleteToken, getMessaging, getToken } from "@firebase/messaging";

const APP_NAME = "laundrylive";

function app(config: Record<string, string>): FirebaseApp {
  const { vapidKey: _, ...options } = config;
  return getApps().find((a) => a.name === APP_NAME) ?? initializeApp(options, APP_NAME);
}

/** An FCM registration token for this browser, using our service worker. */
export async function fcmToken(
  config: Record<string, string>,
  registration: ServiceWorkerRegistration,
): Promise<string> {
  const token = await getToken(getMessaging(app(config)), {
    vapidKey: config.vapidKey,
    serviceWorkerRegistration: registration,
  });
  if (!token) throw new Error("FCM returned no token");
  return token;
}

/** Delete this browser's FCM token (push off). */
export async function fcmDelete(config: Record<string, string>): Promise<void> {
  await deleteToken(getMessaging(app(config)));
}
