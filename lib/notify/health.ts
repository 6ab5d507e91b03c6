/**
 * Device health as a pure function: a device that has not delivered for a
 * long time is shown to its owner as unhealthy ("notifications on this phone
 * stopped working — tap to fix").
 * @module
 */
import type { Device, SendResult } from "../types.ts";

/** Consecutive failures after which a device is unhealthy. */
export const UNHEALTHY_FAILURES = 3;
/** A device whose last success is older than this, with failures since, is unhealthy. */
export const STALE_SUCCESS_MS = 7 * 86_400_000;

/** Health of a device for its owner. */
export interface DeviceHealth {
  healthy: boolean;
  reason: "ok" | "new" | "failing" | "stale" | "setup" | "rejected";
}

/** Decide whether a device still receives notifications. */
export function deviceHealth(d: Device, now: number): DeviceHealth {
  // The push service refused our credentials (401/403) or the payload
  // (400/413): nothing reaches this device until that is fixed.
  if (d.lastOutcome === "alarm") return { healthy: false, reason: "setup" };
  if (d.lastOutcome === "rejected") return { healthy: false, reason: "rejected" };
  if (d.failures >= UNHEALTHY_FAILURES) return { healthy: false, reason: "failing" };
  const failedSinceSuccess = d.lastFailureAt !== undefined &&
    (d.lastSuccessAt === undefined || d.lastFailureAt > d.lastSuccessAt);
  const lastGood = d.lastSuccessAt ?? d.createdAt;
  if (failedSinceSuccess && now - lastGood > STALE_SUCCESS_MS) {
    return { healthy: false, reason: "stale" };
  }
  return d.lastSuccessAt === undefined
    ? { healthy: true, reason: "new" }
    : { healthy: true, reason: "ok" };
}

/** What a client sees of a device: never the keys, only the push service's origin. */
export function publicDevice(d: Device, now: number) {
  let service = "fcm";
  if (d.kind === "webpush" && d.endpoint) {
    try {
      service = new URL(d.endpoint).host;
    } catch { /* stored endpoints are validated; keep the default */ }
  }
  return {
    deviceId: d.deviceId,
    kind: d.kind,
    label: d.label,
    service,
    createdAt: d.createdAt,
    lastSeenAt: d.lastSeenAt,
    lastSuccessAt: d.lastSuccessAt ?? null,
    lastFailureAt: d.lastFailureAt ?? null,
    lastError: d.lastError ?? null,
    failures: d.failures,
    health: deviceHealth(d, now),
  };
}

/** A success refreshes `lastSuccessAt` at most this often (it only feeds "stale"). */
export const SUCCESS_REFRESH_MS = 3_600_000;

/** What one delivery did, for a device's health. */
export type DeliveryOutcome =
  | { ok: true }
  | { ok: false; detail: string; attention?: "alarm" | "rejected" };

/** The delivery outcome of a push service's answer ("gone" devices are deleted, not marked). */
export function outcomeOf(result: SendResult): DeliveryOutcome {
  if (result.status === "ok") return { ok: true };
  return {
    ok: false,
    detail: result.detail,
    attention: result.status === "alarm" || result.status === "rejected"
      ? result.status
      : undefined,
  };
}

/**
 * The device after one delivery outcome, or null when nothing worth writing
 * changed (a success on a healthy device whose last success is recent): the
 * common case costs no write at all.
 */
export function deviceAfter(d: Device, outcome: DeliveryOutcome, now: number): Device | null {
  if (outcome.ok) {
    const clean = d.failures === 0 && d.lastError === undefined && d.lastOutcome === undefined;
    if (clean && d.lastSuccessAt !== undefined && now - d.lastSuccessAt < SUCCESS_REFRESH_MS) {
      return null;
    }
    return { ...d, lastSuccessAt: now, failures: 0, lastError: undefined, lastOutcome: undefined };
  }
  return {
    ...d,
    lastFailureAt: now,
    failures: d.failures + 1,
    lastError: outcome.detail.slice(0, 200),
    lastOutcome: outcome.attention,
  };
}
