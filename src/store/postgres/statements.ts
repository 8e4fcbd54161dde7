/**
 * The SQL behind the Postgres counter store, in one place. Each operation is one atomic statement
 * (an upsert with `ON CONFLICT DO UPDATE ... RETURNING`), except a reservation, which first takes
 * transaction-scoped advisory locks on its keys: a single statement decides from the snapshot it
 * started with, so two concurrent attempts could both see "2 of 3" and both pass. Both statements
 * travel in one Neon HTTP transaction: one round trip.
 */

/** $1 keys. Serialises reservations on the same counters (sorted, so two key sets cannot deadlock). */
export const LOCK_KEYS = `
SELECT pg_advisory_xact_lock(h)
FROM (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) AS k ORDER BY h) AS ordered`;

/**
 * $1 keys, $2 limit, $3 ttl seconds (0 = never expires), $4 lock (bool), $5 count while locked (bool).
 * Counts restart when the row has expired, otherwise add one.
 */
export const RESERVE = `
WITH live AS (
  SELECT key, count, expires_at FROM gateway_cache
  WHERE key = ANY($1::text[]) AND (expires_at IS NULL OR expires_at > now())
), decision AS (
  SELECT coalesce(max(count), 0) AS top,
         coalesce(bool_or(count >= $2 AND expires_at IS NULL), false) AS permanent,
         extract(epoch FROM max(expires_at) FILTER (WHERE count >= $2) - now())::float8 AS seconds_left
  FROM live
), counted AS (
  INSERT INTO gateway_cache AS c (key, count, expires_at, updated_at)
  SELECT k, 1, CASE WHEN $3::float8 > 0 THEN now() + make_interval(secs => $3::float8) END, now()
  FROM unnest($1::text[]) AS k, decision AS d
  WHERE NOT ($4::boolean AND d.top >= $2) OR $5::boolean
  ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN c.expires_at IS NOT NULL AND c.expires_at <= now() THEN 1 ELSE c.count + 1 END,
    expires_at = excluded.expires_at,
    updated_at = now()
  RETURNING c.key, c.count
)
SELECT ($4::boolean AND d.top >= $2) AS locked, d.permanent, d.seconds_left,
       coalesce((SELECT json_object_agg(key, count) FROM counted), (SELECT json_object_agg(key, count) FROM live), '{}'::json) AS counts
FROM decision AS d`;

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

/** $1 since (epoch ms), $2 limit. Live lockout counters written since then, oldest first. */
export const CHANGED_SINCE = `
SELECT key, count, ceil(extract(epoch FROM expires_at) * 1000)::float8 AS expires_ms
FROM gateway_cache
WHERE updated_at >= to_timestamp($1 / 1000.0) AND count > 0 AND (expires_at IS NULL OR expires_at > now())
  AND position(':lockout:' IN key) > 0
ORDER BY updated_at
LIMIT $2`;

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
