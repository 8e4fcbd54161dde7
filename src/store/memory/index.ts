/**
 * Counters in this isolate's memory, for development and unit tests only. Like django-axes'
 * warning about LocMemCache, it is refused when ENVIRONMENT=production: each Worker isolate would
 * count on its own, so an attacker spread over isolates would get many times the limit.
 */
import { type CounterPage, type CounterRule, type CounterSnapshot, type CounterStore, type FailureCount, type LockState, type PendingCount, type RefusedAttempts, type Reservation, type WindowCount, keysetCursor } from "../contract";

interface Counter {
  count: number;
  /** Epoch milliseconds; null = never expires. */
  expiresAt: number | null;
}

/** When a counter just counted to `count` expires (epoch ms), by the rule's cool-off or idle time; null = never. */
function expiryAfterCount(rule: CounterRule, count: number, now: number): number | null {
  if (rule.ttlSeconds !== null) return now + rule.ttlSeconds * 1000;
  return rule.lockOutAtFailure && count >= rule.limit ? null : now + rule.idleSeconds * 1000;
}

/** An in-memory CounterStore with a clock that tests can drive. */
export class MemoryStore implements CounterStore {
  readonly kind = "memory";
  private readonly counters = new Map<string, Counter>();
  /** Reservations in flight per counter key: reservation id -> expiry (epoch ms). */
  private readonly inFlight = new Map<string, Map<string, number>>();

  constructor(private readonly now: () => number = Date.now) {}

  private live(key: string): Counter | undefined {
    const counter = this.counters.get(key);
    if (counter && counter.expiresAt !== null && counter.expiresAt <= this.now()) {
      this.counters.delete(key);
      return undefined;
    }
    return counter;
  }

  /** Live reservations of a key, after dropping the expired ones. */
  private flying(key: string): Map<string, number> {
    const reservations = this.inFlight.get(key) ?? new Map<string, number>();
    for (const [id, expiresAt] of reservations) if (expiresAt <= this.now()) reservations.delete(id);
    if (reservations.size === 0) this.inFlight.delete(key);
    return reservations;
  }

  private addFailures(key: string, attempts: number, rule: CounterRule): number {
    const counter = this.live(key) ?? { count: 0, expiresAt: null };
    counter.count += attempts;
    counter.expiresAt = expiryAfterCount(rule, counter.count, this.now());
    this.counters.set(key, counter);
    return counter.count;
  }

  /** Milliseconds until every counter of `keys` at the limit has expired; null when one never does. */
  private lockMsLeft(keys: readonly string[], limit: number): number | null {
    let endsAt = this.now();
    for (const key of keys) {
      const counter = this.live(key);
      if (!counter || counter.count < limit) continue;
      if (counter.expiresAt === null) return null;
      endsAt = Math.max(endsAt, counter.expiresAt);
    }
    return endsAt - this.now();
  }

  async reserve(keys: readonly string[], rule: CounterRule, reservationId: string): Promise<Reservation> {
    const before = keys.map((key) => this.live(key)?.count ?? 0);
    const flying = keys.map((key) => this.flying(key).size);
    const current = Math.max(0, ...before);
    if (rule.lockOutAtFailure && current >= rule.limit) {
      if (!rule.countWhileLocked) return { kind: "locked", failures: current, lockMsLeft: this.lockMsLeft(keys, rule.limit), counts: before };
      const counts = keys.map((key) => this.addFailures(key, 1, rule));
      return { kind: "locked", failures: Math.max(...counts), lockMsLeft: this.lockMsLeft(keys, rule.limit), counts };
    }
    if (rule.lockOutAtFailure && keys.some((_, i) => before[i]! + flying[i]! >= rule.limit)) {
      return { kind: "busy", failures: current, inFlight: Math.max(0, ...flying) };
    }
    for (const key of keys) this.inFlight.set(key, this.flying(key).set(reservationId, this.now() + rule.reservationMs));
    return { kind: "reserved", failures: current, counts: before, inFlight: Math.max(0, ...flying) + 1 };
  }

  async pending(keys: readonly string[]): Promise<PendingCount> {
    const counts = keys.map((key) => this.live(key)?.count ?? 0);
    return { failures: Math.max(0, ...counts), counts, inFlight: Math.max(0, ...keys.map((key) => this.flying(key).size)) };
  }

  async confirmFailure(keys: readonly string[], reservationId: string, rule: CounterRule): Promise<FailureCount> {
    for (const key of keys) this.flying(key).delete(reservationId);
    const counts = keys.map((key) => this.addFailures(key, 1, rule));
    return { failures: Math.max(0, ...counts), counts };
  }

  async release(keys: readonly string[], reservationId: string, clearCounters: boolean): Promise<void> {
    for (const key of keys) {
      this.flying(key).delete(reservationId);
      if (clearCounters) this.counters.delete(key);
    }
  }

  async countRefused({ lockKey, attempts }: RefusedAttempts, rule: CounterRule): Promise<LockState> {
    const lock = this.live(lockKey);
    if (!lock || lock.count < rule.limit) return { locked: false, failures: lock?.count ?? 0, lockMsLeft: null };
    for (const [key, n] of attempts) this.addFailures(key, n, rule);
    return { locked: true, failures: lock.count, lockMsLeft: this.lockMsLeft([lockKey], rule.limit) };
  }

  async reset(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      this.counters.delete(key);
      this.inFlight.delete(key);
    }
  }

  async merge(counters: readonly CounterSnapshot[]): Promise<void> {
    for (const { key, count, expiresAtMs } of counters) {
      const counter = this.live(key);
      if (!counter) {
        this.counters.set(key, { count, expiresAt: expiresAtMs });
        continue;
      }
      counter.count = Math.max(counter.count, count);
      if (counter.expiresAt !== null) counter.expiresAt = expiresAtMs === null ? null : Math.max(counter.expiresAt, expiresAtMs);
    }
  }

  async consume(key: string, windowSeconds: number): Promise<WindowCount> {
    const counter = this.live(key) ?? { count: 0, expiresAt: this.now() + windowSeconds * 1000 };
    counter.count += 1;
    this.counters.set(key, counter);
    return { count: counter.count, resetAtMs: counter.expiresAt! };
  }

  async ping(): Promise<void> {}

  async read(keys: readonly string[]): Promise<CounterSnapshot[]> {
    const found: CounterSnapshot[] = [];
    for (const key of new Set(keys)) {
      const counter = this.live(key);
      if (counter && counter.count > 0) found.push({ key, count: counter.count, expiresAtMs: counter.expiresAt });
    }
    return found;
  }

  /** Keyset pages in key order. */
  async list(prefix: string, limit: number, cursor: string | null = null): Promise<CounterPage> {
    const after = keysetCursor.read(cursor);
    const keys = [...this.counters.keys()].filter((key) => key.startsWith(prefix) && (after === null || key > after)).sort();
    const counters = await this.read(keys.slice(0, limit));
    return { counters, cursor: keys.length > limit ? keysetCursor.after(keys[limit - 1]!) : null };
  }
}
