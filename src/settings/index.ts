/**
 * The gateway's whole configuration, parsed once from the Worker's env into a frozen object: the
 * aggregate of every feature's own settings module, above them all (they never import it).
 * A bad value throws ConfigError naming the variable and a valid example.
 */
import { AddressList } from "../client/address";
import { withAliases } from "../config/aliases";
import { readDurationMs, readDurationSeconds } from "../config/duration";
import { ConfigError, type RawEnv, readBoolean, readChoice, readInteger, readList, readText } from "../config/read";
import { type DeviceSettings, parseDeviceSettings } from "../devices/settings";
import { parseBasicAuthPaths } from "../login/basic";
import { type LoginRoute, parseLoginRoutes } from "../login/routes";
import { DEFAULT_LOCK_CACHE_SECONDS } from "../lockout/policy";
import { type HistorySettings, parseHistorySettings } from "../history/settings";
import { type LockoutSettings, parseLockoutSettings } from "../lockout/settings";
import { type SessionSettings, parseSessionSettings } from "../sessions/settings";
import type { OriginSettings } from "../proxy";
import type { RateLimitSettings } from "../ratelimit";
import { parseHeaderStyle, parseRateLimits } from "../ratelimit/policies";
import { type FailModes, type StoreSettings, parseFailModes, parseStoreSettings } from "../store/settings";
import { type AdminSettings, parseAdminSettings } from "./admin";

export { ConfigError } from "../config/read";

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
  /** AXES_HISTORY*: the attempt history the counting calls append. */
  readonly history: HistorySettings;
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
  readonly admin: AdminSettings | null;
  /** Called on each lockout (django-axes' `user_locked_out` signal at the edge). */
  readonly lockoutWebhook: { readonly url: string; readonly timeoutMs: number } | null;
}

function parseWebhook(env: RawEnv): GatewayConfig["lockoutWebhook"] {
  const url = readText(env, "LOCKOUT_WEBHOOK_URL");
  if (url === undefined) return null;
  if (!/^https?:\/\/[^/]/.test(url)) throw new ConfigError("LOCKOUT_WEBHOOK_URL", "must be an http(s) URL", "https://hooks.example.com/gateway");
  return Object.freeze({ url, timeoutMs: readDurationMs(env, "LOCKOUT_WEBHOOK_TIMEOUT", "5s") });
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
  const timeoutMs = readDurationMs(env, "ORIGIN_TIMEOUT", "30s");
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
  const seconds = readDurationSeconds(env, "LOGIN_INFLIGHT_WAIT", "3s");
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
    history: parseHistorySettings(env),
    devices,
    lockCacheSeconds: readInteger(env, "LOCKOUT_CACHE_SECONDS", DEFAULT_LOCK_CACHE_SECONDS, { min: 0, max: 3600, example: String(DEFAULT_LOCK_CACHE_SECONDS) }),
    whitelist: parseAddressList(env, "AXES_WHITELIST_IPS"),
    blacklist: parseAddressList(env, "AXES_BLACKLIST_IPS"),
    store: parseStoreSettings(env, environment),
    keyPrefix,
    sessions: parseSessionSettings(env),
    admin: parseAdminSettings(env),
    lockoutWebhook: parseWebhook(env),
  });
}
