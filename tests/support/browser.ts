/**
 * Browser-test helpers: Debian's Chromium (`/usr/bin/chromium`) driven by
 * `npm:playwright-core` (`npx playwright install` cannot work here, see
 * shared/notes/STACK.md "Browser tests"), a full LaundryLive server (pages,
 * push, notifications) on a free loopback port, and sign-in by cookie.
 *
 * {@linkcode browserTest} registers a Deno test that needs Chromium. When the
 * browser is missing, CI (`CI=true`) fails with a clear message; elsewhere a
 * single passing test says the browser tests were skipped (ignored tests are
 * not allowed in this repository).
 * @module
 */
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { join } from "node:path";
import config from "../../fresh.config.ts";
import { buildAssets } from "../../lib/build.ts";
import { type FeatureOptions, features } from "../../app.ts";
import { Client, startTestServer, type TestServer, waitFor } from "./harness.ts";

/** The Chromium binary (override with `CHROMIUM_PATH`). */
export const CHROMIUM_PATH = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

/** Flags that make Debian's Chromium quiet and deterministic in a sandbox. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

/** True if the Chromium binary exists. */
export function hasChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM_PATH).isFile;
  } catch {
    return false;
  }
}

let skipRegistered = false;

/**
 * `Deno.test(name, fn)` for a test that drives Chromium; see the module doc
 * for what happens without it.
 */
export function browserTest(name: string, fn: (t: Deno.TestContext) => Promise<void>): void {
  if (hasChromium()) {
    Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
    return;
  }
  if (Deno.env.get("CI") === "true") {
    Deno.test(name, () => {
      throw new Error(
        `chromium not found at ${CHROMIUM_PATH}: browser tests need Debian's chromium ` +
          "(apt-get install -y chromium) or CHROMIUM_PATH",
      );
    });
    return;
  }
  if (skipRegistered) return;
  skipRegistered = true;
  Deno.test("browser tests", () => {
    console.log("chromium not found: browser tests skipped");
  });
}

/** Launch a fresh headless Chromium (a new temporary profile each time). */
export async function launchBrowser(): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    headless: true,
    timeout: 30_000,
  });
}

/**
 * A Chromium with a real (non-incognito) profile in a fresh temporary
 * user-data dir, for checks Chromium skips in incognito contexts (such as
 * installability). `close()` also removes the profile.
 */
export async function launchProfile(
  options: Parameters<typeof chromium.launchPersistentContext>[1] = {},
): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-chromium-" });
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    headless: true,
    timeout: 30_000,
    ...options,
  });
  return {
    context,
    async close() {
      await context.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Make sure the build (`_build/`) exists (`deno task test` builds first; a lone `deno test` may not). */
export async function ensureBuilt(): Promise<void> {
  try {
    await Deno.stat(join(config.root, config.outDir, "manifest.json"));
  } catch {
    await buildAssets(config);
  }
}

/**
 * A full server (pages and notification features) on 127.0.0.1 and a free
 * port, with a fresh KV file. `env` adds environment settings (e.g.
 * `PUSH_ENDPOINT_ALLOW`).
 */
export async function startAppServer(
  env: Record<string, string> = {},
  opts: FeatureOptions = {},
): Promise<TestServer> {
  await ensureBuilt();
  return await startTestServer(
    { VAPID_SUBJECT: "mailto:e2e@laundrylive.test", ...env },
    { setup: features(opts) },
  );
}

/** Give a browser context the session cookie of an API client (signed in). */
export async function signIn(context: BrowserContext, client: Client): Promise<void> {
  await context.addCookies(
    [...client.cookies].map(([name, value]) => ({ name, value, url: client.baseUrl })),
  );
}

/** Wait until the page's islands are hydrated (client/entry.ts sets the flag). */
export async function hydrated(page: Page): Promise<void> {
  await page.waitForSelector("html[data-hydrated]", { state: "attached", timeout: 15_000 });
}

/** Wait until the page is controlled by the service worker. */
export async function controlled(page: Page): Promise<void> {
  await page.waitForFunction(() => navigator.serviceWorker?.controller !== null, undefined, {
    timeout: 15_000,
  });
}

/** Collect the page's console errors and uncaught exceptions (for assertions). */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/** How often {@link waitForShown} reads, and how long it waits first. */
const SHOWN_POLL_MS = 400;

/**
 * Wait until `read` (a `getNotifications()` in the page or the worker) finds
 * what `pick` looks for, reading gently: first after a pause, then every
 * 400 ms. Chromium's `getNotifications()` synchronises its notification
 * database with the notifications on display and deletes what it does not
 * find there, so reading every 10 ms while the worker's `showNotification`
 * is still being displayed made Chromium forget a notification our worker
 * showed (measured: 1 run in 4–6 of the push tests failed; none in 14 once
 * reads waited).
 */
export async function waitForShown<T, R>(
  read: () => Promise<T[]>,
  pick: (shown: T[]) => R | null | undefined,
  what: string,
  timeoutMs = 15_000,
): Promise<R> {
  await new Promise((r) => setTimeout(r, SHOWN_POLL_MS));
  return (await waitFor(async () => pick(await read()), timeoutMs, what, SHOWN_POLL_MS))!;
}
