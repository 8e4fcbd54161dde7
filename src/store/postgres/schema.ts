/**
 * The Postgres cache table: Django's `createcachetable` idea, built for counters. One row per
 * counter key, an integer count, an optional text value, and an expiry that the cron sweep uses.
 */
import { bigserial, index, integer, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

export const gatewayCache = pgTable(
  "gateway_cache",
  {
    key: text("key").primaryKey(),
    count: integer("count").notNull().default(0),
    value: text("value"),
    /** Null = never expires (a lock without a cool-off). */
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    /** Lets the gateway copy back what was counted here while Upstash was down. */
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index("gateway_cache_expires_at_idx").on(table.expiresAt), index("gateway_cache_updated_at_idx").on(table.updatedAt)],
);

/**
 * Login attempts in flight: one row per counter key and reservation, until the origin's answer
 * settles it or it expires (the origin's timeout plus a margin). Confirmed failures stay in
 * `gateway_cache`; an attempt only waits when failures plus these rows reach the limit.
 */
export const gatewayInflight = pgTable(
  "gateway_inflight",
  {
    key: text("key").notNull(),
    id: text("id").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.key, table.id] }), index("gateway_inflight_expires_at_idx").on(table.expiresAt)],
);

/**
 * The attempt history (django-axes' AccessLog): one row per counted login attempt, appended by the
 * statement that counts it (src/store/postgres/statements.ts), so it costs no round trip of its own.
 * Rows older than AXES_HISTORY_RETENTION are deleted by the cron sweep. No password, the user agent
 * as a digest; `counters` holds the counter keys without `<prefix>:lockout:`, space-separated.
 */
export const accessLog = pgTable(
  "access_log",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    /** CACHE_KEY_PREFIX: several gateways may share one database. */
    prefix: text("prefix").notNull(),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
    username: text("username").notNull(),
    ip: text("ip").notNull(),
    path: text("path").notNull(),
    userAgent: text("user_agent").notNull(),
    outcome: text("outcome").notNull(),
    counters: text("counters").notNull(),
  },
  (table) => [index("access_log_prefix_id_idx").on(table.prefix, table.id), index("access_log_at_idx").on(table.at)],
);

/**
 * Trusted devices (device cookies): one row per username registry and device id, until it expires
 * (AXES_DEVICE_COOKIE_LIFETIME after its last successful login), is replaced by the browser's next
 * success, fails up to the limit, or is revoked.
 */
export const gatewayDevices = pgTable(
  "gateway_devices",
  {
    registry: text("registry").notNull(),
    id: text("id").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    /** JSON text: issued at, address, user agent (what the admin listing shows). */
    info: text("info").notNull().default("{}"),
  },
  (table) => [primaryKey({ columns: [table.registry, table.id] }), index("gateway_devices_expires_at_idx").on(table.expiresAt)],
);
