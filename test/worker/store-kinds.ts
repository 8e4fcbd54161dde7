/**
 * Every counter store, built against the real services: memory, Upstash (the real Redis through the
 * bridge), Postgres (through the Neon HTTP endpoint) and the failover store over the last two. The
 * conformance suites run unchanged against each.
 */
import type { CounterStore } from "../../src/store/contract";
import { FailoverStore } from "../../src/store/failover";
import { CircuitBreaker } from "../../src/store/failover/breaker";
import { Failover } from "../../src/store/failover/runner";
import { MemoryStore } from "../../src/store/memory";
import { PostgresStore, createSqlClient } from "../../src/store/postgres";
import { UpstashStore, createUpstashClient } from "../../src/store/upstash";
import { bindings, postgres } from "./helpers";

export const upstash = () => new UpstashStore(createUpstashClient({ url: bindings.UPSTASH_REDIS_REST_URL!, token: bindings.UPSTASH_REDIS_REST_TOKEN!, timeoutMs: 5000 }));
export const pg = () => new PostgresStore(createSqlClient({ url: postgres.DATABASE_URL!, timeoutMs: 5000, httpEndpoint: postgres.NEON_HTTP_ENDPOINT! }), 5000);

export const stores: { name: string; make: (prefix: string) => CounterStore }[] = [
  { name: "memory", make: () => new MemoryStore() },
  { name: "upstash", make: upstash },
  { name: "postgres", make: pg },
  {
    name: "upstash+postgres",
    make: (prefix) => {
      const primary = upstash();
      const failover = new Failover({ breaker: new CircuitBreaker(2, 10_000), ping: () => primary.ping() });
      return new FailoverStore({ primary, fallback: pg(), failover, lockoutPrefix: `${prefix}:lockout:` });
    },
  },
];
