/** Builds the counter store the configuration names, and the Upstash client the rate limiter shares. */
import type { Redis } from "@upstash/redis/cloudflare";
import type { StoreSettings } from "../config";
import type { CounterStore } from "./contract";
import { FailoverStore } from "./failover";
import { CircuitBreaker } from "./failover/breaker";
import { MemoryStore } from "./memory";
import { PostgresStore, createSqlClient } from "./postgres";
import { UpstashStore, createUpstashClient } from "./upstash";

export interface Stores {
  readonly store: CounterStore;
  /** The Upstash client, for `@upstash/ratelimit`; null without Upstash. */
  readonly redis: Redis | null;
}

export function createStores({ upstash, postgres, breaker }: StoreSettings): Stores {
  const redis = upstash && createUpstashClient(upstash);
  const primary = redis && new UpstashStore(redis);
  const fallback = postgres && new PostgresStore(createSqlClient(postgres), postgres.timeoutMs);
  if (primary && fallback) {
    return { store: new FailoverStore(primary, fallback, new CircuitBreaker(breaker.failures, breaker.cooldownMs)), redis };
  }
  return { store: primary ?? fallback ?? new MemoryStore(), redis };
}

export type { CounterStore } from "./contract";
export { StoreError } from "./contract";
