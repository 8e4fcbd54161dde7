/**
 * Primary first, fallback when the primary fails or its circuit is open: the mechanism shared by
 * the counter store, the rate limiter and the session registry of one Upstash database (one
 * breaker, one probe, one copy-back). A request's calls pass their RequestScope: once a backend
 * failed in the request, its later calls skip it. The half-open probe never runs on a request's
 * path: the request that draws it is answered by the fallback, and the probe (a ping, then every
 * copy-back) runs in the background. One log line per fact: a failover per failed call, a
 * `circuit_open` per opening, one `copy_back` per probe or cron run.
 */
import { logEvent } from "../../http/log";
import { StoreError } from "../contract";
import type { CircuitBreaker } from "./breaker";
import { type RequestScope, runDetached } from "./scope";

/** How far before the recorded outage start the copy-back looks, for clock skew and in-flight writes. */
export const COPY_BACK_MARGIN_MS = 60_000;

/**
 * Copies what the fallback wrote since `sinceMs` into the primary; answers what it copied, by kind.
 * A fallback failure is thrown as the fallback's StoreError (the copy is skipped); a primary failure
 * as the primary's.
 */
export type CopyBack = (sinceMs: number) => Promise<Record<string, number>>;

export class Failover {
  private readonly copyBacks: { readonly of: string; readonly run: CopyBack }[] = [];

  constructor(
    readonly breaker: CircuitBreaker,
    private readonly primaryKind: string,
    readonly fallbackKind: string,
    /** The cheapest primary call: the probe's first step, so a probe happens even when every copy is skipped. */
    private readonly ping: () => Promise<void>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Adds what the probe (and the cron) copies back into the primary. */
  addCopyBack(of: string, run: CopyBack): void {
    this.copyBacks.push({ of, run });
  }

  async run<T>(operation: string, scope: RequestScope | null, onPrimary: () => Promise<T>, onFallback: () => Promise<T>): Promise<T> {
    const answered = await this.onPrimary(operation, scope, onPrimary);
    return answered ? answered.value : this.fallback(scope, onFallback);
  }

  /** Runs on the primary only when the circuit and the request allow it; undefined when skipped or failed (logged). */
  async primaryOnly<T>(operation: string, scope: RequestScope | null, call: () => Promise<T>): Promise<T | undefined> {
    return (await this.onPrimary(operation, scope, call))?.value;
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
    const since = (this.breaker.outageStartedAt ?? started) - COPY_BACK_MARGIN_MS;
    try {
      await this.ping();
      const copied = await this.copyAll(since, "probe");
      this.breaker.probeSucceeded();
      logEvent("circuit_closed", { store: this.primaryKind }, "warn");
      const tail = await this.copyAll(started - 1000, "probe", copied.skipped);
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

  /** Every copy-back since `sinceMs`, logged as one line (the cron's entry point). */
  async copyBack(sinceMs: number, trigger: "probe" | "cron"): Promise<void> {
    this.logCopied(await this.copyAll(sinceMs, trigger), trigger);
  }

  private logCopied({ copied, skipped }: CopyResult, trigger: string): void {
    if (skipped.size === this.copyBacks.length) return; // nothing was copied: copy_back_skipped said why
    logEvent("copy_back", { ...copied, store: this.primaryKind, trigger });
  }

  /** Runs every copy-back; one whose fallback read fails is skipped (logged once), a primary failure is thrown. */
  private async copyAll(sinceMs: number, trigger: string, alreadySkipped: ReadonlySet<string> = new Set()): Promise<CopyResult> {
    const copied: Record<string, number> = {};
    const skipped = new Set<string>();
    for (const { of, run } of this.copyBacks) {
      try {
        Object.assign(copied, await run(sinceMs));
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
