/** Edge session settings: which cookie, how long, what to do with a session known to be revoked or expired. */
import { readDurationMs } from "../config/duration";
import { ConfigError, type RawEnv, readChoice, readJson, readText } from "../config/read";
import { canonicalPath } from "../http/path";

/** off: only keep the registry; strip: drop the cookie before the origin sees it; reject: answer 401. */
export type SessionEnforcement = "off" | "strip" | "reject";

export interface SessionSettings {
  /** @default "sessionid" (Django) */
  readonly cookieName: string;
  /** Idle time after which the edge treats a session as expired (sliding). @default 3600 s */
  readonly timeoutMs: number;
  /** How long revoked and expired sessions are remembered; match the origin's session lifetime. @default 14 days */
  readonly rememberMs: number;
  /** @default "strip" */
  readonly enforcement: SessionEnforcement;
  /** Canonical paths and methods of the logout routes. */
  readonly logoutRoutes: readonly { readonly path: string; readonly methods: readonly string[] }[];
  /** A separate Upstash database for sessions, as the seed keeps sessions in their own Redis database. */
  readonly upstash: { readonly url: string; readonly token: string } | null;
}

/** How long a session record is kept: its idle timeout, then remembered as expired or revoked. */
export const sessionRecordTtlMs = ({ timeoutMs, rememberMs }: Pick<SessionSettings, "timeoutMs" | "rememberMs">): number => timeoutMs + rememberMs;

const LOGOUT_EXAMPLE = `'[{"path":"/accounts/logout/","methods":["POST"]}]'`;

function parseLogoutRoutes(env: RawEnv): SessionSettings["logoutRoutes"] {
  const value = readJson(env, "LOGOUT_ROUTES", '[{"path":"/accounts/logout/"}]') ?? [{ path: "/accounts/logout/" }, { path: "/admin/logout/" }];
  if (!Array.isArray(value)) throw new ConfigError("LOGOUT_ROUTES", "must be a JSON list of routes", LOGOUT_EXAMPLE);
  return value.map((route: unknown, index) => {
    const r = route as { path?: unknown; methods?: unknown };
    if (typeof r?.path !== "string" || !r.path.startsWith("/")) throw new ConfigError("LOGOUT_ROUTES", `route ${index}: "path" must start with "/"`, LOGOUT_EXAMPLE);
    const methods = r.methods ?? ["GET", "POST"];
    if (!Array.isArray(methods) || !methods.every((m) => typeof m === "string")) {
      throw new ConfigError("LOGOUT_ROUTES", `route ${index}: "methods" must be a list such as ["POST"]`, LOGOUT_EXAMPLE);
    }
    return { path: canonicalPath(r.path), methods: methods.map((m: string) => m.toUpperCase()) };
  });
}

function parseSessionsUpstash(env: RawEnv): SessionSettings["upstash"] {
  const url = readText(env, "SESSIONS_UPSTASH_REDIS_REST_URL");
  const token = readText(env, "SESSIONS_UPSTASH_REDIS_REST_TOKEN");
  if (url === undefined && token === undefined) return null;
  if (url === undefined || !/^https?:\/\/[^/]/.test(url)) {
    throw new ConfigError("SESSIONS_UPSTASH_REDIS_REST_URL", "must be an http(s) URL when SESSIONS_UPSTASH_REDIS_REST_TOKEN is set", "https://eu1-sessions-12345.upstash.io");
  }
  if (token === undefined) throw new ConfigError("SESSIONS_UPSTASH_REDIS_REST_TOKEN", "is required when SESSIONS_UPSTASH_REDIS_REST_URL is set", "AX...your-token");
  return { url, token };
}

export function parseSessionSettings(env: RawEnv): SessionSettings {
  const cookieName = readText(env, "SESSION_COOKIE_NAME") ?? "sessionid";
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(cookieName)) throw new ConfigError("SESSION_COOKIE_NAME", "is not a valid cookie name", "sessionid");
  return Object.freeze({
    cookieName,
    timeoutMs: readDurationMs(env, "SESSION_TIMEOUT", "1h"),
    rememberMs: readDurationMs(env, "SESSION_REMEMBER", "14d"),
    enforcement: readChoice(env, "SESSION_ENFORCEMENT", ["off", "strip", "reject"] as const, "strip"),
    logoutRoutes: Object.freeze(parseLogoutRoutes(env)),
    upstash: parseSessionsUpstash(env),
  });
}
