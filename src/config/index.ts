/**
 * The gateway's whole configuration, parsed once from the Worker's env into a frozen object.
 * A bad value throws ConfigError naming the variable and a valid example.
 */
import { AddressList } from "../client/address";
import { type DeviceSettings, parseDeviceSettings } from "../devices/settings";
import { parseBasicAuthPaths } from "../login/basic";
import { type LoginRoute, parseLoginRoutes } from "../login/routes";
import { type LockoutSettings, parseLockoutSettings } from "../lockout/settings";
import { type SessionSettings, parseSessionSettings } from "../sessions/settings";
import type { OriginSettings } from "../proxy";
import type { RateLimitSettings } from "../ratelimit";
import { parseHeaderStyle, parseRateLimits } from "../ratelimit/policies";
import { withAliases } from "./aliases";
import { parseDurationSeconds } from "./duration";
import { ConfigError, type RawEnv, readBoolean, readChoice, readInteger, readList, readText } from "./read";

export { ConfigError } from "./read";

/** Where counters live: Upstash, Postgres, both (Upstash first, Postgres on failure), or memory outside production. */
export interface StoreSettings {
  readonly upstash: { readonly url: string; readonly token: string; readonly timeoutMs: number } | null;
  readonly postgres: { readonly url: string; readonly timeoutMs: number; readonly httpEndpoint: string | null } | null;
  readonly breaker: { readonly failures: number; readonly cooldownMs: number };
}

/** What to do when every store fails: "open" lets the request through unchecked, "closed" refuses it (503). */
export type FailMode = "open" | "closed";
export interface FailModes {
  /** @default "closed" */
  readonly login: FailMode;
  /** Store-backed checks of other traffic. @default "open" */
  readonly other: FailMode;
}

export interface GatewayConfig {
  readonly environment: string;
  /** AXES_ENABLED: false counts nothing and proxies every request (django-axes' switch). @default true */
  readonly enabled: boolean;
  readonly origin: OriginSettings;
  readonly login: {
    readonly routes: readonly LoginRoute[];
    /** Canonical path prefixes where `Authorization: Basic` is a login attempt (BASIC_AUTH_PATHS). */
    readonly basicAuthPaths: readonly string[];
    readonly maxBodyBytes: number;
    /** How long an attempt is held while other attempts of its client are in flight (LOGIN_INFLIGHT_WAIT). @default 3 */
    readonly inFlightWaitSeconds: number;
  };
  readonly failMode: FailModes;
  readonly rateLimits: RateLimitSettings;
  /** RATE_LIMIT_ANALYTICS: @upstash/ratelimit's analytics (the Upstash console's rate-limit dashboard). @default false */
  readonly rateLimitAnalytics: boolean;
  readonly lockout: LockoutSettings;
  /** Trusted-device cookies; null (off) unless DEVICE_COOKIE_SECRET is set. */
  readonly devices: DeviceSettings | null;
  /** Seconds an isolate answers a known lock without asking the store; 0 = always ask. @default 5 */
  readonly lockCacheSeconds: number;
  readonly whitelist: AddressList;
  readonly blacklist: AddressList;
  readonly store: StoreSettings;
  /** Prefix of every key the gateway writes (counters under `<prefix>:lockout:`). @default "axes" */
  readonly keyPrefix: string;
  readonly sessions: SessionSettings;
  /** The admin API; null when ADMIN_TOKEN is unset (disabled). */
  readonly admin: { readonly token: string; readonly prefix: string } | null;
  /** Called on each lockout (django-axes' `user_locked_out` signal at the edge). */
  readonly lockoutWebhook: { readonly url: string; readonly timeoutMs: number } | null;
}

function parseAdmin(env: RawEnv): GatewayConfig["admin"] {
  const token = readText(env, "ADMIN_TOKEN");
  const prefix = readText(env, "ADMIN_PREFIX") ?? "/__gateway";
  if (!/^\/[\w.~-]+(\/[\w.~-]+)*$/.test(prefix)) throw new ConfigError("ADMIN_PREFIX", "must be a path such as /__gateway", "/__gateway");
  if (token === undefined) return null;
  // A secret: the message never repeats it.
  if (token.length < 16) throw new ConfigError("ADMIN_TOKEN", "must be at least 16 characters (generate one with `openssl rand -hex 32`)", "<64 hex characters>");
  return Object.freeze({ token, prefix });
}

function parseWebhook(env: RawEnv): GatewayConfig["lockoutWebhook"] {
  const url = readText(env, "LOCKOUT_WEBHOOK_URL");
  if (url === undefined) return null;
  if (!/^https?:\/\/[^/]/.test(url)) throw new ConfigError("LOCKOUT_WEBHOOK_URL", "must be an http(s) URL", "https://hooks.example.com/gateway");
  let timeoutMs: number;
  try {
    timeoutMs = Math.round(parseDurationSeconds(readText(env, "LOCKOUT_WEBHOOK_TIMEOUT") ?? "5s") * 1000);
  } catch (error) {
    throw new ConfigError("LOCKOUT_WEBHOOK_TIMEOUT", (error as Error).message, "5s");
  }
  return Object.freeze({ url, timeoutMs });
}

/** ORIGIN_URL and how requests are forwarded; parsed on its own when the rest of the configuration is broken. */
export function parseOrigin(env: RawEnv): OriginSettings {
  const text = readText(env, "ORIGIN_URL");
  let url: URL | null = null;
  if (text !== undefined) {
    try {
      url = new URL(text);
    } catch {
      throw new ConfigError("ORIGIN_URL", `"${text}" is not a URL`, "https://origin.example.com");
    }
    if (!["http:", "https:"].includes(url.protocol) || url.search || url.hash || url.username || url.password) {
      throw new ConfigError("ORIGIN_URL", "must be an http(s) URL without query, fragment or credentials", "https://origin.example.com");
    }
  }
  const timeoutText = readText(env, "ORIGIN_TIMEOUT") ?? "30s";
  let timeoutMs: number;
  try {
    timeoutMs = Math.round(parseDurationSeconds(timeoutText) * 1000);
  } catch (error) {
    throw new ConfigError("ORIGIN_TIMEOUT", (error as Error).message, "30s");
  }
  const secretHeader = readText(env, "ORIGIN_SECRET_HEADER") ?? "X-Gateway-Secret";
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(secretHeader)) throw new ConfigError("ORIGIN_SECRET_HEADER", "is not a valid header name", "X-Gateway-Secret");
  const secret = readText(env, "ORIGIN_SECRET") ?? null;
  if (secret !== null && !/^[\x21-\x7e]{16,}$/.test(secret)) {
    throw new ConfigError("ORIGIN_SECRET", "must be at least 16 printable ASCII characters without spaces", "$(openssl rand -base64 32)");
  }
  return Object.freeze({
    url,
    timeoutMs,
    forwardedFor: readChoice(env, "FORWARDED_FOR", ["append", "replace"] as const, "append"),
    secretHeader: secretHeader.toLowerCase(),
    secret,
  });
}

/** `LOGIN_INFLIGHT_WAIT`: a held attempt longer than this gets "try again" (503, Retry-After: 1); at most 30 s. */
function parseInFlightWait(env: RawEnv): number {
  let seconds: number;
  try {
    seconds = parseDurationSeconds(readText(env, "LOGIN_INFLIGHT_WAIT") ?? "3s");
  } catch (error) {
    throw new ConfigError("LOGIN_INFLIGHT_WAIT", (error as Error).message, "3s");
  }
  if (seconds > 30) throw new ConfigError("LOGIN_INFLIGHT_WAIT", "must be at most 30s (the client is waiting)", "3s");
  return seconds;
}

function parseAddressList(env: RawEnv, name: string): AddressList {
  try {
    return new AddressList(readList(env, name));
  } catch (error) {
    throw new ConfigError(name, (error as Error).message, "203.0.113.7,198.51.100.0/24,2001:db8::/32");
  }
}

const UPSTASH_EXAMPLE = "https://eu1-example-12345.upstash.io";

function parseUpstash(env: RawEnv): StoreSettings["upstash"] {
  const url = readText(env, "UPSTASH_REDIS_REST_URL");
  const token = readText(env, "UPSTASH_REDIS_REST_TOKEN");
  if (url === undefined && token === undefined) return null;
  if (url === undefined) throw new ConfigError("UPSTASH_REDIS_REST_URL", "is required when UPSTASH_REDIS_REST_TOKEN is set", UPSTASH_EXAMPLE);
  if (token === undefined) throw new ConfigError("UPSTASH_REDIS_REST_TOKEN", "is required when UPSTASH_REDIS_REST_URL is set", "AX...your-token");
  if (!/^https?:\/\/[^/]/.test(url)) throw new ConfigError("UPSTASH_REDIS_REST_URL", "must be an http(s) URL", UPSTASH_EXAMPLE);
  const timeoutMs = readInteger(env, "REDIS_TIMEOUT_MS", 1000, { min: 10, max: 60_000, example: "1000" });
  return Object.freeze({ url, token, timeoutMs });
}

function parsePostgres(env: RawEnv): StoreSettings["postgres"] {
  const url = readText(env, "DATABASE_URL");
  if (url === undefined) return null;
  // The value is a secret: the message never repeats it.
  if (!/^postgres(ql)?:\/\/[^/]/.test(url)) throw new ConfigError("DATABASE_URL", "must be a postgresql:// URL", "postgresql://user:password@ep-example.eu-central-1.aws.neon.tech/neondb");
  const httpEndpoint = readText(env, "NEON_HTTP_ENDPOINT") ?? null;
  if (httpEndpoint !== null && !/^https?:\/\/[^/]/.test(httpEndpoint)) throw new ConfigError("NEON_HTTP_ENDPOINT", "must be an http(s) URL", "http://127.0.0.1:8077/sql");
  const timeoutMs = readInteger(env, "DATABASE_TIMEOUT_MS", 2000, { min: 10, max: 60_000, example: "2000" });
  return Object.freeze({ url, timeoutMs, httpEndpoint });
}

function parseStore(env: RawEnv, environment: string): StoreSettings {
  const upstash = parseUpstash(env);
  const postgres = parsePostgres(env);
  if (upstash === null && postgres === null && environment === "production") {
    throw new ConfigError(
      "UPSTASH_REDIS_REST_URL",
      "is required when ENVIRONMENT=production: the in-memory store counts per isolate, so an attacker would get the limit many times over (set the secret with `wrangler secret put UPSTASH_REDIS_REST_URL`)",
      UPSTASH_EXAMPLE,
    );
  }
  let cooldownMs: number;
  try {
    cooldownMs = Math.round(parseDurationSeconds(readText(env, "CIRCUIT_BREAKER_COOLDOWN") ?? "10s") * 1000);
  } catch (error) {
    throw new ConfigError("CIRCUIT_BREAKER_COOLDOWN", (error as Error).message, "10s");
  }
  const failures = readInteger(env, "CIRCUIT_BREAKER_FAILURES", 2, { min: 1, max: 100, example: "2" });
  return Object.freeze({ upstash, postgres, breaker: Object.freeze({ failures, cooldownMs }) });
}

const FAIL_MODE_EXAMPLE = "login=closed,other=open";

/** `FAIL_MODE`: one mode for both (`closed`), or per kind (`login=closed,other=open`). */
function parseFailModes(env: RawEnv): FailModes {
  const text = readText(env, "FAIL_MODE")?.toLowerCase() ?? FAIL_MODE_EXAMPLE;
  const modes: { login: FailMode; other: FailMode } = { login: "closed", other: "open" };
  const isMode = (value: string | undefined): value is FailMode => value === "open" || value === "closed";
  if (isMode(text)) return Object.freeze({ login: text, other: text });
  for (const part of text.split(",")) {
    const [kind = "", mode] = part.split("=").map((item) => item.trim());
    if ((kind !== "login" && kind !== "other") || !isMode(mode)) {
      throw new ConfigError("FAIL_MODE", `"${part.trim()}" must be login=open|closed or other=open|closed`, FAIL_MODE_EXAMPLE);
    }
    modes[kind] = mode;
  }
  return Object.freeze(modes);
}

/** Parses and freezes the configuration (django-axes' names accepted as aliases, see ./aliases). @throws ConfigError */
export function parseConfig(input: RawEnv): GatewayConfig {
  const env = withAliases(input);
  const environment = readText(env, "ENVIRONMENT")?.toLowerCase() ?? "production";
  const usernameField = readText(env, "AXES_USERNAME_FORM_FIELD") ?? "username";
  const keyPrefix = readText(env, "CACHE_KEY_PREFIX") ?? "axes";
  if (!/^[\w.-]{1,64}$/.test(keyPrefix)) throw new ConfigError("CACHE_KEY_PREFIX", "use 1-64 letters, digits, '_', '.' or '-'", "myapp");
  const devices = parseDeviceSettings(env);
  return Object.freeze({
    environment,
    enabled: readBoolean(env, "AXES_ENABLED", true),
    origin: Object.freeze({ ...parseOrigin(env), gatewayCookies: devices ? [devices.cookieName] : [] }),
    login: Object.freeze({
      routes: parseLoginRoutes(env, usernameField),
      basicAuthPaths: parseBasicAuthPaths(env),
      maxBodyBytes: readInteger(env, "LOGIN_MAX_BODY_BYTES", 65_536, { min: 1024, max: 10_485_760, example: "65536" }),
      inFlightWaitSeconds: parseInFlightWait(env),
    }),
    failMode: parseFailModes(env),
    rateLimits: Object.freeze({ policies: parseRateLimits(env), headers: parseHeaderStyle(env) }),
    rateLimitAnalytics: readBoolean(env, "RATE_LIMIT_ANALYTICS", false),
    lockout: parseLockoutSettings(env),
    devices,
    lockCacheSeconds: readInteger(env, "LOCKOUT_CACHE_SECONDS", 5, { min: 0, max: 3600, example: "5" }),
    whitelist: parseAddressList(env, "AXES_WHITELIST_IPS"),
    blacklist: parseAddressList(env, "AXES_BLACKLIST_IPS"),
    store: parseStore(env, environment),
    keyPrefix,
    sessions: parseSessionSettings(env),
    admin: parseAdmin(env),
    lockoutWebhook: parseWebhook(env),
  });
}
