-- Trusted devices (device cookies) and cool-offs that grow (README: "Trusted devices", "Cool-offs that grow").
-- Idempotent: the shared database may be migrated by several branches. New overloads only; the
-- functions of 0003/0004 stay for Workers of the previous version during a rolling deploy.
CREATE TABLE IF NOT EXISTS "gateway_devices" (
	"registry" text NOT NULL,
	"id" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"info" text DEFAULT '{}' NOT NULL,
	CONSTRAINT "gateway_devices_registry_id_pk" PRIMARY KEY("registry","id")
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "gateway_devices_expires_at_idx" ON "gateway_devices" USING btree ("expires_at");
--> statement-breakpoint
-- The n-th lockout of a counter in a row lasts min(ttl * growth^(n-1), max). For each counter at the
-- limit: records a lockout in its history (key ':lockout:' -> ':lockout-history:') when the attempts
-- just `added` took it there (or its history was forgotten), sets its expiry to the cool-off of its
-- lockout count, and keeps the history for that cool-off plus memory_seconds. Answers the most
-- lockouts of a counter at the limit (0 when growth is off). The same rule as the Lua scripts
-- (src/store/upstash/scripts.ts) and the memory store.
CREATE OR REPLACE FUNCTION gateway_grow_cooloffs(
  keys text[], added integer[], lim integer, ttl_seconds float8, growth float8, memory_seconds float8, max_seconds float8
)
RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  k text;
  a integer;
  cnt integer;
  hk text;
  h integer;
  applied float8;
  most integer := 0;
BEGIN
  IF growth <= 0 OR ttl_seconds <= 0 OR lim <= 0 THEN RETURN 0; END IF;
  FOR k, a IN SELECT DISTINCT ON (t.k) t.k, t.a FROM unnest(keys, added) AS t(k, a) LOOP
    cnt := NULL;
    SELECT c.count INTO cnt FROM gateway_cache AS c WHERE c.key = k AND (c.expires_at IS NULL OR c.expires_at > now());
    CONTINUE WHEN cnt IS NULL OR cnt < lim;
    hk := regexp_replace(k, ':lockout:', ':lockout-history:');
    h := NULL;
    SELECT c.count INTO h FROM gateway_cache AS c WHERE c.key = hk AND (c.expires_at IS NULL OR c.expires_at > now());
    h := coalesce(h, 0);
    IF cnt - a < lim OR h = 0 THEN h := h + 1; END IF;
    applied := least(floor(ttl_seconds * 1000 * growth ^ (h - 1)), floor(max_seconds * 1000));
    UPDATE gateway_cache AS c SET expires_at = now() + make_interval(secs => applied / 1000), updated_at = now() WHERE c.key = k;
    INSERT INTO gateway_cache AS c (key, count, expires_at, updated_at)
    VALUES (hk, h, now() + make_interval(secs => applied / 1000 + memory_seconds), now())
    ON CONFLICT (key) DO UPDATE SET count = excluded.count, expires_at = excluded.expires_at, updated_at = now();
    most := greatest(most, h);
  END LOOP;
  RETURN most;
END
$$;
--> statement-breakpoint
-- The most lockouts remembered of the counters at the limit, without counting anything.
CREATE OR REPLACE FUNCTION gateway_lockouts(keys text[], lim integer)
RETURNS integer
LANGUAGE sql STABLE AS $$
  SELECT coalesce(max(coalesce(h.count, 1)), 0)::integer
  FROM gateway_cache AS c
  LEFT JOIN gateway_cache AS h ON h.key = regexp_replace(c.key, ':lockout:', ':lockout-history:') AND (h.expires_at IS NULL OR h.expires_at > now())
  WHERE c.key = ANY(keys) AND c.count >= lim AND (c.expires_at IS NULL OR c.expires_at > now())
$$;
--> statement-breakpoint
-- gateway_admit (0004) with a trusted device and cool-offs that grow. With trusted_keys, the attempt
-- is counted on them when the registry holds the device unexpired (decided here, under the same
-- transaction as the reservation), otherwise on keys. A trusted device whose counter (the last of
-- trusted_keys) reaches the limit while counted during a lockout leaves the registry.
CREATE OR REPLACE FUNCTION gateway_admit(
  keys text[], lim integer, ttl_seconds float8, lock_out boolean, count_while_locked boolean,
  reservation text, reservation_ms float8, idle_seconds float8,
  trusted_keys text[], device_registry text, device_id text, growth float8, memory_seconds float8, max_seconds float8
)
RETURNS TABLE (outcome text, lock_ms_left float8, in_flight integer, counts json, trusted boolean, lockouts integer)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
  is_trusted boolean := false;
  active text[];
  r record;
  remembered integer := 0;
  ms float8;
  device_count integer;
BEGIN
  IF coalesce(array_length(trusted_keys, 1), 0) > 0 THEN
    SELECT EXISTS (SELECT 1 FROM gateway_devices AS d WHERE d.registry = device_registry AND d.id = device_id AND d.expires_at > now()) INTO is_trusted;
  END IF;
  active := CASE WHEN is_trusted THEN trusted_keys ELSE keys END;
  SELECT * INTO r FROM gateway_admit(active, lim, ttl_seconds, lock_out, count_while_locked, reservation, reservation_ms, idle_seconds);
  ms := r.lock_ms_left;
  IF r.outcome = 'locked' AND growth > 0 AND ttl_seconds > 0 THEN
    IF count_while_locked THEN
      remembered := gateway_grow_cooloffs(active, array_fill(1, ARRAY[array_length(active, 1)]), lim, ttl_seconds, growth, memory_seconds, max_seconds);
      SELECT CASE WHEN bool_or(c.expires_at IS NULL) FILTER (WHERE c.count >= lim) THEN NULL
                  ELSE greatest(0, extract(epoch FROM max(c.expires_at) FILTER (WHERE c.count >= lim) - now()) * 1000)::float8 END
      INTO ms FROM gateway_cache AS c WHERE c.key = ANY(active) AND (c.expires_at IS NULL OR c.expires_at > now());
    ELSE
      remembered := gateway_lockouts(active, lim);
    END IF;
  END IF;
  IF is_trusted AND r.outcome = 'locked' AND count_while_locked THEN
    SELECT c.count INTO device_count FROM gateway_cache AS c WHERE c.key = active[array_length(active, 1)];
    IF coalesce(device_count, 0) >= lim THEN
      DELETE FROM gateway_devices AS d WHERE d.registry = device_registry AND d.id = device_id;
    END IF;
  END IF;
  RETURN QUERY SELECT r.outcome, ms, r.in_flight, r.counts, is_trusted, remembered;
END
$$;
--> statement-breakpoint
-- A confirmed failure with cool-offs that grow and a trusted device: ends the reservation, counts the
-- failure on every key (as CONFIRM_FAILURE in src/store/postgres/statements.ts), applies growth, and
-- removes the device from its registry when its counter reached the limit.
CREATE OR REPLACE FUNCTION gateway_confirm_failure(
  keys text[], reservation text, ttl_seconds float8, keep integer, idle_seconds float8,
  growth float8, memory_seconds float8, max_seconds float8, device_registry text, device_id text, device_counter text
)
RETURNS TABLE (counts json, lockouts integer)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
  remembered integer := 0;
  device_count integer;
BEGIN
  PERFORM pg_advisory_xact_lock(h)
  FROM (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(keys) AS k ORDER BY h) AS ordered;
  DELETE FROM gateway_inflight AS f WHERE f.key = ANY(keys) AND f.id = reservation;
  INSERT INTO gateway_cache AS c (key, count, expires_at, updated_at)
  SELECT DISTINCT k, 1,
         CASE WHEN ttl_seconds > 0 THEN now() + make_interval(secs => ttl_seconds)
              WHEN keep > 0 AND 1 >= keep THEN NULL
              ELSE now() + make_interval(secs => idle_seconds) END,
         now()
  FROM unnest(keys) AS k
  ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN c.expires_at IS NOT NULL AND c.expires_at <= now() THEN 1 ELSE c.count + 1 END,
    expires_at = CASE WHEN ttl_seconds > 0 THEN excluded.expires_at
                      WHEN keep > 0 AND (CASE WHEN c.expires_at IS NOT NULL AND c.expires_at <= now() THEN 1 ELSE c.count + 1 END) >= keep THEN NULL
                      ELSE now() + make_interval(secs => idle_seconds) END,
    updated_at = now();
  IF keep > 0 THEN
    remembered := gateway_grow_cooloffs(keys, array_fill(1, ARRAY[array_length(keys, 1)]), keep, ttl_seconds, growth, memory_seconds, max_seconds);
  END IF;
  IF device_id <> '' AND keep > 0 THEN
    SELECT c.count INTO device_count FROM gateway_cache AS c WHERE c.key = device_counter;
    IF coalesce(device_count, 0) >= keep THEN
      DELETE FROM gateway_devices AS d WHERE d.registry = device_registry AND d.id = device_id;
    END IF;
  END IF;
  RETURN QUERY SELECT coalesce(json_object_agg(c.key, c.count), '{}'::json), remembered
  FROM gateway_cache AS c WHERE c.key = ANY(keys);
END
$$;
--> statement-breakpoint
-- Attempts refused from an isolate's lock cache (COUNT_REFUSED in statements.ts) with cool-offs that
-- grow: counted only while lock_key is still locked, then each counter at the limit gets the
-- cool-off of its lockout count.
CREATE OR REPLACE FUNCTION gateway_count_refused(
  lock_key text, lim integer, ttl_seconds float8, keys text[], attempts integer[], idle_seconds float8,
  growth float8, memory_seconds float8, max_seconds float8
)
RETURNS TABLE (locked boolean, count integer, ms_left float8)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
  IF NOT EXISTS (SELECT 1 FROM gateway_cache AS c WHERE c.key = lock_key AND c.count >= lim AND (c.expires_at IS NULL OR c.expires_at > now())) THEN
    RETURN QUERY SELECT false, coalesce((SELECT c.count FROM gateway_cache AS c WHERE c.key = lock_key AND (c.expires_at IS NULL OR c.expires_at > now())), 0), NULL::float8;
    RETURN;
  END IF;
  INSERT INTO gateway_cache AS c (key, count, expires_at, updated_at)
  SELECT t.k, t.n,
         CASE WHEN ttl_seconds > 0 THEN now() + make_interval(secs => ttl_seconds)
              WHEN t.n >= lim THEN NULL
              ELSE now() + make_interval(secs => idle_seconds) END,
         now()
  FROM unnest(keys, attempts) AS t(k, n) WHERE t.n > 0
  ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN c.expires_at IS NOT NULL AND c.expires_at <= now() THEN excluded.count ELSE c.count + excluded.count END,
    expires_at = CASE WHEN ttl_seconds > 0 THEN excluded.expires_at
                      WHEN (CASE WHEN c.expires_at IS NOT NULL AND c.expires_at <= now() THEN excluded.count ELSE c.count + excluded.count END) >= lim THEN NULL
                      ELSE now() + make_interval(secs => idle_seconds) END,
    updated_at = now();
  PERFORM gateway_grow_cooloffs(keys, attempts, lim, ttl_seconds, growth, memory_seconds, max_seconds);
  RETURN QUERY SELECT true, c.count,
         CASE WHEN c.expires_at IS NOT NULL THEN greatest(0, extract(epoch FROM c.expires_at - now()) * 1000)::float8 END
  FROM gateway_cache AS c WHERE c.key = lock_key;
END
$$;
