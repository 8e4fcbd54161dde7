/** RATE_LIMITS against the real Redis through the bridge, with the real @upstash/ratelimit. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DEMO, type TestClock, bridge, formLogin, clearFaults, gatewayWith, jsonLogin, neonHttp, nextHourStart, nextIp, pinClock, postgres, statusesOf } from "./helpers";

const policies = (...list: object[]) => ({ RATE_LIMITS: JSON.stringify(list) });
const MINUTE_MS = 60_000;

/**
 * Windows are aligned to the epoch (`floor(Date.now() / window)`, in @upstash/ratelimit and in the
 * Postgres fallback), so on the wall clock a test's requests can straddle a window's end. Each test
 * runs on a clock pinned to the start of an hour (the start of a window of every length used here)
 * and moves it only by `clock.advance`. Windows are a minute long: Redis expires the counters on
 * real time, and a slow machine never spends a minute inside one test.
 */
let clock: TestClock;
beforeEach(() => {
  clock = pinClock(nextHourStart());
});

const statuses = (gw: ReturnType<typeof gatewayWith>, path: string, count: number, init: Parameters<ReturnType<typeof gatewayWith>["request"]>[1] = {}) =>
  statusesOf(gw, path, count, () => init);

afterEach(async () => {
  vi.useRealTimers();
  await clearFaults();
});

describe("each algorithm limits exactly as configured", () => {
  it("fixed window: 3 per minute, then 429 with Retry-After and problem+json, then open again", async () => {
    const gw = gatewayWith(policies({ name: "fw", path: "/__origin/", algorithm: "fixed-window", limit: 3, window: "1m" }));
    const ip = nextIp();
    expect(await statuses(gw, "/__origin/echo", 3, { ip })).toEqual([200, 200, 200]);
    const refused = await gw.request("/__origin/echo", { ip });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(refused.headers.get("retry-after")).toBe("60"); // the window began when the clock was pinned
    expect(await refused.json()).toMatchObject({ status: 429, title: "Too Many Requests", policy: "fw" });
    clock.advance(MINUTE_MS - 1);
    expect(await statuses(gw, "/__origin/echo", 1, { ip })).toEqual([429]); // the window's last millisecond
    // The next window. (@upstash/ratelimit's ephemeral cache still refuses at the reset millisecond itself.)
    clock.advance(2);
    expect(await statuses(gw, "/__origin/echo", 1, { ip })).toEqual([200]);
  });

  it("sliding window: 3 per minute, weighing the previous window by how much of it still overlaps", async () => {
    const gw = gatewayWith(policies({ name: "sw", path: "/__origin/", algorithm: "sliding-window", limit: 3, window: "1m" }));
    const ip = nextIp();
    expect(await statuses(gw, "/__origin/echo", 5, { ip })).toEqual([200, 200, 200, 429, 429]);
    // Halfway through the next window, half of this one still overlaps: 1 of its 3 requests counts.
    clock.advance(MINUTE_MS * 1.5);
    expect(await statuses(gw, "/__origin/echo", 3, { ip })).toEqual([200, 200, 429]);
  });

  it("token bucket: a burst of 3, then one token per minute", async () => {
    const gw = gatewayWith(policies({ name: "tb", path: "/__origin/", algorithm: "token-bucket", limit: 3, refill: 1, window: "1m" }));
    const ip = nextIp();
    expect(await statuses(gw, "/__origin/echo", 4, { ip })).toEqual([200, 200, 200, 429]);
    clock.advance(MINUTE_MS + 1); // one refill (the ephemeral cache refuses up to and including the reset millisecond)
    expect(await statuses(gw, "/__origin/echo", 2, { ip })).toEqual([200, 429]);
  });
});

describe("RateLimit header fields", () => {
  const policy = { name: "api", path: "/__origin/", algorithm: "fixed-window", limit: 5, window: "1m" };

  it("sends draft-10 RateLimit-Policy and RateLimit by default", async () => {
    const gw = gatewayWith(policies(policy));
    const res = await gw.request("/__origin/echo", { ip: nextIp() });
    expect(res.headers.get("ratelimit-policy")).toBe('"api";q=5;w=60');
    expect(res.headers.get("ratelimit")).toMatch(/^"api";r=4;t=\d+$/);
  });

  it("sends the draft-7 form when asked", async () => {
    const gw = gatewayWith({ ...policies(policy), RATE_LIMIT_HEADERS: "draft-7" });
    const res = await gw.request("/__origin/echo", { ip: nextIp() });
    expect(res.headers.get("ratelimit-policy")).toBe("5;w=60");
    expect(res.headers.get("ratelimit")).toMatch(/^limit=5, remaining=4, reset=\d+$/);
  });

  it("sends none with RATE_LIMIT_HEADERS=off, and none on routes without a policy", async () => {
    const off = gatewayWith({ ...policies(policy), RATE_LIMIT_HEADERS: "off" });
    expect((await off.request("/__origin/echo", { ip: nextIp() })).headers.get("ratelimit")).toBeNull();
    const on = gatewayWith(policies(policy));
    expect((await on.request("/", { ip: nextIp() })).headers.get("ratelimit")).toBeNull();
  });

  it("never sends them on login routes, where a limit still stacks on the lockout", async () => {
    const gw = gatewayWith(policies({ name: "login", path: "/api/login/", algorithm: "fixed-window", limit: 2, window: "1m" }));
    const ip = nextIp();
    const first = await gw.request("/api/login/", jsonLogin("rl-user", "bad", ip));
    expect(first.status).toBe(401);
    expect([...first.headers.keys()].filter((h) => h.startsWith("ratelimit"))).toEqual([]);
    await gw.request("/api/login/", jsonLogin("rl-other", "bad", ip));
    const third = await gw.request("/api/login/", jsonLogin("rl-third", "bad", ip));
    expect(third.status).toBe(429);
    expect(third.headers.get("content-type")).toBe("application/problem+json");
    expect(third.headers.get("ratelimit")).toBeNull();
  });
});

describe("keys and matching", () => {
  it("groups IPv6 clients by /64", async () => {
    const gw = gatewayWith(policies({ name: "v6", path: "/", algorithm: "fixed-window", limit: 2, window: "1m" }));
    const net = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:7`;
    expect(await statuses(gw, "/", 1, { ip: `${net}::1` })).toEqual([200]);
    expect(await statuses(gw, "/", 1, { ip: `${net}:ffff:ffff:ffff:fffe` })).toEqual([200]);
    expect(await statuses(gw, "/", 1, { ip: `${net}::99` })).toEqual([429]);
    expect(await statuses(gw, "/", 1, { ip: `${net.slice(0, -1)}8::1` })).toEqual([200]);
  });

  it("keys by an API key header across IPs, and by IP when the header is missing", async () => {
    const gw = gatewayWith(policies({ name: "key", path: "/", algorithm: "fixed-window", limit: 2, window: "1m", key: ["header:X-API-Key"] }));
    const key = (value: string) => ({ ip: nextIp(), headers: { "x-api-key": value } });
    expect((await gw.request("/", key("alpha"))).status).toBe(200);
    expect((await gw.request("/", key("alpha"))).status).toBe(200);
    expect((await gw.request("/", key("alpha"))).status).toBe(429);
    expect((await gw.request("/", key("beta"))).status).toBe(200);
    expect((await gw.request("/", { ip: nextIp() })).status).toBe(200);
  });

  it("caps each client IP of a header-keyed policy, so invented header values buy no budget", async () => {
    const gw = gatewayWith(policies({ name: "key", path: "/", algorithm: "fixed-window", limit: 2, window: "1m", key: ["header:X-API-Key"] }));
    const ip = nextIp();
    const invented = (n: number) => ({ ip, headers: { "x-api-key": `random-${n}-${crypto.randomUUID()}` } });
    expect([(await gw.request("/", invented(1))).status, (await gw.request("/", invented(2))).status]).toEqual([200, 200]);
    const third = await gw.request("/", invented(3));
    expect(third.status).toBe(429); // a fresh key from the same IP: the IP's cap (default: limit) is spent
    expect(await third.json()).toMatchObject({ policy: "key" });
    expect((await gw.request("/", { ip })).status).toBe(429); // no header at all: the same IP
    expect((await gw.request("/", { ip: nextIp(), headers: { "x-api-key": "other" } })).status).toBe(200); // another IP
  });

  it("lets ipLimit raise the cap above one key's budget", async () => {
    const gw = gatewayWith(policies({ name: "nat", path: "/", algorithm: "fixed-window", limit: 2, ipLimit: 3, window: "1m", key: ["header:X-API-Key"] }));
    const ip = nextIp();
    const key = (value: string) => ({ ip, headers: { "x-api-key": value } });
    expect(await statusesOf(gw, "/", 2, () => key("a"))).toEqual([200, 200]);
    expect(await statusesOf(gw, "/", 1, () => key("a"))).toEqual([429]); // the key's own limit
    expect(await statusesOf(gw, "/", 1, () => key("b"))).toEqual([429]); // 3 requests from this IP already
    expect(await statusesOf(gw, "/", 1, () => ({ ip: nextIp(), headers: { "x-api-key": "b" } }))).toEqual([200]);
  });

  it("counts HEAD under a GET policy", async () => {
    const gw = gatewayWith(policies({ name: "reads", path: "/", methods: ["GET"], algorithm: "fixed-window", limit: 2, window: "1m" }));
    const ip = nextIp();
    expect(await statusesOf(gw, "/", 1, () => ({ ip, method: "HEAD" }))).toEqual([200]);
    expect(await statusesOf(gw, "/", 1, () => ({ ip, method: "GET" }))).toEqual([200]);
    expect(await statusesOf(gw, "/", 1, () => ({ ip, method: "HEAD" }))).toEqual([429]);
    expect(await statusesOf(gw, "/", 1, () => ({ ip, method: "GET" }))).toEqual([429]);
  });

  it("matches a glob and a prefix with and without the trailing slash", async () => {
    const gw = gatewayWith(
      policies(
        { name: "search", path: "/search/*", algorithm: "fixed-window", limit: 3, window: "1m" },
        { name: "api", path: "/API/", algorithm: "fixed-window", limit: 1, window: "1m" },
      ),
    );
    const ip = nextIp();
    for (const path of ["/search/", "/search", "/Search/q"]) {
      expect((await gw.request(path, { ip })).headers.get("ratelimit-policy"), path).toBe('"search";q=3;w=60');
    }
    expect((await gw.request("/search/", { ip })).status).toBe(429);
    expect((await gw.request("/api", { ip })).headers.get("ratelimit-policy")).toBe('"api";q=1;w=60');
    expect((await gw.request("/api/", { ip })).status).toBe(429);
  });

  it("applies the first policy that matches method and path, and globs", async () => {
    const gw = gatewayWith(
      policies(
        { name: "reset", path: "/accounts/*/reset", methods: ["POST"], algorithm: "fixed-window", limit: 1, window: "1m" },
        { name: "all", path: "/", algorithm: "fixed-window", limit: 100, window: "1m" },
      ),
    );
    const ip = nextIp();
    const reset = await gw.request("/accounts/password/reset", { method: "POST", ip });
    expect(reset.headers.get("ratelimit-policy")).toBe('"reset";q=1;w=60');
    expect((await gw.request("/accounts/password/reset", { method: "POST", ip })).status).toBe(429);
    expect((await gw.request("/accounts/password/reset", { method: "GET", ip })).headers.get("ratelimit-policy")).toBe('"all";q=100;w=60');
  });

  it("decides and logs in shadow mode, but never refuses", async () => {
    const lines: string[] = [];
    const original = console.info;
    console.info = (...args: unknown[]) => lines.push(args.map(String).join(" "));
    try {
      const gw = gatewayWith(policies({ name: "shadow", path: "/", algorithm: "fixed-window", limit: 1, window: "1m", shadow: true }));
      const ip = nextIp();
      expect(await statuses(gw, "/", 3, { ip })).toEqual([200, 200, 200]);
      expect(lines.filter((l) => l.includes('"event":"rate_limit_shadow"'))).toHaveLength(2);
    } finally {
      console.info = original;
    }
  });
});

describe("cost, counted at the bridge", () => {
  it("costs 1 round trip per limited request, 0 once blocked in the ephemeral cache, 0 without a policy", async () => {
    const gw = gatewayWith(policies({ name: "cost", path: "/__origin/", algorithm: "sliding-window", limit: 2, window: "1m" }));
    const ip = nextIp();
    await statuses(gw, "/__origin/echo", 1, { ip: nextIp() }); // loads the script
    const trips = async (path: string) => {
      await bridge.resetStats();
      await statuses(gw, path, 1, { ip });
      return (await bridge.stats()).requests;
    };
    expect(await trips("/__origin/echo")).toBe(1);
    expect(await trips("/__origin/echo")).toBe(1);
    expect(await trips("/__origin/echo")).toBe(1); // the refusal that fills the cache
    expect(await trips("/__origin/echo")).toBe(0); // answered from the ephemeral cache
    expect(await trips("/")).toBe(0);
  });

  it("costs a refused client with a session cookie no session lookup: the rate limit runs before the session step", async () => {
    const gw = gatewayWith(policies({ name: "before-sessions", path: "/__origin/", algorithm: "sliding-window", limit: 1, window: "1m" }));
    const login = await gw.request("/accounts/login/", formLogin(DEMO.username, DEMO.password, nextIp()));
    const cookie = login.headers.getSetCookie().find((c) => c.startsWith("sessionid="))!.split(";")[0]!;
    await statuses(gw, "/__origin/echo", 1, { ip: nextIp(), headers: { cookie } }); // loads the scripts (rate limit, session read)
    const ip = nextIp();
    const trips = async () => {
      await bridge.resetStats();
      const res = await gw.request("/__origin/echo", { ip, headers: { cookie } });
      await res.body?.cancel();
      return { status: res.status, trips: (await bridge.stats()).requests };
    };
    expect(await trips()).toEqual({ status: 200, trips: 2 }); // the rate limit, then the session read and slide
    expect(await trips()).toEqual({ status: 429, trips: 1 }); // the refusal that fills the cache: no session read
    expect(await trips()).toEqual({ status: 429, trips: 0 }); // answered from the ephemeral cache: nothing at all
  });

  it("looks the session up for a policy keyed by user, once per request, shared with the session step", async () => {
    const gw = gatewayWith(policies({ name: "by-user", path: "/__origin/", algorithm: "sliding-window", limit: 2, window: "1m", key: ["user"] }));
    const login = await gw.request("/accounts/login/", formLogin(DEMO.username, DEMO.password, nextIp()));
    const cookie = login.headers.getSetCookie().find((c) => c.startsWith("sessionid="))!.split(";")[0]!;
    await statuses(gw, "/__origin/echo", 1, { ip: nextIp(), headers: { cookie } }); // loads the scripts; the user's first request
    const trips = async () => {
      await bridge.resetStats();
      const res = await gw.request("/__origin/echo", { ip: nextIp(), headers: { cookie } });
      await res.body?.cancel();
      return { status: res.status, trips: (await bridge.stats()).requests };
    };
    expect(await trips()).toEqual({ status: 200, trips: 2 }); // the session read (for the key), then the rate limit
    expect(await trips()).toEqual({ status: 429, trips: 2 }); // the key needs the session, refused or not
    expect(await trips()).toEqual({ status: 429, trips: 1 }); // the session read only: the refusal comes from the ephemeral cache
  });
});

describe("when Upstash fails", () => {
  it("keeps limiting with a Postgres fixed window", async () => {
    const gw = gatewayWith({
      ...postgres,
      ...policies({ name: "pg", path: "/", algorithm: "sliding-window", limit: 2, window: "1m" }),
    });
    await bridge.fault({ mode: "error", status: 500 });
    const ip = nextIp();
    expect(await statuses(gw, "/", 3, { ip })).toEqual([200, 200, 429]);
  });

  it("follows the fail mode when every store fails: open by default, closed when the policy says so", async () => {
    await bridge.fault({ mode: "error", status: 500 });
    await neonHttp.fault({ mode: "down" });
    const open = gatewayWith({ ...postgres, ...policies({ name: "o", path: "/", limit: 1, window: "1m" }) });
    expect(await statuses(open, "/", 2, { ip: nextIp() })).toEqual([200, 200]);
    const closed = gatewayWith({ ...postgres, ...policies({ name: "c", path: "/", limit: 1, window: "1m", failMode: "closed" }) });
    expect(await statuses(closed, "/", 1, { ip: nextIp() })).toEqual([503]);
  });
});
