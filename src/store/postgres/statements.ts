/**
 * The SQL behind the Postgres counter store, in one place. Each operation is one atomic statement
 * (an upsert with `ON CONFLICT DO UPDATE ... RETURNING`). A reservation calls `gateway_reserve`
 * (migrations/0001_reserve_function.sql), which first takes transaction-scoped advisory locks on its
 * keys: a plain statement decides from the snapshot it started with, so two concurrent attempts could
 * both see "2 of 3" and both pass. Still one statement, so one Neon HTTP round trip.
 */

/**
 * $1 keys, $2 limit, $3 ttl seconds (0 = never expires), $4 lock (bool), $5 count while locked (bool).
 * Counts restart when the row has expired, otherwise add one.
 */
export const RESERVE = "SELECT * FROM gateway_reserve($1::text[], $2::integer, $3::float8, $4::boolean, $5::boolean)";

/** $1 keys. Takes back one reserved attempt; a counter at zero expires at once (the sweep deletes it). */
export const RELEASE = `
UPDATE gateway_cache
SET count = count - 1, expires_at = CASE WHEN count <= 1 THEN now() ELSE expires_at END, updated_at = now()
WHERE key = ANY($1::text[]) AND count > 0 AND (expires_at IS NULL OR expires_at > now())`;

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

/** $1 key prefix, $2 since (epoch ms), $3 limit. Live counters under the prefix written since then, oldest first. */
export const CHANGED_SINCE = `
SELECT key, count, ceil(extract(epoch FROM expires_at) * 1000)::float8 AS expires_ms
FROM gateway_cache
WHERE starts_with(key, $1) AND updated_at >= to_timestamp($2 / 1000.0) AND count > 0 AND (expires_at IS NULL OR expires_at > now())
ORDER BY updated_at
LIMIT $3`;

/** $1 key, $2 window in seconds. A fixed-window hit: restarts an expired window, otherwise adds one. */
export const CONSUME = `
INSERT INTO gateway_cache AS c (key, count, expires_at, updated_at)
VALUES ($1, 1, now() + make_interval(secs => $2::float8), now())
ON CONFLICT (key) DO UPDATE SET
  count = CASE WHEN c.expires_at <= now() THEN 1 ELSE c.count + 1 END,
  expires_at = CASE WHEN c.expires_at <= now() THEN excluded.expires_at ELSE c.expires_at END,
  updated_at = now()
RETURNING c.count, ceil(extract(epoch FROM c.expires_at) * 1000)::float8 AS reset_ms`;

/** $1 key prefix, $2 limit. Live counters under the prefix. */
export const LIST = `
SELECT key, count, ceil(extract(epoch FROM expires_at) * 1000)::float8 AS expires_ms
FROM gateway_cache
WHERE starts_with(key, $1) AND count > 0 AND (expires_at IS NULL OR expires_at > now())
ORDER BY key
LIMIT $2`;
