/**
 * The admin API's settings: ADMIN_TOKEN (a secret; unset = disabled) and ADMIN_PREFIX. Parsed here, in
 * the aggregate's folder, because the admin API sits above the aggregate: it reports the whole
 * configuration (src/admin/summary.ts).
 */
import { ConfigError, type RawEnv, readText } from "../config/read";

/** Where the admin API and the dashboard live when ADMIN_PREFIX is unset. */
export const DEFAULT_ADMIN_PREFIX = "/__gateway";

export interface AdminSettings {
  readonly token: string;
  /** A path with a leading and no trailing slash. @default "/__gateway" */
  readonly prefix: string;
}

/** The admin settings; null when ADMIN_TOKEN is unset (disabled). @throws ConfigError */
export function parseAdminSettings(env: RawEnv): AdminSettings | null {
  const token = readText(env, "ADMIN_TOKEN");
  const prefix = readText(env, "ADMIN_PREFIX") ?? DEFAULT_ADMIN_PREFIX;
  if (!/^\/[\w.~-]+(\/[\w.~-]+)*$/.test(prefix)) throw new ConfigError("ADMIN_PREFIX", `must be a path such as ${DEFAULT_ADMIN_PREFIX}`, DEFAULT_ADMIN_PREFIX);
  if (token === undefined) return null;
  // A secret: the message never repeats it.
  if (token.length < 16) throw new ConfigError("ADMIN_TOKEN", "must be at least 16 characters (generate one with `openssl rand -hex 32`)", "<64 hex characters>");
  return Object.freeze({ token, prefix });
}
