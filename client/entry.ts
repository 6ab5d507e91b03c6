/**
 * Browser entry point, bundled by `lib/build.ts` into `/_app/entry-HASH.js`
 * and loaded by every page as `<script type="module">`. It hydrates the
 * islands on the page, loading only those present, then sets
 * `data-hydrated` on `<html>` (end-to-end tests can wait for it). It also
 * registers the service worker (`/sw.js`: offline shell and push; sw.ts).
 * @module
 */
import { hydrateIslands } from "../lib/islands.ts";
import { islands } from "../islands/_registry.gen.ts";

hydrateIslands(islands).finally(() => {
  document.documentElement.setAttribute("data-hydrated", "");
});

// The service worker (offline app shell, push): registered on every page, after load.
if ("serviceWorker" in navigator) {
  addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((err) => {
      console.warn("service worker registration failed:", err);
    });
  });
}
