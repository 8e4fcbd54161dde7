/**
 * The stores as the features see them: the counters, the Upstash client the rate limiter shares, the
 * sessions, their per-request view, and the capabilities the admin health report, the cron and the
 * rate limiter need of them (given here, so that no feature asks `instanceof` of a store).
 * src/wiring.ts builds them from the configuration.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import type { SessionStore } from "./session-contract";
import type { CounterStore } from "./contract";
import type { CircuitState } from "./failover/breaker";
import type { Background } from "./failover/scope";

/** Primary first, the fallback when the primary fails or its circuit is open (`Failover.run`, in one request's scope). */
export type WithFailover = <T>(operation: string, onPrimary: () => Promise<T>, onFallback: () => Promise<T>) => Promise<T>;

/** The stores as one request uses them: after a backend failed once in the request, its later calls skip it. */
export interface RequestStores {
  readonly store: CounterStore;
  readonly sessions: SessionStore;
  /**
   * The counters' failover in this request's scope, for calls made on the primary by others (the rate
   * limiter's Upstash algorithms); null when the counters do not fail over.
   */
  readonly failover: WithFailover | null;
}

/** A fixed-window counter (`CounterStore.consume`): the rate limiter's window without Upstash's algorithms. */
export type WindowCounter = Pick<CounterStore, "consume">;

/** One entry of the admin health report: a store to ping, and its circuit when it is a failover's primary. */
export interface HealthProbe {
  /** The report's name for it: `counters`, `fallback`. */
  readonly name: string;
  readonly store: Pick<CounterStore, "kind" | "ping">;
  /** The circuit breaker's state (closed, open, half-open); absent for a store without one. */
  readonly circuit?: () => CircuitState;
}

/** What the cron sweeps: the Postgres cache table and attempt history. */
export interface SweepTarget {
  sweepExpired(): Promise<{ counters: number; reservations: number }>;
  sweepHistory(prefix: string, retentionSeconds: number): Promise<number>;
}

/** The counters' failover as the cron sees it: its circuit, and the copy-back into the primary. */
export interface CopyBackTarget {
  readonly breaker: { readonly state: CircuitState };
  copyBack(sinceMs: number, trigger: "probe" | "cron"): Promise<void>;
}

/** The cron's work on the stores: null parts have nothing to do (no Postgres; no failover). */
export interface MaintenanceTargets {
  readonly sweep: SweepTarget | null;
  readonly copyBack: CopyBackTarget | null;
}

export interface Stores {
  readonly store: CounterStore;
  /** The Upstash client, for `@upstash/ratelimit`; null without Upstash. */
  readonly redis: Redis | null;
  readonly sessions: SessionStore;
  /** The stores the admin health report pings, in the report's order. */
  readonly health: readonly HealthProbe[];
  /** The Postgres fixed window behind the counters' failover (the rate limiter's fallback); null without a failover. */
  readonly fallbackWindow: WindowCounter | null;
  /** What the cron sweeps and copies back. */
  readonly maintenance: MaintenanceTargets;
  /** The stores for one request, whose background work (probe, copies to Postgres) goes to `background`. */
  forRequest(background: Background): RequestStores;
}

export type { CounterStore } from "./contract";
export { StoreError } from "./contract";
