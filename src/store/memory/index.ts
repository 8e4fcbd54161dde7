/**
 * Counters in this isolate's memory, for development and unit tests only. Like django-axes'
 * warning about LocMemCache, it is refused when ENVIRONMENT=production: each Worker isolate would
 * count on its own, so an attacker spread over isolates would get many times the limit.
 */
import type { CounterRule, CounterSnapshot, CounterStore, Reservation, WindowCount } from "../contract";

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
    const before = keys.map((key) => this.live(key)?.count ?? 0);
    const current = Math.max(0, ...before);
    const locked = rule.lockOutAtFailure && current >= rule.limit;
    if (locked && !rule.countWhileLocked) {
      let retryAt = 0;
      for (const key of keys) {
        const counter = this.live(key);
        if (counter && counter.count >= rule.limit) {
          if (counter.expiresAt === null) return { locked, failures: current, retryAfterSeconds: null, counts: before };
          retryAt = Math.max(retryAt, counter.expiresAt);
        }
      }
      const retryAfterSeconds = Math.max(1, Math.ceil((retryAt - this.now()) / 1000));
      return { locked, failures: current, retryAfterSeconds, counts: before };
    }
    const expiresAt = rule.ttlSeconds === null ? null : this.now() + rule.ttlSeconds * 1000;
    const counts = keys.map((key) => {
      const counter = this.live(key) ?? { count: 0, expiresAt };
      counter.count += 1;
      counter.expiresAt = expiresAt;
      this.counters.set(key, counter);
      return counter.count;
    });
    const retryAfterSeconds = locked && rule.ttlSeconds !== null ? Math.ceil(rule.ttlSeconds) : null;
    return { locked, failures: Math.max(...counts), retryAfterSeconds, counts };
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

  async list(prefix: string, limit: number): Promise<CounterSnapshot[]> {
    const found: CounterSnapshot[] = [];
    for (const key of [...this.counters.keys()]) {
      const counter = key.startsWith(prefix) ? this.live(key) : undefined;
      if (counter && counter.count > 0) found.push({ key, count: counter.count, expiresAtMs: counter.expiresAt });
      if (found.length >= limit) break;
    }
    return found;
  }
}
