/** The request pipeline's decisions, step by step, on memory stores in front of a stub origin. */
import { describe, expect, it } from "vitest";
import { StoreError } from "../../src/store/contract";
import { MemoryStore } from "../../src/store/memory";
import { MemorySessionStore } from "../../src/sessions/memory";
import { ADMIN_TOKEN, PASSWORD, formLogin, jsonLogin, memoryStores, statuses, stubOrigin, unitGateway } from "./harness";

/** Memory sessions that count their lookups (touch: one per session cookie read). */
class CountingSessions extends MemorySessionStore {
  touches = 0;
  override touch(...args: Parameters<MemorySessionStore["touch"]>) {
    this.touches += 1;
    return super.touch(...args);
  }
}

describe("blacklist", () => {
  it("refuses a blacklisted address on every path with the lockout status, before the origin", async () => {
    const calls = stubOrigin();
    const gw = unitGateway({ AXES_BLACKLIST_IPS: "203.0.113.0/24", AXES_HTTP_RESPONSE_CODE: "403" });
    expect((await gw.request("/anything", { ip: "203.0.113.9" })).status).toBe(403);
    expect((await gw.request("/accounts/login/", formLogin("alice", PASSWORD, "203.0.113.10"))).status).toBe(403);
    expect(calls).toEqual([]);
    expect((await gw.request("/anything", { ip: "198.51.100.1" })).status).toBe(200);
    expect(calls.map((call) => call.path)).toEqual(["/anything"]);
  });
});

describe("admin prefix", () => {
  it("answers 404 under the prefix when ADMIN_TOKEN is unset, in any spelling, and never reaches the origin", async () => {
    const calls = stubOrigin();
    const gw = unitGateway();
    for (const path of ["/__gateway/health", "/__GATEWAY/health", "/%5F_gateway/lockouts", "/x/../__gateway/"]) {
      const res = await gw.request(path, { ip: "198.51.100.2" });
      expect(res.status, path).toBe(404);
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
    expect(calls).toEqual([]);
  });

  it("wants the bearer token when enabled", async () => {
    const calls = stubOrigin();
    const gw = unitGateway({ ADMIN_TOKEN });
    expect((await gw.request("/__gateway/health", { ip: "198.51.100.3" })).status).toBe(401);
    expect((await gw.request("/__gateway/health", { ip: "198.51.100.3", headers: { authorization: "Bearer wrong-token-0123456789" } })).status).toBe(401);
    const health = await gw.request("/__gateway/health", { ip: "198.51.100.3", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok" });
    expect(calls).toEqual([]);
  });
});

describe("login attempts", () => {
  it("locks the username at the third failure (answered with the lockout) and keeps the origin out after", async () => {
    const calls = stubOrigin();
    const gw = unitGateway({ AXES_FAILURE_LIMIT: "3", AXES_LOCKOUT_PARAMETERS: '["username"]' });
    const attempts = await statuses(gw, "/api/login/", 5, () => jsonLogin("alice", "wrong", `198.51.100.${10 + calls.length}`));
    expect(attempts).toEqual([401, 401, 429, 429, 429]);
    expect(calls).toHaveLength(3);
    // The right password is refused too while the lock stands, still without asking the origin.
    expect((await gw.request("/api/login/", jsonLogin("alice", PASSWORD, "198.51.100.99"))).status).toBe(429);
    expect(calls).toHaveLength(3);
  });

  it("lets a success through, resets nothing by default, and locks a different user separately", async () => {
    const calls = stubOrigin();
    const gw = unitGateway({ AXES_FAILURE_LIMIT: "2", AXES_LOCKOUT_PARAMETERS: '["username"]' });
    expect((await gw.request("/accounts/login/", formLogin("bob", "wrong", "198.51.100.20"))).status).toBe(200);
    const success = await gw.request("/accounts/login/", formLogin("bob", PASSWORD, "198.51.100.20"));
    expect(success.status).toBe(302);
    expect(success.headers.get("set-cookie")).toMatch(/^sessionid=/);
    // AXES_RESET_ON_SUCCESS=false: the earlier failure still counts, so one more locks bob.
    expect((await gw.request("/accounts/login/", formLogin("bob", "wrong", "198.51.100.20"))).status).toBe(429);
    expect((await gw.request("/accounts/login/", formLogin("carol", "wrong", "198.51.100.20"))).status).toBe(200);
    expect(calls.map((call) => call.method)).toEqual(["POST", "POST", "POST", "POST"]);
  });

  it("with AXES_RESET_ON_SUCCESS, a success forgets the failures", async () => {
    stubOrigin();
    const gw = unitGateway({ AXES_FAILURE_LIMIT: "2", AXES_LOCKOUT_PARAMETERS: '["username"]', AXES_RESET_ON_SUCCESS: "true" });
    const ip = "198.51.100.21";
    const sequence = [formLogin("dave", "wrong", ip), formLogin("dave", PASSWORD, ip), formLogin("dave", "wrong", ip), formLogin("dave", "wrong", ip)];
    const answers: number[] = [];
    for (const init of sequence) answers.push((await gw.request("/accounts/login/", init)).status);
    expect(answers).toEqual([200, 302, 200, 429]);
  });

  it("fails closed on a login when every store fails (FAIL_MODE login=closed), open on other traffic", async () => {
    const calls = stubOrigin();
    const broken = new MemoryStore();
    broken.reserve = () => Promise.reject(new StoreError("memory", "unreachable", "the store is down"));
    const gw = unitGateway({ FAIL_MODE: "login=closed,other=open" }, memoryStores(broken));
    const login = await gw.request("/api/login/", jsonLogin("erin", PASSWORD, "198.51.100.22"));
    expect(login.status).toBe(503);
    expect(await login.json()).toMatchObject({ status: 503 });
    expect(calls).toEqual([]);
    expect((await gw.request("/", { ip: "198.51.100.22" })).status).toBe(200);
    expect(calls).toHaveLength(1);
  });
});

describe("edge sessions", () => {
  async function loggedIn(gw: ReturnType<typeof unitGateway>): Promise<string> {
    const res = await gw.request("/accounts/login/", formLogin("frank", PASSWORD, "198.51.100.30"));
    return res.headers.get("set-cookie")!.split(";")[0]!;
  }

  it("strips a revoked session's cookie before the origin and tells the browser to drop it", async () => {
    const calls = stubOrigin();
    const gw = unitGateway({ ADMIN_TOKEN, SESSION_ENFORCEMENT: "strip" });
    const cookie = await loggedIn(gw);
    const revoke = await gw.request("/__gateway/sessions/revoke", {
      method: "POST",
      ip: "198.51.100.31",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ session_id: cookie.split("=")[1] }),
    });
    expect(await revoke.json()).toEqual({ revoked: 1 });
    const res = await gw.request("/page", { ip: "198.51.100.30", headers: { cookie: `${cookie}; csrftoken=abc` } });
    expect(res.status).toBe(200);
    expect(calls.at(-1)!.headers.cookie).toBe("csrftoken=abc");
    expect(res.headers.get("set-cookie")).toMatch(/^sessionid=; /);
  });

  it("answers 401 for a revoked session with SESSION_ENFORCEMENT=reject; an active one passes", async () => {
    const calls = stubOrigin();
    const gw = unitGateway({ ADMIN_TOKEN, SESSION_ENFORCEMENT: "reject" });
    const [revoked, active] = [await loggedIn(gw), await loggedIn(gw)];
    await gw.request("/__gateway/sessions/revoke", {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ session_id: revoked.split("=")[1] }),
    });
    const before = calls.length;
    expect((await gw.request("/page", { ip: "198.51.100.32", headers: { cookie: revoked } })).status).toBe(401);
    expect(calls).toHaveLength(before);
    expect((await gw.request("/page", { ip: "198.51.100.32", headers: { cookie: active } })).status).toBe(200);
    expect(calls).toHaveLength(before + 1);
  });
});

describe("rate limits", () => {
  it("refuses the request past the limit with 429 and Retry-After, and marks allowed ones with RateLimit fields", async () => {
    const calls = stubOrigin();
    const policy = { name: "api", path: "/api/", algorithm: "fixed-window", limit: 2, window: "1h" };
    const gw = unitGateway({ RATE_LIMITS: JSON.stringify([policy]), RATE_LIMIT_HEADERS: "draft-10" });
    const ip = "198.51.100.40";
    const first = await gw.request("/api/items", { ip });
    expect(first.status).toBe(200);
    expect(first.headers.get("ratelimit-policy")).toBe('"api";q=2;w=3600');
    expect(first.headers.get("ratelimit")).toMatch(/^"api";r=1;t=\d+$/);
    expect((await gw.request("/api/items", { ip })).status).toBe(200);
    const refused = await gw.request("/api/items", { ip });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(calls).toHaveLength(2);
    // Another client, and a path outside the policy, are not limited.
    expect((await gw.request("/api/items", { ip: "198.51.100.41" })).status).toBe(200);
    expect((await gw.request("/other", { ip })).status).toBe(200);
  });

  it("runs before the session step: a refused client's session cookie is never looked up", async () => {
    stubOrigin();
    const sessions = new CountingSessions();
    const policy = { name: "api", path: "/api/", algorithm: "fixed-window", limit: 1, window: "1h" };
    const gw = unitGateway({ RATE_LIMITS: JSON.stringify([policy]) }, memoryStores(undefined, sessions));
    const cookie = (await gw.request("/accounts/login/", formLogin("gina", PASSWORD, "198.51.100.42"))).headers.get("set-cookie")!.split(";")[0]!;
    const ip = "198.51.100.43";
    expect((await gw.request("/api/items", { ip, headers: { cookie } })).status).toBe(200);
    expect(sessions.touches).toBe(1);
    expect((await gw.request("/api/items", { ip, headers: { cookie } })).status).toBe(429);
    expect(sessions.touches).toBe(1);
  });

  it("looks the session up once for a policy keyed by user, and only for such a policy", async () => {
    stubOrigin();
    const sessions = new CountingSessions();
    const byUser = { name: "by-user", path: "/api/", algorithm: "fixed-window", limit: 1, window: "1h", key: ["user"] };
    const gw = unitGateway({ RATE_LIMITS: JSON.stringify([byUser]), SESSION_ENFORCEMENT: "off" }, memoryStores(undefined, sessions));
    const cookie = (await gw.request("/accounts/login/", formLogin("hank", PASSWORD, "198.51.100.44"))).headers.get("set-cookie")!.split(";")[0]!;
    expect((await gw.request("/api/items", { ip: "198.51.100.45", headers: { cookie } })).status).toBe(200);
    expect(sessions.touches).toBe(1);
    // Another address, the same user: refused, and the session was read to know the user.
    expect((await gw.request("/api/items", { ip: "198.51.100.46", headers: { cookie } })).status).toBe(429);
    expect(sessions.touches).toBe(2);
    // Outside the policy, SESSION_ENFORCEMENT=off reads no session.
    expect((await gw.request("/other", { ip: "198.51.100.46", headers: { cookie } })).status).toBe(200);
    expect(sessions.touches).toBe(2);
  });
});

describe("proxy headers", () => {
  it("sends the origin the trusted client address and the origin secret, never the client's claims", async () => {
    const calls = stubOrigin();
    const gw = unitGateway({ ORIGIN_SECRET: "origin-secret-0123456789", ORIGIN_SECRET_HEADER: "X-Gateway-Secret" });
    const res = await gw.request("/page?q=1", {
      ip: "2001:DB8::7",
      headers: { "x-forwarded-for": "6.6.6.6", "x-real-ip": "6.6.6.6", forwarded: "for=6.6.6.6", "x-gateway-secret": "forged", "x-custom": "kept" },
    });
    expect(res.status).toBe(200);
    const { headers, path } = calls[0]!;
    expect(path).toBe("/page");
    expect(headers).toMatchObject({
      "x-forwarded-for": "6.6.6.6, 2001:db8::7",
      "x-real-ip": "2001:db8::7",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "gateway.test",
      "x-gateway-secret": "origin-secret-0123456789",
      "x-custom": "kept",
    });
    expect(headers.forwarded).toBeUndefined();
  });

  it("drops hop-by-hop headers both ways; a header the client names in Connection reaches the origin (hono/proxy's default)", async () => {
    const calls = stubOrigin();
    const gw = unitGateway();
    const res = await gw.request("/hop", { ip: "198.51.100.50", headers: { connection: "x-secret-hop", "x-secret-hop": "1", "keep-alive": "timeout=5", te: "trailers" } });
    const { headers } = calls[0]!;
    expect(headers.connection).toBeUndefined();
    expect(headers["keep-alive"]).toBeUndefined();
    expect(headers.te).toBeUndefined();
    expect(headers["x-secret-hop"]).toBe("1");
    // The origin's own Connection-named header is dropped on the way back, and X-Login-Result never reaches the client.
    expect(res.headers.get("x-origin-hop")).toBeNull();
    expect(res.headers.get("connection")).toBeNull();
    expect(res.headers.get("x-login-result")).toBeNull();
  });
});
