/** The effective configuration as the admin API and the dashboard show it: secrets only as set or not. */
import type { GatewayConfig } from "../settings";

/** The configuration without a secret in it. */
export function configSummary(config: GatewayConfig) {
  return {
    environment: config.environment,
    origin: config.origin.url?.host ?? "zone",
    login_routes: config.login.routes.map((r) => `${r.methods.join(",")} ${r.path}`),
    lockout: {
      failure_limit: config.lockout.failureLimit,
      cooloff_seconds: config.lockout.cooloffSeconds,
      parameters: config.lockout.parameters,
      reset_on_success: config.lockout.resetOnSuccess,
      http_response_code: config.lockout.httpResponseCode,
      ipv6_prefix: config.lockout.ipv6Prefix,
      cooloff_growth: config.lockout.cooloffGrowth && {
        factor: config.lockout.cooloffGrowth.factor,
        memory_seconds: config.lockout.cooloffGrowth.memorySeconds,
        max_seconds: config.lockout.cooloffGrowth.maxSeconds,
      },
    },
    history: { enabled: config.history.enabled, max_entries: config.history.maxEntries, retention_seconds: config.history.retentionSeconds },
    trusted_devices: config.devices && { cookie: config.devices.cookieName, lifetime_seconds: config.devices.lifetimeSeconds, rotating: config.devices.previousSecret !== null },
    whitelist_entries: config.whitelist.size,
    blacklist_entries: config.blacklist.size,
    stores: { upstash: config.store.upstash !== null, postgres: config.store.postgres !== null },
    fail_mode: config.failMode,
    rate_limits: config.rateLimits.policies.map((p) => p.name),
    sessions: { cookie: config.sessions.cookieName, enforcement: config.sessions.enforcement, timeout_seconds: config.sessions.timeoutMs / 1000 },
    lockout_webhook: config.lockoutWebhook !== null,
  };
}

/** Secrets by name, as "set" or "not set". */
function secrets(config: GatewayConfig): Record<string, boolean> {
  return {
    ADMIN_TOKEN: config.admin !== null,
    ORIGIN_SECRET: config.origin.secret !== null,
    UPSTASH_REDIS_REST_URL: config.store.upstash !== null,
    UPSTASH_REDIS_REST_TOKEN: config.store.upstash !== null,
    DATABASE_URL: config.store.postgres !== null,
    LOCKOUT_WEBHOOK_URL: config.lockoutWebhook !== null,
    DEVICE_COOKIE_SECRET: config.devices !== null,
    DEVICE_COOKIE_SECRET_PREVIOUS: config.devices?.previousSecret != null,
  };
}

/** The summary flattened to `[setting, value]` rows, secrets masked, for the dashboard's table. */
export function configRows(config: GatewayConfig): [string, string][] {
  const rows: [string, string][] = [];
  const walk = (value: unknown, path: string) => {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      for (const [name, inner] of Object.entries(value)) walk(inner, path ? `${path}.${name}` : name);
    } else rows.push([path, typeof value === "string" ? value : JSON.stringify(value)]);
  };
  walk({ enabled: config.enabled, ...configSummary(config), rate_limit_analytics: config.rateLimitAnalytics }, "");
  for (const [name, set] of Object.entries(secrets(config))) rows.push([name, set ? "set (hidden)" : "not set"]);
  return rows;
}
