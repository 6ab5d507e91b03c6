/**
 * The one message catalogue. Korean is the default; English is complete.
 * Used by server pages, islands, notifications and the service worker.
 * `t(lang, key, params)` fills `{name}` placeholders.
 *
 * The texts are data: `lib/i18n/ko.json` (the source of the key set, so of
 * {@linkcode MessageKey}) and `lib/i18n/en.json` (exactly the same keys, in
 * the same order), grouped by key prefix: app, nav, board, machine states and
 * actions, sign-in, admin (`admin.*`, `notice.*`), PWA (bell, toasts, inbox,
 * settings, service worker), board card, then the API error codes
 * (`err.<code>`, what the client shows instead of the API's English message).
 * In the browser bundle those two imports read the messages the page loaded
 * (`fresh.config.ts` `catalogue`, lib/build.ts `catalogueStub`), so a page
 * ships only its own language.
 * @module
 */
import ko from "./i18n/ko.json" with { type: "json" };
import en from "./i18n/en.json" with { type: "json" };

/** Supported languages. */
export type Lang = "ko" | "en";

/** A message key. */
export type MessageKey = keyof typeof ko;

const catalogues: Record<Lang, Record<MessageKey, string>> = { ko, en };

/** Translate `key` into `lang`, filling `{placeholders}` from `params`. */
export function t(
  lang: Lang,
  key: MessageKey,
  params: Record<string, string | number> = {},
): string {
  const template = catalogues[lang]?.[key] ?? ko[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, k) => (k in params ? String(params[k]) : `{${k}}`));
}

/** Every key of the catalogue (tests check both languages are complete). */
export function messageKeys(): MessageKey[] {
  return Object.keys(ko) as MessageKey[];
}

/** The raw catalogue of one language (for tests). */
export function catalogue(lang: Lang): Record<MessageKey, string> {
  return catalogues[lang];
}

/** Format a duration in ms as "m:ss" (under an hour) or "h:mm:ss". */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return `${h ? h + ":" : ""}${mm}:${String(s).padStart(2, "0")}`;
}
