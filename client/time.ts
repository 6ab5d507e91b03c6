/**
 * Relative times ("3분 전", "2 hours ago") for the inbox and device lists,
 * with `Intl.RelativeTimeFormat` (no strings of our own but "just now").
 * Pure: the caller passes the current (server-corrected) time.
 * @module
 */
import { type Lang, t } from "../lib/i18n.ts";

const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["minute", 60_000],
  ["hour", 3_600_000],
  ["day", 86_400_000],
];

/** `then` relative to `now` in `lang`: "방금", "5분 전", "어제", or a date after a week. */
export function relativeTime(lang: Lang, then: number, now: number): string {
  const diff = now - then;
  if (diff < 60_000) return t(lang, "time.just_now");
  if (diff >= 7 * 86_400_000) {
    return new Date(then).toLocaleDateString(lang === "ko" ? "ko-KR" : "en-GB", {
      month: "short",
      day: "numeric",
    });
  }
  const rtf = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  let unit: Intl.RelativeTimeFormatUnit = "minute";
  let size = 60_000;
  for (const [u, ms] of STEPS) if (diff >= ms) [unit, size] = [u, ms];
  return rtf.format(-Math.floor(diff / size), unit);
}
