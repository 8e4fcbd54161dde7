/**
 * Fault injection with the real Redis (through the bridge) and the real Postgres (through the Neon
 * HTTP endpoint): Upstash dropping connections, answering 500 or 401, slower than REDIS_TIMEOUT_MS;
 * Postgres down while Redis is up; both down; and recovery of each. Every test checks that no lockout
 * is lost, that the origin sees no more than the limit, and that the answer is what FAIL_MODE says.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEMO, bindings, bridge, clearFaults, gatewayWith, jsonLogin, neonHttp, nextIp, origin, pinClock, postgres, statusesOf } from "./helpers";

/**
 * The breaker's cool-down runs on the pinned clock (each test advances it past COOLDOWN_MS), so no
 * amount of real time during a test half-opens the circuit early. REDIS_TIMEOUT_MS is what a healthy
 * call on a loaded machine stays well under, and the delay fault is well over it.
 */
const COOLDOWN_MS = 1000;
const failover = { ...postgres, REDIS_TIMEOUT_MS: "2000", CIRCUIT_BREAKER_FAILURES: "1", CIRCUIT_BREAKER_COOLDOWN: "1s", AXES_FAILURE_LIMIT: "3" };
const SLOWER_THAN_TIMEOUT = { mode: "delay", ms: 6000 };

/** `count` failed logins for one user from one IP; answers the statuses. */
const attack = (gw: ReturnType<typeof gatewayWith>, user: string, ip: string, count: number) =>
  statusesOf(gw, "/api/login/", count, () => jsonLogin(user, "wrong", ip));

afterEach(async () => {
  vi.useRealTimers();
  await clearFaults();
});

describe("Upstash fails mid-attack: Postgres keeps protecting, no lockout lost", () => {
  for (const fault of [{ mode: "drop" }, { mode: "error", status: 500 }, { mode: "unauthorized" }, SLOWER_THAN_TIMEOUT]) {
    it(`keeps the attacker locked and counts new attackers on Postgres when Upstash is ${fault.mode}`, async () => {
      const clock = pinClock();
      const gw = gatewayWith(failover);
      const early = { user: `early-${crypto.randomUUID()}`, ip: nextIp() };
      const late = { user: `late-${crypto.randomUUID()}`, ip: nextIp() };
      await origin.resetStats();

      expect(await attack(gw, early.user, early.ip, 3)).toEqual([401, 401, 429]); // locked in Upstash, copied to Postgres
      await bridge.fault(fault);
      expect(await attack(gw, early.user, early.ip, 2)).toEqual([429, 429]); // still locked, from Postgres
      expect(await attack(gw, late.user, late.ip, 5)).toEqual([401, 401, 429, 429, 429]); // counted on Postgres

      await bridge.fault({ mode: "none" });
      clock.advance(COOLDOWN_MS); // past CIRCUIT_BREAKER_COOLDOWN: the next call probes Upstash and copies back
      const correct = (who: { ip: string }) => gw.request("/api/login/", jsonLogin(DEMO.username, DEMO.password, who.ip));
      expect((await correct(late)).status).toBe(429);
      // With Postgres now gone, only Upstash can answer: the lock made during the outage is there.
      await neonHttp.fault({ mode: "down" });
      expect((await correct(late)).status).toBe(429);
      expect((await correct(early)).status).toBe(429);
      expect((await origin.stats()).loginAttempts["/api/login/"]).toBe(6); // 3 per attacker, never more
    });
  }

  it("stops paying Upstash's timeout once the circuit is open, and returns to Upstash after the cool-down", async () => {
    const clock = pinClock();
    const gw = gatewayWith(failover);
    await bridge.fault(SLOWER_THAN_TIMEOUT);
    await attack(gw, "breaker", nextIp(), 1); // pays the timeout, opens the circuit
    await bridge.resetStats();
    await attack(gw, "breaker", nextIp(), 3);
    expect((await bridge.stats()).requests).toBe(0); // straight to Postgres
    await bridge.fault({ mode: "none" });
    clock.advance(COOLDOWN_MS);
    await bridge.resetStats();
    await attack(gw, "breaker2", nextIp(), 1);
    expect((await bridge.stats()).requests).toBeGreaterThanOrEqual(2); // copy-back + reservation
    await bridge.resetStats();
    await attack(gw, "breaker3", nextIp(), 1);
    expect((await bridge.stats()).requests).toBe(2); // closed again: the reservation and the confirmed failure
  });

  it("treats a gateway whose Upstash does not listen at all like one that went down", async () => {
    const gw = gatewayWith({ ...failover, UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9" });
    const ip = nextIp();
    expect(await attack(gw, `refused-${crypto.randomUUID()}`, ip, 4)).toEqual([401, 401, 429, 429]);
  });
});

describe("Postgres down while Upstash is up", () => {
  it("keeps locking on Upstash and logs that the lockout copy failed", async () => {
    const lines: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => lines.push(args.map(String).join(" "));
    try {
      await neonHttp.fault({ mode: "down" });
      const gw = gatewayWith(failover);
      expect(await attack(gw, `pgdown-${crypto.randomUUID()}`, nextIp(), 4)).toEqual([401, 401, 429, 429]);
      expect(lines.join("\n")).toContain('"event":"lockout_mirror_failed"');
      expect(lines.join("\n")).not.toContain(bindings.DATABASE_URL!);
    } finally {
      console.error = original;
    }
  });

  it("copies lockouts to Postgres again once it recovers", async () => {
    const gw = gatewayWith(failover);
    const who = { user: `pgback-${crypto.randomUUID()}`, ip: nextIp() };
    await neonHttp.fault({ mode: "down" });
    await attack(gw, who.user, who.ip, 2);
    await neonHttp.fault({ mode: "none" });
    expect(await attack(gw, who.user, who.ip, 1)).toEqual([429]); // the lockout, copied to Postgres now
    await bridge.fault({ mode: "error", status: 500 });
    expect(await attack(gw, who.user, who.ip, 1)).toEqual([429]); // and Postgres alone still knows it
  });
});

describe("both stores down: FAIL_MODE decides, and says so in the log", () => {
  it("refuses login attempts with 503 when login=closed", async () => {
    const gw = gatewayWith({ ...failover, FAIL_MODE: "login=closed,other=open" });
    await bridge.fault({ mode: "error", status: 500 });
    await neonHttp.fault({ mode: "down" });
    await origin.resetStats();
    const res = await gw.request("/api/login/", jsonLogin(DEMO.username, DEMO.password, nextIp()));
    expect(res.status).toBe(503);
    expect((await origin.stats()).loginAttempts["/api/login/"] ?? 0).toBe(0);
    expect((await gw.request("/", { ip: nextIp() })).status).toBe(200);
  });

  it("lets login attempts through uncounted when login=open", async () => {
    const gw = gatewayWith({ ...failover, FAIL_MODE: "open" });
    await bridge.fault({ mode: "error", status: 500 });
    await neonHttp.fault({ mode: "down" });
    const res = await gw.request("/api/login/", jsonLogin(DEMO.username, DEMO.password, nextIp()));
    expect(res.status).toBe(200);
  });

  it("recovers when both come back, with the lock made before the outage intact", async () => {
    const clock = pinClock();
    const gw = gatewayWith(failover);
    const who = { user: `both-${crypto.randomUUID()}`, ip: nextIp() };
    await attack(gw, who.user, who.ip, 3);
    await bridge.fault({ mode: "error", status: 500 });
    await neonHttp.fault({ mode: "down" });
    expect(await attack(gw, who.user, who.ip, 1)).toEqual([503]);
    await bridge.fault({ mode: "none" });
    await neonHttp.fault({ mode: "none" });
    clock.advance(COOLDOWN_MS);
    expect(await attack(gw, who.user, who.ip, 1)).toEqual([429]);
  });
});
