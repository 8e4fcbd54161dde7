/**
 * Rate-limit decisions with `@upstash/ratelimit` over the gateway's Upstash client: one EVALSHA per
 * request, none for a client already blocked in the ephemeral cache (kept per isolate), `pending`
 * handed to `waitUntil`. Its own timeout is off (`timeout: 0`): on a timeout it would answer
 * "success" and silently fail open; the client's per-call timeout (REDIS_TIMEOUT_MS) throws instead,
 * and the counters' failover runs the Postgres fixed window the wiring hands over (`fallbackWindow`).
 * Without Upstash, the configured store's fixed window serves every algorithm.
 */
import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis/cloudflare";
import type { RequestStores, WindowCounter } from "../store";
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

/** What one request counts with: its view of the counters and of their failover. */
export type RateLimitStores = Pick<RequestStores, "failover"> & { readonly store: WindowCounter };

/** What a rate limiter is built from. */
export interface RateLimiterOptions {
  readonly policies: readonly RateLimitPolicy[];
  /**
   * The fixed window Upstash's algorithms fail over to (the Postgres store behind the counters'
   * failover); null when the counters do not fail over. @default null
   */
  readonly fallbackWindow?: WindowCounter | null;
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
  private readonly fallbackWindow: WindowCounter | null;
  private readonly keyPrefix: string;
  private readonly now: () => number;

  constructor({ policies, fallbackWindow = null, keyPrefix, redis, analytics = false, now = () => Date.now() }: RateLimiterOptions) {
    this.fallbackWindow = fallbackWindow;
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

  private fixedWindow(store: WindowCounter, policy: RateLimitWindow, identity: string) {
    return async (): Promise<RateDecision> => {
      const window = Math.floor(this.now() / (policy.windowSeconds * 1000));
      const key = `${this.keyPrefix}:ratelimit:${policy.name}:fixed:${identity}:${window}`;
      const { count, resetAtMs } = await store.consume(key, policy.windowSeconds);
      return { allowed: count <= policy.limit, limit: policy.limit, remaining: Math.max(0, policy.limit - count), resetAtMs, source: "fallback" };
    };
  }

  /**
   * Counts one request of `identity` under a policy (or its IP cap), through the counters' failover
   * in the request's view (`stores`: an Upstash failure earlier in the request sends it straight to
   * Postgres). Throws StoreError when no store can answer.
   */
  async check(policy: RateLimitWindow, identity: string, waitUntil: (promise: Promise<unknown>) => void, { store, failover }: RateLimitStores): Promise<RateDecision> {
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
    if (failover !== null && this.fallbackWindow !== null) {
      return failover("ratelimit", viaUpstash, this.fixedWindow(this.fallbackWindow, policy, identity));
    }
    return viaUpstash();
  }
}
