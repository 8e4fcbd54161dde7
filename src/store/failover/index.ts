/**
 * Upstash first, Postgres when Upstash fails, with no lockout lost in either direction:
 * - every lockout counted in Upstash is also written to Postgres (`noteLockout`), so a client locked
 *   before an outage is still locked on Postgres during it;
 * - when the circuit half-opens, the probe first copies what Postgres counted since the outage began
 *   back into Upstash (`merge` never lowers a counter), so locks made during the outage still hold;
 * - resets go to both stores, so an admin reset is not undone by the copy-back.
 * Failover happens per call, inside the same request. When both fail, the StoreError reaches the
 * caller, whose FAIL_MODE decides.
 */
import { logEvent } from "../../http/log";
import { type CounterPage, type CounterRule, type CounterSnapshot, type CounterStore, type FailureCount, type LockState, type RefusedAttempts, type Reservation, StoreError, type WindowCount } from "../contract";
import type { PostgresStore } from "../postgres";
import type { CircuitBreaker } from "./breaker";
import { Failover } from "./runner";

/** How far before the recorded outage start the copy-back looks, for clock skew and in-flight writes. */
const COPY_BACK_MARGIN_MS = 60_000;
const COPY_BACK_LIMIT = 10_000;
/** Per-isolate memory of mirrored lockouts, so a flood on one locked key does not write Postgres each time. */
const MIRROR_MEMORY = 10_000;

export class FailoverStore implements CounterStore {
  readonly kind = "upstash+postgres";
  private readonly mirroredAt = new Map<string, number>();
  private readonly failover: Failover;

  constructor(
    readonly primary: CounterStore,
    readonly fallback: PostgresStore,
    readonly breaker: CircuitBreaker,
    /** Only this gateway's lockout counters are copied back (`<CACHE_KEY_PREFIX>:lockout:`). */
    private readonly lockoutPrefix: string,
    private readonly now: () => number = Date.now,
  ) {
    this.failover = new Failover(breaker, primary.kind, fallback.kind, () =>
      this.copyBack((this.breaker.outageStartedAt ?? this.now()) - COPY_BACK_MARGIN_MS, "probe"),
    );
  }

  /**
   * Copies the lockout counters Postgres wrote since `sinceMs` into the primary (a merge: never
   * lowers a counter). The half-open probe runs it first, so it doubles as the probe; the cron
   * repeats it. A Postgres failure skips the copy; a primary failure is thrown (the probe failed).
   */
  async copyBack(sinceMs: number, trigger: "probe" | "cron"): Promise<void> {
    let counters: CounterSnapshot[] = [];
    try {
      counters = await this.fallback.changedSince(this.lockoutPrefix, sinceMs, COPY_BACK_LIMIT);
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      logEvent("copy_back_skipped", { reason: error.reason, store: "postgres", trigger }, "warn");
    }
    await this.primary.merge(counters);
    logEvent("copy_back", { counters: counters.length, trigger });
  }

  /**
   * Runs `onPrimary` unless the circuit is open, and `onFallback` when it is or when the primary
   * fails. Public so that the rate limiter's Upstash calls share the breaker and the copy-back.
   */
  withFailover<T>(operation: string, onPrimary: () => Promise<T>, onFallback: () => Promise<T>): Promise<T> {
    return this.failover.run(operation, onPrimary, onFallback);
  }

  reserve(keys: readonly string[], rule: CounterRule, reservationId: string): Promise<Reservation> {
    return this.withFailover("reserve", () => this.primary.reserve(keys, rule, reservationId), () => this.fallback.reserve(keys, rule, reservationId));
  }

  /** A failure reserved in one store and confirmed in the other is still counted; its reservation then expires by itself. */
  confirmFailure(keys: readonly string[], reservationId: string, rule: CounterRule): Promise<FailureCount> {
    return this.withFailover(
      "confirm_failure",
      () => this.primary.confirmFailure(keys, reservationId, rule),
      () => this.fallback.confirmFailure(keys, reservationId, rule),
    );
  }

  /** Clearing counters (reset on success) goes to both stores, like `reset`, so the Postgres copy of a lock goes too. */
  async release(keys: readonly string[], reservationId: string, clearCounters: boolean): Promise<void> {
    if (!clearCounters) {
      return this.withFailover("release", () => this.primary.release(keys, reservationId, false), () => this.fallback.release(keys, reservationId, false));
    }
    await this.onBoth("release", (store) => store.release(keys, reservationId, true));
  }

  countRefused(refused: RefusedAttempts, rule: CounterRule): Promise<LockState> {
    return this.withFailover("count_refused", () => this.primary.countRefused(refused, rule), () => this.fallback.countRefused(refused, rule));
  }

  reset(keys: readonly string[]): Promise<void> {
    return this.onBoth("reset", (store) => store.reset(keys));
  }

  /** Runs a deletion on the primary (through the breaker) and on Postgres; fails only when both fail. */
  private async onBoth(operation: string, call: (store: CounterStore) => Promise<void>): Promise<void> {
    const [primary, fallback] = await Promise.allSettled([
      this.withFailover(operation, () => call(this.primary), () => Promise.resolve()),
      call(this.fallback),
    ]);
    if (primary.status === "rejected" && fallback.status === "rejected") throw fallback.reason;
  }

  merge(counters: readonly CounterSnapshot[]): Promise<void> {
    return this.withFailover("merge", () => this.primary.merge(counters), () => this.fallback.merge(counters));
  }

  ping(): Promise<void> {
    return this.withFailover("ping", () => this.primary.ping(), () => this.fallback.ping());
  }

  read(keys: readonly string[]): Promise<CounterSnapshot[]> {
    return this.withFailover("read", () => this.primary.read(keys), () => this.fallback.read(keys));
  }

  /** Each store reads only its own cursors, so a listing that fails over midway starts again, skipping nothing. */
  list(prefix: string, limit: number, cursor: string | null = null): Promise<CounterPage> {
    return this.withFailover("list", () => this.primary.list(prefix, limit, cursor), () => this.fallback.list(prefix, limit, cursor));
  }

  consume(key: string, windowSeconds: number): Promise<WindowCount> {
    return this.withFailover("consume", () => this.primary.consume(key, windowSeconds), () => this.fallback.consume(key, windowSeconds));
  }

  /** Writes a lockout counted in the primary to Postgres too (at most every tenth of its lifetime per key). */
  async noteLockout(counters: readonly CounterSnapshot[]): Promise<void> {
    if (this.breaker.state !== "closed") return; // counted on Postgres already
    const now = this.now();
    const due = counters.filter((c) => {
      const last = this.mirroredAt.get(c.key);
      const interval = c.expiresAtMs === null ? Number.POSITIVE_INFINITY : Math.max(1000, (c.expiresAtMs - now) / 10);
      return last === undefined || now - last >= interval;
    });
    if (due.length === 0) return;
    try {
      await this.fallback.merge(due);
      if (this.mirroredAt.size > MIRROR_MEMORY) this.mirroredAt.clear();
      for (const c of due) this.mirroredAt.set(c.key, now);
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      logEvent("lockout_mirror_failed", { store: "postgres", reason: error.reason }, "error");
    }
  }
}
