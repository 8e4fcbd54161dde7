/**
 * Upstash first, Postgres when Upstash fails, with no count lost in either direction:
 * - every failure counted in Upstash is also written to Postgres, in the background and coalesced
 *   per key (as are lockouts and the cool-off restarts of refused attempts), so a client counted
 *   before an outage keeps its count on Postgres during it and never gets more than the limit: a
 *   lockout at once, counts below the limit gathered for MIRROR_LINGER_MS first (one statement for
 *   all the failures an isolate counted meanwhile);
 * - when the circuit half-opens, the background probe copies what Postgres counted since the outage
 *   began back into Upstash (`merge` never lowers a counter), so locks made during the outage hold;
 * - resets go to both stores, so an admin reset is not undone by the copy-back.
 * `forRequest` gives one request's view: after Upstash failed once in a request, every later call
 * of that request goes straight to Postgres (and after Postgres failed, fails at once). When both
 * fail, the StoreError reaches the caller, whose FAIL_MODE decides.
 *
 * The attempt history is best-effort per backend: a record is appended by whichever store counted the
 * attempt, and never copied. A listing reads Upstash, or Postgres while Upstash is failing (circuit
 * open): during an outage the admin sees the attempts counted on Postgres, afterwards those counted on
 * Upstash (the outage's records stay in `access_log` until the sweep).
 */
import { logEvent } from "../../http/log";
import type { AttemptFilter, AttemptNote, AttemptPage } from "../history";
import {
  type CounterPage,
  type CounterRule,
  type CounterSnapshot,
  type CounterStore,
  type DeviceCounted,
  type DeviceRecord,
  type DeviceRegistration,
  type DeviceTrust,
  type FailureCount,
  type LockState,
  type PendingCount,
  type RefusedAttempts,
  type Reservation,
  StoreError,
  type WindowCount,
  grownCooloffMs,
} from "../contract";
import type { PostgresStore } from "../postgres";
import type { CircuitBreaker } from "./breaker";
import type { Failover } from "./runner";
import { type RequestScope, runDetached } from "./scope";

const COPY_BACK_LIMIT = 10_000;
/** Per-isolate memory of mirrored lockouts, so a flood on one locked key does not write Postgres each time. */
const MIRROR_MEMORY = 10_000;
/**
 * How long counts below the limit wait to be copied to Postgres, gathering the other failures the
 * isolate counts meanwhile into the same statement. A lockout is copied at once.
 */
export const MIRROR_LINGER_MS = 250;

/** What a failover counter store is built from. */
export interface FailoverStoreOptions {
  readonly primary: CounterStore;
  readonly fallback: PostgresStore;
  readonly failover: Failover;
  /** Only this gateway's lockout counters are copied back (`<CACHE_KEY_PREFIX>:lockout:`). */
  readonly lockoutPrefix: string;
  /** @default Date.now */
  readonly now?: () => number;
}

/** State shared by every request's view of the store (one per isolate). */
interface Shared {
  readonly mirroredAt: Map<string, number>;
  /** Counters waiting to be written to Postgres, by key; a key counted again meanwhile is written once. */
  readonly pending: Map<string, CounterSnapshot>;
  /** A writer is gathering (MIRROR_LINGER_MS) or writing: it takes what is queued meanwhile. */
  writing: boolean;
}

export class FailoverStore implements CounterStore {
  readonly kind = "upstash+postgres";
  readonly primary: CounterStore;
  readonly fallback: PostgresStore;
  readonly failover: Failover;
  private readonly lockoutPrefix: string;
  private readonly now: () => number;
  private readonly shared: Shared;
  private readonly scope: RequestScope | null;

  constructor(private readonly options: FailoverStoreOptions, view?: { readonly shared: Shared; readonly scope: RequestScope }) {
    this.primary = options.primary;
    this.fallback = options.fallback;
    this.failover = options.failover;
    this.lockoutPrefix = options.lockoutPrefix;
    this.now = options.now ?? Date.now;
    this.scope = view?.scope ?? null;
    this.shared = view?.shared ?? { mirroredAt: new Map(), pending: new Map(), writing: false };
    if (!view) this.failover.addCopyBack("counters", async (sinceMs) => ({ counters: await this.copyCounters(sinceMs) }));
  }

  get breaker(): CircuitBreaker {
    return this.failover.breaker;
  }

  /** This store as one request sees it: backends that failed once in the request are skipped after. */
  forRequest(scope: RequestScope): FailoverStore {
    return new FailoverStore(this.options, { shared: this.shared, scope });
  }

  private async copyCounters(sinceMs: number): Promise<number> {
    const counters = await this.fallback.changedSince(this.lockoutPrefix, sinceMs, COPY_BACK_LIMIT);
    await this.primary.merge(counters);
    return counters.length;
  }

  /** Copies the lockout counters Postgres wrote since `sinceMs` into Upstash (with the other copy-backs of this database): the cron's catch-up. */
  copyBack(sinceMs: number, trigger: "probe" | "cron"): Promise<void> {
    return this.failover.copyBack(sinceMs, trigger);
  }

  /**
   * Runs `onPrimary` unless the circuit is open or Upstash already failed in this request, and
   * `onFallback` otherwise or when the primary fails. Public so that the rate limiter's Upstash
   * calls share the breaker.
   */
  withFailover<T>(operation: string, onPrimary: () => Promise<T>, onFallback: () => Promise<T>): Promise<T> {
    return this.failover.run(operation, this.scope, onPrimary, onFallback);
  }

  /**
   * A device registered in one store is trusted by that store only: across a failover a device may
   * lose its trust until its next success, never gain any (README: "Trusted devices").
   */
  reserve(keys: readonly string[], rule: CounterRule, reservationId: string, device?: DeviceTrust, note?: AttemptNote): Promise<Reservation> {
    return this.withFailover("reserve", () => this.primary.reserve(keys, rule, reservationId, device, note), () => this.fallback.reserve(keys, rule, reservationId, device, note));
  }

  /**
   * A failure reserved in one store and confirmed in the other is still counted; its reservation
   * then expires by itself. Counted in Upstash, it is copied to Postgres in the background (a
   * counter at the limit with the cool-off its lockout count gave it).
   */
  confirmFailure(keys: readonly string[], reservationId: string, rule: CounterRule, device?: DeviceCounted, note?: AttemptNote, afterResponse?: boolean): Promise<FailureCount> {
    return this.withFailover(
      "confirm_failure",
      async () => {
        const counted = await this.primary.confirmFailure(keys, reservationId, rule, device, note, afterResponse);
        // Read after the answer (a write after the response may have waited to be sent): the copy outlives Upstash's by its round trip, never the reverse.
        const asked = this.now();
        const expiresAt = (count: number) =>
          rule.ttlSeconds === null ? null : asked + (count >= rule.limit ? grownCooloffMs(rule.ttlSeconds * 1000, rule.growth, counted.lockouts ?? 1) : rule.ttlSeconds * 1000);
        const lockout = rule.lockOutAtFailure && counted.failures >= rule.limit;
        this.copyToFallback(keys.map((key, i) => ({ key, count: counted.counts[i] ?? 0, expiresAtMs: expiresAt(counted.counts[i] ?? 0) })), lockout);
        return counted;
      },
      () => this.fallback.confirmFailure(keys, reservationId, rule, device, note),
    );
  }

  pending(keys: readonly string[]): Promise<PendingCount> {
    return this.withFailover("pending", () => this.primary.pending(keys), () => this.fallback.pending(keys));
  }

  /**
   * Clearing counters (reset on success) goes to both stores, like `reset`, so the Postgres copy goes
   * too, and so does its history record (in parallel, so no round trip more: each store keeps it); a
   * device registers where the release runs.
   */
  async release(keys: readonly string[], reservationId: string, clearCounters: boolean, device?: DeviceRegistration, note?: AttemptNote): Promise<void> {
    if (!clearCounters) {
      return this.withFailover("release", () => this.primary.release(keys, reservationId, false, device, note), () => this.fallback.release(keys, reservationId, false, device, note));
    }
    await this.onBoth("release", keys, (store) => store.release(keys, reservationId, true, device, note));
  }

  listDevices(registry: string): Promise<DeviceRecord[]> {
    return this.withFailover("list_devices", () => this.primary.listDevices(registry), () => this.fallback.listDevices(registry));
  }

  /** Revocation goes to both stores, like a reset: a device trusted by either is revoked in both. */
  async revokeDevices(registry: string, ids: readonly string[] | null, counterOf: (id: string) => string): Promise<number> {
    let removed = 0;
    await this.onBoth("revoke_devices", [], async (store) => {
      // Read `removed` only after the await: the two stores answer in either order.
      const count = await store.revokeDevices(registry, ids, counterOf);
      removed = Math.max(removed, count);
    });
    return removed;
  }

  countRefused(refused: RefusedAttempts, rule: CounterRule, note?: AttemptNote): Promise<LockState> {
    return this.withFailover("count_refused", () => this.primary.countRefused(refused, rule, note), () => this.fallback.countRefused(refused, rule, note));
  }

  listAttempts(prefix: string, filter: AttemptFilter, limit: number, cursor: string | null = null): Promise<AttemptPage> {
    return this.withFailover("list_attempts", () => this.primary.listAttempts(prefix, filter, limit, cursor), () => this.fallback.listAttempts(prefix, filter, limit, cursor));
  }

  reset(keys: readonly string[]): Promise<void> {
    return this.onBoth("reset", keys, (store) => store.reset(keys));
  }

  /** Runs a deletion on Upstash (through the breaker) and on Postgres, at once; fails only when both fail. */
  private async onBoth(operation: string, keys: readonly string[], call: (store: CounterStore) => Promise<void>): Promise<void> {
    for (const key of keys) this.shared.pending.delete(key); // a copy not yet written must not bring the counter back
    await this.failover.writeBoth(operation, this.scope, () => call(this.primary), () => call(this.fallback));
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

  /**
   * Copies a lockout counted in Upstash to Postgres (at most every tenth of its lifetime per key):
   * the lock's end moves with every attempt counted during it. Not when this request's answer
   * came from Postgres (counted there already).
   */
  async noteLockout(counters: readonly CounterSnapshot[]): Promise<void> {
    if (this.breaker.state !== "closed" || this.scope?.failureOf(this.failover)) return;
    const now = this.now();
    const due = counters.filter((c) => {
      const last = this.shared.mirroredAt.get(c.key);
      const interval = c.expiresAtMs === null ? Number.POSITIVE_INFINITY : Math.max(1000, (c.expiresAtMs - now) / 10);
      return last === undefined || now - last >= interval;
    });
    if (due.length === 0) return;
    if (this.shared.mirroredAt.size > MIRROR_MEMORY) this.shared.mirroredAt.clear();
    for (const c of due) this.shared.mirroredAt.set(c.key, now);
    this.copyToFallback(due, true);
  }

  /**
   * Queues counters for Postgres and, unless a writer is under way (it takes them too), starts one
   * in the request's background: per key, only the highest count waiting is written. A lockout
   * (`now`) is written at once, by a writer of its own if the one under way is still gathering.
   */
  private copyToFallback(counters: readonly CounterSnapshot[], now: boolean): void {
    const { pending } = this.shared;
    for (const c of counters) {
      const waiting = pending.get(c.key);
      if (!waiting || c.count >= waiting.count) pending.set(c.key, c);
    }
    const background = this.scope?.background ?? runDetached;
    if (now) {
      // Another writer may be gathering in another request: this one writes now (merges only raise counters, so two writers agree).
      const wasWriting = this.shared.writing;
      this.shared.writing = true;
      background(this.writePending(0, !wasWriting));
      return;
    }
    if (this.shared.writing) return;
    this.shared.writing = true;
    background(this.writePending(MIRROR_LINGER_MS, true));
  }

  private async writePending(lingerMs: number, owner: boolean): Promise<void> {
    const { pending } = this.shared;
    try {
      if (lingerMs > 0) await new Promise((resolve) => setTimeout(resolve, lingerMs));
      while (pending.size > 0) {
        const batch = [...pending.values()];
        pending.clear();
        try {
          await this.fallback.merge(batch);
        } catch (error) {
          if (!(error instanceof StoreError)) throw error;
          logEvent("counter_copy_failed", { store: "postgres", reason: error.reason, counters: batch.length }, "error");
          return;
        }
      }
    } finally {
      if (owner) this.shared.writing = false;
    }
  }
}
