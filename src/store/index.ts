/** Builds the counter store the configuration names. */
import type { StoreSettings } from "../config";
import type { CounterStore } from "./contract";
import { FailoverStore } from "./failover";
import { CircuitBreaker } from "./failover/breaker";
import { MemoryStore } from "./memory";
import { PostgresStore, createSqlClient } from "./postgres";
import { UpstashStore, createUpstashClient } from "./upstash";

export function createStore({ upstash, postgres, breaker }: StoreSettings): CounterStore {
  const primary = upstash && new UpstashStore(createUpstashClient(upstash));
  const fallback = postgres && new PostgresStore(createSqlClient(postgres), postgres.timeoutMs);
  if (primary && fallback) return new FailoverStore(primary, fallback, new CircuitBreaker(breaker.failures, breaker.cooldownMs));
  return primary ?? fallback ?? new MemoryStore();
}

export type { CounterStore } from "./contract";
export { StoreError } from "./contract";
