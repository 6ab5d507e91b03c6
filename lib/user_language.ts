/**
 * Language is one saved preference: for a signed-in user the page language
 * is `prefs.lang` (the same field the notifier renders toasts, inbox entries
 * and pushes in), whatever the `lang` cookie says; the cookie only carries the
 * choice to signed-out pages (login, register, offline).
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { Store } from "./db/mod.ts";
import type { AppEnv } from "./http.ts";
import { isSocketPath, isStaticPath } from "./http.ts";
import { defaultPreferences } from "./notify/policy.ts";
import type { Lang } from "./i18n.ts";

/** Name of the cookie that remembers the language for signed-out pages. */
export const LANG_COOKIE = "lang";

/**
 * After `session`: a signed-in user's saved language wins over the cookie
 * and Accept-Language (pages only; the API answers with codes, not prose).
 */
export function userLanguage(store: Store): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const user = c.get("user");
    const path = c.req.path;
    if (user && !isStaticPath(path) && !path.startsWith("/api/") && !isSocketPath(path)) {
      const prefs = await store.getPreferences(user.id);
      if (prefs?.lang === "ko" || prefs?.lang === "en") c.set("lang", prefs.lang);
    }
    await next();
  };
}

/** Save `lang` as the user's language preference (keeping every other preference). */
export async function saveLanguage(store: Store, userId: string, lang: Lang): Promise<void> {
  const current = (await store.getPreferences(userId)) ?? defaultPreferences(lang);
  if (current.lang !== lang) await store.setPreferences(userId, { ...current, lang });
}
