/**
 * The composition root: builds the stores the configuration names (counters, the Upstash client the
 * rate limiter shares, sessions) and the services over them (the lockout policy, the rate limiter,
 * the session registry), and hands them out. One Failover (one circuit breaker, one probe,
 * one copy-back) per Upstash database: the counters, the rate limits and the sessions share it unless
 * SESSIONS_UPSTASH_* names a database of their own. The capabilities the features need of the
 * stores (health probes, the cron's sweep and copy-back, the rate limiter's Postgres window and the
 * request's failover) are handed out here, so that no feature asks `instanceof` of a store.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { lockoutKeyPrefix } from "./lockout/keys";
import { TrustedDevices } from "./devices";
import { LockoutPolicy } from "./lockout/policy";
import { RateLimiter } from "./ratelimit/limiter";
import { SessionRegistry } from "./sessions";
import { FailoverSessionStore } from "./sessions/failover";
import { MemorySessionStore } from "./sessions/memory";
import { PostgresSessionStore } from "./sessions/postgres";
import { type SessionSettings, sessionRecordTtlMs } from "./sessions/settings";
import { UpstashSessionStore } from "./sessions/upstash";
import type { HealthProbe, Stores } from "./store";
import { FailoverStore } from "./store/failover";
import { CircuitBreaker } from "./store/failover/breaker";
import { Failover } from "./store/failover/runner";
import { RequestScope } from "./store/failover/scope";
import { MemoryStore } from "./store/memory";
import { PostgresStore, createSqlClient } from "./store/postgres";
import type { StoreSettings } from "./store/settings";
import type { GatewayConfig } from "./settings";
import type { Gateway } from "./steps/context";
import { UpstashStore, createUpstashClient, upstashCall } from "./store/upstash";
import { ScriptBatch } from "./store/upstash/batch";

/** What the stores are built from: the parsed configuration, or the part of it a test gives. */
export interface StoresInput {
  readonly store: StoreSettings;
  readonly sessions: SessionSettings;
  readonly keyPrefix: string;
}

export function createStores({ store: settings, sessions, keyPrefix }: StoresInput): Stores {
  const { upstash, postgres, breaker } = settings;
  const failoverFor = (client: Redis) =>
    new Failover({
      breaker: new CircuitBreaker(breaker.failures, breaker.cooldownMs),
      ping: async () => {
        await upstashCall(() => client.ping());
      },
    });
  const redis = upstash && createUpstashClient(upstash);
  const sql = postgres && createSqlClient(postgres);
  const fallback = sql && new PostgresStore(sql, postgres.timeoutMs);
  const countersFailover = redis && fallback && failoverFor(redis);
  // The give-back and the session record share one batch when sessions live in the counters' database.
  // A lingering write's owner waits for its carrier's answer as long as for a request of its own, plus a margin.
  const writes = redis && new ScriptBatch(redis, { lingerMs: upstash.writeLingerMs, answerWithinMs: upstash.timeoutMs + 1000 });
  const primary = redis && new UpstashStore(redis, undefined, writes ?? undefined);
  const failoverStore =
    primary && fallback && countersFailover
      ? new FailoverStore({ primary, fallback, failover: countersFailover, lockoutPrefix: lockoutKeyPrefix(keyPrefix) })
      : null;
  const store = failoverStore ?? primary ?? fallback ?? new MemoryStore();
  const health: HealthProbe[] = failoverStore
    ? [
        { name: "counters", store: failoverStore.primary, circuit: () => failoverStore.breaker.state },
        { name: "fallback", store: failoverStore.fallback },
      ]
    : [{ name: "counters", store }];

  const ownDatabase = sessions.upstash && upstash ? createUpstashClient({ ...sessions.upstash, timeoutMs: upstash.timeoutMs }) : null;
  const sessionsRedis = ownDatabase ?? redis;
  const sessionsPrimary = sessionsRedis && new UpstashSessionStore({ redis: sessionsRedis, prefix: keyPrefix, batch: ownDatabase ? undefined : (writes ?? undefined) });
  const sessionsFallback = sql && new PostgresSessionStore({ sql, prefix: keyPrefix, timeoutMs: postgres.timeoutMs });
  const sessionsFailover = ownDatabase && sql ? failoverFor(ownDatabase) : countersFailover;
  const failoverSessions =
    sessionsPrimary && sessionsFallback && sessionsFailover
      ? new FailoverSessionStore({ primary: sessionsPrimary, fallback: sessionsFallback, failover: sessionsFailover, revocationTtlMs: sessionRecordTtlMs(sessions) })
      : null;
  const sessionStore = failoverSessions ?? sessionsPrimary ?? sessionsFallback ?? new MemorySessionStore();

  return {
    store,
    redis,
    sessions: sessionStore,
    health,
    fallbackWindow: failoverStore?.fallback ?? null,
    maintenance: { sweep: fallback || null, copyBack: failoverStore?.failover ?? null },
    forRequest(background) {
      const scope = new RequestScope(background, (upstash?.timeoutMs ?? 0) + (postgres?.timeoutMs ?? 0));
      const counters = failoverStore?.forRequest(scope);
      return {
        store: counters ?? store,
        sessions: failoverSessions?.forRequest(scope) ?? sessionStore,
        failover: counters ? (operation, onPrimary, onFallback) => counters.withFailover(operation, onPrimary, onFallback) : null,
      };
    },
  };
}

/** How long a login reservation outlives ORIGIN_TIMEOUT: reading the body, the store calls, clock skew. */
const RESERVATION_MARGIN_SECONDS = 5;

/** The services the request pipeline uses (src/app.ts), over `stores`. */
export function createServices(config: GatewayConfig, stores: Stores): Gateway {
  const policy = new LockoutPolicy({
    settings: config.lockout,
    store: stores.store,
    whitelist: config.whitelist,
    keyPrefix: config.keyPrefix,
    lockCacheSeconds: config.lockCacheSeconds,
    inFlightWaitSeconds: config.login.inFlightWaitSeconds,
    // An unsettled reservation (the isolate vanished) outlives the origin's timeout by a margin, no more.
    reservationSeconds: config.origin.timeoutMs / 1000 + RESERVATION_MARGIN_SECONDS,
    history: config.history.enabled ? { prefix: config.keyPrefix, maxEntries: config.history.maxEntries } : null,
  });
  const limiter = new RateLimiter({
    policies: config.rateLimits.policies,
    fallbackWindow: stores.fallbackWindow,
    keyPrefix: config.keyPrefix,
    redis: stores.redis,
    analytics: config.rateLimitAnalytics,
  });
  const devices = config.devices && new TrustedDevices(config.devices, config.keyPrefix);
  return { config, stores, policy, limiter, sessions: new SessionRegistry(config.sessions, stores.sessions), devices };
}
