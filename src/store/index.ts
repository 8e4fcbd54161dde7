/**
 * Builds the stores the configuration names: counters, the Upstash client the rate limiter shares,
 * sessions. One Failover (one circuit breaker, one probe, one copy-back) per Upstash database: the
 * counters, the rate limits and the sessions share it unless SESSION_UPSTASH_* names a database of
 * their own.
 */
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
import { Failover } from "./failover/runner";
import { type Background, RequestScope } from "./failover/scope";
import { MemoryStore } from "./memory";
import { PostgresStore, createSqlClient } from "./postgres";
import { UpstashStore, createUpstashClient, upstashCall } from "./upstash";

/** The stores as one request uses them: after a backend failed once in the request, its later calls skip it. */
export interface RequestStores {
  readonly store: CounterStore;
  readonly sessions: SessionStore;
}

export interface Stores {
  readonly store: CounterStore;
  /** The Upstash client, for `@upstash/ratelimit`; null without Upstash. */
  readonly redis: Redis | null;
  readonly sessions: SessionStore;
  /** The stores for one request, whose background work (probe, copies to Postgres) goes to `background`. */
  forRequest(background: Background): RequestStores;
}

export function createStores({ store: settings, sessions, keyPrefix }: GatewayConfig): Stores {
  const { upstash, postgres, breaker } = settings;
  const failoverFor = (client: Redis) =>
    new Failover(new CircuitBreaker(breaker.failures, breaker.cooldownMs), "upstash", "postgres", async () => {
      await upstashCall(() => client.ping());
    });
  const redis = upstash && createUpstashClient(upstash);
  const sql = postgres && createSqlClient(postgres);
  const fallback = sql && new PostgresStore(sql, postgres.timeoutMs);
  const countersFailover = redis && fallback && failoverFor(redis);
  const primary = redis && new UpstashStore(redis);
  const store = primary && fallback && countersFailover ? new FailoverStore(primary, fallback, countersFailover, lockoutKeyPrefix(keyPrefix)) : (primary ?? fallback ?? new MemoryStore());

  const ownDatabase = sessions.upstash && upstash ? createUpstashClient({ ...sessions.upstash, timeoutMs: upstash.timeoutMs }) : null;
  const sessionsRedis = ownDatabase ?? redis;
  const sessionsPrimary = sessionsRedis && new UpstashSessionStore(sessionsRedis, keyPrefix);
  const sessionsFallback = sql && new PostgresSessionStore(sql, keyPrefix, postgres.timeoutMs);
  const sessionsFailover = ownDatabase && sql ? failoverFor(ownDatabase) : countersFailover;
  const sessionStore =
    sessionsPrimary && sessionsFallback && sessionsFailover
      ? new FailoverSessionStore(sessionsPrimary, sessionsFallback, sessionsFailover, sessions.timeoutMs + sessions.rememberMs)
      : (sessionsPrimary ?? sessionsFallback ?? new MemorySessionStore());

  return {
    store,
    redis,
    sessions: sessionStore,
    forRequest(background) {
      const scope = new RequestScope(background, (upstash?.timeoutMs ?? 0) + (postgres?.timeoutMs ?? 0));
      return {
        store: store instanceof FailoverStore ? store.forRequest(scope) : store,
        sessions: sessionStore instanceof FailoverSessionStore ? sessionStore.forRequest(scope) : sessionStore,
      };
    },
  };
}

export type { CounterStore } from "./contract";
export { StoreError } from "./contract";
