/**
 * Fault injection with the real Redis (through the bridge) and the real Postgres (through the Neon
 * HTTP endpoint): Upstash dropping connections, answering 500 or 401, slower than REDIS_TIMEOUT_MS;
 * Postgres down while Redis is up; both down; and recovery of each. Every test checks that no count
 * is lost, that the origin sees no more than the limit, and that the answer is what FAIL_MODE says.
 * Background work (copies to Postgres, the half-open probe) is awaited through the request's
 * ExecutionContext, never by sleeping.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { lockoutKeyPrefix } from "../../src/lockout/keys";
import { PostgresStore, createSqlClient } from "../../src/store/postgres";
import { DEMO, bindings, bridge, clearFaults, gatewayWith, jsonLogin, logsOf, neonHttp, nextIp, origin, postgres } from "./helpers";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
// A timeout a loaded 2-core machine does not cross when Upstash is well; the delay faults are twice it.
const failover = { ...postgres, REDIS_TIMEOUT_MS: "1000", CIRCUIT_BREAKER_FAILURES: "1", CIRCUIT_BREAKER_COOLDOWN: "1s", AXES_FAILURE_LIMIT: "3" };
type Gateway = ReturnType<typeof gatewayWith>;

/** Every ExecutionContext handed out since the last drain. */
const contexts: ExecutionContext[] = [];
/** Sends a request with its own ExecutionContext, so its background work can be awaited. */
function send(gw: Gateway, path: string, init: Parameters<Gateway["request"]>[1] = {}): Promise<Response> {
  const ctx = createExecutionContext();
  contexts.push(ctx);
  return gw.request(path, { ...init, ctx });
}
/** Waits for the background work of every request sent so far (copies to Postgres, the probe). */
async function drain(): Promise<void> {
  while (contexts.length > 0) await waitOnExecutionContext(contexts.shift()!);
}

/** `count` failed logins for one user from one IP, one after another, background work settled; answers the statuses. */
async function attack(gw: Gateway, user: string, ip: string, count: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const res = await send(gw, "/api/login/", jsonLogin(user, "wrong", ip));
    await res.body?.cancel();
    out.push(res.status);
    await drain();
  }
  return out;
}

/** A request's answer and how long the client waited for it. */
async function timed(request: () => Promise<Response>): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const res = await request();
  await res.body?.cancel();
  const ms = performance.now() - started;
  // Shown with --silent=false: the measured waits behind README's failover table.
  console.info(`waited ${Math.round(ms)} ms for ${res.status} (${expect.getState().currentTestName})`);
  return { status: res.status, ms };
}

afterEach(async () => {
  await clearFaults();
  await drain();
});

describe("Upstash fails mid-attack: Postgres keeps protecting, no count lost", () => {
  for (const fault of [{ mode: "drop" }, { mode: "error", status: 500 }, { mode: "unauthorized" }, { mode: "delay", ms: 2000 }]) {
    it(`keeps the attacker locked and counts new attackers on Postgres when Upstash is ${fault.mode}`, async () => {
      const gw = gatewayWith(failover);
      const early = { user: `early-${crypto.randomUUID()}`, ip: nextIp() };
      const late = { user: `late-${crypto.randomUUID()}`, ip: nextIp() };
      await origin.resetStats();

      expect(await attack(gw, early.user, early.ip, 3)).toEqual([401, 401, 429]); // locked in Upstash, copied to Postgres
      await bridge.fault(fault);
      expect(await attack(gw, early.user, early.ip, 2)).toEqual([429, 429]); // still locked, from Postgres
      expect(await attack(gw, late.user, late.ip, 5)).toEqual([401, 401, 429, 429, 429]); // counted on Postgres

      await bridge.fault({ mode: "none" });
      await sleep(1100); // past CIRCUIT_BREAKER_COOLDOWN: the next call starts the probe, which copies back
      const correct = (who: { ip: string }) => send(gw, "/api/login/", jsonLogin(DEMO.username, DEMO.password, who.ip));
      expect((await correct(late)).status).toBe(429); // answered by Postgres while the probe runs
      await drain();
      // With Postgres now gone, only Upstash can answer: the lock made during the outage is there.
      await neonHttp.fault({ mode: "down" });
      expect((await correct(late)).status).toBe(429);
      expect((await correct(early)).status).toBe(429);
      expect((await origin.stats()).loginAttempts["/api/login/"]).toBe(6); // 3 per attacker, never more
    });
  }

  it("gives a username with 2 failures before an Upstash outage only 1 more password check during it", async () => {
    const gw = gatewayWith(failover);
    const user = `partial-${crypto.randomUUID()}`;
    await origin.resetStats();
    expect([...(await attack(gw, user, nextIp(), 1)), ...(await attack(gw, user, nextIp(), 1))]).toEqual([401, 401]); // counted in Upstash, copied to Postgres
    await bridge.fault({ mode: "error", status: 500 });
    const during = [];
    for (let i = 0; i < 4; i++) during.push(...(await attack(gw, user, nextIp(), 1)));
    // The third failure reaches the origin and locks at once (answered 429, as in axes); then refused at the edge.
    expect(during).toEqual([429, 429, 429, 429]);
    expect((await origin.stats()).loginAttempts["/api/login/"]).toBe(3);
  });

  it("stops paying Upstash's timeout once the circuit is open, and returns to Upstash after the probe", async () => {
    const gw = gatewayWith(failover);
    await bridge.fault({ mode: "delay", ms: 2000 });
    await attack(gw, "breaker", nextIp(), 1); // pays the timeout, opens the circuit
    await bridge.resetStats();
    await attack(gw, "breaker", nextIp(), 3);
    expect((await bridge.stats()).requests).toBe(0); // straight to Postgres
    await bridge.fault({ mode: "none" });
    await sleep(1100);
    await bridge.resetStats();
    await attack(gw, "breaker2", nextIp(), 1); // answered by Postgres; the probe runs in the background
    expect((await bridge.stats()).requests).toBeGreaterThanOrEqual(2); // the probe: ping + copy-back
    await bridge.resetStats();
    await attack(gw, "breaker3", nextIp(), 1);
    expect((await bridge.stats()).requests).toBe(2); // closed again: the reservation and the confirmed failure
  });

  it("treats a gateway whose Upstash does not listen at all like one that went down", async () => {
    const gw = gatewayWith({ ...failover, UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9" });
    const ip = nextIp();
    expect(await attack(gw, `refused-${crypto.randomUUID()}`, ip, 4)).toEqual([401, 401, 429, 429]);
  });

  it("copies sessions recorded on Postgres during the outage back to Upstash with the counters", async () => {
    const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";
    const gw = gatewayWith({ ...failover, ADMIN_TOKEN, SESSION_ENFORCEMENT: "reject" });
    await bridge.fault({ mode: "error", status: 500 });
    const res = await send(gw, "/accounts/login/", { method: "POST", ip: nextIp(), headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ username: DEMO.username, password: DEMO.password }).toString() });
    expect(res.status).toBe(302);
    const sessionId = res.headers.getSetCookie().find((c) => c.startsWith("sessionid="))!.split(";")[0]!.split("=")[1]!;
    await drain();
    await bridge.fault({ mode: "none" });
    await sleep(1100);
    const logs = await logsOf(async () => {
      await send(gw, "/", { ip: nextIp() }).then((r) => r.body?.cancel());
      await attack(gw, `probe-${crypto.randomUUID()}`, nextIp(), 1); // draws the probe
    });
    expect(logs.join("\n")).toMatch(/"event":"copy_back".*"sessions":[1-9]/);
    await neonHttp.fault({ mode: "down" });
    const revoke = await gw.request("/__gateway/sessions/revoke", {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ session_id: sessionId }),
    });
    expect(await revoke.json()).toEqual({ revoked: 1 }); // Upstash alone knew the session
  });
});

describe("at most one store timeout per request (timeouts 1 s; bounds with 0.8 s of margin)", () => {
  const slow = { ...postgres, REDIS_TIMEOUT_MS: "1000", DATABASE_TIMEOUT_MS: "1000", CIRCUIT_BREAKER_FAILURES: "2", CIRCUIT_BREAKER_COOLDOWN: "1s", SESSION_ENFORCEMENT: "reject" };
  const formLogin = (ip: string, cookie?: string) => ({
    method: "POST",
    ip,
    headers: { "content-type": "application/x-www-form-urlencoded", ...(cookie ? { cookie } : {}) },
    body: new URLSearchParams({ username: DEMO.username, password: DEMO.password }).toString(),
  });

  /** Logs the demo user in while the stores are well; answers the session cookie. */
  async function sessionOf(gw: Gateway): Promise<string> {
    const first = await send(gw, "/accounts/login/", formLogin(nextIp()));
    await drain();
    return first.headers.getSetCookie().find((c) => c.startsWith("sessionid="))!.split(";")[0]!;
  }

  it("costs a successful login that sets a session at most one REDIS_TIMEOUT_MS when Upstash is frozen", async () => {
    const gw = gatewayWith(slow);
    const cookie = await sessionOf(gw);
    await bridge.fault({ mode: "delay", ms: 5000 });
    // Session read, reservation, give-back and session write: only the first may wait for Upstash.
    const login = await timed(() => send(gw, "/accounts/login/", formLogin(nextIp(), cookie)));
    expect(login.status).toBe(302);
    expect(login.ms).toBeLessThan(1000 + 800);
    const page = await timed(() => send(gw, "/", { ip: nextIp(), headers: { cookie } }));
    expect(page.status).toBe(200);
    expect(page.ms).toBeLessThan(1000 + 800);
  });

  it("keeps every request under REDIS_TIMEOUT_MS + DATABASE_TIMEOUT_MS when both are frozen, the half-open probe included", async () => {
    const policy = { name: "pages", path: "/", algorithm: "fixed-window", limit: 100, window: "1m", key: ["ip"] };
    const gw = gatewayWith({ ...slow, FAIL_MODE: "open", RATE_LIMITS: JSON.stringify([policy]) });
    const cookie = await sessionOf(gw);
    await bridge.fault({ mode: "delay", ms: 5000 });
    await neonHttp.fault({ mode: "delay", ms: 5000 });
    const bound = 1000 + 1000 + 800;
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      // A session read, a rate limit, a reservation, a session write: one timeout of each store at most.
      const login = await timed(() => send(gw, "/accounts/login/", formLogin(nextIp(), cookie)));
      const page = await timed(() => send(gw, "/", { ip: nextIp(), headers: { cookie } }));
      waits.push(login.ms, page.ms);
      if (i === 1) await sleep(1100); // past the cool-down: the next request draws the half-open probe
    }
    expect(Math.max(...waits)).toBeLessThan(bound);
  });

  it("bounds a request's store calls in all when Upstash answers slowly but within its timeout", async () => {
    const gw = gatewayWith(slow);
    const cookie = await sessionOf(gw);
    await bridge.fault({ mode: "delay", ms: 900 });
    // Four calls of 900 ms each (session read, reserve, give-back, session write) would take 3.6 s.
    const login = await timed(() => send(gw, "/accounts/login/", formLogin(nextIp(), cookie)));
    expect(login.status).toBe(302);
    expect(login.ms).toBeLessThan(1000 + 1000 + 800);
  });

  it("answers 503 within REDIS_TIMEOUT_MS + DATABASE_TIMEOUT_MS when both are frozen and login=closed", async () => {
    const gw = gatewayWith(slow);
    await bridge.fault({ mode: "delay", ms: 5000 });
    await neonHttp.fault({ mode: "delay", ms: 5000 });
    const login = await timed(() => send(gw, "/accounts/login/", formLogin(nextIp())));
    expect(login.status).toBe(503);
    expect(login.ms).toBeLessThan(1000 + 1000 + 800);
  });
});

describe("one log line per fact, reasons as the README names them", () => {
  it("logs one circuit_open for one opening, however many requests were in flight", async () => {
    const gw = gatewayWith(failover);
    await bridge.fault({ mode: "delay", ms: 2000 });
    const lines = await logsOf(async () => {
      await Promise.all(Array.from({ length: 12 }, () => send(gw, "/api/login/", jsonLogin(`flood-${crypto.randomUUID()}`, "wrong", nextIp())).then((r) => r.body?.cancel())));
      await drain();
    });
    expect(lines.filter((line) => line.includes('"event":"circuit_open"'))).toHaveLength(1);
    expect(lines.filter((line) => line.includes('"event":"failover"')).length).toBeGreaterThanOrEqual(1);
  });

  it("logs copy_back_skipped and no copy_back when Postgres cannot be read during the probe", async () => {
    const gw = gatewayWith(failover);
    await bridge.fault({ mode: "error", status: 500 });
    await attack(gw, `skip-${crypto.randomUUID()}`, nextIp(), 1);
    await bridge.fault({ mode: "none" });
    await neonHttp.fault({ mode: "down" });
    await sleep(1100);
    const lines = await logsOf(() => attack(gw, `skip-${crypto.randomUUID()}`, nextIp(), 1).then(() => {}));
    const events = lines.map((line) => (JSON.parse(line) as { event: string }).event);
    expect(events).toContain("copy_back_skipped");
    expect(events).toContain("circuit_closed");
    expect(events).not.toContain("copy_back");
  });

  for (const [name, overrides, fault, reason] of [
    ["an endpoint that is gone (fetch failed)", { NEON_HTTP_ENDPOINT: "http://127.0.0.1:9/sql" }, null, "unreachable"],
    ["an endpoint answering 503", {}, { mode: "down" }, "unreachable"],
  ] as const) {
    it(`classifies Postgres behind ${name} as ${reason}`, async () => {
      const gw = gatewayWith({ ...failover, ...overrides });
      await bridge.fault({ mode: "error", status: 500 });
      if (fault) await neonHttp.fault(fault);
      const lines = await logsOf(() => attack(gw, `gone-${crypto.randomUUID()}`, nextIp(), 1).then(() => {}));
      expect(lines.join("\n")).toContain(`"event":"fail_closed","request_id"`);
      expect(lines.find((line) => line.includes('"fail_closed"'))).toContain(`"store":"postgres","reason":"${reason}"`);
    });
  }

  for (const [fault, reason] of [
    [{ mode: "drop" }, "unreachable"],
    [{ mode: "error", status: 500 }, "error"],
    [{ mode: "unauthorized" }, "unauthorized"],
    [{ mode: "delay", ms: 2000 }, "timeout"],
  ] as const) {
    it(`classifies Upstash ${fault.mode} as ${reason}`, async () => {
      const gw = gatewayWith(failover);
      await bridge.fault(fault);
      const lines = await logsOf(() => attack(gw, `why-${crypto.randomUUID()}`, nextIp(), 1).then(() => {}));
      expect(lines.find((line) => line.includes('"event":"failover"'))).toContain(`"reason":"${reason}"`);
    });
  }
});

describe("Postgres down while Upstash is up", () => {
  it("keeps locking on Upstash and logs that the copy to Postgres failed", async () => {
    await neonHttp.fault({ mode: "down" });
    const gw = gatewayWith(failover);
    const lines = await logsOf(async () => {
      expect(await attack(gw, `pgdown-${crypto.randomUUID()}`, nextIp(), 4)).toEqual([401, 401, 429, 429]);
    });
    expect(lines.join("\n")).toContain('"event":"counter_copy_failed"');
    expect(lines.join("\n")).not.toContain(bindings.DATABASE_URL!);
  });

  it("copies counts to Postgres again once it recovers", async () => {
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

describe("copies of Upstash's counts on Postgres", () => {
  it("gathers the failures counted within MIRROR_LINGER_MS into one statement, every count in it", async () => {
    const gw = gatewayWith(failover);
    const pg = new PostgresStore(createSqlClient({ url: postgres.DATABASE_URL!, timeoutMs: 5000, httpEndpoint: postgres.NEON_HTTP_ENDPOINT! }), 5000);
    await drain();
    await neonHttp.resetStats();
    const clients = Array.from({ length: 5 }, () => ({ user: `mirror-${crypto.randomUUID()}`, ip: nextIp() }));
    const answers = await Promise.all(clients.map(({ user, ip }) => send(gw, "/api/login/", jsonLogin(user, "wrong", ip))));
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      await answer.body?.cancel();
    }
    await drain();
    // Without the gathering, the first failure's copy would go alone and the other four after it.
    expect(await neonHttp.stats()).toMatchObject({ requests: 1, statements: 1 });
    const copied = await pg.list(lockoutKeyPrefix(gw.prefix), 100);
    expect(copied.counters.map((c) => c.count)).toEqual(Array(10).fill(1)); // each client's IP and username
  });
});

describe("both stores down: FAIL_MODE decides, and says so in the log", () => {
  it("refuses login attempts with 503 when login=closed", async () => {
    const gw = gatewayWith({ ...failover, FAIL_MODE: "login=closed,other=open" });
    await bridge.fault({ mode: "error", status: 500 });
    await neonHttp.fault({ mode: "down" });
    await origin.resetStats();
    const res = await send(gw, "/api/login/", jsonLogin(DEMO.username, DEMO.password, nextIp()));
    expect(res.status).toBe(503);
    expect((await origin.stats()).loginAttempts["/api/login/"] ?? 0).toBe(0);
    expect((await send(gw, "/", { ip: nextIp() })).status).toBe(200);
  });

  it("lets login attempts through uncounted when login=open", async () => {
    const gw = gatewayWith({ ...failover, FAIL_MODE: "open" });
    await bridge.fault({ mode: "error", status: 500 });
    await neonHttp.fault({ mode: "down" });
    const res = await send(gw, "/api/login/", jsonLogin(DEMO.username, DEMO.password, nextIp()));
    expect(res.status).toBe(200);
  });

  it("recovers when both come back, with the lock made before the outage intact", async () => {
    const gw = gatewayWith(failover);
    const who = { user: `both-${crypto.randomUUID()}`, ip: nextIp() };
    await attack(gw, who.user, who.ip, 3);
    await bridge.fault({ mode: "error", status: 500 });
    await neonHttp.fault({ mode: "down" });
    expect(await attack(gw, who.user, who.ip, 1)).toEqual([503]);
    await bridge.fault({ mode: "none" });
    await neonHttp.fault({ mode: "none" });
    await sleep(1100);
    expect(await attack(gw, who.user, who.ip, 2)).toEqual([429, 429]); // from Postgres during the probe, then Upstash
  });
});
