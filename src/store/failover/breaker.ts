/**
 * A per-isolate circuit breaker for the primary store. After `threshold` consecutive failures it
 * opens: requests go straight to the fallback and stop paying the primary's timeout. After
 * `cooldownMs` one request probes the primary (half-open); success closes the circuit.
 */
export type CircuitState = "closed" | "open" | "half-open";

/** What the breaker lets the caller do now. */
export type Gate = "primary" | "probe" | "fallback";

export class CircuitBreaker {
  private consecutiveFailures = 0;
  private openedAt: number | null = null;
  private probing = false;
  /** When the current outage began (first failure that opened the circuit); null when closed. */
  outageStartedAt: number | null = null;

  constructor(
    private readonly threshold: number,
    private readonly cooldownMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): CircuitState {
    if (this.openedAt === null) return "closed";
    return this.probing || this.now() - this.openedAt >= this.cooldownMs ? "half-open" : "open";
  }

  /** Decides where this call goes; in half-open only one caller at a time probes. */
  gate(): Gate {
    if (this.openedAt === null) return "primary";
    if (this.probing || this.now() - this.openedAt < this.cooldownMs) return "fallback";
    this.probing = true;
    return "probe";
  }

  /** Records a primary success; true when it closed an open circuit. */
  succeeded(): boolean {
    const recovered = this.openedAt !== null;
    this.consecutiveFailures = 0;
    this.openedAt = null;
    this.probing = false;
    this.outageStartedAt = null;
    return recovered;
  }

  /** Records a primary failure; true when it opened (or re-opened) the circuit. */
  failed(): boolean {
    this.consecutiveFailures += 1;
    const wasProbe = this.probing;
    this.probing = false;
    if (wasProbe || this.consecutiveFailures >= this.threshold) {
      this.outageStartedAt ??= this.now();
      this.openedAt = this.now();
      return true;
    }
    return false;
  }
}
