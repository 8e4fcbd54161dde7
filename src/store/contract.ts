/**
 * The small contract between the lockout policy and wherever counters live (Upstash, memory, and
 * later Postgres). Every operation is atomic in its store: one Lua script, one SQL statement, or one
 * synchronous step in memory. Nothing here reads and then writes from TypeScript.
 */

/** How a reservation treats the counters it touches. */
export interface CounterRule {
  /** A counter at or above this is locked. */
  readonly limit: number;
  /** Expiry of a counter, refreshed by every counted attempt; null = never expires. */
  readonly ttlSeconds: number | null;
  /** False: report counts but never lock. */
  readonly lockOutAtFailure: boolean;
  /** Count an attempt refused for being locked (and so restart its cool-off). */
  readonly countWhileLocked: boolean;
}

/** The store's answer to a reservation. */
export interface Reservation {
  /** The client was already locked: the attempt must not reach the origin. */
  readonly locked: boolean;
  /** Highest counter value after this call (includes this attempt when it was counted). */
  readonly failures: number;
  /** Seconds until the lock lifts; null when it never lifts by itself or nothing is locked. */
  readonly retryAfterSeconds: number | null;
  /** Each counter's value after this call, in the order of the keys given. */
  readonly counts: readonly number[];
}

/** A fixed window's count after a hit. */
export interface WindowCount {
  readonly count: number;
  /** Epoch milliseconds when the window (and its counter) ends. */
  readonly resetAtMs: number;
}

/** One counter as it stands, for copying between stores. */
export interface CounterSnapshot {
  readonly key: string;
  readonly count: number;
  /** Epoch milliseconds; null = never expires. */
  readonly expiresAtMs: number | null;
}

/** Counters for lockouts, implemented once per store. */
export interface CounterStore {
  /** Short name for logs and health output. */
  readonly kind: string;
  /**
   * In one atomic step: if any counter is at the limit, answer locked (counting the attempt when
   * `countWhileLocked`); otherwise add one to every counter and answer the highest value. The added
   * one is a reservation: it stands as the failure unless `release` takes it back.
   */
  reserve(keys: readonly string[], rule: CounterRule): Promise<Reservation>;
  /** Takes back one reserved attempt from each counter (it was not a failure). Never goes below zero. */
  release(keys: readonly string[]): Promise<void>;
  /** Deletes the counters. */
  reset(keys: readonly string[]): Promise<void>;
  /**
   * Raises counters to at least the given values and expiries (never lowers them): how a lockout
   * counted in one store is copied into another.
   */
  merge(counters: readonly CounterSnapshot[]): Promise<void>;
  /**
   * A fixed-window hit: adds one to the counter of the current window (created with the window's
   * expiry) and answers its value. The rate limiter's fallback when Upstash cannot run its algorithm.
   */
  consume(key: string, windowSeconds: number): Promise<WindowCount>;
  /** Cheapest possible call, for the health check. */
  ping(): Promise<void>;
  /** Live counters whose key starts with `prefix`, at most `limit` of them (admin listings and resets). */
  list(prefix: string, limit: number): Promise<CounterSnapshot[]>;
  /** Told of every lockout; a store that keeps a second copy (the failover store) writes it there. */
  noteLockout?(counters: readonly CounterSnapshot[]): Promise<void>;
}

/** A store call failed (down, timed out, refused credentials, answered an error). */
export class StoreError extends Error {
  override name = "StoreError";
  constructor(
    readonly store: string,
    readonly reason: "timeout" | "unreachable" | "unauthorized" | "error",
    message: string,
  ) {
    super(message);
  }
}

/**
 * Runs a store call and turns whatever its client threw into a StoreError whose message holds no
 * key, username or credential. `unauthorized` matches the store's own wording for refused credentials.
 */
export async function asStoreError<T>(store: string, unauthorized: RegExp, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    const message = error instanceof Error ? error.message : String(error);
    if (name === "TimeoutError" || name === "AbortError" || /aborted|timed? ?out/i.test(message)) {
      throw new StoreError(store, "timeout", `${store} did not answer in time`);
    }
    if (unauthorized.test(message)) throw new StoreError(store, "unauthorized", `${store} refused the credentials`);
    if (/^(UpstashError|NeonDbError)$/.test(name)) throw new StoreError(store, "error", `${store} answered an error`);
    throw new StoreError(store, "unreachable", `${store} could not be reached`);
  }
}
