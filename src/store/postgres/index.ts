/**
 * Counters in a Postgres cache table, reached from the Worker with `@neondatabase/serverless` over
 * HTTP (`neon()`): one fetch per operation, no connection to open and close inside each request, which
 * is what a per-request WebSocket Pool would cost (see README: "Postgres fallback").
 */
import { neon, neonConfig, type NeonQueryFunction } from "@neondatabase/serverless";
import { inArray, lt, sql as raw } from "drizzle-orm";
import { drizzle } from "drizzle-orm/neon-http";
import { type CounterRule, type CounterSnapshot, type CounterStore, type Reservation, type WindowCount, asStoreError } from "../contract";
import { gatewayCache } from "./schema";
import { CHANGED_SINCE, CONSUME, LIST, MERGE, RELEASE, RESERVE } from "./statements";

export type SqlClient = NeonQueryFunction<false, false>;

export interface PostgresStoreOptions {
  readonly url: string;
  /** Per-statement timeout. */
  readonly timeoutMs: number;
  /** Local development: the Neon-compatible HTTP endpoint over a plain Postgres (`npm run neon-http`). */
  readonly httpEndpoint: string | null;
}

/** A `neon()` query function for the configured database. */
export function createSqlClient({ url, httpEndpoint }: PostgresStoreOptions): SqlClient {
  if (httpEndpoint !== null) neonConfig.fetchEndpoint = () => httpEndpoint;
  return neon(url);
}

interface ReserveRow {
  locked: boolean;
  permanent: boolean;
  seconds_left: number | null;
  counts: Record<string, number>;
}

/** A CounterStore on the `gateway_cache` table. */
export class PostgresStore implements CounterStore {
  readonly kind = "postgres";

  constructor(
    private readonly sql: SqlClient,
    private readonly timeoutMs: number,
  ) {}

  private options() {
    return { fetchOptions: { signal: AbortSignal.timeout(this.timeoutMs) } };
  }

  private run<T>(call: () => Promise<T>): Promise<T> {
    return asStoreError("postgres", /password authentication|authentication failed|28P01|28000/i, call);
  }

  async reserve(keys: readonly string[], rule: CounterRule): Promise<Reservation> {
    const params = [keys, rule.limit, rule.ttlSeconds ?? 0, rule.lockOutAtFailure, rule.countWhileLocked];
    const rows = (await this.run(() => this.sql.query(RESERVE, params, this.options()))) as ReserveRow[];
    const row = rows[0]!;
    const counts = keys.map((key) => row.counts[key] ?? 0);
    const retryAfterSeconds = !row.locked || row.permanent
      ? null
      : rule.countWhileLocked && rule.ttlSeconds !== null
        ? Math.ceil(rule.ttlSeconds)
        : Math.max(1, Math.ceil(row.seconds_left ?? 0));
    return { locked: row.locked, failures: Math.max(0, ...counts), retryAfterSeconds, counts };
  }

  async release(keys: readonly string[]): Promise<void> {
    await this.run(() => this.sql.query(RELEASE, [keys], this.options()));
  }

  async reset(keys: readonly string[]): Promise<void> {
    await this.run(() => this.sql.query("DELETE FROM gateway_cache WHERE key = ANY($1::text[])", [keys], this.options()));
  }

  async merge(counters: readonly CounterSnapshot[]): Promise<void> {
    if (counters.length === 0) return;
    const params = [counters.map((c) => c.key), counters.map((c) => c.count), counters.map((c) => c.expiresAtMs)];
    await this.run(() => this.sql.query(MERGE, params, this.options()));
  }

  async consume(key: string, windowSeconds: number): Promise<WindowCount> {
    const rows = (await this.run(() => this.sql.query(CONSUME, [key, windowSeconds], this.options()))) as { count: number; reset_ms: number }[];
    return { count: rows[0]!.count, resetAtMs: rows[0]!.reset_ms };
  }

  private async snapshots(query: string, params: unknown[]): Promise<CounterSnapshot[]> {
    const rows = (await this.run(() => this.sql.query(query, params, this.options()))) as { key: string; count: number; expires_ms: number | null }[];
    return rows.map((row) => ({ key: row.key, count: row.count, expiresAtMs: row.expires_ms }));
  }

  /** Live counters under `prefix` written since `sinceMs` (at most `limit`), to copy back into Upstash after an outage. */
  changedSince(prefix: string, sinceMs: number, limit: number): Promise<CounterSnapshot[]> {
    return this.snapshots(CHANGED_SINCE, [prefix, sinceMs, limit]);
  }

  async ping(): Promise<void> {
    await this.run(() => this.sql.query("SELECT 1", [], this.options()));
  }

  list(prefix: string, limit: number): Promise<CounterSnapshot[]> {
    return this.snapshots(LIST, [prefix, limit]);
  }

  /**
   * Deletes expired rows, `batchSize` at a time and at most `maxBatches` batches, so one cron run
   * stays bounded however much expired. Answers how many rows went.
   */
  async sweepExpired({ batchSize = 1000, maxBatches = 10 } = {}): Promise<number> {
    const db = drizzle({ client: this.sql });
    let total = 0;
    for (let batch = 0; batch < maxBatches; batch++) {
      const expired = db.select({ key: gatewayCache.key }).from(gatewayCache).where(lt(gatewayCache.expiresAt, raw`now()`)).limit(batchSize);
      const deleted = await this.run(() => db.delete(gatewayCache).where(inArray(gatewayCache.key, expired)).returning({ key: gatewayCache.key }));
      total += deleted.length;
      if (deleted.length < batchSize) break;
    }
    return total;
  }
}
