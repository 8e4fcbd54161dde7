/** Builds the stores the configuration names: counters, the Upstash client the rate limiter shares, sessions. */
import type { Redis } from "@upstash/redis/cloudflare";
import type { GatewayConfig } from "../config";
import type { SessionStore } from "../sessions/contract";
import { FailoverSessionStore } from "../sessions/failover";
import { MemorySessionStore } from "../sessions/memory";
import { PostgresSessionStore } from "../sessions/postgres";
import { UpstashSessionStore } from "../sessions/upstash";
import { lockoutKeyPrefix } from "../lockout/keys";
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
  readonly sessions: SessionStore;
}

export function createStores({ store: settings, sessions, keyPrefix }: GatewayConfig): Stores {
  const { upstash, postgres, breaker } = settings;
  const newBreaker = () => new CircuitBreaker(breaker.failures, breaker.cooldownMs);
  const redis = upstash && createUpstashClient(upstash);
  const sql = postgres && createSqlClient(postgres);
  const primary = redis && new UpstashStore(redis);
  const fallback = sql && new PostgresStore(sql, postgres.timeoutMs);
  const store =
    primary && fallback
      ? new FailoverStore(primary, fallback, newBreaker(), lockoutKeyPrefix(keyPrefix))
      : (primary ?? fallback ?? new MemoryStore());

  const sessionsRedis = sessions.upstash && upstash ? createUpstashClient({ ...sessions.upstash, timeoutMs: upstash.timeoutMs }) : redis;
  const sessionsPrimary = sessionsRedis && new UpstashSessionStore(sessionsRedis, keyPrefix);
  const sessionsFallback = sql && new PostgresSessionStore(sql, keyPrefix, postgres.timeoutMs);
  const sessionStore =
    sessionsPrimary && sessionsFallback
      ? new FailoverSessionStore(sessionsPrimary, sessionsFallback, newBreaker(), sessions.timeoutMs + sessions.rememberMs)
      : (sessionsPrimary ?? sessionsFallback ?? new MemorySessionStore());
  return { store, redis, sessions: sessionStore };
}

export type { CounterStore } from "./contract";
export { StoreError } from "./contract";
