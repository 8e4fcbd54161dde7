/** The AXES_* settings, with django-axes' names and meanings (see README: "Configuration"). */
import { durationSetting, readDurationSeconds } from "../config/duration";
import { ConfigError, type RawEnv, readBoolean, readInteger, readJson, readText } from "../config/read";
import { type CooloffGrowth, grownCooloffMs } from "../store/contract";
import { parseLockoutTemplate } from "./template";

export type LockoutParameter = "ip_address" | "username" | "user_agent";

export interface LockoutSettings {
  /** Failures that lock a client; the failure that reaches it already gets the lockout response. @default 3 */
  readonly failureLimit: number;
  /** Cool-off from the last failure; null = locked until an admin resets. @default null */
  readonly cooloffSeconds: number | null;
  /** Each inner list is one counter; a client is locked when any counter reaches the limit. @default [["ip_address"],["username"]] */
  readonly parameters: readonly (readonly LockoutParameter[])[];
  /** A successful login deletes the client's counters. @default false */
  readonly resetOnSuccess: boolean;
  /** Failures while locked are counted and restart the cool-off. @default true */
  readonly resetCoolOffOnFailureDuringLockout: boolean;
  /** False counts failures but never refuses. @default true */
  readonly lockOutAtFailure: boolean;
  /** GET login attempts are never refused (still counted). @default false */
  readonly neverLockoutGet: boolean;
  /** @default 429 */
  readonly httpResponseCode: number;
  /** Redirect locked clients here instead of showing the lockout page. @default null */
  readonly lockoutUrl: string | null;
  /**
   * IPv6 clients are counted by their network of this many bits (IPv4 per address), so one
   * subscriber's /64 is one client, not 2^64 fresh counters. 128 = per address. @default 64
   */
  readonly ipv6Prefix: number;
  /** @default false: usernames are trimmed, NFKC-normalised and case-folded */
  readonly usernameCaseSensitive: boolean;
  readonly cooloffMessage: string;
  readonly permalockMessage: string;
  /** AXES_LOCKOUT_TEMPLATE: the HTML lockout page with placeholders (./template). @default null: the built-in page */
  readonly lockoutTemplate: string | null;
  /** Cool-offs that grow for repeat offenders (AXES_COOLOFF_GROWTH); null = django-axes' fixed cool-off. @default null */
  readonly cooloffGrowth: CooloffGrowth | null;
}

/**
 * Each lockout of a counter within `memorySeconds` of the end of its previous one multiplies the
 * cool-off by `factor`, up to `maxSeconds`: the n-th lockout lasts min(cool-off * factor^(n-1), max).
 */
export type { CooloffGrowth };

/**
 * The cool-off of a counter's `lockouts`-th lockout in a row (1 = the first: the base cool-off),
 * for the responses; the stores apply the same rule when they set expiries.
 * @example grownCooloffSeconds(1800, { factor: 2, memorySeconds: 86400, maxSeconds: 7200 }, 3) // 7200
 */
export function grownCooloffSeconds(base: number, growth: CooloffGrowth | null, lockouts: number): number {
  return grownCooloffMs(base * 1000, growth, lockouts) / 1000;
}

const PARAMETERS: readonly LockoutParameter[] = ["ip_address", "username", "user_agent"];
const PARAMETERS_EXAMPLE = `'["ip_address","username"]'`;

function parseParameters(env: RawEnv): LockoutSettings["parameters"] {
  const value = readJson(env, "AXES_LOCKOUT_PARAMETERS", '["ip_address","username"]') ?? ["ip_address", "username"];
  const invalid = (problem: string) => new ConfigError("AXES_LOCKOUT_PARAMETERS", problem, PARAMETERS_EXAMPLE);
  if (!Array.isArray(value) || value.length === 0) throw invalid("must be a non-empty JSON list");
  return Object.freeze(
    value.map((item: unknown) => {
      const names = Array.isArray(item) ? item : [item];
      if (names.length === 0) throw invalid("a combination must name at least one parameter");
      for (const name of names) {
        if (!PARAMETERS.includes(name as LockoutParameter)) {
          throw invalid(`"${String(name)}" is not one of ${PARAMETERS.join(", ")}`);
        }
      }
      return Object.freeze([...new Set(names as LockoutParameter[])].sort());
    }),
  );
}

function parseCooloff(env: RawEnv): number | null {
  const text = readText(env, "AXES_COOLOFF_TIME");
  if (text === undefined || ["none", "null"].includes(text.toLowerCase())) return null;
  return durationSetting("AXES_COOLOFF_TIME", text, "30m");
}

/** AXES_COOLOFF_GROWTH (a factor above 1; unset, "1" or "off" = fixed), AXES_COOLOFF_MEMORY, AXES_COOLOFF_MAX. */
function parseCooloffGrowth(env: RawEnv, cooloffSeconds: number | null): CooloffGrowth | null {
  const text = readText(env, "AXES_COOLOFF_GROWTH");
  const memorySeconds = readDurationSeconds(env, "AXES_COOLOFF_MEMORY", "24h");
  const maxSeconds = durationSetting("AXES_COOLOFF_MAX", readText(env, "AXES_COOLOFF_MAX") ?? "30d", "1d");
  if (text === undefined || ["off", "none", "1"].includes(text.toLowerCase())) return null;
  const factor = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(factor > 1) || factor > 100) {
    throw new ConfigError("AXES_COOLOFF_GROWTH", `"${text}" must be a number above 1 (each repeat lockout multiplies the cool-off by it), at most 100`, "2");
  }
  if (cooloffSeconds === null) {
    throw new ConfigError("AXES_COOLOFF_GROWTH", "needs AXES_COOLOFF_TIME: without a cool-off a lockout lasts until an admin resets it", "off");
  }
  if (maxSeconds < cooloffSeconds) throw new ConfigError("AXES_COOLOFF_MAX", "must be at least AXES_COOLOFF_TIME", "1d");
  if (memorySeconds <= 0) throw new ConfigError("AXES_COOLOFF_MEMORY", "must be above zero", "24h");
  return Object.freeze({ factor, memorySeconds, maxSeconds });
}

function parseLockoutUrl(env: RawEnv): string | null {
  const text = readText(env, "AXES_LOCKOUT_URL");
  if (text === undefined) return null;
  if (text.startsWith("/") && !text.startsWith("//")) return text;
  try {
    const url = new URL(text);
    if (url.protocol === "https:" || url.protocol === "http:") return url.href;
  } catch {
    // fall through to the error below
  }
  throw new ConfigError("AXES_LOCKOUT_URL", `"${text}" must be a path or an http(s) URL`, "/locked/");
}

/** Parses every AXES_* setting, failing on the first bad one. */
export function parseLockoutSettings(env: RawEnv): LockoutSettings {
  const cooloffSeconds = parseCooloff(env);
  return Object.freeze({
    failureLimit: readInteger(env, "AXES_FAILURE_LIMIT", 3, { min: 1, max: 1_000_000, example: "3" }),
    cooloffSeconds,
    parameters: parseParameters(env),
    resetOnSuccess: readBoolean(env, "AXES_RESET_ON_SUCCESS", false),
    resetCoolOffOnFailureDuringLockout: readBoolean(env, "AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT", true),
    lockOutAtFailure: readBoolean(env, "AXES_LOCK_OUT_AT_FAILURE", true),
    neverLockoutGet: readBoolean(env, "AXES_NEVER_LOCKOUT_GET", false),
    httpResponseCode: readInteger(env, "AXES_HTTP_RESPONSE_CODE", 429, { min: 400, max: 599, example: "429" }),
    lockoutUrl: parseLockoutUrl(env),
    usernameCaseSensitive: readBoolean(env, "AXES_USERNAME_CASE_SENSITIVE", false),
    ipv6Prefix: readInteger(env, "AXES_IPV6_PREFIX", 64, { min: 16, max: 128, example: "64" }),
    cooloffMessage:
      readText(env, "AXES_COOLOFF_MESSAGE") ?? "Account locked: too many login attempts. Please try again later.",
    permalockMessage:
      readText(env, "AXES_PERMALOCK_MESSAGE") ??
      "Account locked: too many login attempts. Contact an admin to unlock your account.",
    lockoutTemplate: parseLockoutTemplate(env),
    cooloffGrowth: parseCooloffGrowth(env, cooloffSeconds),
  });
}
