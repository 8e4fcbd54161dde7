/**
 * The stores as the features see them: the counters, the Upstash client the rate limiter shares, the
 * sessions, and their per-request view. src/wiring.ts builds them from the configuration.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import type { SessionStore } from "../sessions/contract";
import type { CounterStore } from "./contract";
import type { Background } from "./failover/scope";

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

export type { CounterStore } from "./contract";
export { StoreError } from "./contract";
