/**
 * Counters in this isolate's memory, for development and unit tests only. Like django-axes'
 * warning about LocMemCache, it is refused when ENVIRONMENT=production: each Worker isolate would
 * count on its own, so an attacker spread over isolates would get many times the limit.
 */
import type { CounterRule, CounterStore, Reservation } from "../contract";

interface Counter {
  count: number;
  /** Epoch milliseconds; null = never expires. */
  expiresAt: number | null;
}

/** An in-memory CounterStore with a clock that tests can drive. */
export class MemoryStore implements CounterStore {
  readonly kind = "memory";
  private readonly counters = new Map<string, Counter>();

  constructor(private readonly now: () => number = Date.now) {}

  private live(key: string): Counter | undefined {
    const counter = this.counters.get(key);
    if (counter && counter.expiresAt !== null && counter.expiresAt <= this.now()) {
      this.counters.delete(key);
      return undefined;
    }
    return counter;
  }

  async reserve(keys: readonly string[], rule: CounterRule): Promise<Reservation> {
    const current = Math.max(0, ...keys.map((key) => this.live(key)?.count ?? 0));
    const locked = rule.lockOutAtFailure && current >= rule.limit;
    if (locked && !rule.countWhileLocked) {
      let retryAt = 0;
      for (const key of keys) {
        const counter = this.live(key);
        if (counter && counter.count >= rule.limit) {
          if (counter.expiresAt === null) return { locked, failures: current, retryAfterSeconds: null };
          retryAt = Math.max(retryAt, counter.expiresAt);
        }
      }
      return { locked, failures: current, retryAfterSeconds: Math.max(1, Math.ceil((retryAt - this.now()) / 1000)) };
    }
    const expiresAt = rule.ttlSeconds === null ? null : this.now() + rule.ttlSeconds * 1000;
    let failures = 0;
    for (const key of keys) {
      const counter = this.live(key) ?? { count: 0, expiresAt };
      counter.count += 1;
      if (expiresAt !== null) counter.expiresAt = expiresAt;
      this.counters.set(key, counter);
      failures = Math.max(failures, counter.count);
    }
    return { locked, failures, retryAfterSeconds: locked && rule.ttlSeconds !== null ? Math.ceil(rule.ttlSeconds) : null };
  }

  async release(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      const counter = this.live(key);
      if (!counter) continue;
      if (counter.count <= 1) this.counters.delete(key);
      else counter.count -= 1;
    }
  }

  async reset(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.counters.delete(key);
  }
}
