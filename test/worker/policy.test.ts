/**
 * The lockout policy as pure logic, on the in-memory store with a clock the test drives. The same
 * behaviours run against the real Redis in lockout.test.ts; here cool-offs of hours take no time.
 */
import { describe, expect, it } from "vitest";
import { AddressList, parseAddress } from "../../src/client/address";
import { parseLockoutSettings } from "../../src/lockout/settings";
import { LockoutPolicy } from "../../src/lockout/policy";
import { MemoryStore } from "../../src/store/memory";

function setup(env: Record<string, string> = {}, lockCacheSeconds = 0) {
  let now = 1_000_000;
  const store = new MemoryStore(() => now);
  const whitelist = new AddressList(["203.0.113.0/24"]);
  const policy = new LockoutPolicy({ settings: parseLockoutSettings(env), store, whitelist, keyPrefix: "p", lockCacheSeconds, now: () => now });
  const client = (ip: string, username = "alice") => ({ address: parseAddress(ip)!, username, userAgent: "" });
  /** One attempt with the origin's outcome; answers what the client sees. */
  async function attempt(ip: string, outcome: "success" | "failure" | "unknown", username?: string, method = "POST") {
    const admission = await policy.admit(client(ip, username), method);
    if (admission.kind === "locked") return { refused: true, retryAfter: admission.retryAfterSeconds, failures: admission.failures };
    const verdict = await policy.settle(admission, outcome, method);
    return verdict.kind === "locked-out"
      ? { refused: true, retryAfter: verdict.retryAfterSeconds, failures: verdict.failures }
      : { refused: false, retryAfter: null, failures: admission.kind === "admitted" ? admission.failures : 0 };
  }
  return { attempt, policy, store, advance: (seconds: number) => (now += seconds * 1000) };
}

describe("lockout policy (memory store, driven clock)", () => {
  it("gives the lockout response to the failure that reaches the limit", async () => {
    const { attempt } = setup({ AXES_COOLOFF_TIME: "30m" });
    expect(await attempt("192.0.2.1", "failure")).toMatchObject({ refused: false, failures: 1 });
    expect(await attempt("192.0.2.1", "failure")).toMatchObject({ refused: false, failures: 2 });
    expect(await attempt("192.0.2.1", "failure")).toEqual({ refused: true, retryAfter: 1800, failures: 3 });
    expect(await attempt("192.0.2.1", "success")).toMatchObject({ refused: true });
  });

  it("unlocks 30 minutes after the last failure, not the first", async () => {
    const { attempt, advance } = setup({ AXES_COOLOFF_TIME: "30m", AXES_FAILURE_LIMIT: "2", AXES_LOCKOUT_PARAMETERS: '["ip_address"]' });
    await attempt("192.0.2.1", "failure");
    advance(20 * 60);
    expect(await attempt("192.0.2.1", "failure")).toMatchObject({ refused: true, retryAfter: 1800 });
    advance(20 * 60);
    expect(await attempt("192.0.2.1", "success")).toMatchObject({ refused: true, retryAfter: 1800 }); // the refused attempt restarted it
    advance(30 * 60 + 1);
    expect(await attempt("192.0.2.1", "success")).toMatchObject({ refused: false });
  });

  it("reports the remaining cool-off without extending it when failures during lockout do not reset it", async () => {
    const { attempt, advance } = setup({ AXES_COOLOFF_TIME: "30m", AXES_FAILURE_LIMIT: "1", AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT: "false" });
    await attempt("192.0.2.1", "failure");
    advance(10 * 60);
    expect(await attempt("192.0.2.1", "failure")).toMatchObject({ refused: true, retryAfter: 20 * 60 });
    advance(20 * 60);
    expect(await attempt("192.0.2.1", "success")).toMatchObject({ refused: false });
  });

  it("does not count successes or unknown outcomes as failures", async () => {
    const { attempt } = setup({ AXES_FAILURE_LIMIT: "2" });
    for (let i = 0; i < 5; i++) {
      expect(await attempt("192.0.2.1", "success")).toMatchObject({ refused: false });
      expect(await attempt("192.0.2.1", "unknown")).toMatchObject({ refused: false });
    }
  });

  it("resets on success only with AXES_RESET_ON_SUCCESS", async () => {
    const keep = setup({ AXES_FAILURE_LIMIT: "3" });
    await keep.attempt("192.0.2.1", "failure");
    await keep.attempt("192.0.2.1", "failure");
    await keep.attempt("192.0.2.1", "success");
    expect(await keep.attempt("192.0.2.1", "failure")).toMatchObject({ refused: true });

    const reset = setup({ AXES_FAILURE_LIMIT: "3", AXES_RESET_ON_SUCCESS: "true" });
    await reset.attempt("192.0.2.1", "failure");
    await reset.attempt("192.0.2.1", "failure");
    await reset.attempt("192.0.2.1", "success");
    expect(await reset.attempt("192.0.2.1", "failure")).toMatchObject({ refused: false, failures: 1 });
  });

  it("locks by IP OR by username with the default parameters", async () => {
    const { attempt } = setup();
    await attempt("192.0.2.1", "failure", "a");
    await attempt("192.0.2.1", "failure", "b");
    expect(await attempt("192.0.2.1", "failure", "c")).toMatchObject({ refused: true }); // IP counter
    await attempt("192.0.2.2", "failure", "victim");
    await attempt("192.0.2.3", "failure", "victim");
    expect(await attempt("192.0.2.4", "failure", "victim")).toMatchObject({ refused: true }); // username counter
    expect(await attempt("192.0.2.5", "failure", "other")).toMatchObject({ refused: false });
  });

  it("never counts whitelisted clients", async () => {
    const { attempt } = setup({ AXES_FAILURE_LIMIT: "1" });
    for (let i = 0; i < 3; i++) expect(await attempt("203.0.113.9", "failure")).toMatchObject({ refused: false, failures: 0 });
  });

  it("never refuses GET attempts with AXES_NEVER_LOCKOUT_GET", async () => {
    const { attempt } = setup({ AXES_FAILURE_LIMIT: "1", AXES_NEVER_LOCKOUT_GET: "true" });
    expect(await attempt("192.0.2.1", "failure", "a", "GET")).toMatchObject({ refused: false });
    expect(await attempt("192.0.2.1", "failure", "a", "GET")).toMatchObject({ refused: false });
    expect(await attempt("192.0.2.1", "failure", "a", "POST")).toMatchObject({ refused: true });
  });

  it("stays locked forever without a cool-off", async () => {
    const { attempt, advance } = setup({ AXES_FAILURE_LIMIT: "1" });
    expect(await attempt("192.0.2.1", "failure")).toEqual({ refused: true, retryAfter: null, failures: 1 });
    advance(365 * 86400);
    expect(await attempt("192.0.2.1", "success")).toMatchObject({ refused: true, retryAfter: null });
  });

  it("answers a known lock from the isolate for LOCKOUT_CACHE_SECONDS without asking the store", async () => {
    const { attempt, store, advance, policy } = setup({ AXES_FAILURE_LIMIT: "1", AXES_COOLOFF_TIME: "1h" }, 5);
    let calls = 0;
    const reserve = store.reserve.bind(store);
    store.reserve = (...args) => ((calls += 1), reserve(...args));
    expect(await attempt("192.0.2.1", "failure")).toMatchObject({ refused: true, retryAfter: 3600 });
    expect(calls).toBe(1);
    advance(2);
    expect(await attempt("192.0.2.1", "failure", "someone-else")).toMatchObject({ refused: true, retryAfter: 3598 });
    expect(calls).toBe(1); // the IP's lock was known: no store call
    advance(4);
    expect(await attempt("192.0.2.1", "failure")).toMatchObject({ refused: true });
    expect(calls).toBe(2); // the cache lasts 5 s, then the store is asked (and restarts the cool-off)
    policy.forgetLocks(await policy.keysFor({ address: parseAddress("192.0.2.1")!, username: "alice", userAgent: "" }));
    await attempt("192.0.2.1", "failure");
    expect(calls).toBe(3);
  });

  it("re-asks the store once when the cached lock runs out, however many requests are in flight", async () => {
    const { attempt, store, advance } = setup({ AXES_FAILURE_LIMIT: "1", AXES_COOLOFF_TIME: "1h", AXES_LOCKOUT_PARAMETERS: '["ip_address"]' }, 5);
    let calls = 0;
    const reserve = store.reserve.bind(store);
    store.reserve = (...args) => ((calls += 1), reserve(...args));
    await attempt("192.0.2.1", "failure");
    advance(6);
    const flood = await Promise.all(Array.from({ length: 10 }, () => attempt("192.0.2.1", "failure")));
    expect(flood.every((r) => r.refused)).toBe(true);
    expect(calls).toBe(2);
  });
});
