/**
 * Counters in Upstash Redis over HTTP (`@upstash/redis`, Workers import). A reservation is one
 * EVALSHA round trip (EVAL once more only after a SCRIPT FLUSH). The client never retries: a retried
 * INCR that had already been applied would count one failure twice (redis-js issue 1455), so a failed
 * call is reported as a StoreError: the failover store then runs it on Postgres, or FAIL_MODE decides.
 */
import { Redis } from "@upstash/redis/cloudflare";
import { type CounterPage, type CounterRule, type CounterSnapshot, type CounterStore, type FailureCount, type LockState, type PendingCount, type RefusedAttempts, type Reservation, type WindowCount, asStoreError } from "../contract";
import { CONFIRM_FAILURE_SCRIPT, CONSUME_SCRIPT, COUNT_REFUSED_SCRIPT, LIST_SCRIPT, MERGE_SCRIPT, PENDING_SCRIPT, READ_SCRIPT, RELEASE_SCRIPT, RESERVE_SCRIPT } from "./scripts";

/** The narrow part of the Redis client this store uses, so tests and wrappers stay honest. */
export type UpstashClient = Pick<Redis, "createScript" | "del" | "ping">;

export interface UpstashStoreOptions {
  readonly url: string;
  readonly token: string;
  /** Per-call timeout; the call is abandoned (not retried) after it. */
  readonly timeoutMs: number;
}

/** Runs an Upstash call, reporting any failure as a StoreError that names no key or credential. */
export const upstashCall = <T>(call: () => Promise<T>): Promise<T> =>
  asStoreError("upstash", /unauthori[sz]ed|WRONGPASS|invalid token|NOAUTH/i, call);

/** Builds the Upstash client the way counting needs it: no retries, a fresh timeout per request. */
export function createUpstashClient({ url, token, timeoutMs }: UpstashStoreOptions): Redis {
  return new Redis({
    url,
    token,
    retry: false,
    signal: () => AbortSignal.timeout(timeoutMs),
    enableAutoPipelining: false,
    enableTelemetry: false,
    automaticDeserialization: false,
  });
}

/**
 * The sorted set of a counter's reservations in flight. The suffix cannot end a counter key (those
 * end in an address, a hex digest or a percent-encoded username), and listings skip it by type.
 */
const reservationsOf = (key: string): string => `${key}:inflight`;

/** Counter keys followed by their reservation sets, as the scripts take them. */
const withReservations = (keys: readonly string[]): string[] => [...keys, ...keys.map(reservationsOf)];

const ttlMs = (rule: CounterRule): string => String(rule.ttlSeconds === null ? 0 : Math.ceil(rule.ttlSeconds * 1000));
const idleMs = (rule: CounterRule): string => String(Math.max(1, Math.ceil(rule.idleSeconds * 1000)));

/** A CounterStore on Upstash Redis. */
export class UpstashStore implements CounterStore {
  readonly kind = "upstash";
  private readonly reserveScript;
  private readonly confirmFailureScript;
  private readonly releaseScript;
  private readonly countRefusedScript;
  private readonly mergeScript;
  private readonly consumeScript;
  private readonly listScript;
  private readonly readScript;
  private readonly pendingScript;

  constructor(private readonly redis: UpstashClient) {
    this.reserveScript = redis.createScript<number[]>(RESERVE_SCRIPT);
    this.confirmFailureScript = redis.createScript<number[]>(CONFIRM_FAILURE_SCRIPT);
    this.releaseScript = redis.createScript<number>(RELEASE_SCRIPT);
    this.countRefusedScript = redis.createScript<[number, number, number]>(COUNT_REFUSED_SCRIPT);
    this.mergeScript = redis.createScript<number>(MERGE_SCRIPT);
    this.consumeScript = redis.createScript<[number, number]>(CONSUME_SCRIPT);
    this.listScript = redis.createScript<(string | number)[]>(LIST_SCRIPT);
    this.readScript = redis.createScript<(string | number)[]>(READ_SCRIPT);
    this.pendingScript = redis.createScript<number[]>(PENDING_SCRIPT);
  }

  private run<T>(call: () => Promise<T>): Promise<T> {
    return upstashCall(call);
  }

  async reserve(keys: readonly string[], rule: CounterRule, reservationId: string): Promise<Reservation> {
    const args = [
      String(rule.limit),
      ttlMs(rule),
      rule.lockOutAtFailure ? "1" : "0",
      rule.countWhileLocked ? "1" : "0",
      reservationId,
      String(Math.ceil(rule.reservationMs)),
      idleMs(rule),
    ];
    const [state = 0, leftMs = -1, inFlight = 0, ...counts] = await this.run(() => this.reserveScript.exec(withReservations(keys), args));
    const failures = Math.max(0, ...counts);
    if (state === 1) return { kind: "locked", failures, lockMsLeft: leftMs >= 0 ? leftMs : null, counts };
    if (state === 2) return { kind: "busy", failures, inFlight };
    return { kind: "reserved", failures, counts, inFlight };
  }

  async pending(keys: readonly string[]): Promise<PendingCount> {
    const [inFlight = 0, ...counts] = await this.run(() => this.pendingScript.exec(withReservations(keys), []));
    return { failures: Math.max(0, ...counts), counts, inFlight };
  }

  async confirmFailure(keys: readonly string[], reservationId: string, rule: CounterRule): Promise<FailureCount> {
    const counts = await this.run(() => this.confirmFailureScript.exec(withReservations(keys), [ttlMs(rule), reservationId, rule.lockOutAtFailure ? String(rule.limit) : "0", idleMs(rule)]));
    return { failures: Math.max(0, ...counts), counts };
  }

  async release(keys: readonly string[], reservationId: string, clearCounters: boolean): Promise<void> {
    await this.run(() => this.releaseScript.exec(withReservations(keys), [reservationId, clearCounters ? "1" : "0"]));
  }

  async countRefused({ lockKey, attempts }: RefusedAttempts, rule: CounterRule): Promise<LockState> {
    const others = [...attempts.keys()].filter((key) => key !== lockKey);
    const args = [String(rule.limit), ttlMs(rule), idleMs(rule), String(attempts.get(lockKey) ?? 0), ...others.map((key) => String(attempts.get(key)))];
    const [locked, failures, leftMs] = await this.run(() => this.countRefusedScript.exec([lockKey, ...others], args));
    return { locked: locked === 1, failures, lockMsLeft: locked === 1 && leftMs >= 0 ? leftMs : null };
  }

  async reset(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.run(() => this.redis.del(...withReservations(keys)));
  }

  async merge(counters: readonly CounterSnapshot[]): Promise<void> {
    if (counters.length === 0) return;
    const args = counters.flatMap(({ count, expiresAtMs }) => [String(count), String(expiresAtMs === null ? 0 : Math.ceil(expiresAtMs))]);
    await this.run(() => this.mergeScript.exec(counters.map((c) => c.key), args));
  }

  async consume(key: string, windowSeconds: number): Promise<WindowCount> {
    const [count, leftMs] = await this.run(() => this.consumeScript.exec([key], [String(Math.ceil(windowSeconds * 1000))]));
    return { count, resetAtMs: Date.now() + Math.max(0, leftMs) };
  }

  async ping(): Promise<void> {
    await this.run(() => this.redis.ping());
  }

  async read(keys: readonly string[]): Promise<CounterSnapshot[]> {
    if (keys.length === 0) return [];
    return snapshots(await this.run(() => this.readScript.exec([...new Set(keys)], [])));
  }

  /** SCAN pages; the cursor is Redis's SCAN cursor, tagged `s:`. */
  async list(prefix: string, limit: number, cursor: string | null = null): Promise<CounterPage> {
    const pattern = `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`;
    // A cursor another store gave (after a failover) means nothing here: start again.
    const from = cursor !== null && /^s:[0-9]+$/.test(cursor) ? cursor.slice(2) : "0";
    const [next, ...flat] = await this.run(() => this.listScript.exec([], [pattern, String(limit), from]));
    return { counters: snapshots(flat), cursor: String(next) === "0" ? null : `s:${next}` };
  }
}

/** Counters from a script's flat key, value, ms-to-live triples; zero counts are not counters. */
function snapshots(flat: readonly (string | number)[]): CounterSnapshot[] {
  const now = Date.now();
  const found: CounterSnapshot[] = [];
  for (let i = 0; i + 2 < flat.length; i += 3) {
    const count = Number(flat[i + 1]);
    const ttl = Number(flat[i + 2]);
    if (Number.isFinite(count) && count > 0) found.push({ key: String(flat[i]), count, expiresAtMs: ttl >= 0 ? now + ttl : null });
  }
  return found;
}
