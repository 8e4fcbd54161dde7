/**
 * Primary first, fallback when the primary fails or its circuit is open: the mechanism shared by
 * the counter store, the rate limiter and the session registry. Each failover and each change of the
 * circuit is logged.
 */
import { logEvent } from "../../http/log";
import { StoreError } from "../contract";
import type { CircuitBreaker } from "./breaker";

export class Failover {
  constructor(
    readonly breaker: CircuitBreaker,
    private readonly primaryKind: string,
    private readonly fallbackKind: string,
    /** Runs before the half-open probe's own call, inside the probe (e.g. copying counters back). */
    private readonly beforeProbe: () => Promise<void> = async () => {},
  ) {}

  async run<T>(operation: string, onPrimary: () => Promise<T>, onFallback: () => Promise<T>): Promise<T> {
    const gate = this.breaker.gate();
    if (gate !== "fallback") {
      try {
        if (gate === "probe") await this.beforeProbe();
        const result = await onPrimary();
        if (this.breaker.succeeded()) logEvent("circuit_closed", { store: this.primaryKind }, "warn");
        return result;
      } catch (error) {
        if (!(error instanceof StoreError)) throw error;
        const opened = this.breaker.failed();
        logEvent("failover", { operation, from: error.store, to: this.fallbackKind, reason: error.reason, circuit: this.breaker.state }, "error");
        if (opened) logEvent("circuit_open", { store: this.primaryKind, reason: error.reason }, "error");
      }
    }
    return onFallback();
  }
}
