/** Small text helpers for the CLI's human-readable output. */

/** A plain JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Lines of an aligned table with upper-case headings; trailing blanks are trimmed.
 * @example table(["ip", "failures"], [["203.0.113.9", "3"]]) // ["IP           FAILURES", "203.0.113.9  3"]
 */
export function table(headings: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const all = [headings.map((h) => h.toUpperCase()), ...rows];
  const widths = headings.map((_, i) => Math.max(...all.map((row) => (row[i] ?? "").length)));
  return all.map((row) =>
    row
      .map((value, i) => value.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd(),
  );
}

/**
 * Seconds left of a cool-off as `28m 20s`; `null` means the lock holds until an admin resets it.
 * @example formatRetryAfter(1700) // "28m 20s"
 */
export function formatRetryAfter(seconds: unknown): string {
  if (seconds === null) return "until reset";
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "-";
  let rest = Math.max(0, Math.ceil(seconds));
  const parts: string[] = [];
  for (const [unit, size] of [["d", 86_400], ["h", 3_600], ["m", 60]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}s`);
  return parts.slice(0, 2).join(" ");
}

/**
 * An ISO timestamp as `2026-11-29 09:41:02Z`, to the second.
 * @example formatInstant("2026-11-29T09:41:02.123Z") // "2026-11-29 09:41:02Z"
 */
export function formatInstant(value: unknown): string {
  if (typeof value !== "string") return "-";
  const time = Date.parse(value);
  return Number.isNaN(time) ? value : new Date(time).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

export function yesNo(value: unknown): string {
  return value === true ? "yes" : value === false ? "no" : "-";
}
