/**
 * Sessions in the Postgres cache table: a row per session (JSON in `value`) and a row per
 * (user, session) as the index. Each operation is one statement.
 */
import type { SqlClient } from "../store/postgres";
import { asStoreError } from "../store/contract";
import type { SessionLookup, SessionRecord, SessionState, SessionStore, StoredSession } from "./contract";
import type { SessionCopy } from "./upstash";
import { sessionKey, userIndexKey } from "./keys";

/**
 * $1 session key, $2 json, $3 ttl s, $4 index key, $5 hash, $6 the user's index prefix, $7 the
 * session key prefix. Also drops the user's index rows whose session is gone (logged out, expired).
 */
const SAVE = `
WITH pruned AS (
  DELETE FROM gateway_cache AS i WHERE starts_with(i.key, $6) AND i.key <> $4
    AND NOT EXISTS (SELECT 1 FROM gateway_cache AS s WHERE s.key = $7 || i.value AND (s.expires_at IS NULL OR s.expires_at > now()))
)
INSERT INTO gateway_cache (key, count, value, expires_at, updated_at)
VALUES ($1, 1, $2, now() + make_interval(secs => $3::float8), now()),
       ($4, 1, $5, now() + make_interval(secs => $3::float8), now())
ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at, updated_at = now()`;

/** $1 key, $2 now ms, $3 timeout ms, $4 ttl s. */
const TOUCH = `
WITH current AS (
  SELECT value::jsonb AS v FROM gateway_cache WHERE key = $1 AND (expires_at IS NULL OR expires_at > now())
), slid AS (
  UPDATE gateway_cache SET value = jsonb_set(value::jsonb, '{s}', to_jsonb($2::bigint))::text,
    expires_at = now() + make_interval(secs => $4::float8), updated_at = now()
  WHERE key = $1 AND EXISTS (SELECT 1 FROM current WHERE v->>'r' IS NULL AND $2::bigint - (v->>'s')::bigint <= $3::bigint)
  RETURNING 1
)
SELECT CASE
  WHEN NOT EXISTS (SELECT 1 FROM current) THEN 'unknown'
  WHEN (SELECT v->>'r' FROM current) IS NOT NULL THEN 'revoked'
  WHEN EXISTS (SELECT 1 FROM slid) THEN 'active'
  ELSE 'expired' END AS state,
  (SELECT v->>'u' FROM current) AS user`;

/**
 * $1 keys, $2 now ms, $3 ttl s. Marks sessions revoked, and writes a tombstone for sessions this
 * store never saw (recorded in Upstash only), so the revocation holds if Upstash goes away.
 * Answers a row per session that existed unrevoked.
 */
const REVOKE = `
INSERT INTO gateway_cache AS c (key, count, value, expires_at, updated_at)
SELECT k, 1, json_build_object('u', '', 'ip', '', 'c', 0, 's', 0, 'r', $2::bigint)::text,
       now() + make_interval(secs => $3::float8), now()
FROM unnest($1::text[]) AS k
ON CONFLICT (key) DO UPDATE SET value = jsonb_set(c.value::jsonb, '{r}', to_jsonb($2::bigint))::text,
  expires_at = excluded.expires_at, updated_at = now()
WHERE c.value::jsonb->>'r' IS NULL OR c.expires_at <= now()
RETURNING (xmax <> 0) AS existed`;

/** $1 index prefix, $2 session key prefix. */
const LIST_USER = `
SELECT s.key, s.value FROM gateway_cache AS i
JOIN gateway_cache AS s ON s.key = $2 || i.value
WHERE starts_with(i.key, $1) AND (s.expires_at IS NULL OR s.expires_at > now())`;

export class PostgresSessionStore implements SessionStore {
  readonly kind = "postgres";

  constructor(
    private readonly sql: SqlClient,
    private readonly prefix: string,
    private readonly timeoutMs: number,
  ) {}

  private query<T>(text: string, params: unknown[]): Promise<T[]> {
    return asStoreError("postgres", /password authentication|authentication failed|28P01|28000/i, () =>
      this.sql.query(text, params, { fetchOptions: { signal: AbortSignal.timeout(this.timeoutMs) } }),
    ) as Promise<T[]>;
  }

  async save(hash: string, record: SessionRecord, ttlMs: number): Promise<void> {
    const index = `${userIndexKey(this.prefix, record.u)}:${hash}`;
    await this.query(SAVE, [sessionKey(this.prefix, hash), JSON.stringify(record), ttlMs / 1000, index, hash, `${userIndexKey(this.prefix, record.u)}:`, sessionKey(this.prefix, "")]);
  }

  async touch(hash: string, now: number, timeoutMs: number, ttlMs: number): Promise<SessionLookup> {
    const [row] = await this.query<{ state: SessionState; user: string | null }>(TOUCH, [sessionKey(this.prefix, hash), now, timeoutMs, ttlMs / 1000]);
    const state = row?.state ?? "unknown";
    return { state, user: state === "active" ? (row?.user ?? null) : null };
  }

  async remove(hash: string): Promise<void> {
    await this.query("DELETE FROM gateway_cache WHERE key = $1", [sessionKey(this.prefix, hash)]);
  }

  async revoke(hashes: readonly string[], now: number, ttlMs: number): Promise<number> {
    return (await this.revokeCounting(hashes, now, ttlMs)).revoked;
  }

  /**
   * Revokes, answering how many sessions recorded here were revoked (`revoked`) and how many hashes are
   * refused from now on that were not before (`refused`: those, and the tombstones of sessions never seen here).
   */
  async revokeCounting(hashes: readonly string[], now: number, ttlMs: number): Promise<{ revoked: number; refused: number }> {
    if (hashes.length === 0) return { revoked: 0, refused: 0 };
    const rows = await this.query<{ existed: boolean }>(REVOKE, [hashes.map((h) => sessionKey(this.prefix, h)), now, ttlMs / 1000]);
    return { revoked: rows.filter((row) => row.existed).length, refused: rows.length };
  }

  /** Sessions revoked here since `sinceMs`, to copy into Upstash when it comes back. */
  async revokedSince(sinceMs: number): Promise<string[]> {
    const prefix = sessionKey(this.prefix, "");
    const rows = await this.query<{ key: string }>(
      "SELECT key FROM gateway_cache WHERE starts_with(key, $1) AND updated_at >= to_timestamp($2 / 1000.0) AND value::jsonb->>'r' IS NOT NULL AND position(':user:' IN key) = 0 LIMIT 10000",
      [prefix, sinceMs],
    );
    return rows.map((row) => row.key.slice(prefix.length));
  }

  /** Live, unrevoked sessions recorded or slid here since `sinceMs`, with their time left, to copy into Upstash. */
  async savedSince(sinceMs: number): Promise<SessionCopy[]> {
    const prefix = sessionKey(this.prefix, "");
    const rows = await this.query<{ key: string; value: string; ms_left: number }>(
      `SELECT key, value, floor(extract(epoch FROM expires_at - now()) * 1000)::float8 AS ms_left FROM gateway_cache
       WHERE starts_with(key, $1) AND updated_at >= to_timestamp($2 / 1000.0) AND expires_at > now()
         AND CASE WHEN position(':user:' IN key) = 0 THEN value::jsonb->>'r' IS NULL AND (value::jsonb->>'c')::bigint > 0 ELSE false END
       LIMIT 10000`,
      [prefix, sinceMs],
    );
    return rows.map((row) => ({ hash: row.key.slice(prefix.length), record: JSON.parse(row.value) as SessionRecord, ttlMs: Number(row.ms_left) }));
  }

  async listUser(username: string): Promise<StoredSession[]> {
    const rows = await this.query<{ key: string; value: string }>(LIST_USER, [`${userIndexKey(this.prefix, username)}:`, sessionKey(this.prefix, "")]);
    return rows.map((row) => ({ hash: row.key.slice(sessionKey(this.prefix, "").length), record: JSON.parse(row.value) as SessionRecord }));
  }
}
