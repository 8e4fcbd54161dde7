/**
 * A per-isolate circuit breaker for one Upstash database, shared by everything that uses it
 * (counters, sessions, rate limits). After `threshold` consecutive failures it opens: calls go
 * straight to the fallback and stop paying the primary's timeout. After `cooldownMs` one caller
 * starts the probe (half-open); only the probe's outcome closes or re-opens the circuit.
 */
export type CircuitState = "closed" | "open" | "half-open";

/** What the breaker lets the caller do now. */
export type Gate = "primary" | "probe" | "fallback";

/**
 * A probe that has not reported by then is taken as lost (its request context was cancelled before
 * the background work ended): the next caller may probe again, instead of the circuit staying
 * half-open with every call on the fallback for good. The probe's own calls time out well before.
 */
const PROBE_LOST_MS = 30_000;

export class CircuitBreaker {
  private consecutiveFailures = 0;
  private openedAt: number | null = null;
  private probeStartedAt: number | null = null;
  /** When the current outage began (the failure that opened the circuit); null when closed. */
  outageStartedAt: number | null = null;

  constructor(
    private readonly threshold: number,
    private readonly cooldownMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  private get probing(): boolean {
    return this.probeStartedAt !== null && this.now() - this.probeStartedAt < PROBE_LOST_MS;
  }

  get state(): CircuitState {
    if (this.openedAt === null) return "closed";
    return this.probing || this.now() - this.openedAt >= this.cooldownMs ? "half-open" : "open";
  }

  /** Decides where this call goes; in half-open exactly one caller is told to probe. */
  gate(): Gate {
    if (this.openedAt === null) return "primary";
    if (this.probing || this.now() - this.openedAt < this.cooldownMs) return "fallback";
    this.probeStartedAt = this.now();
    return "probe";
  }

  /** Records a primary success of an ordinary call: forgets earlier failures, never closes an open circuit. */
  succeeded(): void {
    if (this.openedAt === null) this.consecutiveFailures = 0;
  }

  /**
   * Records a primary failure of an ordinary call; true only when it opened the circuit. Calls that
   * were already in flight when it opened fail too, and are not a new opening.
   */
  failed(): boolean {
    if (this.openedAt !== null) return false;
    this.consecutiveFailures += 1;
    if (this.consecutiveFailures < this.threshold) return false;
    this.outageStartedAt = this.now();
    this.openedAt = this.now();
    return true;
  }

  /** The probe reached the primary and copied back: the circuit closes. */
  probeSucceeded(): void {
    this.consecutiveFailures = 0;
    this.openedAt = null;
    this.probeStartedAt = null;
    this.outageStartedAt = null;
  }

  /** The probe failed: open for another cool-down, keeping the outage's start. */
  probeFailed(): void {
    this.openedAt = this.now();
    this.probeStartedAt = null;
  }
}
