import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "../../src/store/failover/breaker";

describe("circuit breaker (driven clock)", () => {
  it("opens after the threshold, half-opens for one probe after the cool-down, closes when the probe succeeds", () => {
    let now = 0;
    const breaker = new CircuitBreaker(2, 10_000, () => now);
    expect(breaker.gate()).toBe("primary");
    expect(breaker.failed()).toBe(false);
    expect(breaker.state).toBe("closed");
    expect(breaker.failed()).toBe(true);
    expect(breaker.state).toBe("open");
    expect(breaker.outageStartedAt).toBe(0);
    expect(breaker.gate()).toBe("fallback");
    now = 10_000;
    expect(breaker.state).toBe("half-open");
    expect(breaker.gate()).toBe("probe");
    expect(breaker.gate()).toBe("fallback"); // one probe at a time
    breaker.probeSucceeded();
    expect(breaker.state).toBe("closed");
    expect(breaker.outageStartedAt).toBeNull();
  });

  it("re-opens when the probe fails, keeping the outage's start", () => {
    let now = 0;
    const breaker = new CircuitBreaker(1, 1000, () => now);
    breaker.failed();
    now = 1500;
    expect(breaker.gate()).toBe("probe");
    breaker.probeFailed();
    expect(breaker.outageStartedAt).toBe(0);
    expect(breaker.gate()).toBe("fallback");
    now = 2600;
    expect(breaker.gate()).toBe("probe");
  });

  it("counts one opening however many calls in flight fail after it", () => {
    const breaker = new CircuitBreaker(1, 1000, () => 0);
    expect(breaker.failed()).toBe(true);
    expect([breaker.failed(), breaker.failed(), breaker.failed()]).toEqual([false, false, false]);
    expect(breaker.state).toBe("open");
  });

  it("is not closed by a call that was in flight when it opened: only the probe closes it", () => {
    const breaker = new CircuitBreaker(1, 1000, () => 0);
    breaker.failed();
    breaker.succeeded();
    expect(breaker.state).toBe("open");
  });

  it("lets another caller probe when a probe never reported (its background work was cut off)", () => {
    let now = 0;
    const breaker = new CircuitBreaker(1, 1000, () => now);
    breaker.failed();
    now = 1000;
    expect(breaker.gate()).toBe("probe");
    now = 20_000;
    expect(breaker.gate()).toBe("fallback");
    now = 31_000;
    expect(breaker.gate()).toBe("probe");
  });

  it("forgets isolated failures after a success", () => {
    const breaker = new CircuitBreaker(2, 1000, () => 0);
    breaker.failed();
    breaker.succeeded();
    expect(breaker.failed()).toBe(false);
    expect(breaker.state).toBe("closed");
  });
});
