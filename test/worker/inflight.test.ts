/**
 * Issue 12 from outside, against the real Redis (through the bridge) and the demo origin: attempts in
 * flight are not failures, and answers from the isolate's lock cache keep django-axes' semantics.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { UpstashStore, createUpstashClient } from "../../src/store/upstash";
import { DEMO, bindings, bridge, gatewayWith, jsonLogin, nextIp, origin, type TestGateway } from "./helpers";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const redis = new UpstashStore(createUpstashClient({ url: bindings.UPSTASH_REDIS_REST_URL!, token: bindings.UPSTASH_REDIS_REST_TOKEN!, timeoutMs: 5000 }));

/** The gateway's confirmed failure counters, as `{ "username=bob": 3 }`. */
async function counted(gw: TestGateway): Promise<Record<string, number>> {
  const prefix = `${gw.prefix}:lockout:`;
  const found: Record<string, number> = {};
  // Every page: a page of a SCAN over a large keyspace may hold none of this gateway's counters.
  let cursor: string | null = null;
  do {
    const page = await redis.list(prefix, 1000, cursor);
    for (const c of page.counters) found[c.key.slice(prefix.length)] = c.count;
    cursor = page.cursor;
  } while (cursor !== null);
  return found;
}

async function statuses(responses: Response[]): Promise<number[]> {
  await Promise.all(responses.map((r) => r.body?.cancel()));
  return responses.map((r) => r.status);
}

/** Every login the echo route receives succeeds: six accounts, each with its right password. */
const ANY_LOGIN = JSON.stringify([{ path: "/__origin/echo", body: ["json"], success: [200], failure: [401], requireSessionCookie: false }]);

describe("concurrent correct logins are never refused, and never counted", () => {
  it("lets 10 simultaneous correct logins of one user from 10 addresses in", async () => {
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "3" });
    await origin.resetStats();
    const results = await Promise.all(Array.from({ length: 10 }, () => gw.request("/api/login/", jsonLogin(DEMO.username, DEMO.password, nextIp()))));
    expect(await statuses(results)).toEqual(Array(10).fill(200));
    expect((await origin.stats()).loginAttempts["/api/login/"]).toBe(10);
    expect(await counted(gw)).toEqual({});
  });

  it("lets 6 users behind one address (an office's NAT) log in at once", async () => {
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "3", LOGIN_ROUTES: ANY_LOGIN });
    const office = nextIp();
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => gw.request("/__origin/echo", jsonLogin(`colleague-${i}`, "right", office))));
    expect(await statuses(results)).toEqual(Array(6).fill(200));
    expect(await counted(gw)).toEqual({});
    // And the office is not locked afterwards either.
    expect(await statuses([await gw.request("/__origin/echo", jsonLogin("colleague-0", "right", office))])).toEqual([200]);
  });

  it("lets exactly AXES_FAILURE_LIMIT of 100 concurrent failing attempts reach the origin, and counts exactly that many", async () => {
    // The wait is generous here: the machine is shared, and this test is about exactness, not latency.
    const gw = gatewayWith({
      AXES_FAILURE_LIMIT: "3",
      AXES_LOCKOUT_PARAMETERS: '["username"]',
      AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT: "false",
      LOGIN_INFLIGHT_WAIT: "15s",
    });
    await origin.resetStats();
    const results = await Promise.all(Array.from({ length: 100 }, () => gw.request("/api/login/", jsonLogin("burst-exact", "wrong", nextIp()))));
    const all = await statuses(results);
    expect((await origin.stats()).loginAttempts["/api/login/"]).toBe(3);
    expect(all.filter((s) => s === 401)).toHaveLength(2);
    expect(all.filter((s) => s === 429)).toHaveLength(98);
    expect(await counted(gw)).toEqual({ "username=burst-exact": 3 });
  });

  it("answers a short 'try again' when attempts stay in flight longer than LOGIN_INFLIGHT_WAIT, counting nothing", async () => {
    const slowLogin = JSON.stringify([{ path: "/__origin/slow", methods: ["GET"], success: [200], failure: [401] }]);
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "1", AXES_LOCKOUT_PARAMETERS: '["ip_address"]', LOGIN_ROUTES: slowLogin, LOGIN_INFLIGHT_WAIT: "300ms" });
    const ip = nextIp();
    await origin.resetStats();
    const first = gw.request("/__origin/slow?ms=2000", { ip });
    while ((await origin.stats()).requests === 0) await sleep(20); // the first attempt is at the origin: reserved
    const held = await gw.request("/__origin/slow?ms=0", { ip, headers: { accept: "application/json" } });
    expect(held.status).toBe(503);
    expect(held.headers.get("retry-after")).toBe("1");
    expect(await held.json()).toMatchObject({ status: 503, title: "Service Unavailable" });
    expect((await first).status).toBe(200);
    expect(await counted(gw)).toEqual({});
    expect((await gw.request("/__origin/slow?ms=0", { ip })).status).toBe(200); // neither counted nor cached as a lock
  });
});

describe("answers from the lock cache keep axes' semantics (default LOCKOUT_CACHE_SECONDS)", () => {
  it("still refuses at t=4.8 s a client locked at t=0 that tried again at t=2.4 s, and lets it in once the restarted cool-off ends", async () => {
    const gw = gatewayWith({ LOCKOUT_CACHE_SECONDS: undefined, AXES_FAILURE_LIMIT: "3", AXES_COOLOFF_TIME: "3s", AXES_LOCKOUT_PARAMETERS: '["ip_address"]' });
    const ip = nextIp();
    /** One request with its own ExecutionContext, waiting for its background work as the runtime would. */
    const attempt = async (password: string) => {
      const ctx = createExecutionContext();
      const res = await gw.request("/api/login/", { ...jsonLogin(DEMO.username, password, ip), ctx });
      await res.body?.cancel();
      await waitOnExecutionContext(ctx);
      return res.status;
    };
    expect([await attempt("wrong"), await attempt("wrong")]).toEqual([401, 401]);
    expect(await attempt("wrong")).toBe(429);
    const t0 = Date.now(); // locked: the cool-off ends at t0 + 3 s
    await sleep(t0 + 2400 - Date.now());
    expect(await attempt("wrong")).toBe(429); // from the cache; counted after the response: now ends at ~5.4 s
    await sleep(t0 + 4800 - Date.now());
    expect(await attempt(DEMO.password)).toBe(429); // axes refuses even the right password here; now ends at ~7.8 s
    expect(await counted(gw)).toEqual({ [`ip_address=${ip}`]: 5 });
    // Not before t=7.8 s plus the background write's own latency; 1.5 s of margin for a loaded machine.
    await sleep(t0 + 4800 + 3000 + 1500 - Date.now());
    expect(await attempt(DEMO.password)).toBe(200);
  });

  it("counts a locked-out flood answered from the cache in the background, at most one write per lock per second", async () => {
    const gw = gatewayWith({ LOCKOUT_CACHE_SECONDS: undefined, AXES_FAILURE_LIMIT: "2", AXES_LOCKOUT_PARAMETERS: '["ip_address"]' });
    const ip = nextIp();
    for (let i = 0; i < 2; i++) await (await gw.request("/api/login/", jsonLogin("flood", "x", ip))).text();
    const ctxs: ExecutionContext[] = [];
    await bridge.resetStats();
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      const ctx = createExecutionContext();
      ctxs.push(ctx);
      const res = await gw.request("/api/login/", { ...jsonLogin(`flood-${i}`, "x", ip), ctx });
      await res.body?.cancel();
      expect(res.status).toBe(429);
    }
    const seconds = (Date.now() - started) / 1000;
    await Promise.all(ctxs.map((ctx) => waitOnExecutionContext(ctx)));
    // One write when the flood starts, then at most one per second (the last one up to a second after the flood).
    const writes = (await bridge.stats()).requests;
    expect(writes).toBeGreaterThanOrEqual(1);
    expect(writes).toBeLessThanOrEqual(Math.ceil(seconds) + 2);
    expect(await counted(gw)).toEqual({ [`ip_address=${ip}`]: 22 }); // yet every refusal was counted
  });
});
