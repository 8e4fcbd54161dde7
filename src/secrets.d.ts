// Secrets and optional vars are not in wrangler.toml, so `wrangler types` cannot see them.
// Listed here (see .dev.vars.example) so the Worker's Env names every input it reads.
interface Env {
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  AXES_WHITELIST_IPS?: string;
  AXES_BLACKLIST_IPS?: string;
  ORIGIN_URL?: string;
  ORIGIN_SECRET?: string;
  BASIC_AUTH_PATHS?: string;
  LOGIN_ROUTES?: string;
  AXES_LOCKOUT_URL?: string;
  AXES_COOLOFF_MESSAGE?: string;
  AXES_PERMALOCK_MESSAGE?: string;
  DATABASE_URL?: string;
  NEON_HTTP_ENDPOINT?: string;
  ADMIN_TOKEN?: string;
  LOCKOUT_WEBHOOK_URL?: string;
  SESSIONS_UPSTASH_REDIS_REST_URL?: string;
  SESSIONS_UPSTASH_REDIS_REST_TOKEN?: string;
  DEVICE_COOKIE_SECRET?: string;
  DEVICE_COOKIE_SECRET_PREVIOUS?: string;
  /** Optional Workers Analytics Engine dataset: one datapoint per security decision. */
  ANALYTICS?: AnalyticsEngineDataset;
}
