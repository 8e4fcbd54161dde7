-- gateway_admit (0003) with bounded counters when there is no cool-off (ttl_seconds = 0): a counter
-- counted while its client is locked gets no expiry once it reached the limit (the lockout stays until
-- an admin resets it) and idle_seconds below it, so counters that never lock do not pile up forever.
-- The same rule as the settle statements (src/store/postgres/statements.ts), the Lua scripts and the
-- memory store. A new overload (one more argument): the 7-argument function of 0003 stays for Workers
-- of the previous version during a rolling deploy.
CREATE OR REPLACE FUNCTION gateway_admit(
  keys text[], lim integer, ttl_seconds float8, lock_out boolean, count_while_locked boolean,
  reservation text, reservation_ms float8, idle_seconds float8
)
RETURNS TABLE (outcome text, lock_ms_left float8, in_flight integer, counts json)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
  top integer;
  busiest integer;
  busy boolean;
BEGIN
  PERFORM pg_advisory_xact_lock(h)
  FROM (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(keys) AS k ORDER BY h) AS ordered;
  DELETE FROM gateway_inflight AS f WHERE f.key = ANY(keys) AND f.expires_at <= now();
  SELECT coalesce(max(c.count), 0) INTO top
  FROM gateway_cache AS c WHERE c.key = ANY(keys) AND (c.expires_at IS NULL OR c.expires_at > now());

  IF lock_out AND top >= lim THEN
    IF count_while_locked THEN
      INSERT INTO gateway_cache AS c (key, count, expires_at, updated_at)
      SELECT DISTINCT k, 1,
             CASE WHEN ttl_seconds > 0 THEN now() + make_interval(secs => ttl_seconds)
                  WHEN 1 >= lim THEN NULL
                  ELSE now() + make_interval(secs => idle_seconds) END,
             now()
      FROM unnest(keys) AS k
      ON CONFLICT (key) DO UPDATE SET
        count = CASE WHEN c.expires_at IS NOT NULL AND c.expires_at <= now() THEN 1 ELSE c.count + 1 END,
        expires_at = CASE WHEN ttl_seconds > 0 THEN excluded.expires_at
                          WHEN (CASE WHEN c.expires_at IS NOT NULL AND c.expires_at <= now() THEN 1 ELSE c.count + 1 END) >= lim THEN NULL
                          ELSE now() + make_interval(secs => idle_seconds) END,
        updated_at = now();
    END IF;
    RETURN QUERY
    SELECT 'locked'::text,
           CASE WHEN bool_or(c.expires_at IS NULL) FILTER (WHERE c.count >= lim) THEN NULL
                ELSE greatest(0, extract(epoch FROM max(c.expires_at) FILTER (WHERE c.count >= lim) - now()) * 1000)::float8 END,
           0,
           coalesce(json_object_agg(c.key, c.count), '{}'::json)
    FROM gateway_cache AS c WHERE c.key = ANY(keys) AND (c.expires_at IS NULL OR c.expires_at > now());
    RETURN;
  END IF;

  SELECT coalesce(max(x.flying), 0), coalesce(bool_or(lock_out AND x.failures + x.flying >= lim), false) INTO busiest, busy
  FROM (
    SELECT k,
           coalesce((SELECT c.count FROM gateway_cache AS c WHERE c.key = k AND (c.expires_at IS NULL OR c.expires_at > now())), 0) AS failures,
           (SELECT count(*)::integer FROM gateway_inflight AS f WHERE f.key = k) AS flying
    FROM unnest(keys) AS k
  ) AS x;
  IF NOT busy THEN
    INSERT INTO gateway_inflight AS f (key, id, expires_at)
    SELECT DISTINCT k, reservation, now() + make_interval(secs => reservation_ms / 1000) FROM unnest(keys) AS k
    ON CONFLICT (key, id) DO UPDATE SET expires_at = excluded.expires_at;
  END IF;
  RETURN QUERY
  SELECT CASE WHEN busy THEN 'busy' ELSE 'reserved' END, NULL::float8, CASE WHEN busy THEN busiest ELSE busiest + 1 END,
         coalesce((SELECT json_object_agg(c.key, c.count) FROM gateway_cache AS c
                   WHERE c.key = ANY(keys) AND (c.expires_at IS NULL OR c.expires_at > now())), '{}'::json);
END
$$;
