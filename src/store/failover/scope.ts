/**
 * One request's view of its stores: which backends already failed during the request, and how long
 * it has waited for them. Created per request (src/app.ts) and handed to the failover stores'
 * `forRequest`, so that a request pays at most one Upstash timeout and one Postgres timeout: once a
 * backend failed, every later call of the same request skips it (Upstash: straight to Postgres;
 * Postgres: the same StoreError at once). Stores that answer slowly but within their timeouts are
 * bounded too: all of a request's store calls share one budget (REDIS_TIMEOUT_MS +
 * DATABASE_TIMEOUT_MS); a call still running when it runs out is no longer waited for.
 */
import { StoreError } from "../contract";

/** Hands work that must outlive the response to the Worker (`ctx.waitUntil`). */
export type Background = (work: Promise<unknown>) => void;

/** Runs work detached, for callers outside a request (cron, tests): its failure is its own business. */
export const runDetached: Background = (work) => {
  work.catch(() => {});
};

export class RequestScope {
  /** The failure each backend (an Upstash circuit, or the Postgres store kind) met in this request. */
  private readonly failures = new Map<unknown, StoreError>();
  /** Milliseconds this request has waited for store calls (calls made at once are each counted). */
  private spentMs = 0;

  constructor(
    /** Where this request's background work goes (the half-open probe, copies to Postgres). */
    readonly background: Background = runDetached,
    /** How long the request's store calls may take in all. @default Infinity */
    private readonly budgetMs: number = Number.POSITIVE_INFINITY,
    /** A monotonic clock: a test that pins Date must not stop the budget. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Runs a store call within what is left of the request's budget: once it runs out, the request
   * stops waiting (a timeout of `store`); the call itself ends by its own timeout.
   */
  async within<T>(store: string, call: () => Promise<T>): Promise<T> {
    const leftMs = this.budgetMs - this.spentMs;
    const outOfTime = () => new StoreError(store, "timeout", `${store}: the request's store time ran out`);
    if (leftMs <= 0) throw outOfTime();
    const started = this.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      if (leftMs === Number.POSITIVE_INFINITY) return await call();
      return await Promise.race([call(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(outOfTime()), leftMs)))]);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      this.spentMs += this.now() - started;
    }
  }

  /** The StoreError `backend` already raised in this request, if any. */
  failureOf(backend: unknown): StoreError | undefined {
    return this.failures.get(backend);
  }

  /** Remembers that `backend` failed, so later calls of the request skip it. */
  failed(backend: unknown, error: StoreError): void {
    if (!this.failures.has(backend)) this.failures.set(backend, error);
  }

  /** Throws at once, without a call, when `backend` already failed in this request. */
  skipIfFailed(backend: unknown): void {
    const earlier = this.failures.get(backend);
    if (earlier) throw new StoreError(earlier.store, earlier.reason, `${earlier.store} already failed in this request`);
  }
}
