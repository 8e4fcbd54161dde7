import { and, desc, eq, gt, gte, isNull, or, sql as raw, type SQL } from "drizzle-orm";
import type { NeonHttpDatabase } from "drizzle-orm/neon-http";
import type { PgColumn } from "drizzle-orm/pg-core";
import { gatewayCache, gatewayDevices, gatewayInflight } from "./schema";

/**
 * The SQL behind the Postgres counter store, in one place: drizzle's query builder where it expresses
 * the statement (the plain reads and deletes, at the end), raw SQL where it cannot (the upserts whose
 * CTEs count two tables together, the `gateway_*` function calls). Each operation is one atomic statement
 * (an upsert with `ON CONFLICT DO UPDATE ... RETURNING`, with data-modifying CTEs where two tables
 * change together). An admission calls `gateway_admit` (migrations/0003_admit_function.sql), which
 * first takes transaction-scoped advisory locks on its keys: a plain statement decides from the
 * snapshot it started with, so two concurrent attempts could both see "2 of 3" and both pass. Still
 * one statement, so one Neon HTTP round trip.
 */

/**
 * $1 keys, $2 limit, $3 ttl seconds (0 = none), $4 lock (bool), $5 count while locked (bool),
 * $6 reservation id, $7 reservation lifetime in ms, $8 idle seconds (migrations/0004_idle_counters.sql).
 */
export const ADMIT = "SELECT * FROM gateway_admit($1::text[], $2::integer, $3::float8, $4::boolean, $5::boolean, $6::text, $7::float8, $8::float8)";

/**
 * ADMIT with a trusted device and cool-offs that grow (migrations/0006_devices_growth.sql): $1-$8 as
 * ADMIT, $9 the keys as a trusted device (empty = no device), $10 its registry, $11 its id,
 * $12 growth factor (0 = fixed), $13 memory seconds, $14 max cool-off seconds.
 */
export const ADMIT_DEVICE_GROWTH =
  "SELECT * FROM gateway_admit($1::text[], $2::integer, $3::float8, $4::boolean, $5::boolean, $6::text, $7::float8, $8::float8, $9::text[], $10::text, $11::text, $12::float8, $13::float8, $14::float8)";

/**
 * CONFIRM_FAILURE with cool-offs that grow and a trusted device (0006): $1-$5 as CONFIRM_FAILURE,
 * $6 growth factor, $7 memory seconds, $8 max seconds, $9 registry, $10 device id ("" = none), $11 its counter.
 */
export const CONFIRM_FAILURE_DEVICE_GROWTH =
  "SELECT * FROM gateway_confirm_failure($1::text[], $2::text, $3::float8, $4::integer, $5::float8, $6::float8, $7::float8, $8::float8, $9::text, $10::text, $11::text)";

/** COUNT_REFUSED with cool-offs that grow (0006): $1-$6 as COUNT_REFUSED, $7 growth factor, $8 memory seconds, $9 max seconds. */
export const COUNT_REFUSED_GROWTH =
  "SELECT * FROM gateway_count_refused($1::text, $2::integer, $3::float8, $4::text[], $5::integer[], $6::float8, $7::float8, $8::float8, $9::float8)";

/**
 * A counter's expiry once counted to `count`: the cool-off ($3 seconds) when there is one; otherwise
 * none once it reached `keep` (the limit; 0 = it never locks) and `idle` seconds below it.
 */
const expiryFor = (count: string, keep: string, idle: string) =>
  `CASE WHEN $3::float8 > 0 THEN now() + make_interval(secs => $3::float8)
        WHEN ${keep} > 0 AND ${count} >= ${keep} THEN NULL
        ELSE now() + make_interval(secs => ${idle}) END`;

/** Counting `n` more failures on a row (an expired one restarts), its expiry as `expiryFor` says. */
const countOn = (n: string, keep: string, idle: string) => {
  const count = `CASE WHEN c.expires_at IS NOT NULL AND c.expires_at <= now() THEN ${n} ELSE c.count + ${n} END`;
  return `
ON CONFLICT (key) DO UPDATE SET
  count = ${count},
  expires_at = ${expiryFor(count, keep, idle)},
  updated_at = now()`;
};

/**
 * $1 keys, $2 reservation id, $3 ttl seconds (0 = none), $4 the limit a counter without a ttl is kept
 * at (0 = never), $5 idle seconds. Ends the reservation and counts the failure.
 */
export const CONFIRM_FAILURE = `
WITH ended AS (DELETE FROM gateway_inflight WHERE key = ANY($1::text[]) AND id = $2),
counted AS (
  INSERT INTO gateway_cache AS c (key, count, expires_at, updated_at)
  SELECT DISTINCT k, 1, ${expiryFor("1", "$4::integer", "$5::float8")}, now() FROM unnest($1::text[]) AS k
  ${countOn("1", "$4::integer", "$5::float8")}
  RETURNING c.key, c.count)
SELECT coalesce(json_object_agg(key, count), '{}'::json) AS counts FROM counted`;

/**
 * $1 keys. Each live counter's count, and the most live reservations on one of them; writes nothing.
 * Raw: one row of two aggregates over two tables (a JSON object, a max of grouped counts), no FROM.
 */
export const PENDING = `
SELECT coalesce((SELECT json_object_agg(c.key, c.count) FROM gateway_cache AS c
                 WHERE c.key = ANY($1::text[]) AND (c.expires_at IS NULL OR c.expires_at > now())), '{}'::json) AS counts,
       coalesce((SELECT max(n) FROM (SELECT count(*)::integer AS n FROM gateway_inflight AS f
                 WHERE f.key = ANY($1::text[]) AND f.expires_at > now() GROUP BY f.key) AS x), 0)::integer AS in_flight`;

/**
 * $1 keys, $2 reservation id, $3 clear the counters (bool), $4 their lockout histories. Ends the
 * reservation; other reservations stay. Raw: a counting statement, which `withHistory` extends by a CTE.
 */
export const RELEASE = `
WITH ended AS (DELETE FROM gateway_inflight WHERE key = ANY($1::text[]) AND id = $2)
DELETE FROM gateway_cache WHERE $3::boolean AND key = ANY($1::text[] || $4::text[])`;

/**
 * RELEASE and a successful login's device in one statement: $1-$4 as RELEASE, $5 registry, $6 device
 * id, $7 the id it replaces (null = none), $8 expiry in epoch ms, $9 info, $10 devices kept. Drops
 * the replaced and expired devices and, beyond the cap, those closest to expiry.
 */
export const RELEASE_DEVICE = `
WITH ended AS (DELETE FROM gateway_inflight WHERE key = ANY($1::text[]) AND id = $2),
cleared AS (DELETE FROM gateway_cache WHERE $3::boolean AND key = ANY($1::text[] || $4::text[])),
dropped AS (
  DELETE FROM gateway_devices WHERE registry = $5 AND id <> $6 AND (
    id = $7::text OR expires_at <= now() OR id IN (
      SELECT id FROM gateway_devices WHERE registry = $5 AND id <> $6 AND expires_at > now()
      ORDER BY expires_at DESC OFFSET greatest(0, $10::integer - 1))))
INSERT INTO gateway_devices (registry, id, expires_at, info) VALUES ($5, $6, to_timestamp($8::float8 / 1000.0), $9)
ON CONFLICT (registry, id) DO UPDATE SET expires_at = excluded.expires_at, info = excluded.info`;

/**
 * $1 the locked key, $2 limit, $3 ttl seconds (0 = none), $4 keys, $5 attempts per key, $6 idle seconds.
 * Counts attempts refused from an isolate's lock cache, only while $1 is still locked.
 */
export const COUNT_REFUSED = `
WITH lock AS (
  SELECT count, expires_at FROM gateway_cache
  WHERE key = $1 AND count >= $2 AND (expires_at IS NULL OR expires_at > now())),
counted AS (
  INSERT INTO gateway_cache AS c (key, count, expires_at, updated_at)
  SELECT k, n, ${expiryFor("n", "$2::integer", "$6::float8")}, now() FROM unnest($4::text[], $5::integer[]) AS t(k, n)
  WHERE n > 0 AND EXISTS (SELECT 1 FROM lock)
  ${countOn("excluded.count", "$2::integer", "$6::float8")}
  RETURNING c.key, c.count, c.expires_at),
mine AS (
  SELECT coalesce((SELECT count FROM counted WHERE key = $1), (SELECT count FROM lock), 0) AS count,
         CASE WHEN EXISTS (SELECT 1 FROM counted WHERE key = $1) THEN (SELECT expires_at FROM counted WHERE key = $1)
              ELSE (SELECT expires_at FROM lock) END AS expires_at)
SELECT EXISTS (SELECT 1 FROM lock) AS locked, m.count,
       CASE WHEN m.expires_at IS NOT NULL THEN greatest(0, extract(epoch FROM m.expires_at - now()) * 1000)::float8 END AS ms_left
FROM mine AS m`;

/** $1 keys, $2 counts, $3 expiries in epoch ms (null = never). Raises, never lowers. */
export const MERGE = `
INSERT INTO gateway_cache AS c (key, count, expires_at, updated_at)
SELECT k, n, CASE WHEN e IS NULL THEN NULL ELSE to_timestamp(e / 1000.0) END, now()
FROM unnest($1::text[], $2::int[], $3::float8[]) AS t(k, n, e)
WHERE e IS NULL OR e > extract(epoch FROM now()) * 1000
ON CONFLICT (key) DO UPDATE SET
  count = CASE WHEN c.expires_at IS NOT NULL AND c.expires_at <= now() THEN excluded.count ELSE greatest(c.count, excluded.count) END,
  expires_at = CASE
    WHEN excluded.expires_at IS NULL THEN NULL
    WHEN c.expires_at IS NULL THEN NULL
    ELSE greatest(c.expires_at, excluded.expires_at) END,
  updated_at = now()`;

/** $1 key, $2 window in seconds. A fixed-window hit: restarts an expired window, otherwise adds one. */
export const CONSUME = `
INSERT INTO gateway_cache AS c (key, count, expires_at, updated_at)
VALUES ($1, 1, now() + make_interval(secs => $2::float8), now())
ON CONFLICT (key) DO UPDATE SET
  count = CASE WHEN c.expires_at <= now() THEN 1 ELSE c.count + 1 END,
  expires_at = CASE WHEN c.expires_at <= now() THEN excluded.expires_at ELSE c.expires_at END,
  updated_at = now()
RETURNING c.count, ceil(extract(epoch FROM c.expires_at) * 1000)::float8 AS reset_ms`;

/*
 * Through drizzle's query builder: the plain reads and deletes. Each is still one statement, run by
 * the store through `postgresCall` on a database whose every statement has its own timeout.
 */

/** The database the statements below run on. */
export type CounterDb = NeonHttpDatabase;

const now = raw`now()`;

/** `column = ANY($n::text[])`: the values as one array parameter, however many there are. */
const anyOf = (column: PgColumn, values: readonly string[]): SQL => raw`${column} = ANY(${raw.param(values)}::text[])`;

const startsWith = (column: PgColumn, prefix: string): SQL => raw`starts_with(${column}, ${prefix})`;

/** An expiry in epoch ms, rounded up (null = never). */
const epochMs = (column: PgColumn) => raw<number | null>`ceil(extract(epoch FROM ${column}) * 1000)::float8`;

/** A counter as the contract shows it, and what makes it live: counted, and not expired. */
const snapshot = { key: gatewayCache.key, count: gatewayCache.count, expiresAtMs: epochMs(gatewayCache.expiresAt) };
const liveCounter = and(gt(gatewayCache.count, 0), or(isNull(gatewayCache.expiresAt), gt(gatewayCache.expiresAt, now)));

/** The live counters among `keys`, in the order of the keys given (as the contract says). */
export const readCounters = (db: CounterDb, keys: readonly string[]) =>
  db
    .select(snapshot)
    .from(gatewayCache)
    .where(and(anyOf(gatewayCache.key, keys), liveCounter))
    .orderBy(raw`array_position(${raw.param(keys)}::text[], ${gatewayCache.key})`);

/** Live counters under `prefix`, in key order, after the key `after` (null = from the start). */
export const listCounters = (db: CounterDb, prefix: string, limit: number, after: string | null) =>
  db
    .select(snapshot)
    .from(gatewayCache)
    .where(and(startsWith(gatewayCache.key, prefix), after === null ? undefined : gt(gatewayCache.key, after), liveCounter))
    .orderBy(gatewayCache.key)
    .limit(limit);

/** Live counters under `prefix` written since `sinceMs` (epoch ms), oldest first. */
export const countersChangedSince = (db: CounterDb, prefix: string, sinceMs: number, limit: number) =>
  db
    .select(snapshot)
    .from(gatewayCache)
    .where(and(startsWith(gatewayCache.key, prefix), gte(gatewayCache.updatedAt, raw`to_timestamp(${sinceMs} / 1000.0)`), liveCounter))
    .orderBy(gatewayCache.updatedAt)
    .limit(limit);

/** A registry's live devices, the latest to expire first. */
export const listDevices = (db: CounterDb, registry: string) =>
  db
    .select({ id: gatewayDevices.id, expiresAtMs: epochMs(gatewayDevices.expiresAt), info: gatewayDevices.info })
    .from(gatewayDevices)
    .where(and(eq(gatewayDevices.registry, registry), gt(gatewayDevices.expiresAt, now)))
    .orderBy(desc(gatewayDevices.expiresAt));

/** Removes a registry's devices `ids` and their counters `counters`; answers how many devices went. */
export const revokeDevices = (db: CounterDb, registry: string, ids: readonly string[], counters: readonly string[]) => {
  const removed = db
    .$with("removed")
    .as(db.delete(gatewayDevices).where(and(eq(gatewayDevices.registry, registry), anyOf(gatewayDevices.id, ids))).returning({ id: gatewayDevices.id }));
  const cleared = db.$with("counters").as(db.delete(gatewayCache).where(anyOf(gatewayCache.key, counters)));
  return db
    .with(removed, cleared)
    .select({ removed: raw<number>`count(*)::integer` })
    .from(removed);
};

/** Deletes the counters `keys` and their reservations (an admin reset). */
export const resetCounters = (db: CounterDb, keys: readonly string[]) => {
  const ended = db.$with("ended").as(db.delete(gatewayInflight).where(anyOf(gatewayInflight.key, keys)));
  return db.with(ended).delete(gatewayCache).where(anyOf(gatewayCache.key, keys));
};
