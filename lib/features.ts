/**
 * Wires optional features (pages, notifications, background jobs) onto a
 * freshly built context. Kept apart from lib/server.ts so tests can start a
 * bare server or a full one.
 * @module
 */
import type { Mount } from "./app.ts";
import type { AppContext } from "./context.ts";

/** Wire every feature of the full app. */
export function wireFeatures(_ctx: AppContext): Mount[] {
  return [];
}
