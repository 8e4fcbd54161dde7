/**
 * Counters in a Postgres cache table, reached from the Worker with `@neondatabase/serverless` over
 * HTTP (`neon()`): one fetch per operation, no connection to open and close inside each request, which
 * is what a per-request WebSocket Pool would cost (see README: "Postgres fallback").
 */
import { neon, neonConfig, type NeonQueryFunction } from "@neondatabase/serverless";
import { DrizzleQueryError, inArray, lt, sql as raw } from "drizzle-orm";
import { drizzle } from "drizzle-orm/neon-http";
import { type CounterPage, type CounterRule, type CounterSnapshot, type CounterStore, type DeviceCounted, type DeviceRecord, type DeviceRegistration, type DeviceTrust, type FailureCount, type LockState, type PendingCount, type RefusedAttempts, type Reservation, type WindowCount, lockoutHistoryKey, asStoreError, keysetCursor } from "../contract";
import type { AttemptFilter, AttemptNote, AttemptPage } from "../history";
import { ADMITTED_LOCKED, accessLogCursor, entryOf, historyParams, listAttempts, sweepAccessLog, withHistory } from "./history";
import { gatewayCache, gatewayDevices, gatewayInflight } from "./schema";
import {
  ADMIT,
  ADMIT_DEVICE_GROWTH,
  CONFIRM_FAILURE,
  CONFIRM_FAILURE_DEVICE_GROWTH,
  CONSUME,
  COUNT_REFUSED,
  COUNT_REFUSED_GROWTH,
  type CounterDb,
  MERGE,
  PENDING,
  RELEASE,
  RELEASE_DEVICE,
  countersChangedSince,
  listCounters,
  listDevices,
  readCounters,
  resetCounters,
  revokeDevices,
} from "./statements";

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

/**
 * Runs a Postgres call, reporting any failure as a StoreError that names no key or credential (the
 * twin of `upstashCall`). Drizzle wraps the driver's error in a DrizzleQueryError whose message is the
 * statement and its parameters: the driver's own error (a timeout, a refused password) is what counts.
 */
export const postgresCall = <T>(call: () => Promise<T>): Promise<T> =>
  asStoreError("postgres", /password authentication|authentication failed|28P01|28000/i, () =>
    call().catch((error: unknown) => {
      throw error instanceof DrizzleQueryError && error.cause !== undefined ? error.cause : error;
    }),
  );

/** The options of one statement: its own timeout (DATABASE_TIMEOUT_MS). */
export const statementOptions = (timeoutMs: number) => ({ fetchOptions: { signal: AbortSignal.timeout(timeoutMs) } });

/**
 * A drizzle database over `sql` whose every statement gets its own timeout: drizzle's neon-http
 * session sends each statement through the client's `query`, which this wraps.
 */
export function drizzleWithTimeout(sql: SqlClient, timeoutMs: number) {
  const query = ((text: string, params: unknown[], options?: object) => sql.query(text, params, { ...options, ...statementOptions(timeoutMs) })) as SqlClient["query"];
  return drizzle({ client: Object.assign(Object.create(sql) as SqlClient, { query }) });
}

interface AdmitRow {
  outcome: "locked" | "busy" | "reserved";
  lock_ms_left: number | null;
  in_flight: number;
  counts: Record<string, number>;
  /** Only from the device-and-growth overload. */
  trusted?: boolean;
  lockouts?: number;
}

const ttlOf = (rule: CounterRule): number => rule.ttlSeconds ?? 0;
/** Growth factor (0 = fixed), memory seconds, max cool-off seconds. */
const growthOf = ({ growth }: CounterRule): number[] => (growth ? [growth.factor, growth.memorySeconds, growth.maxSeconds] : [0, 0, 0]);

/**
 * A counting statement and its parameters, or with a note the statement that also appends it
 * (`withNote`, by default one more CTE) and the note's parameters after the statement's own.
 */
const counting = (statement: string, params: unknown[], note: AttemptNote | undefined, withNote = () => withHistory(statement, params.length)): [string, unknown[]] =>
  note === undefined || note.records.length === 0 ? [statement, params] : [withNote(), [...params, ...historyParams(note)]];

/** A CounterStore on the `gateway_cache` table. */
export class PostgresStore implements CounterStore {
  readonly kind = "postgres";
  /** The query builder's statements (statements.ts), each with the same timeout as the raw ones. */
  private readonly db: CounterDb;

  constructor(
    private readonly sql: SqlClient,
    private readonly timeoutMs: number,
  ) {
    this.db = drizzleWithTimeout(sql, timeoutMs);
  }

  private options() {
    return statementOptions(this.timeoutMs);
  }

  private run<T>(call: () => Promise<T>): Promise<T> {
    return postgresCall(call);
  }

  /**
   * Without a device or growth, the statements of the previous version (one fewer function to
   * reach); with them, the 0006 overloads, still one statement. With a note, its records are
   * appended in the same statement, only when the answer is `locked`.
   */
  async reserve(keys: readonly string[], rule: CounterRule, reservationId: string, device?: DeviceTrust, note?: AttemptNote): Promise<Reservation> {
    const params: unknown[] = [keys, rule.limit, ttlOf(rule), rule.lockOutAtFailure, rule.countWhileLocked, reservationId, rule.reservationMs, rule.idleSeconds];
    const extended = device !== undefined || Boolean(rule.growth);
    if (extended) params.push(device?.keys ?? [], device?.registry ?? "", device?.id ?? "", ...growthOf(rule));
    const base = extended ? ADMIT_DEVICE_GROWTH : ADMIT;
    const [statement, all] = counting(base, params, note, () => withHistory(base, params.length, ADMITTED_LOCKED));
    const row = ((await this.run(() => this.sql.query(statement, all, this.options()))) as AdmitRow[])[0]!;
    const counted = row.trusted ? device!.keys : keys;
    const counts = counted.map((key) => row.counts[key] ?? 0);
    const failures = Math.max(0, ...counts);
    const trusted = device ? { trusted: row.trusted === true } : {};
    if (row.outcome === "locked") return { kind: "locked", failures, lockMsLeft: row.lock_ms_left, counts, ...trusted, ...(rule.growth ? { lockouts: row.lockouts ?? 0 } : {}) };
    if (row.outcome === "busy") return { kind: "busy", failures, inFlight: row.in_flight };
    return { kind: "reserved", failures, counts, inFlight: row.in_flight, ...trusted };
  }

  async pending(keys: readonly string[]): Promise<PendingCount> {
    const rows = (await this.run(() => this.sql.query(PENDING, [keys], this.options()))) as { counts: Record<string, number>; in_flight: number }[];
    const counts = keys.map((key) => rows[0]!.counts[key] ?? 0);
    return { failures: Math.max(0, ...counts), counts, inFlight: rows[0]!.in_flight };
  }

  async confirmFailure(keys: readonly string[], reservationId: string, rule: CounterRule, device?: DeviceCounted, note?: AttemptNote): Promise<FailureCount> {
    const params: unknown[] = [keys, reservationId, ttlOf(rule), rule.lockOutAtFailure ? rule.limit : 0, rule.idleSeconds];
    const extended = device !== undefined || Boolean(rule.growth);
    if (extended) params.push(...growthOf(rule), device?.registry ?? "", device?.id ?? "", device?.counter ?? "");
    const [statement, all] = counting(extended ? CONFIRM_FAILURE_DEVICE_GROWTH : CONFIRM_FAILURE, params, note);
    const rows = (await this.run(() => this.sql.query(statement, all, this.options()))) as { counts: Record<string, number>; lockouts?: number }[];
    const counts = keys.map((key) => rows[0]!.counts[key] ?? 0);
    return { failures: Math.max(0, ...counts), counts, ...(rule.growth ? { lockouts: rows[0]!.lockouts ?? 0 } : {}) };
  }

  async release(keys: readonly string[], reservationId: string, clearCounters: boolean, device?: DeviceRegistration, note?: AttemptNote): Promise<void> {
    const params: unknown[] = [keys, reservationId, clearCounters, keys.map(lockoutHistoryKey)];
    if (device) params.push(device.registry, device.id, device.replaces, device.expiresAtMs, device.info, device.maxPerUser);
    const [statement, all] = counting(device ? RELEASE_DEVICE : RELEASE, params, note);
    await this.run(() => this.sql.query(statement, all, this.options()));
  }

  async listDevices(registry: string): Promise<DeviceRecord[]> {
    const rows = await this.run(() => listDevices(this.db, registry));
    return rows.map((row) => ({ id: row.id, expiresAtMs: row.expiresAtMs!, info: row.info }));
  }

  async revokeDevices(registry: string, ids: readonly string[] | null, counterOf: (id: string) => string): Promise<number> {
    const named = ids ?? (await this.listDevices(registry)).map((d) => d.id);
    if (named.length === 0) return 0;
    const rows = await this.run(() => revokeDevices(this.db, registry, named, named.map(counterOf)));
    return rows[0]!.removed;
  }

  async countRefused({ lockKey, attempts }: RefusedAttempts, rule: CounterRule, note?: AttemptNote): Promise<LockState> {
    const params: unknown[] = [lockKey, rule.limit, ttlOf(rule), [...attempts.keys()], [...attempts.values()], rule.idleSeconds];
    if (rule.growth) params.push(...growthOf(rule));
    const [statement, all] = counting(rule.growth ? COUNT_REFUSED_GROWTH : COUNT_REFUSED, params, note);
    const rows = (await this.run(() => this.sql.query(statement, all, this.options()))) as { locked: boolean; count: number; ms_left: number | null }[];
    const row = rows[0]!;
    return { locked: row.locked, failures: row.count, lockMsLeft: row.locked ? row.ms_left : null };
  }

  async reset(keys: readonly string[]): Promise<void> {
    await this.run(() => resetCounters(this.db, [...keys, ...keys.map(lockoutHistoryKey)]));
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

  /** Live counters under `prefix` written since `sinceMs` (at most `limit`), to copy back into Upstash after an outage. */
  changedSince(prefix: string, sinceMs: number, limit: number): Promise<CounterSnapshot[]> {
    return this.run(() => countersChangedSince(this.db, prefix, sinceMs, limit));
  }

  async ping(): Promise<void> {
    await this.run(() => this.sql.query("SELECT 1", [], this.options()));
  }

  read(keys: readonly string[]): Promise<CounterSnapshot[]> {
    return keys.length === 0 ? Promise.resolve([]) : this.run(() => readCounters(this.db, keys));
  }

  /** Keyset pages in key order. */
  async list(prefix: string, limit: number, cursor: string | null = null): Promise<CounterPage> {
    const counters = await this.run(() => listCounters(this.db, prefix, limit, keysetCursor.read(cursor)));
    return { counters, cursor: counters.length >= limit ? keysetCursor.after(counters[counters.length - 1]!.key) : null };
  }

  /** Keyset pages of `access_log`, newest first. */
  async listAttempts(prefix: string, filter: AttemptFilter, limit: number, cursor: string | null = null): Promise<AttemptPage> {
    const rows = await this.run(() => listAttempts(this.db, prefix, filter, accessLogCursor.read(cursor), limit));
    const attempts = rows.map(entryOf);
    return { attempts, cursor: attempts.length >= limit ? accessLogCursor.after(attempts[attempts.length - 1]!.id) : null };
  }

  /** Deletes the prefix's history rows older than `retentionSeconds`, bounded per run like `sweepExpired`; answers how many went. */
  async sweepHistory(prefix: string, retentionSeconds: number, { batchSize = 1000, maxBatches = 10 } = {}): Promise<number> {
    let total = 0;
    for (let batch = 0; batch < maxBatches; batch++) {
      const deleted = await this.run(() => sweepAccessLog(this.db, prefix, retentionSeconds, batchSize));
      total += deleted.length;
      if (deleted.length < batchSize) break;
    }
    return total;
  }

  /**
   * Deletes expired counters, `batchSize` at a time and at most `maxBatches` batches, so one cron run
   * stays bounded however much expired, and expired reservations. Answers how many of each went.
   */
  async sweepExpired({ batchSize = 1000, maxBatches = 10 } = {}): Promise<{ counters: number; reservations: number }> {
    const db = drizzle({ client: this.sql });
    let total = 0;
    for (let batch = 0; batch < maxBatches; batch++) {
      const expired = db.select({ key: gatewayCache.key }).from(gatewayCache).where(lt(gatewayCache.expiresAt, raw`now()`)).limit(batchSize);
      const deleted = await this.run(() => db.delete(gatewayCache).where(inArray(gatewayCache.key, expired)).returning({ key: gatewayCache.key }));
      total += deleted.length;
      if (deleted.length < batchSize) break;
    }
    // Reservations live seconds and each admission drops its keys' expired ones; this catches the rest.
    const ended = await this.run(() => db.delete(gatewayInflight).where(lt(gatewayInflight.expiresAt, raw`now()`)).returning({ key: gatewayInflight.key }));
    // Registrations drop their registry's expired devices; a registry nobody logs in to again is swept here.
    await this.run(() => db.delete(gatewayDevices).where(lt(gatewayDevices.expiresAt, raw`now()`)));
    return { counters: total, reservations: ended.length };
  }
}
