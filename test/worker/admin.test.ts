/** The admin API against the real stores: auth, health, lockout status / list / reset, the webhook. */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { bindings, bridge, gatewayWith, jsonLogin, neonHttp, nextIp, origin, postgres } from "./helpers";

const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";
type Gateway = ReturnType<typeof gatewayWith>;
const admin = (gw: Gateway, path: string, { body, token = ADMIN_TOKEN }: { body?: object; token?: string | null } = {}) =>
  gw.request(`/__gateway${path}`, {
    method: body ? "POST" : "GET",
    headers: { ...(token !== null && { authorization: `Bearer ${token}` }), "content-type": "application/json" },
    body: body && JSON.stringify(body),
  });
const fail = (gw: Gateway, username: string, ip: string, times = 1) =>
  Promise.all(Array.from({ length: times }, () => gw.request("/api/login/", jsonLogin(username, "wrong", ip)).then((r) => r.status)));

afterEach(async () => {
  await bridge.fault({ mode: "none" });
  vi.restoreAllMocks();
});

describe("admin API authentication", () => {
  it.each([
    ["no token", null],
    ["a wrong token of the same length", "X".repeat(ADMIN_TOKEN.length)],
    ["a token of the wrong length", "short"],
    ["a longer token with the right prefix", `${ADMIN_TOKEN}0`],
  ])("answers 401 to %s and proxies nothing", async (_, token) => {
    const gw = gatewayWith({ ADMIN_TOKEN });
    await origin.resetStats();
    const res = await admin(gw, "/health", { token });
    expect(res.status).toBe(401);
    expect(await res.json()).toHaveProperty("error");
    expect((await origin.stats()).requests).toBe(0);
  });

  it("is disabled (404, never proxied) without ADMIN_TOKEN", async () => {
    const gw = gatewayWith();
    await origin.resetStats();
    const res = await admin(gw, "/health");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "admin API disabled" });
    expect((await origin.stats()).requests).toBe(0);
  });

  it("refuses an ADMIN_TOKEN shorter than 16 characters at startup", () => {
    expect(() => gatewayWith({ ADMIN_TOKEN: "short" })).toThrow(/ADMIN_TOKEN: must be at least 16 characters/);
  });
});

describe("the admin prefix is closed", () => {
  const send = (gw: Gateway, path: string, method: string, token: string | null) =>
    gw.request(path, { method, ip: nextIp(), headers: token === null ? {} : { authorization: `Bearer ${token}` } });

  it.each([
    ["GET", "/__gateway/nope", 404, { error: "no such admin endpoint" }],
    ["POST", "/__gateway/health", 405, { error: "method not allowed; use GET, HEAD" }],
    ["DELETE", "/__gateway/lockouts/reset", 405, { error: "method not allowed; use POST" }],
    ["GET", "/__gateway/%zz", 404, { error: "no such admin endpoint" }],
    ["GET", "/__gateway/health/", 200, { status: "ok" }],
    ["GET", "/__Gateway/HEALTH", 200, { status: "ok" }],
    ["GET", "/%5F_gateway/health", 200, { status: "ok" }],
    ["GET", "/%5f%5FGATEWAY//health/", 200, { status: "ok" }],
    ["GET", "/__gateway/x/../health", 200, { status: "ok" }],
  ])("answers %s %s itself (%i), with the token or without, and never proxies it", async (method, path, status, body) => {
    const gw = gatewayWith({ ADMIN_TOKEN });
    await origin.resetStats();
    const authorised = await send(gw, path, method, ADMIN_TOKEN);
    expect(authorised.status).toBe(status);
    expect(authorised.headers.get("cache-control")).toBe("no-store");
    expect(await authorised.json()).toMatchObject(body);
    if ("error" in body && status === 405) expect(authorised.headers.get("allow")).toBe(body.error.slice("method not allowed; use ".length));
    for (const token of [null, "X".repeat(ADMIN_TOKEN.length)]) {
      const refused = await send(gw, path, method, token);
      expect(refused.status).toBe(401);
      expect(refused.headers.get("cache-control")).toBe("no-store");
      expect(await refused.json()).toHaveProperty("error");
    }
    expect((await origin.stats()).requests).toBe(0);
  });

  it("answers the prefix itself, in any spelling and with any token, with the dashboard's sign-in page", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN });
    await origin.resetStats();
    for (const path of ["/__gateway", "/__gateway/", "/__Gateway//", "/%5F_gateway/."]) {
      for (const token of [ADMIN_TOKEN, null, "X".repeat(ADMIN_TOKEN.length)]) {
        const res = await send(gw, path, "GET", token);
        expect(res.status).toBe(200);
        expect(res.headers.get("cache-control")).toBe("no-store");
        expect(await res.text()).toContain('<form method="post" action="/__gateway/dashboard/sign-in">');
      }
    }
    expect((await origin.stats()).requests).toBe(0);
  });

  it("answers HEAD of a GET endpoint, without a body", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN });
    await origin.resetStats();
    const res = await send(gw, "/__gateway/health", "HEAD", ADMIN_TOKEN);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
    expect((await origin.stats()).requests).toBe(0);
  });

  it("answers every spelling with 404 when the admin API is disabled", async () => {
    const gw = gatewayWith();
    await origin.resetStats();
    for (const path of ["/__gateway/health", "/__Gateway/nope", "/%5F_gateway/", "/__gateway"]) {
      const res = await send(gw, path, "POST", "anything-at-all-0123456789");
      expect(res.status).toBe(404);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(await res.json()).toEqual({ error: "admin API disabled" });
    }
    expect((await origin.stats()).requests).toBe(0);
  });

  it("still proxies paths that only begin like the prefix", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN });
    await origin.resetStats();
    const res = await send(gw, "/__gatewayish", "GET", null);
    expect(res.status).toBe(404); // the demo origin's own 404
    expect(res.headers.get("cache-control")).not.toBe("no-store");
    expect((await origin.stats()).requests).toBe(1);
  });
});

describe("health", () => {
  it("reports each store with latency and circuit state, and a configuration without secrets", async () => {
    const gw = gatewayWith({ ...postgres, ADMIN_TOKEN });
    const res = await admin(gw, "/health");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; stores: Record<string, { reachable: boolean; circuit?: string }> };
    expect(body.status).toBe("ok");
    expect(body.stores.counters).toMatchObject({ kind: "upstash", reachable: true, circuit: "closed" });
    expect(body.stores.fallback).toMatchObject({ kind: "postgres", reachable: true });
    const text = JSON.stringify(body);
    for (const secret of [ADMIN_TOKEN, bindings.UPSTASH_REDIS_REST_TOKEN!, bindings.DATABASE_URL!]) expect(text).not.toContain(secret);
  });

  it("answers 503 degraded when Upstash is down", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN });
    await bridge.fault({ mode: "error", status: 500 });
    const res = await admin(gw, "/health");
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: "degraded", stores: { counters: { reachable: false, reason: "error" } } });
  });
});

describe("lockout status, list and reset (axes_reset_ip / _username / _ip_username)", () => {
  async function lockedGateway(parameters: string) {
    const gw = gatewayWith({ ADMIN_TOKEN, AXES_LOCKOUT_PARAMETERS: parameters, AXES_FAILURE_LIMIT: "2" });
    const ip = nextIp();
    const user = `adm-${crypto.randomUUID().slice(0, 8)}`;
    await fail(gw, user, ip, 2);
    return { gw, ip, user };
  }

  it("shows the status and the list of current lockouts", async () => {
    const { gw, ip, user } = await lockedGateway('["ip_address","username"]');
    const status = (await (await admin(gw, `/lockouts/status?ip=${ip}&username=${user.toUpperCase()}`)).json()) as { locked: boolean; counters: object[] };
    expect(status.locked).toBe(true);
    expect(status.counters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ ip_address: ip, failures: 2, locked: true }),
        expect.objectContaining({ username: user, failures: 2, locked: true }),
      ]),
    );
    // A page may hold none of this gateway's counters (Redis scans the whole database), so follow the cursor.
    const lockouts: { ip_address?: string; retry_after_seconds: number }[] = [];
    let cursor: string | null = null;
    do {
      const page = (await (await admin(gw, `/lockouts${cursor === null ? "" : `?cursor=${encodeURIComponent(cursor)}`}`)).json()) as { lockouts: typeof lockouts; cursor: string | null };
      lockouts.push(...page.lockouts);
      cursor = page.cursor;
    } while (cursor !== null);
    expect(lockouts.find((l) => l.ip_address === ip)?.retry_after_seconds).toBeGreaterThan(1700);
  });

  it("reset by IP unlocks the IP but not the username, as axes_reset_ip", async () => {
    const { gw, ip, user } = await lockedGateway('["ip_address","username"]');
    expect(await (await admin(gw, "/lockouts/reset", { body: { ip } })).json()).toEqual({ reset: 1 });
    expect(await fail(gw, "someone-else", ip)).toEqual([401]);
    expect(await fail(gw, user, nextIp())).toEqual([429]);
  });

  it("reset by username unlocks the username but not the IP, as axes_reset_username", async () => {
    const { gw, ip, user } = await lockedGateway('["ip_address","username"]');
    expect(await (await admin(gw, "/lockouts/reset", { body: { username: user } })).json()).toEqual({ reset: 1 });
    expect(await fail(gw, user, nextIp())).toEqual([401]);
    expect(await fail(gw, "someone-else", ip)).toEqual([429]);
  });

  it("reset by both unlocks exactly that client, as axes_reset_ip_username", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN, AXES_LOCKOUT_PARAMETERS: '[["username","ip_address"]]', AXES_FAILURE_LIMIT: "2" });
    const ip = nextIp();
    await fail(gw, "pair-a", ip, 2);
    await fail(gw, "pair-b", ip, 2);
    expect(await (await admin(gw, "/lockouts/reset", { body: { ip, username: "pair-a" } })).json()).toEqual({ reset: 1 });
    expect(await fail(gw, "pair-a", ip)).toEqual([401]);
    expect(await fail(gw, "pair-b", ip)).toEqual([429]);
  });

  it("reset by IP clears every combination counter of that IP", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN, AXES_LOCKOUT_PARAMETERS: '[["username","ip_address"]]', AXES_FAILURE_LIMIT: "2" });
    const ip = nextIp();
    await fail(gw, "combo-a", ip, 2);
    await fail(gw, "combo-b", ip, 2);
    expect(await (await admin(gw, "/lockouts/reset", { body: { ip } })).json()).toEqual({ reset: 2 });
    expect(await fail(gw, "combo-a", ip)).toEqual([401]);
  });

  it("forgets the lock this isolate cached when it resets", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN, AXES_FAILURE_LIMIT: "1", LOCKOUT_CACHE_SECONDS: "60", AXES_LOCKOUT_PARAMETERS: '["ip_address"]' });
    const ip = nextIp();
    expect(await fail(gw, "cached", ip)).toEqual([429]);
    await admin(gw, "/lockouts/reset", { body: { ip } });
    expect(await fail(gw, "cached", ip)).toEqual([429]); // counted afresh: limit 1
    expect(await (await admin(gw, `/lockouts/status?ip=${ip}`)).json()).toMatchObject({ counters: [{ failures: 1 }] });
  });

  it("shows and resets an IPv6 client's counters by any address of its /64", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN, AXES_LOCKOUT_PARAMETERS: '["ip_address"]', AXES_FAILURE_LIMIT: "2" });
    const net = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:7`;
    await fail(gw, "six-a", `${net}::1`);
    await fail(gw, "six-b", `${net}::2`);
    const status = await (await admin(gw, `/lockouts/status?ip=${net}:ffff::9`)).json();
    expect(status).toEqual({ locked: true, counters: [{ ip_address: `${net}::/64`, failures: 2, locked: true, retry_after_seconds: expect.any(Number) }] });
    expect(await (await admin(gw, "/lockouts/reset", { body: { ip: `${net.toUpperCase()}::abcd` } })).json()).toEqual({ reset: 1 });
    expect(await fail(gw, "six-c", `${net}::3`)).toEqual([401]);
  });

  it("answers 400 to bad input", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN });
    expect((await admin(gw, "/lockouts/reset", { body: {} })).status).toBe(400);
    expect((await admin(gw, "/lockouts/reset", { body: { ip: "not-an-ip" } })).status).toBe(400);
    expect((await admin(gw, "/lockouts/status")).status).toBe(400);
    const raw = await gw.request("/__gateway/lockouts/reset", { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: "{" });
    expect(raw.status).toBe(400);
  });
});

describe("lockout webhook (LOCKOUT_WEBHOOK_URL)", () => {
  it("posts each lockout in the background, without the password", async () => {
    const calls: { url: string; body: string }[] = [];
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (url.includes("/__origin/echo")) calls.push({ url, body: String(init?.body ?? "") });
      return realFetch(input, init);
    });
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "2", LOCKOUT_WEBHOOK_URL: `${bindings.TEST_ORIGIN_URL}/__origin/echo` });
    const ip = nextIp();
    const ctx = createExecutionContext();
    await gw.request("/api/login/", { ...jsonLogin("hooked", "pw-secret-123", ip), ctx });
    const res = await gw.request("/api/login/", { ...jsonLogin("hooked", "pw-secret-123", ip), ctx });
    expect(res.status).toBe(429);
    await waitOnExecutionContext(ctx);
    expect(calls).toHaveLength(1);
    expect(JSON.parse(calls[0]!.body)).toMatchObject({ event: "user_locked_out", ip_address: ip, username: "hooked", failures: 2 });
    expect(calls[0]!.body).not.toContain("pw-secret-123");
  });

  it("gives up after LOCKOUT_WEBHOOK_TIMEOUT without touching the response", async () => {
    const lines: string[] = [];
    const original = console.warn;
    console.warn = (...args: unknown[]) => lines.push(args.map(String).join(" "));
    try {
      // A receiver that accepts the connection and then takes 3 s: the Neon endpoint with a delay fault.
      await neonHttp.fault({ mode: "delay", ms: 3000 });
      const gw = gatewayWith({ AXES_FAILURE_LIMIT: "1", LOCKOUT_WEBHOOK_URL: `${bindings.TEST_NEON_HTTP_URL}/sql`, LOCKOUT_WEBHOOK_TIMEOUT: "200ms" });
      const ctx = createExecutionContext();
      const res = await gw.request("/api/login/", { ...jsonLogin("slowhook", "x", nextIp()), ctx });
      expect(res.status).toBe(429);
      await waitOnExecutionContext(ctx);
      expect(lines.some((l) => l.includes('"event":"webhook_failed"') && l.includes('"reason":"timeout"'))).toBe(true);
    } finally {
      console.warn = original;
      await neonHttp.fault({ mode: "none" });
    }
  });
});
