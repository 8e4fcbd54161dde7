import { createExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEMO, bridge, gatewayWith, jsonLogin, nextIp, origin, pinClock } from "./helpers";

afterEach(() => {
  vi.useRealTimers();
});

describe("race-free counting", () => {
  it("lets exactly AXES_FAILURE_LIMIT of 100 concurrent failing attempts reach the origin, answering the rest with the lockout", async () => {
    // The default AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT (true); the wait is generous, as this test
    // is about exactness: a held attempt must be decided on the confirmed failures, never sent back.
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "3", AXES_LOCKOUT_PARAMETERS: '["username"]', LOGIN_INFLIGHT_WAIT: "15s" });
    await origin.resetStats();
    const results = await Promise.all(
      Array.from({ length: 100 }, () => gw.request("/api/login/", jsonLogin("burst-victim", "wrong", nextIp()))),
    );
    const statuses = results.map((r) => r.status);
    await Promise.all(results.map((r) => r.body?.cancel()));
    // Two-sided: a script that locked one attempt early (2 at the origin) fails as surely as one that let a fourth through.
    expect((await origin.stats()).loginAttempts["/api/login/"]).toBe(3);
    expect(statuses.filter((s) => s === 401)).toHaveLength(2);
    expect(statuses.filter((s) => s === 429)).toHaveLength(98);
  });
});

describe("store round trips per request kind, counted at the bridge", () => {
  async function tripsOf(action: () => Promise<Response>): Promise<number> {
    await bridge.resetStats();
    const res = await action();
    await res.body?.cancel();
    return (await bridge.stats()).requests;
  }

  it("costs 2 per failed login, 2 per success (with its session record), 1 per locked attempt, 0 for ordinary and whitelisted requests", async () => {
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "2", AXES_WHITELIST_IPS: "203.0.113.0/24" });
    const ip = nextIp();
    for (const password of ["x", DEMO.password]) await (await gw.request("/api/login/", jsonLogin(DEMO.username, password, nextIp()))).text(); // loads the scripts
    // reserve; then the give-back and the record of the session the origin's cookie started, in one pipeline request
    expect(await tripsOf(() => gw.request("/api/login/", jsonLogin(DEMO.username, DEMO.password, ip)))).toBe(2);
    // reserve + give back: /api/signin/ reports success by header and sets no session cookie
    expect(await tripsOf(() => gw.request("/api/signin/", jsonLogin(DEMO.username, DEMO.password, ip)))).toBe(2);
    // reserve + the confirmed failure, after the response (an attempt in flight is not a failure until the origin says so)
    expect(await tripsOf(() => gw.request("/api/login/", jsonLogin("sam", "x", ip)))).toBe(2);
    expect(await tripsOf(() => gw.request("/api/login/", jsonLogin("sam", "x", ip)))).toBe(2); // reaches the limit
    expect(await tripsOf(() => gw.request("/api/login/", jsonLogin("sam", "x", ip)))).toBe(1); // locked
    expect(await tripsOf(() => gw.request("/", { ip }))).toBe(0);
    expect(await tripsOf(() => gw.request("/accounts/login/", { ip }))).toBe(0); // GET shows the form
    expect(await tripsOf(() => gw.request("/api/login/", jsonLogin("sam", "x", "203.0.113.5")))).toBe(0);
  });
});

describe("the isolate's lock cache (LOCKOUT_CACHE_SECONDS)", () => {
  afterEach(async () => {
    await bridge.fault({ mode: "none" });
  });

  it("answers a locked-out flood with no store call on the request's path once the lock is known", async () => {
    pinClock(); // the 5 s the isolate keeps the lock must not run out on a slow machine while the flood runs
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "2", LOCKOUT_CACHE_SECONDS: "5", REDIS_TIMEOUT_MS: "300", FAIL_MODE: "login=closed" });
    const ip = nextIp();
    await (await gw.request("/api/login/", jsonLogin("flood", "x", ip))).text();
    await (await gw.request("/api/login/", jsonLogin("flood", "x", ip))).text(); // the lockout
    // Upstash now fails every call: a request that needed the store would get FAIL_MODE's 503.
    await bridge.fault({ mode: "error", status: 500 });
    for (let i = 0; i < 20; i++) {
      // Its own context, not waited for: the refusals' background writes are not on the request's path.
      const res = await gw.request("/api/login/", { ...jsonLogin(`flood-${i}`, "x", ip), ctx: createExecutionContext() });
      expect(res.status).toBe(429);
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(1700);
    }
    // (The refusals are still counted, in the background: inflight.test.ts.)
  });
});

describe("when Upstash fails (FAIL_MODE)", () => {
  afterEach(async () => {
    await bridge.fault({ mode: "none" });
  });

  for (const fault of [
    { mode: "error", status: 500 },
    { mode: "unauthorized" },
    // Slower than REDIS_TIMEOUT_MS below by far; that timeout, in turn, is far above a healthy call.
    { mode: "delay", ms: 6000 },
    { mode: "drop" },
  ]) {
    it(`answers login attempts 503 when closed and Upstash is ${fault.mode}`, async () => {
      const gw = gatewayWith({ REDIS_TIMEOUT_MS: "2000", FAIL_MODE: "login=closed" });
      await bridge.fault(fault);
      await origin.resetStats();
      const res = await gw.request("/api/login/", jsonLogin(DEMO.username, DEMO.password, nextIp()));
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("30");
      expect((await origin.stats()).loginAttempts["/api/login/"] ?? 0).toBe(0);
      // Ordinary traffic does not touch the store and keeps flowing.
      expect((await gw.request("/", { ip: nextIp() })).status).toBe(200);
    });
  }

  it("forwards login attempts uncounted when open", async () => {
    const gw = gatewayWith({ FAIL_MODE: "login=open,other=open" });
    await bridge.fault({ mode: "error", status: 500 });
    const res = await gw.request("/api/login/", jsonLogin(DEMO.username, DEMO.password, nextIp()));
    expect(res.status).toBe(200);
  });

  it("answers 503 with wrong credentials, and logs no token", async () => {
    const lines: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => lines.push(args.map(String).join(" "));
    try {
      const gw = gatewayWith({ UPSTASH_REDIS_REST_TOKEN: "wrong-token-value-123" });
      const res = await gw.request("/api/login/", jsonLogin(DEMO.username, DEMO.password, nextIp()));
      expect(res.status).toBe(503);
      expect(lines.join("\n")).toContain('"reason":"unauthorized"');
      expect(lines.join("\n")).not.toContain("wrong-token-value-123");
    } finally {
      console.error = original;
    }
  });

  it("keeps a lockout made before the outage once Upstash answers again", async () => {
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "2" });
    const ip = nextIp();
    await gw.request("/api/login/", jsonLogin("tom", "x", ip));
    expect((await gw.request("/api/login/", jsonLogin("tom", "x", ip))).status).toBe(429);
    await bridge.fault({ mode: "error", status: 500 });
    expect((await gw.request("/api/login/", jsonLogin("tom", "x", ip))).status).toBe(503);
    await bridge.fault({ mode: "none" });
    expect((await gw.request("/api/login/", jsonLogin(DEMO.username, DEMO.password, ip))).status).toBe(429);
  });
});
