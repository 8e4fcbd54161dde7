/**
 * Sessions in the Postgres cache table: a row per session (JSON in `value`) and a row per
 * (user, session) as the index. Each operation is one statement: through drizzle's query builder
 * where it expresses the statement, raw SQL where it cannot (data-modifying CTEs, `jsonb_set`,
 * `xmax`). Every statement has its own timeout (DATABASE_TIMEOUT_MS) and fails as a StoreError.
 */
import { and, eq, gt, gte, isNull, or, sql as raw } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { type SqlClient, drizzleWithTimeout, postgresCall, statementOptions } from "../store/postgres";
import { gatewayCache } from "../store/postgres/schema";
import type { Session, SessionLookup, SessionState, SessionStore, StoredSession } from "../store/session-contract";
import { recordJson, sessionFromJson } from "./record";
import type { SessionCopy } from "./upstash";
import { sessionKey, userIndexKey } from "./keys";

/** Rows per copy-back read, so one probe never reads an unbounded table. */
const COPY_BACK_ROWS = 10_000;

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

/** Where Postgres sessions live. */
export interface PostgresSessionStoreOptions {
  readonly sql: SqlClient;
  /** CACHE_KEY_PREFIX: sessions are kept under `<prefix>_sessions:`. */
  readonly prefix: string;
  /** Per-statement timeout. */
  readonly timeoutMs: number;
}

/** A session row's key, not an index row's (`..._sessions:user:<name>:<hash>`). */
const isSessionRow = raw`position(':user:' IN ${gatewayCache.key}) = 0`;
const startsWith = (prefix: string) => raw`starts_with(${gatewayCache.key}, ${prefix})`;
const changedSince = (sinceMs: number) => gte(gatewayCache.updatedAt, new Date(sinceMs));

export class PostgresSessionStore implements SessionStore {
  readonly kind = "postgres";
  private readonly sql: SqlClient;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly db;

  constructor({ sql, prefix, timeoutMs }: PostgresSessionStoreOptions) {
    this.sql = sql;
    this.prefix = prefix;
    this.timeoutMs = timeoutMs;
    this.db = drizzleWithTimeout(sql, timeoutMs);
  }

  /** A raw statement, for what the query builder cannot say. */
  private query<T>(text: string, params: unknown[]): Promise<T[]> {
    return postgresCall(() => this.sql.query(text, params, statementOptions(this.timeoutMs))) as Promise<T[]>;
  }

  private get sessionPrefix(): string {
    return sessionKey(this.prefix, "");
  }

  async save(hash: string, session: Session, ttlMs: number): Promise<void> {
    const userIndex = userIndexKey(this.prefix, session.username);
    await this.query(SAVE, [sessionKey(this.prefix, hash), recordJson(session), ttlMs / 1000, `${userIndex}:${hash}`, hash, `${userIndex}:`, this.sessionPrefix]);
  }

  async touch(hash: string, now: number, timeoutMs: number, ttlMs: number): Promise<SessionLookup> {
    const [row] = await this.query<{ state: SessionState; user: string | null }>(TOUCH, [sessionKey(this.prefix, hash), now, timeoutMs, ttlMs / 1000]);
    const state = row?.state ?? "unknown";
    return { state, user: state === "active" ? (row?.user ?? null) : null };
  }

  async remove(hash: string): Promise<void> {
    await postgresCall(() => this.db.delete(gatewayCache).where(eq(gatewayCache.key, sessionKey(this.prefix, hash))));
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
    const prefix = this.sessionPrefix;
    const rows = await postgresCall(() =>
      this.db
        .select({ key: gatewayCache.key })
        .from(gatewayCache)
        .where(and(startsWith(prefix), changedSince(sinceMs), raw`${gatewayCache.value}::jsonb->>'r' IS NOT NULL`, isSessionRow))
        .limit(COPY_BACK_ROWS),
    );
    return rows.map((row) => row.key.slice(prefix.length));
  }

  /** Live, unrevoked sessions recorded or slid here since `sinceMs`, with their time left, to copy into Upstash. */
  async savedSince(sinceMs: number): Promise<SessionCopy[]> {
    const prefix = this.sessionPrefix;
    const rows = await postgresCall(() =>
      this.db
        .select({
          key: gatewayCache.key,
          value: gatewayCache.value,
          msLeft: raw<number>`floor(extract(epoch FROM ${gatewayCache.expiresAt} - now()) * 1000)::float8`,
        })
        .from(gatewayCache)
        .where(
          and(
            startsWith(prefix),
            changedSince(sinceMs),
            gt(gatewayCache.expiresAt, raw`now()`),
            isSessionRow,
            // Neither revoked (those go by revokedSince) nor a tombstone of a session never seen.
            raw`${gatewayCache.value}::jsonb->>'r' IS NULL AND (${gatewayCache.value}::jsonb->>'c')::bigint > 0`,
          ),
        )
        .limit(COPY_BACK_ROWS),
    );
    return rows.map((row) => ({ hash: row.key.slice(prefix.length), ...sessionFromJson(row.value!), ttlMs: Number(row.msLeft) }));
  }

  async listUser(username: string): Promise<StoredSession[]> {
    const prefix = this.sessionPrefix;
    const session = alias(gatewayCache, "s");
    const rows = await postgresCall(() =>
      this.db
        .select({ key: session.key, value: session.value })
        .from(gatewayCache)
        .innerJoin(session, eq(session.key, raw`${prefix} || ${gatewayCache.value}`))
        .where(and(startsWith(`${userIndexKey(this.prefix, username)}:`), or(isNull(session.expiresAt), gt(session.expiresAt, raw`now()`)))),
    );
    return rows.map((row) => ({ hash: row.key.slice(prefix.length), ...sessionFromJson(row.value!) }));
  }
}
