/**
 * The error store operations raise; `code` is the API error code and
 * `status` the HTTP status the route layer answers with.
 * @module
 */

/** Error raised by store operations. */
export class StoreError extends Error {
  /** Create a store error with a machine-readable code. */
  constructor(readonly code: string, message: string, readonly status = 409) {
    super(message);
  }
}
