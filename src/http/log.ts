/**
 * One JSON line per security-relevant decision, for Workers Logs / `wrangler tail`. Callers pass
 * only safe fields: never a password, token, connection string or raw username.
 */
export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

/** The part of a Workers Analytics Engine dataset binding the gateway uses. */
export interface DecisionSink {
  writeDataPoint(point: { indexes?: string[]; blobs?: string[]; doubles?: number[] }): void;
}

/** Security decisions that also become one Analytics Engine datapoint each. */
const DECISIONS = new Set([
  "lockout",
  "lockout_refused",
  "login_busy",
  "blacklisted",
  "rate_limited",
  "rate_limit_shadow",
  "fail_open",
  "fail_closed",
  "failover",
  "circuit_open",
  "circuit_closed",
  "session_refused",
  "session_revoked",
  "lockout_reset",
]);

let sink: DecisionSink | null = null;

/** Sends decisions to an Analytics Engine dataset too (the optional ANALYTICS binding), or stops. */
export function recordDecisionsIn(dataset: DecisionSink | null): void {
  sink = dataset;
}

function writeDecision(event: string, fields: LogFields): void {
  if (!sink || !DECISIONS.has(event)) return;
  const text = (name: string) => String(fields[name] ?? "");
  try {
    sink.writeDataPoint({
      indexes: [event],
      blobs: [event, text("path"), text("reason") || text("state") || text("policy"), text("ip"), text("store")],
      doubles: [Number(fields.failures ?? 0), Number(fields.retry_after ?? 0)],
    });
  } catch {
    // Analytics must never break a request.
  }
}

export function logEvent(event: string, fields: LogFields = {}, level: "info" | "warn" | "error" = "info"): void {
  writeDecision(event, fields);
  const line = JSON.stringify({ level, event, ...fields, time: new Date().toISOString() });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  // console.info, not console.log: Workers Logs files it at level "info", as the line says.
  else console.info(line);
}

/**
 * Masks a username for logs the way django-axes' SENSITIVE_PARAMETERS does: enough to tell two
 * users apart in a burst, not enough to read the name.
 * @example maskUsername("alice") // "a***e"
 */
export function maskUsername(username: string): string {
  if (username === "") return "";
  const chars = [...username];
  if (chars.length <= 2) return "*".repeat(chars.length);
  return `${chars[0]}***${chars[chars.length - 1]}`;
}
