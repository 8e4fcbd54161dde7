-- A reservation as one statement: advisory locks on the keys (sorted, so two key sets cannot
-- deadlock), then the upsert. Inside a plpgsql function each statement takes a fresh snapshot, so
-- the upsert sees every reservation committed before the lock was granted. One HTTP round trip.
CREATE OR REPLACE FUNCTION gateway_reserve(keys text[], lim integer, ttl_seconds float8, lock_out boolean, count_while_locked boolean)
RETURNS TABLE (locked boolean, permanent boolean, seconds_left float8, counts json)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
  PERFORM pg_advisory_xact_lock(h)
  FROM (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(keys) AS k ORDER BY h) AS ordered;
  RETURN QUERY
  WITH live AS (
    SELECT c.key, c.count, c.expires_at FROM gateway_cache AS c
    WHERE c.key = ANY(keys) AND (c.expires_at IS NULL OR c.expires_at > now())
  ), decision AS (
    SELECT coalesce(max(l.count), 0) AS top,
           coalesce(bool_or(l.count >= lim AND l.expires_at IS NULL), false) AS permanent,
           extract(epoch FROM max(l.expires_at) FILTER (WHERE l.count >= lim) - now())::float8 AS seconds_left
    FROM live AS l
  ), counted AS (
    INSERT INTO gateway_cache AS c (key, count, expires_at, updated_at)
    SELECT k, 1, CASE WHEN ttl_seconds > 0 THEN now() + make_interval(secs => ttl_seconds) END, now()
    FROM unnest(keys) AS k, decision AS d
    WHERE NOT (lock_out AND d.top >= lim) OR count_while_locked
    ON CONFLICT (key) DO UPDATE SET
      count = CASE WHEN c.expires_at IS NOT NULL AND c.expires_at <= now() THEN 1 ELSE c.count + 1 END,
      expires_at = excluded.expires_at,
      updated_at = now()
    RETURNING c.key, c.count
  )
  SELECT (lock_out AND d.top >= lim), d.permanent, d.seconds_left,
         coalesce((SELECT json_object_agg(x.key, x.count) FROM counted AS x), (SELECT json_object_agg(l.key, l.count) FROM live AS l), '{}'::json)
  FROM decision AS d;
END
$$;
