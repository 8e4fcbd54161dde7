/**
 * Rate-limit decisions with `@upstash/ratelimit` over the gateway's Upstash client: one EVALSHA per
 * request, none for a client already blocked in the ephemeral cache (kept per isolate), `pending`
 * handed to `waitUntil`. Its own timeout is off (`timeout: 0`): on a timeout it would answer
 * "success" and silently fail open; the client's per-call timeout (REDIS_TIMEOUT_MS) throws instead,
 * and the failover store runs a Postgres fixed window. Without Upstash, the configured store's fixed
 * window serves every algorithm.
 */
import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis/cloudflare";
import type { CounterStore } from "../store/contract";
import { FailoverStore } from "../store/failover";
import { upstashCall } from "../store/upstash";
import type { RateLimitPolicy, RateLimitWindow } from "./policies";

/** A rate-limit decision as a value; turned into headers or a 429 in ./response. */
export interface RateDecision {
  readonly allowed: boolean;
  readonly limit: number;
  readonly remaining: number;
  /** Epoch milliseconds when the window resets (or the next token arrives). */
  readonly resetAtMs: number;
  /** upstash: counted there; cache: refused from the ephemeral cache; fallback: the store's fixed window. */
  readonly source: "upstash" | "cache" | "fallback";
}

function algorithmFor(policy: RateLimitWindow) {
  const window = `${Math.round(policy.windowSeconds * 1000)} ms` as const;
  switch (policy.algorithm) {
    case "fixed-window":
      return Ratelimit.fixedWindow(policy.limit, window);
    case "sliding-window":
      return Ratelimit.slidingWindow(policy.limit, window);
    case "token-bucket":
      return Ratelimit.tokenBucket(policy.refill, window, policy.limit);
  }
}

/** What a rate limiter is built from. */
export interface RateLimiterOptions {
  readonly policies: readonly RateLimitPolicy[];
  /** The counters: their fixed window serves every algorithm without Upstash, and on its failure. */
  readonly store: CounterStore;
  /** CACHE_KEY_PREFIX: counts live under `<prefix>:ratelimit:<policy>`. */
  readonly keyPrefix: string;
  /** The Upstash client for @upstash/ratelimit; null without Upstash. */
  readonly redis: Redis | null;
  /** RATE_LIMIT_ANALYTICS: @upstash/ratelimit records each decision for the Upstash console (in `pending`). @default false */
  readonly analytics?: boolean;
  /** The fixed window's clock. @default Date.now */
  readonly now?: () => number;
}

export class RateLimiter {
  private readonly limiters = new Map<string, Ratelimit>();
  private readonly store: CounterStore;
  private readonly keyPrefix: string;
  private readonly now: () => number;

  constructor({ policies, store, keyPrefix, redis, analytics = false, now = () => Date.now() }: RateLimiterOptions) {
    this.store = store;
    this.keyPrefix = keyPrefix;
    this.now = now;
    if (redis === null) return;
    for (const policy of policies.flatMap((p): RateLimitWindow[] => (p.ipCap ? [p, p.ipCap] : [p]))) {
      this.limiters.set(
        policy.name,
        new Ratelimit({
          redis,
          limiter: algorithmFor(policy),
          prefix: `${keyPrefix}:ratelimit:${policy.name}`,
          ephemeralCache: new Map(),
          timeout: 0,
          analytics,
        }),
      );
    }
  }

  private fixedWindow(store: CounterStore, policy: RateLimitWindow, identity: string) {
    return async (): Promise<RateDecision> => {
      const window = Math.floor(this.now() / (policy.windowSeconds * 1000));
      const key = `${this.keyPrefix}:ratelimit:${policy.name}:fixed:${identity}:${window}`;
      const { count, resetAtMs } = await store.consume(key, policy.windowSeconds);
      return { allowed: count <= policy.limit, limit: policy.limit, remaining: Math.max(0, policy.limit - count), resetAtMs, source: "fallback" };
    };
  }

  /**
   * Counts one request of `identity` under a policy (or its IP cap), through `store`'s failover (the
   * request's view, so an Upstash failure earlier in the request sends it straight to Postgres).
   * Throws StoreError when no store can answer.
   */
  async check(policy: RateLimitWindow, identity: string, waitUntil: (promise: Promise<unknown>) => void, store: CounterStore = this.store): Promise<RateDecision> {
    const limiter = this.limiters.get(policy.name);
    if (!limiter) return this.fixedWindow(store, policy, identity)();
    const viaUpstash = () =>
      upstashCall(async (): Promise<RateDecision> => {
        const result = await limiter.limit(identity);
        waitUntil(result.pending);
        return {
          allowed: result.success,
          limit: result.limit,
          remaining: result.remaining,
          resetAtMs: result.reset,
          source: result.reason === "cacheBlock" ? "cache" : "upstash",
        };
      });
    if (store instanceof FailoverStore) {
      return store.withFailover("ratelimit", viaUpstash, this.fixedWindow(store.fallback, policy, identity));
    }
    return viaUpstash();
  }
}
