/** The failover toolkit's rules (src/store/failover/runner.ts), on stand-in calls: pure logic, no store. */
import { describe, expect, it } from "vitest";
import { StoreError } from "../../src/store/contract";
import { CircuitBreaker } from "../../src/store/failover/breaker";
import { COPY_BACK_MARGIN_MS, Failover } from "../../src/store/failover/runner";

const down = (store: string) => () => Promise.reject(new StoreError(store, "unreachable", `${store} is down`));
const failover = () => new Failover({ breaker: new CircuitBreaker(5, 10_000, () => 0), ping: async () => {}, now: () => 0 });

describe("Failover.writeBoth", () => {
  it("answers what each store said when both answer", async () => {
    expect(await failover().writeBoth("op", null, async () => 1, async () => "b")).toEqual({ primary: 1, fallback: "b" });
  });

  it("succeeds when one store fails, leaving its answer undefined", async () => {
    expect(await failover().writeBoth("op", null, down("upstash"), async () => "b")).toEqual({ primary: undefined, fallback: "b" });
    expect(await failover().writeBoth("op", null, async () => 1, down("postgres"))).toEqual({ primary: 1, fallback: undefined });
  });

  it("fails only when both fail, with the fallback's error", async () => {
    await expect(failover().writeBoth("op", null, down("upstash"), down("postgres"))).rejects.toMatchObject({ store: "postgres", reason: "unreachable" });
  });

  it("never hides a bug (an error that is not a StoreError) behind the other store's answer", async () => {
    const bug = () => Promise.reject(new TypeError("a bug"));
    await expect(failover().writeBoth("op", null, bug, async () => "b")).rejects.toThrow(TypeError);
    await expect(failover().writeBoth("op", null, async () => 1, bug)).rejects.toThrow(TypeError);
  });
});

describe("copy-back", () => {
  it("asks every copy-back from one margin before the time it was given", async () => {
    const asked: number[] = [];
    const runner = failover();
    runner.addCopyBack("counters", async (sinceMs) => (asked.push(sinceMs), { counters: 0 }));
    runner.addCopyBack("sessions", async (sinceMs) => (asked.push(sinceMs), { sessions: 0 }));
    await runner.copyBack(1_000_000, "cron");
    expect(asked).toEqual([1_000_000 - COPY_BACK_MARGIN_MS, 1_000_000 - COPY_BACK_MARGIN_MS]);
  });
});
