/**
 * Display text from users (names, rooms, machine names): NFC-normalised,
 * trimmed, and refused when it holds control characters, bidi overrides or
 * isolates, or nothing visible.
 * @module
 */
import { z } from "zod";

// C0/C1 controls (incl. NUL, newline, tab), line/paragraph separators, and the bidi
// embedding/override/isolate controls that make text render in a misleading order.
const FORBIDDEN = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/u;
// Format characters (zero-width space/joiners, BOM, …) and whitespace show nothing alone.
const INVISIBLE = /^[\p{Cf}\p{Z}\s\u3164\u115F\u1160\uFFA0]*$/u;

/** Why `text` is not acceptable display text, or null. */
export function displayTextProblem(text: string): string | null {
  if (FORBIDDEN.test(text)) return "must not contain control or text-direction characters";
  if (INVISIBLE.test(text)) return "must contain a visible character";
  return null;
}

/** A zod schema for display text of 1..`max` characters, NFC-normalised and trimmed. */
export function displayText(max: number): z.ZodEffects<z.ZodString, string, string> {
  return z.string().max(max * 4).transform((s, ctx) => {
    const v = s.normalize("NFC").trim();
    const problem = displayTextProblem(v);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
    else if ([...v].length > max) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `at most ${max} characters` });
    }
    return v;
  });
}
