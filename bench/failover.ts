/**
 * How long the gateway takes to notice a dead Upstash and to come back to it (for the Postgres
 * fallback's closing note). One client sends failed logins one after another; after each answer the
 * bridge's counter says whether that request touched Upstash, so every touch is attributed exactly.
 * - detection: from fault-on until the last request that still touched the bridge ended (then the
 *   circuit is open and requests go straight to Postgres);
 * - return: from fault-off until the first request that touched the bridge again started (the
 *   half-open probe, due CIRCUIT_BREAKER_COOLDOWN after the circuit opened).
 */
import { failedLoginPlan } from "./scenarios.ts";
import { type BridgeFault, bridgeCounts, GATEWAY_SETTINGS, setFault, type Stack } from "./stack.ts";

export interface FailoverTiming {
  /** "error 500" or "delay 1500 ms". */
  readonly fault: string;
  /** Fault-on until requests stopped touching Upstash. */
  readonly detectMs: number;
  /** Requests that touched the faulty Upstash (the breaker opens after CIRCUIT_BREAKER_FAILURES). */
  readonly failedTouches: number;
  /** Slowest answer while detecting: what a client paid for the dead Upstash. */
  readonly slowestDuringDetectionMs: number;
  /** Fault-off until a request reached Upstash again. */
  readonly returnAfterFaultOffMs: number;
  /** From the answer of the last request that touched the faulty Upstash (the circuit opened just before it) until the probe. */
  readonly returnAfterOpenMs: number;
  readonly cooldownMs: number;
  /** Answers other than the expected 401 during the whole measurement (e.g. 503 = both stores failed). */
  readonly unexpectedAnswers: Record<number, number>;
}

/** Consecutive requests that must not touch the bridge before the circuit is taken as open. */
const QUIET_REQUESTS = 10;
const DEADLINE_MS = 20_000;

interface Attempt {
  readonly startedAt: number;
  readonly endedAt: number;
  readonly touched: boolean;
}

async function attempt(stack: Stack, unexpected: Record<number, number>): Promise<Attempt> {
  const { headers, body } = failedLoginPlan(stack.runId).next();
  const before = await bridgeCounts(stack.bridge);
  const startedAt = performance.now();
  const answer = await fetch(`${stack.gateway.url}/api/login/`, { method: "POST", headers, body });
  await answer.body?.cancel();
  const endedAt = performance.now();
  const after = await bridgeCounts(stack.bridge);
  if (answer.status !== 401) unexpected[answer.status] = (unexpected[answer.status] ?? 0) + 1;
  return { startedAt, endedAt, touched: after.requests > before.requests };
}

/** Turns `fault` on, waits for the circuit to open, turns it off and waits for the first probe. */
export async function measureFailover(stack: Stack, fault: Exclude<BridgeFault, { mode: "none" }>): Promise<FailoverTiming> {
  const unexpected: Record<number, number> = {};
  try {
    // Closed circuit first: requests must be reaching Upstash (on a loaded machine a slow call may
    // have opened the circuit for a cooldown: give it two).
    const closedBy = performance.now() + 2 * GATEWAY_SETTINGS.breakerCooldownSeconds * 1000 + 1000;
    while (!(await attempt(stack, unexpected)).touched) {
      if (performance.now() > closedBy) throw new Error("the gateway does not reach Upstash before the fault");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    await setFault(stack.bridge, fault);
    const faultOn = performance.now();
    let quiet = 0;
    let failedTouches = 0;
    let lastTouchEnd = faultOn;
    let slowest = 0;
    while (quiet < QUIET_REQUESTS) {
      if (performance.now() - faultOn > DEADLINE_MS) throw new Error(`requests still touched the faulty Upstash after ${DEADLINE_MS} ms`);
      const step = await attempt(stack, unexpected);
      slowest = Math.max(slowest, step.endedAt - step.startedAt);
      if (step.touched) {
        failedTouches += 1;
        lastTouchEnd = step.endedAt;
        quiet = 0;
      } else {
        quiet += 1;
      }
    }

    await setFault(stack.bridge, { mode: "none" });
    const faultOff = performance.now();
    for (;;) {
      if (performance.now() - faultOff > DEADLINE_MS) throw new Error(`no request reached Upstash within ${DEADLINE_MS} ms after it recovered`);
      const step = await attempt(stack, unexpected);
      if (step.touched) {
        return {
          fault: fault.mode === "error" ? `error ${fault.status}` : `delay ${fault.ms} ms`,
          detectMs: lastTouchEnd - faultOn,
          failedTouches,
          slowestDuringDetectionMs: slowest,
          returnAfterFaultOffMs: step.startedAt - faultOff,
          returnAfterOpenMs: step.startedAt - lastTouchEnd,
          cooldownMs: GATEWAY_SETTINGS.breakerCooldownSeconds * 1000,
          unexpectedAnswers: unexpected,
        };
      }
    }
  } finally {
    await setFault(stack.bridge, { mode: "none" });
  }
}
