/**
 * The small contract between the lockout policy and wherever counters live (Upstash, Postgres,
 * memory, and the failover store over the first two). A counter holds confirmed failures only; the
 * attempts still waiting for the origin are reservations kept beside it, each with a short expiry.
 * Every operation is atomic in its store: one Lua script, one SQL statement, or one synchronous step
 * in memory. Nothing here reads and then writes from TypeScript. The counting calls take an optional
 * AttemptNote: the attempt history (./history), appended by that same script or statement.
 */
import type { AttemptHistory, AttemptNote } from "./history";

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
  /**
   * Cool-offs that grow (with a `ttlSeconds`): a counter reaching the limit records a lockout in its
   * history (`lockoutHistoryKey`), remembered for the cool-off applied plus `memorySeconds`; while
   * at the limit it expires after min(ttl * factor^(lockouts - 1), maxSeconds). Absent or null = fixed.
   */
  readonly growth?: CooloffGrowth | null;
}

/** How cool-offs grow for repeat offenders (AXES_COOLOFF_GROWTH, AXES_COOLOFF_MEMORY, AXES_COOLOFF_MAX). */
export interface CooloffGrowth {
  readonly factor: number;
  readonly memorySeconds: number;
  readonly maxSeconds: number;
}

/**
 * An attempt that presents a validly signed device cookie for its username. The store decides, in
 * the same atomic step as the reservation, whether the registry still trusts the device (present and
 * unexpired): then the attempt is counted on `keys` (its IP counters and the device's own), otherwise
 * on the ordinary keys, as if it had no cookie.
 */
export interface DeviceTrust {
  /** The username's device registry (`deviceRegistryKey`). */
  readonly registry: string;
  readonly id: string;
  /** The attempt's counters as a trusted device, the device's own counter (`deviceCounterKey`) last. */
  readonly keys: readonly string[];
}

/** A device counted on its own counter: losing its trust when that counter reaches the limit. */
export interface DeviceCounted {
  readonly registry: string;
  readonly id: string;
  /** The device's counter, one of the keys counted. */
  readonly counter: string;
}

/** A successful login's device, registered in the same step as the release. */
export interface DeviceRegistration {
  readonly registry: string;
  readonly id: string;
  /** The device the browser presented before (same username): replaced, so an old copy of its cookie stops working. */
  readonly replaces: string | null;
  readonly expiresAtMs: number;
  /** What the admin listing shows (JSON text: issued at, address, user agent). */
  readonly info: string;
  /** Devices kept per registry: beyond it, the ones closest to expiry go. */
  readonly maxPerUser: number;
}

/**
 * The cool-off, in ms, of a counter's `lockouts`-th lockout in a row (1 = the first: `ttlMs`):
 * min(ttlMs * factor^(lockouts - 1), max). The Lua scripts and plpgsql apply the same rule.
 */
export function grownCooloffMs(ttlMs: number, growth: CooloffGrowth | null | undefined, lockouts: number): number {
  if (!growth || lockouts <= 1) return ttlMs;
  return Math.min(Math.floor(ttlMs * growth.factor ** (lockouts - 1)), Math.floor(growth.maxSeconds * 1000));
}

/**
 * Where a counter's lockout history lives (cool-offs that grow): beside the lockout counters, not
 * under their prefix, so listings and copy-backs of counters never take it for one.
 * @example lockoutHistoryKey("axes:lockout:username=alice") // "axes:lockout-history:username=alice"
 */
export const lockoutHistoryKey = (key: string): string => key.replace(":lockout:", ":lockout-history:");

/** A trusted device as the registry holds it. */
export interface DeviceRecord {
  readonly id: string;
  readonly expiresAtMs: number;
  readonly info: string;
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
      /** Each counter's confirmed failures after this call, in the order of the keys counted. */
      readonly counts: readonly number[];
      /** With a device: true when the registry trusted it (the trusted keys were counted). */
      readonly trusted?: boolean;
      /** With growth: the most lockouts remembered of a counter at the limit (1 = a first lockout). */
      readonly lockouts?: number;
    }
  | { readonly kind: "busy"; readonly failures: number; readonly inFlight: number }
  | {
      readonly kind: "reserved";
      readonly failures: number;
      readonly counts: readonly number[];
      /** Most reservations in flight on one counter, this one included. */
      readonly inFlight: number;
      /** With a device: true when the registry trusted it (the trusted keys were counted). */
      readonly trusted?: boolean;
    };

/** Confirmed failures after a settled attempt was counted. */
export interface FailureCount {
  /** Highest counter value after this call. */
  readonly failures: number;
  /** Each counter's value, in the order of the keys given. */
  readonly counts: readonly number[];
  /** With growth: the most lockouts remembered of a counter at the limit (1 = a first lockout). */
  readonly lockouts?: number;
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

/** Counters for lockouts, implemented once per store, with the history of the attempts counted. */
export interface CounterStore extends AttemptHistory {
  /** Short name for logs and health output. */
  readonly kind: string;
  /**
   * In one atomic step: drops expired reservations; if any counter's confirmed failures reach the
   * limit, answers `locked` (counting the attempt when `countWhileLocked`); if failures plus attempts
   * in flight reach it on any counter, answers `busy` and writes nothing; otherwise records
   * `reservationId` as in flight on every counter, expiring after `rule.reservationMs`. `note`'s
   * records (outcome `locked`) are appended only when it answers `locked`.
   */
  reserve(keys: readonly string[], rule: CounterRule, reservationId: string, device?: DeviceTrust, note?: AttemptNote): Promise<Reservation>;
  /**
   * The reserved attempt failed: ends the reservation and adds one confirmed failure to each counter
   * (restarting its expiry). With `device`, a device counter that reaches the limit leaves the registry.
   * `afterResponse`: nobody waits for the answer (a failure that cannot lock, counted after the
   * response), so a store may hold the write a moment to send it with its next request (Upstash).
   */
  confirmFailure(keys: readonly string[], reservationId: string, rule: CounterRule, device?: DeviceCounted, note?: AttemptNote, afterResponse?: boolean): Promise<FailureCount>;
  /**
   * Reads each counter's confirmed failures and its live reservations, writing nothing: how an
   * attempt that may be the one to reach the limit waits for the others in flight to settle.
   */
  pending(keys: readonly string[]): Promise<PendingCount>;
  /**
   * The reserved attempt was not a failure: ends the reservation; with `clearCounters` (a success
   * under AXES_RESET_ON_SUCCESS) also deletes the confirmed failures and their lockout history.
   * Other reservations stay. With `device` (a success), registers the device in the same step.
   */
  release(keys: readonly string[], reservationId: string, clearCounters: boolean, device?: DeviceRegistration, note?: AttemptNote): Promise<void>;
  /** The live devices of a registry (an admin listing). */
  listDevices(registry: string): Promise<DeviceRecord[]>;
  /** Removes the given devices (null = all) from a registry and deletes their counters; answers how many were removed. */
  revokeDevices(registry: string, ids: readonly string[] | null, counterOf: (id: string) => string): Promise<number>;
  /**
   * Counts attempts refused from an isolate's lock cache, only while `lockKey` is still locked,
   * restarting the expiry of every counter it adds to. `note`'s records are appended either way:
   * those attempts were refused.
   */
  countRefused(refused: RefusedAttempts, rule: CounterRule, note?: AttemptNote): Promise<LockState>;
  /** Deletes the counters, their reservations and their lockout history (an admin reset). */
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
  /** The live counters among `keys` (absent ones left out), in the order of the keys given, read in one round trip: an admin status or reset. */
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
