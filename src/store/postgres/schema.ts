/**
 * The Postgres cache table: Django's `createcachetable` idea, built for counters. One row per
 * counter key, an integer count, an optional text value, and an expiry that the cron sweep uses.
 */
import { index, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";

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
