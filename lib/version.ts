/**
 * The release of this code, answered by `GET /healthz` (load balancers and
 * uptime checks compare it across instances during a rollout).
 * @module
 */

/** The release version. */
export const VERSION = "0.3.0";
