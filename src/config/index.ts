/**
 * The gateway's whole configuration, parsed once from the Worker's env into a frozen object.
 * A bad value throws ConfigError naming the variable and a valid example.
 */
import { AddressList } from "../client/address";
import { type LoginRoute, parseLoginRoutes } from "../login/routes";
import { type LockoutSettings, parseLockoutSettings } from "../lockout/settings";
import type { OriginSettings } from "../proxy";
import { parseDurationSeconds } from "./duration";
import { ConfigError, type RawEnv, readChoice, readInteger, readList, readText } from "./read";

export { ConfigError } from "./read";

/** Where counters live; `memory` only outside production. */
export type StoreSettings =
  | { readonly kind: "upstash"; readonly url: string; readonly token: string; readonly timeoutMs: number }
  | { readonly kind: "memory" };

/** What to do with a login attempt when the counter store fails. */
export type FailMode = "open" | "closed";

export interface GatewayConfig {
  readonly environment: string;
  readonly origin: OriginSettings;
  readonly login: {
    readonly routes: readonly LoginRoute[];
    readonly maxBodyBytes: number;
    /** closed: refuse login attempts with 503 while the store is down; open: forward them uncounted. */
    readonly failMode: FailMode;
  };
  readonly lockout: LockoutSettings;
  readonly whitelist: AddressList;
  readonly blacklist: AddressList;
  readonly store: StoreSettings;
  /** Prefix of every key the gateway writes (counters under `<prefix>:lockout:`). @default "axes" */
  readonly keyPrefix: string;
}

function parseOrigin(env: RawEnv): OriginSettings {
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
  return Object.freeze({ url, timeoutMs, forwardedFor: readChoice(env, "FORWARDED_FOR", ["append", "replace"] as const, "append") });
}

function parseAddressList(env: RawEnv, name: string): AddressList {
  try {
    return new AddressList(readList(env, name));
  } catch (error) {
    throw new ConfigError(name, (error as Error).message, "203.0.113.7,198.51.100.0/24,2001:db8::/32");
  }
}

function parseStore(env: RawEnv, environment: string): StoreSettings {
  const url = readText(env, "UPSTASH_REDIS_REST_URL");
  const token = readText(env, "UPSTASH_REDIS_REST_TOKEN");
  if (url === undefined && token === undefined) {
    if (environment === "production") {
      throw new ConfigError(
        "UPSTASH_REDIS_REST_URL",
        "is required when ENVIRONMENT=production: the in-memory store counts per isolate, so an attacker would get the limit many times over (set the secret with `wrangler secret put UPSTASH_REDIS_REST_URL`)",
        "https://eu1-example-12345.upstash.io",
      );
    }
    return { kind: "memory" };
  }
  if (url === undefined) throw new ConfigError("UPSTASH_REDIS_REST_URL", "is required when UPSTASH_REDIS_REST_TOKEN is set", "https://eu1-example-12345.upstash.io");
  if (token === undefined) throw new ConfigError("UPSTASH_REDIS_REST_TOKEN", "is required when UPSTASH_REDIS_REST_URL is set", "AX...your-token");
  if (!/^https?:\/\/[^/]/.test(url)) throw new ConfigError("UPSTASH_REDIS_REST_URL", "must be an http(s) URL", "https://eu1-example-12345.upstash.io");
  const timeoutMs = readInteger(env, "REDIS_TIMEOUT_MS", 1000, { min: 10, max: 60_000, example: "1000" });
  return Object.freeze({ kind: "upstash", url, token, timeoutMs });
}

/** Parses and freezes the configuration. @throws ConfigError */
export function parseConfig(env: RawEnv): GatewayConfig {
  const environment = readText(env, "ENVIRONMENT")?.toLowerCase() ?? "production";
  const usernameField = readText(env, "AXES_USERNAME_FORM_FIELD") ?? "username";
  const keyPrefix = readText(env, "CACHE_KEY_PREFIX") ?? "axes";
  if (!/^[\w.-]{1,64}$/.test(keyPrefix)) throw new ConfigError("CACHE_KEY_PREFIX", "use 1-64 letters, digits, '_', '.' or '-'", "myapp");
  return Object.freeze({
    environment,
    origin: parseOrigin(env),
    login: Object.freeze({
      routes: parseLoginRoutes(env, usernameField),
      maxBodyBytes: readInteger(env, "LOGIN_MAX_BODY_BYTES", 65_536, { min: 1024, max: 10_485_760, example: "65536" }),
      failMode: readChoice(env, "LOGIN_FAIL_MODE", ["open", "closed"] as const, "closed"),
    }),
    lockout: parseLockoutSettings(env),
    whitelist: parseAddressList(env, "AXES_WHITELIST_IPS"),
    blacklist: parseAddressList(env, "AXES_BLACKLIST_IPS"),
    store: parseStore(env, environment),
    keyPrefix,
  });
}
