/**
 * What a person reads when an API call fails: the catalogue's `err.<code>`
 * in their language (never the API's English `message`), the field rule
 * when a form field was at fault, and when trying again can succeed.
 * @module
 */
import { type Lang, type MessageKey, t } from "../lib/i18n.ts";
import { ApiError } from "./api.ts";

/** "45초" / "3분" (rounded up to whole minutes from one minute on). */
export function formatWait(lang: Lang, sec: number): string {
  const s = Math.max(1, Math.ceil(sec));
  return s < 60 ? t(lang, "time.sec", { n: s }) : t(lang, "time.min", { n: Math.ceil(s / 60) });
}

/** The catalogue key of an error code, or null when the catalogue has none. */
export function errorKey(lang: Lang, code: string): MessageKey | null {
  const key = `err.${code}` as MessageKey;
  const text = t(lang, key);
  return text === key ? null : key;
}

/** The catalogue key of a field's rule (`err.field.<name>`), or null. */
export function fieldKey(lang: Lang, field: string | undefined): MessageKey | null {
  if (!field) return null;
  const key = `err.field.${field}` as MessageKey;
  return t(lang, key) === key ? null : key;
}

/** The translated text for a failed call, with the wait when the server named one. */
export function errorText(lang: Lang, e: unknown): string {
  if (!(e instanceof ApiError)) return t(lang, "error.generic");
  const key = (e.code === "invalid_body" ? fieldKey(lang, e.field) : null) ??
    errorKey(lang, e.code) ??
    (e.status >= 500 ? "err.internal" : "error.generic");
  const text = t(lang, key);
  return e.retryAfterSec
    ? `${text} ${t(lang, "err.retry_in", { time: formatWait(lang, e.retryAfterSec) })}`
    : text;
}

/** The form field an error belongs under (`invalid_body` names it; some codes imply it). */
export function errorField(e: unknown): string | undefined {
  if (!(e instanceof ApiError)) return undefined;
  if (e.field) return e.field;
  return ({
    login_taken: "loginId",
    invalid_invite: "inviteCode",
    invite_exists: "code",
    duplicate_name: "name",
    bad_minutes: "minutes",
    invalid_reset: "resetCode",
  } as Record<string, string>)[e.code];
}
