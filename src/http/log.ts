/**
 * One JSON line per security-relevant decision, for Workers Logs / `wrangler tail`. Callers pass
 * only safe fields: never a password, token, connection string or raw username.
 */
export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

export function logEvent(event: string, fields: LogFields = {}, level: "info" | "warn" | "error" = "info"): void {
  const line = JSON.stringify({ level, event, ...fields, time: new Date().toISOString() });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
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
