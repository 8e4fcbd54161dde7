/**
 * One request's view of its stores: which backends already failed during the request. Created per
 * request (src/app.ts) and handed to the failover stores' `forRequest`, so that a request pays at
 * most one Upstash timeout and one Postgres timeout: once a backend failed, every later call of the
 * same request skips it (Upstash: straight to Postgres; Postgres: the same StoreError at once).
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

  constructor(
    /** Where this request's background work goes (the half-open probe, copies to Postgres). */
    readonly background: Background = runDetached,
  ) {}

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
