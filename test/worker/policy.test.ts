/**
 * The lockout policy as pure logic, on the in-memory store with a clock the test drives. The same
 * behaviours run against the real Redis in lockout.test.ts; here cool-offs of hours take no time.
 */
import { describe, expect, it } from "vitest";
import { AddressList, parseAddress } from "../../src/client/address";
import { parseLockoutSettings } from "../../src/lockout/settings";
import { LockoutPolicy } from "../../src/lockout/policy";
import { MemoryStore } from "../../src/store/memory";

/** The memory store, whose confirmed failures can be kept on their way (a slow store) until let through. */
class SlowCountStore extends MemoryStore {
  slow = false;
  private readonly waiting: (() => void)[] = [];
  override async confirmFailure(...args: Parameters<MemoryStore["confirmFailure"]>) {
    if (this.slow) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return super.confirmFailure(...args);
  }
  letThrough(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

function setup(env: Record<string, string> = {}, lockCacheSeconds = 0, history: { prefix: string; maxEntries: number } | null = null) {
  let now = 1_000_000;
  const store = new SlowCountStore(() => now);
  const whitelist = new AddressList(["203.0.113.0/24"]);
  // Pauses (a held attempt's, the background writes' spacing) wait for the driven clock to pass them.
  const timers: { at: number; resolve: () => void }[] = [];
  const sleep = (ms: number) => new Promise<void>((resolve) => timers.push({ at: now + ms, resolve }));
  const fire = () => {
    for (const timer of [...timers]) {
      if (timer.at <= now) timers.splice(timers.indexOf(timer), 1), timer.resolve();
    }
  };
  const advance = (seconds: number) => {
    now += seconds * 1000;
    fire();
  };
  /** Runs `work` to its end, moving the clock to each pause it waits for. */
  async function drive<T>(work: Promise<T>): Promise<T> {
    let done = false;
    work.then(() => (done = true), () => (done = true));
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (done) return work;
      if (timers.length > 0) now = Math.max(now, Math.min(...timers.map((t) => t.at)));
      fire();
    }
  }
  const policy = new LockoutPolicy({ settings: parseLockoutSettings(env), store, whitelist, keyPrefix: "p", lockCacheSeconds, history, now: () => now, sleep });
  const client = (ip: string, username = "alice") => ({ address: parseAddress(ip)!, username, userAgent: "" });
  /** Work handed to waitUntil; `background()` runs it to the end, as the Worker would after the response. */
  const pending: Promise<unknown>[] = [];
  const background = () => {
    store.letThrough();
    return drive(Promise.all(pending.splice(0)));
  };
  /**
   * One attempt with the origin's outcome; answers what the client sees. A failure counted after the
   * response lands before the next attempt, unless `countLater` leaves it with the background work.
   */
  async function attempt(ip: string, outcome: "success" | "failure" | "unknown", username?: string, method = "POST", { countLater = false } = {}) {
    const admission = await policy.admit(client(ip, username), method, (work) => pending.push(work));
    if (admission.kind === "locked") return { refused: true, retryAfter: admission.retryAfterSeconds, failures: admission.failures };
    if (admission.kind === "busy") return { refused: true, retryAfter: null, failures: admission.failures, busy: true };
    store.slow = countLater;
    const settled = await drive(policy.settle(admission, outcome, method));
    store.slow = false;
    if (settled.kind === "counting" && countLater) pending.push(settled.counted);
    const verdict = settled.kind !== "counting" ? settled : countLater ? { kind: "pass" as const, failures: null } : await settled.counted;
    return verdict.kind === "locked-out"
      ? { refused: true, retryAfter: verdict.retryAfterSeconds, failures: verdict.failures }
      : { refused: false, retryAfter: null, failures: verdict.failures ?? (admission.kind === "admitted" ? admission.failures : 0) };
  }
  return { attempt, policy, store, client, background, drive, advance, now: () => now };
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

  it("answers a known lock from the isolate without a store call on the path, and counts it in the background", async () => {
    const { attempt, store, advance, policy, background } = setup({ AXES_FAILURE_LIMIT: "1", AXES_COOLOFF_TIME: "1h" }, 5);
    let calls = 0;
    let writes = 0;
    const reserve = store.reserve.bind(store);
    store.reserve = (...args) => ((calls += 1), reserve(...args));
    const countRefused = store.countRefused.bind(store);
    store.countRefused = (...args) => ((writes += 1), countRefused(...args));
    expect(await attempt("192.0.2.1", "failure")).toMatchObject({ refused: true, retryAfter: 3600 });
    expect(calls).toBe(1);
    advance(2);
    expect(await attempt("192.0.2.1", "failure", "someone-else")).toMatchObject({ refused: true, retryAfter: 3598 });
    expect(calls).toBe(1); // the IP's lock was known: no store call on the request's path
    await background();
    expect(writes).toBe(1); // counted after the response, restarting the cool-off
    advance(4);
    expect(await attempt("192.0.2.1", "failure")).toMatchObject({ refused: true, retryAfter: 3600 - 4 });
    expect(calls).toBe(1); // the background write refreshed the cached lock
    await background();
    advance(6); // nobody tried for longer than the cache: the store is asked (and restarts the cool-off)
    expect(await attempt("192.0.2.1", "failure")).toMatchObject({ refused: true, retryAfter: 3600 });
    expect(calls).toBe(2);
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

describe("cached refusals keep axes' semantics (default LOCKOUT_CACHE_SECONDS)", () => {
  const axes = { AXES_FAILURE_LIMIT: "3", AXES_COOLOFF_TIME: "3s", AXES_LOCKOUT_PARAMETERS: '["ip_address"]' };

  it("refuses at t=4.8 s a client locked at t=0 that tried again at t=2.4 s: the cool-off restarted", async () => {
    const { attempt, advance, background } = setup(axes, 5);
    for (let i = 0; i < 2; i++) await attempt("192.0.2.1", "failure");
    expect(await attempt("192.0.2.1", "failure")).toMatchObject({ refused: true, retryAfter: 3 }); // t=0: locked
    advance(2.4);
    expect(await attempt("192.0.2.1", "failure")).toMatchObject({ refused: true, retryAfter: 1 }); // from the cache
    await background(); // counted: the lock now ends at t=5.4
    advance(2.4);
    expect(await attempt("192.0.2.1", "success")).toMatchObject({ refused: true, retryAfter: 1 }); // t=4.8: still locked
    await background(); // counted again: the lock now ends at t=7.8
    advance(2.9);
    expect(await attempt("192.0.2.1", "success")).toMatchObject({ refused: true }); // t=7.7
    await background(); // and again: t=10.7
    advance(3.1);
    expect(await attempt("192.0.2.1", "success")).toMatchObject({ refused: false }); // t=10.8: the cool-off has passed
  });

  it("lets the client in when the store's lock ends, never later, when attempts during a lockout do not restart it", async () => {
    const { attempt, advance, background, store } = setup({ ...axes, AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT: "false" }, 5);
    let writes = 0;
    const countRefused = store.countRefused.bind(store);
    store.countRefused = (...args) => ((writes += 1), countRefused(...args));
    for (let i = 0; i < 3; i++) await attempt("192.0.2.1", "failure");
    advance(2.4);
    expect(await attempt("192.0.2.1", "failure")).toMatchObject({ refused: true, retryAfter: 1 });
    await background();
    expect(writes).toBe(0); // not counted, as axes does with this setting
    advance(0.601);
    expect(await attempt("192.0.2.1", "success")).toMatchObject({ refused: false }); // t=3.001: the lock ended at t=3
  });

  it("writes a flood's refusals at most once per lock per second, and counts every one", async () => {
    const { attempt, advance, background, store, client, policy } = setup({ ...axes, AXES_COOLOFF_TIME: "1h" }, 5);
    let writes = 0;
    const countRefused = store.countRefused.bind(store);
    store.countRefused = (...args) => ((writes += 1), countRefused(...args));
    for (let i = 0; i < 3; i++) await attempt("192.0.2.1", "failure");
    for (let i = 0; i < 100; i++) await attempt("192.0.2.1", "failure");
    advance(0.5);
    for (let i = 0; i < 50; i++) await attempt("192.0.2.1", "failure");
    expect(writes).toBe(1); // the first refusal's write; the rest wait for the next second
    await background();
    expect(writes).toBe(2);
    policy.forgetLocks(await policy.keysFor(client("192.0.2.1")));
    expect(await attempt("192.0.2.1", "failure")).toMatchObject({ refused: true, failures: 3 + 150 + 1 });
  });

  it("records a flood's refusals in the history with its background writes, at most 100 per write", async () => {
    const { attempt, advance, background, store } = setup({ ...axes, AXES_COOLOFF_TIME: "1h" }, 5, { prefix: "p", maxEntries: 10_000 });
    for (let i = 0; i < 3; i++) await attempt("192.0.2.1", "failure");
    for (let i = 0; i < 100; i++) await attempt("192.0.2.1", "failure");
    advance(0.5);
    for (let i = 0; i < 50; i++) await attempt("192.0.2.1", "failure");
    await background();
    const { attempts } = await store.listAttempts("p", {}, 1000);
    const outcomes = attempts.reduce<Record<string, number>>((all, a) => ({ ...all, [a.outcome]: (all[a.outcome] ?? 0) + 1 }), {});
    // The first refusal's write carries it alone; the next carries the first 100 of the 149 refusals that joined it.
    expect(outcomes).toEqual({ failure: 3, locked: 1 + 100 });
    expect(attempts.every((a) => a.ip === "192.0.2.1" && a.username === "alice" && a.counters.join() === "ip_address=192.0.2.1")).toBe(true);
  });
});

describe("attempts in flight are not failures", () => {
  const limit2 = { AXES_FAILURE_LIMIT: "2", AXES_COOLOFF_TIME: "1h", AXES_LOCKOUT_PARAMETERS: '["ip_address"]' };

  it("holds an attempt while the slots are taken by attempts in flight, then lets it through when they succeed", async () => {
    const { policy, client, drive, store } = setup(limit2);
    const [a, b] = [await policy.admit(client("192.0.2.1"), "POST"), await policy.admit(client("192.0.2.1"), "POST")];
    expect([a.kind, b.kind]).toEqual(["admitted", "admitted"]);
    const held = policy.admit(client("192.0.2.1"), "POST");
    await new Promise((resolve) => setTimeout(resolve, 0));
    await policy.settle(a, "success", "POST");
    const c = await drive(held);
    expect(c).toMatchObject({ kind: "admitted", failures: 0 });
    await policy.settle(b, "success", "POST");
    await policy.settle(c, "success", "POST");
    expect((await store.list("p:", 10)).counters).toEqual([]); // nothing counted
  });

  it("decides a held attempt on confirmed failures: refused once the attempts in flight failed", async () => {
    const { policy, client, drive } = setup(limit2);
    const [a, b] = [await policy.admit(client("192.0.2.1"), "POST"), await policy.admit(client("192.0.2.1"), "POST")];
    const held = policy.admit(client("192.0.2.1"), "POST");
    await new Promise((resolve) => setTimeout(resolve, 0));
    const first = await policy.settle(a, "failure", "POST");
    expect(first.kind).toBe("counting"); // it could not lock: counted after its response
    expect(first.kind === "counting" && (await first.counted)).toEqual({ kind: "pass", failures: 1 });
    expect(await policy.settle(b, "failure", "POST")).toEqual({ kind: "locked-out", failures: 2, retryAfterSeconds: 3600, cooloffSeconds: 3600 });
    expect(await drive(held)).toMatchObject({ kind: "locked", failures: 3 }); // refused, and counted as axes does
  });

  it("answers busy when the wait runs out, without counting or remembering a lock", async () => {
    const { policy, client, drive, now, store } = setup(limit2, 5);
    const [a, b] = [await policy.admit(client("192.0.2.1"), "POST"), await policy.admit(client("192.0.2.1"), "POST")];
    const started = now();
    const busy = await drive(policy.admit(client("192.0.2.1"), "POST"));
    expect(busy).toMatchObject({ kind: "busy", failures: 0, inFlight: 2 });
    expect(now() - started).toBeGreaterThan(2500);
    expect(now() - started).toBeLessThanOrEqual(3000); // LOGIN_INFLIGHT_WAIT's default
    expect((await store.list("p:", 10)).counters).toEqual([]);
    await policy.settle(a, "unknown", "POST");
    expect(await policy.admit(client("192.0.2.1"), "POST")).toMatchObject({ kind: "admitted" });
    await policy.settle(b, "unknown", "POST");
  });

  it("counts a failure that cannot lock after the response; until then its reservation holds the slot", async () => {
    const { attempt, store, background, policy, client } = setup({ AXES_FAILURE_LIMIT: "3", AXES_LOCKOUT_PARAMETERS: '["ip_address"]' });
    expect(await attempt("192.0.2.1", "failure", "alice", "POST", { countLater: true })).toMatchObject({ refused: false });
    const keys = await policy.keysFor(client("192.0.2.1"));
    expect(await store.pending(keys)).toEqual({ failures: 0, counts: [0], inFlight: 1 }); // answered, not yet counted
    await background();
    expect(await store.pending(keys)).toEqual({ failures: 1, counts: [1], inFlight: 0 });
  });

  it("gives the lockout to the failure that takes the last slot, also while the earlier failures' counts are on their way", async () => {
    const { attempt, background, policy, client, drive } = setup({ AXES_FAILURE_LIMIT: "3", AXES_COOLOFF_TIME: "1h", AXES_LOCKOUT_PARAMETERS: '["ip_address"]' });
    // A fast client: its first two failures were answered, their counts not yet written.
    for (let i = 0; i < 2; i++) expect(await attempt("192.0.2.1", "failure", "alice", "POST", { countLater: true })).toMatchObject({ refused: false });
    const third = await policy.admit(client("192.0.2.1"), "POST");
    expect(third).toMatchObject({ kind: "admitted", mayLock: true });
    const settling = policy.settle(third, "failure", "POST");
    await new Promise((resolve) => setTimeout(resolve, 0)); // its own failure is counted (1): it waits for the two in flight
    await background(); // their counts land
    expect(await drive(settling)).toEqual({ kind: "locked-out", failures: 3, retryAfterSeconds: 3600, cooloffSeconds: 3600 });
    expect(await attempt("192.0.2.1", "success")).toMatchObject({ refused: true, failures: 4 });
  });

  it("answers the last slot's failure with the origin's answer once the others in flight succeeded", async () => {
    const { policy, client, drive } = setup(limit2);
    const a = await policy.admit(client("192.0.2.1"), "POST");
    const b = await policy.admit(client("192.0.2.1"), "POST");
    expect(b).toMatchObject({ kind: "admitted", mayLock: true });
    const last = drive(policy.settle(b, "failure", "POST"));
    await new Promise((resolve) => setTimeout(resolve, 0));
    await policy.settle(a, "success", "POST");
    expect(await last).toEqual({ kind: "pass", failures: 1 });
  });

  it("drops the slot of a client that vanished after the reservation's lifetime, not after the cool-off", async () => {
    const { policy, client, drive, advance } = setup({ ...limit2, AXES_FAILURE_LIMIT: "1" });
    await policy.admit(client("192.0.2.1"), "POST"); // never settled
    expect(await drive(policy.admit(client("192.0.2.1"), "POST"))).toMatchObject({ kind: "busy" });
    advance(35);
    expect(await policy.admit(client("192.0.2.1"), "POST")).toMatchObject({ kind: "admitted" });
  });
});
