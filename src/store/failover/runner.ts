/**
 * Primary first, fallback when the primary fails or its circuit is open: the mechanism shared by
 * the counter store, the rate limiter and the session registry of one Upstash database (one
 * breaker, one probe, one copy-back). A request's calls pass their RequestScope: once a backend
 * failed in the request, its later calls skip it. The half-open probe never runs on a request's
 * path: the request that draws it is answered by the fallback, and the probe (a ping, then every
 * copy-back) runs in the background. One log line per fact: a failover per failed call, a
 * `circuit_open` per opening, one `copy_back` per probe or cron run.
 *
 * The toolkit every failover store uses (counters, sessions): `run` (primary, else fallback),
 * `writeBoth` (a write both stores must see), `addCopyBack` with one margin (`COPY_BACK_MARGIN_MS`).
 */
import { logEvent } from "../../http/log";
import { StoreError } from "../contract";
import type { CircuitBreaker } from "./breaker";
import { type RequestScope, runDetached } from "./scope";

/**
 * How much earlier than asked every copy-back looks (the outage's start, the probe's, the cron's
 * window): clock skew between the Worker and Postgres, and writes still in flight.
 */
export const COPY_BACK_MARGIN_MS = 60_000;

/** The time a copy-back asked for `sinceMs` reads from: `COPY_BACK_MARGIN_MS` earlier. */
export const copyBackSince = (sinceMs: number): number => sinceMs - COPY_BACK_MARGIN_MS;

/** What each store answered a call sent to both; undefined where it failed or was skipped. */
export interface BothAnswers<P, F> {
  readonly primary: P | undefined;
  readonly fallback: F | undefined;
}

/** A failover between two stores of one kind: the breaker, both kinds, the primary's cheapest call. */
export interface FailoverOptions {
  readonly breaker: CircuitBreaker;
  /** @default "upstash" */
  readonly primaryKind?: string;
  /** @default "postgres" */
  readonly fallbackKind?: string;
  /** The cheapest primary call: the probe's first step, so a probe happens even when every copy is skipped. */
  readonly ping: () => Promise<void>;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Copies what the fallback wrote since `sinceMs` into the primary; answers what it copied, by kind.
 * A fallback failure is thrown as the fallback's StoreError (the copy is skipped); a primary failure
 * as the primary's.
 */
export type CopyBack = (sinceMs: number) => Promise<Record<string, number>>;

export class Failover {
  private readonly copyBacks: { readonly of: string; readonly run: CopyBack }[] = [];
  readonly breaker: CircuitBreaker;
  readonly fallbackKind: string;
  private readonly primaryKind: string;
  private readonly ping: () => Promise<void>;
  private readonly now: () => number;

  constructor({ breaker, primaryKind = "upstash", fallbackKind = "postgres", ping, now = Date.now }: FailoverOptions) {
    this.breaker = breaker;
    this.primaryKind = primaryKind;
    this.fallbackKind = fallbackKind;
    this.ping = ping;
    this.now = now;
  }

  /** Adds what the probe (and the cron) copies back into the primary. */
  addCopyBack(of: string, run: CopyBack): void {
    this.copyBacks.push({ of, run });
  }

  async run<T>(operation: string, scope: RequestScope | null, onPrimary: () => Promise<T>, onFallback: () => Promise<T>): Promise<T> {
    const answered = await this.onPrimary(operation, scope, onPrimary);
    return answered ? answered.value : this.fallback(scope, onFallback);
  }

  /**
   * A write both stores must see (a deletion, a revocation; and a listing of what either holds): on
   * the primary (through the breaker and the request's scope, a failure logged as a failover) and on
   * the fallback at once. Fails only when both fail, with the fallback's error (the primary's was
   * logged); a primary the circuit skipped counts as failed. An error that is not a StoreError is
   * thrown whatever the other store answered.
   */
  async writeBoth<P, F>(operation: string, scope: RequestScope | null, onPrimary: () => Promise<P>, onFallback: () => Promise<F>): Promise<BothAnswers<P, F>> {
    const [primary, fallback] = await Promise.allSettled([this.onPrimary(operation, scope, onPrimary), this.fallback(scope, onFallback)]);
    // Anything but a StoreError is a bug, never hidden by the other store's answer.
    if (primary.status === "rejected") throw primary.reason;
    if (fallback.status === "rejected" && !(fallback.reason instanceof StoreError)) throw fallback.reason;
    const answered = primary.value;
    if (answered === null && fallback.status === "rejected") throw fallback.reason;
    return { primary: answered?.value, fallback: fallback.status === "fulfilled" ? fallback.value : undefined };
  }

  /** The primary's answer, or null when the circuit or the request skipped it or it failed (recorded and logged). */
  private async onPrimary<T>(operation: string, scope: RequestScope | null, call: () => Promise<T>): Promise<{ readonly value: T } | null> {
    if (!this.tryPrimary(scope)) return null;
    try {
      const value = await (scope ? scope.within(this.primaryKind, call) : call());
      this.breaker.succeeded();
      return { value };
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      this.primaryFailed(operation, scope, error);
      return null;
    }
  }

  /** Runs a fallback call, unless the fallback already failed in this request (then its error again, at once). */
  async fallback<T>(scope: RequestScope | null, call: () => Promise<T>): Promise<T> {
    scope?.skipIfFailed(this.fallbackKind);
    try {
      return await (scope ? scope.within(this.fallbackKind, call) : call());
    } catch (error) {
      if (error instanceof StoreError) scope?.failed(this.fallbackKind, error);
      throw error;
    }
  }

  private tryPrimary(scope: RequestScope | null): boolean {
    if (scope?.failureOf(this)) return false;
    const gate = this.breaker.gate();
    if (gate === "probe") (scope?.background ?? runDetached)(this.probe());
    return gate === "primary";
  }

  private primaryFailed(operation: string, scope: RequestScope | null, error: StoreError): void {
    scope?.failed(this, error);
    const opened = this.breaker.failed();
    logEvent("failover", { operation, from: error.store, to: this.fallbackKind, reason: error.reason, circuit: this.breaker.state }, "error");
    if (opened) logEvent("circuit_open", { store: this.primaryKind, reason: error.reason }, "error");
  }

  /**
   * The half-open probe, in the background: ping the primary, copy back what the fallback counted
   * since the outage began, close, then copy once more what was written while the probe ran (those
   * calls went to the fallback). Any primary failure re-opens the circuit.
   */
  private async probe(): Promise<void> {
    const started = this.now();
    try {
      await this.ping();
      const copied = await this.copyAll(this.breaker.outageStartedAt ?? started, "probe");
      this.breaker.probeSucceeded();
      logEvent("circuit_closed", { store: this.primaryKind }, "warn");
      const tail = await this.copyAll(started, "probe", copied.skipped);
      this.logCopied({ copied: sum(copied.copied, tail.copied), skipped: copied.skipped }, "probe");
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      if (this.breaker.state === "closed") {
        logEvent("copy_back_failed", { store: error.store, reason: error.reason, trigger: "probe" }, "error");
        return;
      }
      this.breaker.probeFailed();
      logEvent("circuit_open", { store: this.primaryKind, reason: error.reason, probe: true }, "error");
    }
  }

  /** Every copy-back since `sinceMs` (less the margin), logged as one line (the cron's entry point). */
  async copyBack(sinceMs: number, trigger: "probe" | "cron"): Promise<void> {
    this.logCopied(await this.copyAll(sinceMs, trigger), trigger);
  }

  private logCopied({ copied, skipped }: CopyResult, trigger: string): void {
    if (skipped.size === this.copyBacks.length) return; // nothing was copied: copy_back_skipped said why
    logEvent("copy_back", { ...copied, store: this.primaryKind, trigger });
  }

  /**
   * Runs every copy-back from `sinceMs` less the margin; one whose fallback read fails is skipped
   * (logged once), a primary failure is thrown.
   */
  private async copyAll(sinceMs: number, trigger: string, alreadySkipped: ReadonlySet<string> = new Set()): Promise<CopyResult> {
    const copied: Record<string, number> = {};
    const skipped = new Set<string>();
    for (const { of, run } of this.copyBacks) {
      try {
        Object.assign(copied, await run(copyBackSince(sinceMs)));
      } catch (error) {
        if (!(error instanceof StoreError) || error.store !== this.fallbackKind) throw error;
        skipped.add(of);
        if (!alreadySkipped.has(of)) logEvent("copy_back_skipped", { of, reason: error.reason, store: error.store, trigger }, "warn");
      }
    }
    return { copied, skipped };
  }
}

interface CopyResult {
  readonly copied: Record<string, number>;
  readonly skipped: ReadonlySet<string>;
}

function sum(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const total = { ...a };
  for (const [of, n] of Object.entries(b)) total[of] = (total[of] ?? 0) + n;
  return total;
}
