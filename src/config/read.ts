/**
 * Readers for one environment variable each. Wrangler hands `[vars]` over as strings, numbers,
 * booleans or JSON values, and secrets as strings, so each reader accepts both spellings.
 * Every failure names the variable and shows a valid example.
 */

/** A configuration value that cannot be used; the message names the variable and a valid example. */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    readonly variable: string,
    readonly problem: string,
    /** A valid value, written as it would appear after `NAME=` (quoted for a shell where needed). */
    readonly example: string,
  ) {
    super(`${variable}: ${problem} (example: ${variable}=${example})`);
  }
}

export type RawEnv = Readonly<Record<string, unknown>>;

/** The variable's text, or undefined when unset or blank. */
export function readText(env: RawEnv, name: string): string | undefined {
  const value = env[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "object") return JSON.stringify(value);
  const text = String(value).trim();
  return text === "" ? undefined : text;
}

export function readBoolean(env: RawEnv, name: string, fallback: boolean): boolean {
  const value = env[name];
  if (typeof value === "boolean") return value;
  const text = readText(env, name)?.toLowerCase();
  if (text === undefined) return fallback;
  if (["true", "1", "yes", "on"].includes(text)) return true;
  if (["false", "0", "no", "off"].includes(text)) return false;
  throw new ConfigError(name, `"${text}" is not a boolean`, fallback ? "false" : "true");
}

export function readInteger(
  env: RawEnv,
  name: string,
  fallback: number,
  { min, max, example }: { min: number; max: number; example: string },
): number {
  const text = readText(env, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `"${text}" must be a whole number from ${min} to ${max}`, example);
  }
  return value;
}

export function readChoice<T extends string>(env: RawEnv, name: string, choices: readonly T[], fallback: T): T {
  const text = readText(env, name)?.toLowerCase();
  if (text === undefined) return fallback;
  if ((choices as readonly string[]).includes(text)) return text as T;
  throw new ConfigError(name, `"${text}" must be one of ${choices.join(", ")}`, fallback);
}

/** Parses a JSON variable; wrangler may already have parsed it from `[vars]`. */
export function readJson(env: RawEnv, name: string, example: string): unknown {
  const value = env[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") return value;
  if (value.trim() === "") return undefined;
  try {
    return JSON.parse(value);
  } catch {
    throw new ConfigError(name, "is not valid JSON", `'${example}'`);
  }
}

/** Comma- or whitespace-separated list; empty when unset. */
export function readList(env: RawEnv, name: string): string[] {
  const value = env[name];
  if (Array.isArray(value)) return value.map((item) => String(item).trim()).filter(Boolean);
  const text = readText(env, name);
  return text === undefined ? [] : text.split(/[\s,]+/).filter(Boolean);
}
