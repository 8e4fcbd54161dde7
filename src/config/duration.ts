/**
 * Durations in configuration: a number with a unit (`30m`, `1h30m`, `90s`, `1d`, `500ms`) or
 * ISO 8601 (`PT30M`). A bare number is refused: django-axes reads `AXES_COOLOFF_TIME = 2` as two
 * hours, so silently picking any unit here would change a migrated setting's meaning.
 */

import { ConfigError, type RawEnv, readText } from "./read";

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const HUMAN = /^(?:\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*)+$/i;
const HUMAN_PART = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/gi;
const ISO = /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;

/** Why a duration string was refused, in words an operator can act on. */
export class DurationError extends Error {
  override name = "DurationError";
}

/**
 * Parses a duration into seconds (fractions allowed, so `500ms` is 0.5).
 * @example parseDurationSeconds("1h30m") // 5400
 */
export function parseDurationSeconds(input: string): number {
  const text = input.trim();
  if (/^\d+(\.\d+)?$/.test(text)) {
    throw new DurationError(
      `"${text}" has no unit; django-axes reads a bare number as hours, so write the unit (for example "${text}h" or "30m")`,
    );
  }
  let seconds: number | undefined;
  if (HUMAN.test(text)) {
    seconds = 0;
    for (const [, amount, unit] of text.matchAll(HUMAN_PART)) {
      seconds += Number(amount) * UNIT_SECONDS[unit!.toLowerCase()]!;
    }
  } else {
    const iso = ISO.exec(text);
    if (iso && text.toUpperCase() !== "P" && !text.toUpperCase().endsWith("T")) {
      const [, d = "0", h = "0", m = "0", s = "0"] = iso;
      seconds = Number(d) * 86400 + Number(h) * 3600 + Number(m) * 60 + Number(s);
    }
  }
  if (seconds === undefined) {
    throw new DurationError(`"${text}" is not a duration (examples: "30m", "1h30m", "90s", "PT30M")`);
  }
  if (!(seconds > 0)) throw new DurationError(`"${text}" must be longer than zero`);
  return seconds;
}

/** Formats seconds as ISO 8601, the form django-axes puts in its JSON lockout body. */
export function isoDuration(seconds: number): string {
  let rest = Math.round(seconds);
  const days = Math.floor(rest / 86400);
  rest -= days * 86400;
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  const secs = rest - minutes * 60;
  const time = `${hours ? `${hours}H` : ""}${minutes ? `${minutes}M` : ""}${secs ? `${secs}S` : ""}`;
  return `P${days ? `${days}D` : ""}${time ? `T${time}` : days ? "" : "T0S"}`;
}

/**
 * A duration setting's text in seconds; a refused duration becomes a ConfigError naming the variable.
 * @example durationSetting("AXES_COOLOFF_TIME", "30m", "30m") // 1800
 */
export function durationSetting(name: string, text: string, example: string): number {
  try {
    return parseDurationSeconds(text);
  } catch (error) {
    if (error instanceof DurationError) throw new ConfigError(name, error.message, example);
    throw error;
  }
}

/** A duration variable in seconds, `fallback` (also the example in errors) when unset. */
export function readDurationSeconds(env: RawEnv, name: string, fallback: string): number {
  return durationSetting(name, readText(env, name) ?? fallback, fallback);
}

/** A duration variable in whole milliseconds, `fallback` when unset. */
export function readDurationMs(env: RawEnv, name: string, fallback: string): number {
  return Math.round(readDurationSeconds(env, name, fallback) * 1000);
}
