/**
 * The small contract between the lockout policy and wherever counters live (Upstash, Postgres,
 * memory, and the failover store over the first two). A counter holds confirmed failures only; the
 * attempts still waiting for the origin are reservations kept beside it, each with a short expiry.
 * Every operation is atomic in its store: one Lua script, one SQL statement, or one synchronous step
 * in memory. Nothing here reads and then writes from TypeScript.
 */

/** How a reservation treats the counters it touches. */
export interface CounterRule {
  /** A counter at or above this is locked. */
  readonly limit: number;
  /** Expiry of a counter, refreshed by every counted failure; null = no cool-off (see `idleSeconds`). */
  readonly ttlSeconds: number | null;
  /**
   * Without a cool-off (`ttlSeconds` null): how long a counter below the limit lives after its last
   * counted failure, so counters that never lock do not pile up. A counter that reaches the limit
   * (with `lockOutAtFailure`) then has no expiry: the lockout stays until an admin resets it.
   */
  readonly idleSeconds: number;
  /** False: report counts but never lock (and never hold an attempt). */
  readonly lockOutAtFailure: boolean;
  /** Count an attempt refused for being locked (and so restart its cool-off). */
  readonly countWhileLocked: boolean;
  /**
   * How long a reservation stands when nobody settles it (the client or the isolate vanished): the
   * origin's timeout plus a margin, not the cool-off.
   */
  readonly reservationMs: number;
}

/**
 * The store's answer to a reservation, as facts:
 * - `locked`: confirmed failures reached the limit; the attempt must not reach the origin (and was
 *   counted when `countWhileLocked`);
 * - `busy`: confirmed failures are below the limit, but with the attempts still in flight they would
 *   not be; nothing was written, the caller may ask again once those settle;
 * - `reserved`: the attempt holds an in-flight slot on every counter until it is settled or expires.
 */
export type Reservation =
  | {
      readonly kind: "locked";
      /** Highest confirmed failure count after this call. */
      readonly failures: number;
      /** Milliseconds until the lock lifts, measured by the store; null = only an admin lifts it. */
      readonly lockMsLeft: number | null;
      /** Each counter's confirmed failures after this call, in the order of the keys given. */
      readonly counts: readonly number[];
    }
  | { readonly kind: "busy"; readonly failures: number; readonly inFlight: number }
  | {
      readonly kind: "reserved";
      readonly failures: number;
      readonly counts: readonly number[];
      /** Most reservations in flight on one counter, this one included. */
      readonly inFlight: number;
    };

/** Confirmed failures after a settled attempt was counted. */
export interface FailureCount {
  /** Highest counter value after this call. */
  readonly failures: number;
  /** Each counter's value, in the order of the keys given. */
  readonly counts: readonly number[];
}

/** Confirmed failures and attempts still in flight on a client's counters, as they stand. */
export interface PendingCount {
  /** Highest confirmed failure count. */
  readonly failures: number;
  /** Each counter's confirmed failures, in the order of the keys given. */
  readonly counts: readonly number[];
  /** Most live (unexpired) reservations on one counter. */
  readonly inFlight: number;
}

/** Attempts this isolate refused from its lock cache, counted later in one write. */
export interface RefusedAttempts {
  /** The counter whose lock refused them: they are counted only while it is still locked. */
  readonly lockKey: string;
  /** Attempts per counter of the refused clients (the lock's own counter included). */
  readonly attempts: ReadonlyMap<string, number>;
}

/** Whether a lock still stands after refused attempts were counted against it. */
export interface LockState {
  readonly locked: boolean;
  /** The lock's counter after this call. */
  readonly failures: number;
  /** Milliseconds until the lock lifts; null = never by itself (or not locked). */
  readonly lockMsLeft: number | null;
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

/**
 * A listing cursor of keyset pages (the last key of the page before), tagged so that a store whose
 * cursors are something else (Upstash's SCAN cursors) can tell it is not its own.
 */
export const keysetCursor = {
  after: (key: string): string => `k:${key}`,
  /** The key to continue after; null (start again) for no cursor or another store's. */
  read: (cursor: string | null | undefined): string | null => (cursor?.startsWith("k:") ? cursor.slice(2) : null),
};

/** One page of a listing: the counters found, and where the next page starts (null = no more). */
export interface CounterPage {
  readonly counters: CounterSnapshot[];
  /**
   * Opaque, only meaningful to the store kind that gave it. A store handed a cursor it cannot read
   * (another store answered the earlier page, after a failover) starts again from the beginning: a
   * listing may then repeat counters, never skip one.
   */
  readonly cursor: string | null;
}

/** Counters for lockouts, implemented once per store. */
export interface CounterStore {
  /** Short name for logs and health output. */
  readonly kind: string;
  /**
   * In one atomic step: drops expired reservations; if any counter's confirmed failures reach the
   * limit, answers `locked` (counting the attempt when `countWhileLocked`); if failures plus attempts
   * in flight reach it on any counter, answers `busy` and writes nothing; otherwise records
   * `reservationId` as in flight on every counter, expiring after `rule.reservationMs`.
   */
  reserve(keys: readonly string[], rule: CounterRule, reservationId: string): Promise<Reservation>;
  /** The reserved attempt failed: ends the reservation and adds one confirmed failure to each counter (restarting its expiry). */
  confirmFailure(keys: readonly string[], reservationId: string, rule: CounterRule): Promise<FailureCount>;
  /**
   * Reads each counter's confirmed failures and its live reservations, writing nothing: how an
   * attempt that may be the one to reach the limit waits for the others in flight to settle.
   */
  pending(keys: readonly string[]): Promise<PendingCount>;
  /**
   * The reserved attempt was not a failure: ends the reservation; with `clearCounters` (a success
   * under AXES_RESET_ON_SUCCESS) also deletes the confirmed failures. Other reservations stay.
   */
  release(keys: readonly string[], reservationId: string, clearCounters: boolean): Promise<void>;
  /**
   * Counts attempts refused from an isolate's lock cache, only while `lockKey` is still locked,
   * restarting the expiry of every counter it adds to.
   */
  countRefused(refused: RefusedAttempts, rule: CounterRule): Promise<LockState>;
  /** Deletes the counters and their reservations (an admin reset). */
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
  /** The live counters among `keys` (absent ones left out), read in one round trip: an admin status or reset. */
  read(keys: readonly string[]): Promise<CounterSnapshot[]>;
  /**
   * One page of the live counters whose key starts with `prefix`: at most `limit` of them, from
   * `cursor` (null = the start). Following the cursors to null visits every counter that lived
   * throughout. A page may be short, or empty with a cursor, when the store bounds the work per call.
   */
  list(prefix: string, limit: number, cursor?: string | null): Promise<CounterPage>;
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
 * A connection that failed or a gateway in front of the store saying it is gone, in any client's
 * wording (Node's and workerd's fetch, the Neon and Upstash drivers).
 */
const UNREACHABLE = /error connecting to database|fetch failed|network connection lost|connection (refused|reset|closed)|ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|socket hang up|HTTP status 50[234]\b/i;

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
    // The drivers wrap a failed connection in their own error type (Neon: "Error connecting to database: fetch failed").
    if (UNREACHABLE.test(message)) throw new StoreError(store, "unreachable", `${store} could not be reached`);
    if (/^(UpstashError|NeonDbError)$/.test(name)) throw new StoreError(store, "error", `${store} answered an error`);
    throw new StoreError(store, "unreachable", `${store} could not be reached`);
  }
}
