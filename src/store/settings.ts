/**
 * Where counters live and what happens when no store answers: UPSTASH_REDIS_REST_*, DATABASE_URL,
 * the circuit breaker, FAIL_MODE. Parsed once, with the rest of the configuration (src/settings).
 */
import { readDurationMs } from "../config/duration";
import { ConfigError, type RawEnv, readInteger, readText } from "../config/read";

/** Where counters live: Upstash, Postgres, both (Upstash first, Postgres on failure), or memory outside production. */
export interface StoreSettings {
  /** `writeLingerMs`: REDIS_WRITE_LINGER_MS (src/store/upstash/batch.ts). */
  readonly upstash: { readonly url: string; readonly token: string; readonly timeoutMs: number; readonly writeLingerMs: number } | null;
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

const UPSTASH_EXAMPLE = "https://eu1-example-12345.upstash.io";

function parseUpstash(env: RawEnv): StoreSettings["upstash"] {
  const url = readText(env, "UPSTASH_REDIS_REST_URL");
  const token = readText(env, "UPSTASH_REDIS_REST_TOKEN");
  if (url === undefined && token === undefined) return null;
  if (url === undefined) throw new ConfigError("UPSTASH_REDIS_REST_URL", "is required when UPSTASH_REDIS_REST_TOKEN is set", UPSTASH_EXAMPLE);
  if (token === undefined) throw new ConfigError("UPSTASH_REDIS_REST_TOKEN", "is required when UPSTASH_REDIS_REST_URL is set", "AX...your-token");
  if (!/^https?:\/\/[^/]/.test(url)) throw new ConfigError("UPSTASH_REDIS_REST_URL", "must be an http(s) URL", UPSTASH_EXAMPLE);
  const timeoutMs = readInteger(env, "REDIS_TIMEOUT_MS", 1000, { min: 10, max: 60_000, example: "1000" });
  const writeLingerMs = readInteger(env, "REDIS_WRITE_LINGER_MS", 50, { min: 0, max: 1000, example: "50" });
  return Object.freeze({ url, token, timeoutMs, writeLingerMs });
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

/** The stores' settings; outside development one of Upstash or Postgres is required. @throws ConfigError */
export function parseStoreSettings(env: RawEnv, environment: string): StoreSettings {
  const upstash = parseUpstash(env);
  const postgres = parsePostgres(env);
  if (upstash === null && postgres === null && environment === "production") {
    throw new ConfigError(
      "UPSTASH_REDIS_REST_URL",
      "is required when ENVIRONMENT=production: the in-memory store counts per isolate, so an attacker would get the limit many times over (set the secret with `wrangler secret put UPSTASH_REDIS_REST_URL`)",
      UPSTASH_EXAMPLE,
    );
  }
  const cooldownMs = readDurationMs(env, "CIRCUIT_BREAKER_COOLDOWN", "10s");
  const failures = readInteger(env, "CIRCUIT_BREAKER_FAILURES", 2, { min: 1, max: 100, example: "2" });
  return Object.freeze({ upstash, postgres, breaker: Object.freeze({ failures, cooldownMs }) });
}

const FAIL_MODE_EXAMPLE = "login=closed,other=open";

/** `FAIL_MODE`: one mode for both (`closed`), or per kind (`login=closed,other=open`). */
export function parseFailModes(env: RawEnv): FailModes {
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
