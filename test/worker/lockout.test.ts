import { describe, expect, it } from "vitest";
import { DEMO, formLogin, gatewayWith, jsonLogin, nextIp, origin } from "./helpers";

/**
 * Cool-offs are Redis TTLs, so these tests run on real time. Each wait is measured from the answer
 * that set the lock (the lock cannot end later than that plus the cool-off), and every check that
 * must still see a lock has half a cool-off of margin: 1.5 s, which no request on a loaded machine takes.
 */
const COOLOFF_MS = 3000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sleepUntil = (epochMs: number) => sleep(Math.max(0, epochMs - Date.now()));
/** Past the end of a lock set by a request answered at `answeredAt`, with room for clock reading. */
const afterLockEnds = (answeredAt: number) => answeredAt + COOLOFF_MS + 200;

describe("Django form login (302 success / 200 failure) against the real Redis", () => {
  it("locks out the IP at the third failure and answers the third failure with the lockout", async () => {
    const gw = gatewayWith({ AXES_COOLOFF_TIME: "30m" });
    const ip = nextIp();
    for (let i = 1; i <= 2; i++) {
      const res = await gw.request("/accounts/login/", formLogin(`user${i}`, "wrong", ip));
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("Please enter a correct username and password");
    }
    const third = await gw.request("/accounts/login/", formLogin("user3", "wrong", ip));
    expect(third.status).toBe(429);
    expect(third.headers.get("retry-after")).toBe("1800");
    expect(third.headers.get("content-type")).toContain("text/html");
    // A correct password while locked is still refused, and never reaches the origin.
    await origin.resetStats();
    const correct = await gw.request("/accounts/login/", formLogin(DEMO.username, DEMO.password, ip));
    expect(correct.status).toBe(429);
    expect((await origin.stats()).loginAttempts["/accounts/login/"] ?? 0).toBe(0);
  });

  it("lets a correct password through as Django's 302 with the session cookie", async () => {
    const gw = gatewayWith();
    const res = await gw.request("/accounts/login/", formLogin(DEMO.username, DEMO.password, nextIp()));
    expect(res.status).toBe(302);
    expect(res.headers.get("set-cookie")).toContain("sessionid=");
  });

  it("locks out the username after 3 failures from different IPs", async () => {
    const gw = gatewayWith();
    const victim = `victim-${Math.random().toString(36).slice(2)}`;
    expect((await gw.request("/accounts/login/", formLogin(victim, "x", nextIp()))).status).toBe(200);
    expect((await gw.request("/accounts/login/", formLogin(victim, "x", nextIp()))).status).toBe(200);
    expect((await gw.request("/accounts/login/", formLogin(victim, "x", nextIp()))).status).toBe(429);
    expect((await gw.request("/accounts/login/", formLogin(victim, "x", nextIp()))).status).toBe(429);
    // Another username from a fresh IP is unaffected.
    expect((await gw.request("/accounts/login/", formLogin("someone-else", "x", nextIp()))).status).toBe(200);
  });

  it("treats Alice, alice and ＡＬＩＣＥ as one username", async () => {
    const gw = gatewayWith();
    expect((await gw.request("/accounts/login/", formLogin("Alice", "x", nextIp()))).status).toBe(200);
    expect((await gw.request("/accounts/login/", formLogin(" alice ", "x", nextIp()))).status).toBe(200);
    expect((await gw.request("/accounts/login/", formLogin("ＡＬＩＣＥ", "x", nextIp()))).status).toBe(429);
  });

  it("counts case variants apart with AXES_USERNAME_CASE_SENSITIVE=true", async () => {
    const gw = gatewayWith({ AXES_USERNAME_CASE_SENSITIVE: "true", AXES_LOCKOUT_PARAMETERS: '["username"]' });
    for (const name of ["Bob", "bob", "BOB", "bOb"]) {
      expect((await gw.request("/accounts/login/", formLogin(name, "x", nextIp()))).status).toBe(200);
    }
  });

  it("locks only the (username, IP) pair with [[\"username\",\"ip_address\"]]", async () => {
    const gw = gatewayWith({ AXES_LOCKOUT_PARAMETERS: '[["username","ip_address"]]' });
    const ip = nextIp();
    for (let i = 0; i < 2; i++) expect((await gw.request("/accounts/login/", formLogin("carol", "x", ip))).status).toBe(200);
    expect((await gw.request("/accounts/login/", formLogin("carol", "x", ip))).status).toBe(429);
    // Same IP, other user: fine. Same user, other IP: fine.
    expect((await gw.request("/accounts/login/", formLogin("dave", "x", ip))).status).toBe(200);
    expect((await gw.request("/accounts/login/", formLogin("carol", "x", nextIp()))).status).toBe(200);
  });

  it("keys on the user agent with [[\"ip_address\",\"user_agent\"]]", async () => {
    const gw = gatewayWith({ AXES_LOCKOUT_PARAMETERS: '[["ip_address","user_agent"]]', AXES_FAILURE_LIMIT: "2" });
    const ip = nextIp();
    const ua = (agent: string) => ({ "user-agent": agent });
    expect((await gw.request("/accounts/login/", formLogin("u", "x", ip, ua("curl/8")))).status).toBe(200);
    expect((await gw.request("/accounts/login/", formLogin("u", "x", ip, ua("curl/8")))).status).toBe(429);
    expect((await gw.request("/accounts/login/", formLogin("u", "x", ip, ua("Firefox/140")))).status).toBe(200);
  });
});

describe("JSON login API (200 / 401)", () => {
  it("locks out after AXES_FAILURE_LIMIT failures with a JSON body", async () => {
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "2", AXES_COOLOFF_TIME: "1h" });
    const ip = nextIp();
    const first = await gw.request("/api/login/", jsonLogin("erin", "bad", ip));
    expect(first.status).toBe(401);
    // Remaining attempts are never revealed before the lockout.
    expect([...first.headers.keys()].filter((h) => /ratelimit|remaining|retry/i.test(h))).toEqual([]);
    const second = await gw.request("/api/login/", jsonLogin("erin", "bad", ip));
    expect(second.status).toBe(429);
    expect(second.headers.get("retry-after")).toBe("3600");
    expect(await second.json()).toMatchObject({
      error: "locked_out",
      failure_limit: 2,
      failure_count: 2,
      cooloff_time: "PT1H",
      cooloff_seconds: 3600,
    });
  });

  it("answers XHR clients with JSON too", async () => {
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "1" });
    const res = await gw.request("/accounts/login/", formLogin("frank", "x", nextIp(), { "x-requested-with": "XMLHttpRequest" }));
    expect(res.status).toBe(429);
    expect(res.headers.get("content-type")).toContain("application/json");
  });

  it("reads X-Login-Result from the origin over the status and strips it", async () => {
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "2" });
    const ip = nextIp();
    const fail = await gw.request("/api/signin/", jsonLogin("gina", "bad", ip));
    expect(fail.status).toBe(200);
    expect(fail.headers.get("x-login-result")).toBeNull();
    const ok = await gw.request("/api/signin/", jsonLogin(DEMO.username, DEMO.password, ip));
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-login-result")).toBeNull();
    expect((await gw.request("/api/signin/", jsonLogin("gina", "bad", ip))).status).toBe(429);
  });
});

describe("cool-off, reset and lockout settings", () => {
  it("unlocks after AXES_COOLOFF_TIME, counted from the last failure", async () => {
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "2", AXES_COOLOFF_TIME: "3s" });
    const ip = nextIp();
    await gw.request("/api/login/", jsonLogin("hank", "x", ip));
    expect((await gw.request("/api/login/", jsonLogin("hank", "x", ip))).status).toBe(429);
    await sleepUntil(afterLockEnds(Date.now()));
    expect((await gw.request("/api/login/", jsonLogin(DEMO.username, DEMO.password, ip))).status).toBe(200);
  });

  it("restarts the cool-off on a failure during lockout (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT)", async () => {
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "1", AXES_COOLOFF_TIME: "3s", AXES_LOCKOUT_PARAMETERS: '["ip_address"]' });
    const ip = nextIp();
    expect((await gw.request("/api/login/", jsonLogin("ivan", "x", ip))).status).toBe(429);
    const firstLockEnds = afterLockEnds(Date.now());
    await sleep(COOLOFF_MS / 2);
    expect((await gw.request("/api/login/", jsonLogin("ivan", "x", ip))).status).toBe(429); // restarts the 3 s
    await sleepUntil(firstLockEnds);
    expect((await gw.request("/api/login/", jsonLogin(DEMO.username, DEMO.password, ip))).status).toBe(429);
  });

  it("does not extend the cool-off when AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT=false", async () => {
    const gw = gatewayWith({
      AXES_FAILURE_LIMIT: "1",
      AXES_COOLOFF_TIME: "3s",
      AXES_LOCKOUT_PARAMETERS: '["ip_address"]',
      AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT: "false",
    });
    const ip = nextIp();
    expect((await gw.request("/api/login/", jsonLogin("judy", "x", ip))).status).toBe(429);
    const firstLockEnds = afterLockEnds(Date.now());
    await sleep(COOLOFF_MS / 2);
    const during = await gw.request("/api/login/", jsonLogin("judy", "x", ip));
    expect(during.status).toBe(429);
    expect(Number(during.headers.get("retry-after"))).toBeLessThanOrEqual(2); // a restarted cool-off would say 3
    await sleepUntil(firstLockEnds);
    expect((await gw.request("/api/login/", jsonLogin(DEMO.username, DEMO.password, ip))).status).toBe(200);
  });

  it("stays locked with no AXES_COOLOFF_TIME, without Retry-After", async () => {
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "1", AXES_COOLOFF_TIME: "" });
    const res = await gw.request("/api/login/", jsonLogin("kate", "x", nextIp()));
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBeNull();
    expect(await res.json()).toMatchObject({ cooloff_time: null, message: expect.stringContaining("Contact an admin") });
  });

  it("clears the counters on success with AXES_RESET_ON_SUCCESS=true", async () => {
    const gw = gatewayWith({ AXES_RESET_ON_SUCCESS: "true", AXES_LOCKOUT_PARAMETERS: '["ip_address"]' });
    const ip = nextIp();
    await gw.request("/api/login/", jsonLogin("x", "bad", ip));
    await gw.request("/api/login/", jsonLogin("x", "bad", ip));
    expect((await gw.request("/api/login/", jsonLogin(DEMO.username, DEMO.password, ip))).status).toBe(200);
    await gw.request("/api/login/", jsonLogin("x", "bad", ip));
    expect((await gw.request("/api/login/", jsonLogin("x", "bad", ip))).status).toBe(401);
  });

  it("keeps counting across a success when AXES_RESET_ON_SUCCESS=false (axes' default)", async () => {
    const gw = gatewayWith({ AXES_LOCKOUT_PARAMETERS: '["ip_address"]' });
    const ip = nextIp();
    await gw.request("/api/login/", jsonLogin("x", "bad", ip));
    await gw.request("/api/login/", jsonLogin("x", "bad", ip));
    expect((await gw.request("/api/login/", jsonLogin(DEMO.username, DEMO.password, ip))).status).toBe(200);
    expect((await gw.request("/api/login/", jsonLogin("x", "bad", ip))).status).toBe(429);
  });

  it("counts but never refuses with AXES_LOCK_OUT_AT_FAILURE=false", async () => {
    const gw = gatewayWith({ AXES_LOCK_OUT_AT_FAILURE: "false", AXES_FAILURE_LIMIT: "1" });
    const ip = nextIp();
    for (let i = 0; i < 4; i++) expect((await gw.request("/api/login/", jsonLogin("leo", "bad", ip))).status).toBe(401);
    expect((await gw.request("/api/login/", jsonLogin(DEMO.username, DEMO.password, ip))).status).toBe(200);
  });

  it("never locks GET attempts with AXES_NEVER_LOCKOUT_GET=true, but still locks POST", async () => {
    const routes = JSON.stringify([{ path: "/api/login/", methods: ["GET", "POST"], body: ["json"], success: [200], failure: [401, 405] }]);
    const gw = gatewayWith({ LOGIN_ROUTES: routes, AXES_NEVER_LOCKOUT_GET: "true", AXES_FAILURE_LIMIT: "1", AXES_LOCKOUT_PARAMETERS: '["ip_address"]' });
    const ip = nextIp();
    expect((await gw.request("/api/login/", jsonLogin("mia", "bad", ip))).status).toBe(429);
    expect((await gw.request("/api/login/", { ip })).status).not.toBe(429);
    expect((await gw.request("/api/login/", jsonLogin("mia", "bad", ip))).status).toBe(429);
  });

  it("uses AXES_HTTP_RESPONSE_CODE and redirects to AXES_LOCKOUT_URL for browsers", async () => {
    const gw = gatewayWith({ AXES_HTTP_RESPONSE_CODE: "403", AXES_FAILURE_LIMIT: "1", AXES_LOCKOUT_URL: "/locked/" });
    const ip = nextIp();
    const browser = await gw.request("/accounts/login/", formLogin("ned", "x", ip));
    expect(browser.status).toBe(302);
    expect(browser.headers.get("location")).toBe("/locked/");
    const api = await gw.request("/api/login/", jsonLogin("ned", "x", ip));
    expect(api.status).toBe(403);
  });
});

describe("whitelist and blacklist from secrets", () => {
  const lists = { AXES_WHITELIST_IPS: "203.0.113.0/24, 2001:db8:abcd::/48,192.0.2.10", AXES_BLACKLIST_IPS: "192.0.2.66,2001:db8:dead::/64" };

  it("never counts or locks whitelisted IPv4 ranges and IPv6 ranges", async () => {
    const gw = gatewayWith({ ...lists, AXES_FAILURE_LIMIT: "1" });
    for (const ip of ["203.0.113.77", "2001:db8:abcd:12::5", "2001:DB8:ABCD:0:0:0:0:9", "::ffff:192.0.2.10"]) {
      for (let i = 0; i < 3; i++) expect((await gw.request("/api/login/", jsonLogin("olga", "bad", ip))).status).toBe(401);
    }
  });

  it("refuses blacklisted addresses everywhere, before the origin", async () => {
    const gw = gatewayWith(lists);
    await origin.resetStats();
    const login = await gw.request("/api/login/", jsonLogin(DEMO.username, DEMO.password, "192.0.2.66"));
    expect(login.status).toBe(429);
    expect(await login.json()).toMatchObject({ error: "blacklisted" });
    expect((await gw.request("/", { ip: "2001:db8:dead::1" })).status).toBe(429);
    expect((await origin.stats()).requests).toBe(0);
    expect((await gw.request("/", { ip: "2001:db8:beef::1" })).status).toBe(200);
  });
});

describe("IPv6 clients (AXES_IPV6_PREFIX)", () => {
  const net = () => `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:${Math.floor(Math.random() * 0xffff).toString(16)}`;

  it("counts a /64 as one client by default, and IPv4 per address", async () => {
    const gw = gatewayWith({ AXES_LOCKOUT_PARAMETERS: '["ip_address"]', AXES_FAILURE_LIMIT: "2" });
    const a = net();
    expect((await gw.request("/api/login/", jsonLogin("v6-a", "x", `${a}::1`))).status).toBe(401);
    expect((await gw.request("/api/login/", jsonLogin("v6-b", "x", `${a}:ffff:ffff:ffff:fffe`))).status).toBe(429);
    await origin.resetStats();
    expect((await gw.request("/api/login/", jsonLogin(DEMO.username, DEMO.password, `${a}:1234::9`))).status).toBe(429);
    expect((await origin.stats()).requests).toBe(0);
    expect((await gw.request("/api/login/", jsonLogin("v6-c", "x", `${net()}::1`))).status).toBe(401); // another /64
    const [x, y] = [nextIp(), nextIp()];
    expect((await gw.request("/api/login/", jsonLogin("v4-a", "x", x))).status).toBe(401);
    expect((await gw.request("/api/login/", jsonLogin("v4-b", "x", y))).status).toBe(401); // IPv4 neighbours stay apart
  });

  it("groups by the configured prefix: /48 shares, /128 is per address", async () => {
    const wide = gatewayWith({ AXES_LOCKOUT_PARAMETERS: '["ip_address"]', AXES_FAILURE_LIMIT: "2", AXES_IPV6_PREFIX: "48" });
    const site = net().split(":").slice(0, 3).join(":");
    expect((await wide.request("/api/login/", jsonLogin("w-a", "x", `${site}:1::1`))).status).toBe(401);
    expect((await wide.request("/api/login/", jsonLogin("w-b", "x", `${site}:2::1`))).status).toBe(429);
    const exact = gatewayWith({ AXES_LOCKOUT_PARAMETERS: '["ip_address"]', AXES_FAILURE_LIMIT: "2", AXES_IPV6_PREFIX: "128" });
    const a = net();
    expect((await exact.request("/api/login/", jsonLogin("e-a", "x", `${a}::1`))).status).toBe(401);
    expect((await exact.request("/api/login/", jsonLogin("e-b", "x", `${a}::2`))).status).toBe(401);
    expect((await exact.request("/api/login/", jsonLogin("e-c", "x", `${a}::1`))).status).toBe(429);
  });
});
