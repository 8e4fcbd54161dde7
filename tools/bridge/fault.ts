/**
 * Injected failures, so tests can see how the gateway copes with Upstash answering 5xx or 401,
 * being slow, or dropping the connection.
 */

/**
 * How the bridge misbehaves on the Upstash paths (`/`, `/pipeline`, `/multi-exec`); control endpoints are unaffected.
 * - `error`: answer that HTTP status with `{"error":"injected fault"}`.
 * - `unauthorized`: answer 401 `{"error":"Unauthorized"}` even for the right token.
 * - `delay`: wait `ms` milliseconds, then serve normally.
 * - `drop`: destroy the socket without answering.
 */
export type BridgeFault =
  | { mode: "none" }
  | { mode: "error"; status: number }
  | { mode: "unauthorized" }
  | { mode: "delay"; ms: number }
  | { mode: "drop" };

const MAX_DELAY_MS = 120_000;

/**
 * Checks an untrusted value (a JSON body or a caller's argument) and returns a fresh BridgeFault.
 * @example parseFault({ mode: "error", status: 500 })
 */
export function parseFault(value: unknown): BridgeFault {
  const fault = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  switch (fault.mode) {
    case "none":
    case "unauthorized":
    case "drop":
      return { mode: fault.mode };
    case "error":
      if (!isIntegerIn(fault.status, 400, 599)) {
        throw new TypeError('fault "error" needs an integer status from 400 to 599, e.g. {"mode":"error","status":500}');
      }
      return { mode: "error", status: fault.status };
    case "delay":
      if (!isIntegerIn(fault.ms, 0, MAX_DELAY_MS)) {
        throw new TypeError(`fault "delay" needs an integer ms from 0 to ${MAX_DELAY_MS}, e.g. {"mode":"delay","ms":500}`);
      }
      return { mode: "delay", ms: fault.ms };
    default:
      throw new TypeError('fault mode must be one of none, error, unauthorized, delay, drop, e.g. {"mode":"drop"}');
  }
}

function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}
