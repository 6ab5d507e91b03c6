/**
 * The error store operations raise: a machine-readable `code` (the API error
 * code) and an English message for developers. Which HTTP status a code
 * answers with is the HTTP layer's business (`storeErrorStatus` in
 * `lib/http.ts`), not the store's.
 * @module
 */

/** Error raised by store operations. */
export class StoreError extends Error {
  /** Create a store error with a machine-readable code. */
  constructor(readonly code: string, message: string) {
    super(message);
  }
}
