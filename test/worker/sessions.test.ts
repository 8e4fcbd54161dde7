/** Edge sessions against the real Redis (and Postgres for the fallback), with the demo origin's real cookies. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEMO, bridge, clearFaults, formLogin, gatewayWith, jsonLogin, neonHttp, nextHourStart, nextIp, origin, pinClock, postgres } from "./helpers";

const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";
const admin = (gw: ReturnType<typeof gatewayWith>, path: string, body?: object) =>
  gw.request(`/__gateway${path}`, {
    method: body ? "POST" : "GET",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: body && JSON.stringify(body),
  });

/** Logs the demo user in through the gateway; answers the session cookie the origin set. */
async function login(gw: ReturnType<typeof gatewayWith>, ip = nextIp()): Promise<string> {
  const res = await gw.request("/accounts/login/", formLogin(DEMO.username, DEMO.password, ip));
  expect(res.status).toBe(302);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith("sessionid="))!;
  return cookie.split(";")[0]!;
}

const home = (gw: ReturnType<typeof gatewayWith>, cookie: string) => gw.request("/", { ip: nextIp(), headers: { cookie: `${cookie}; csrftoken=abc` } });

afterEach(async () => {
  vi.useRealTimers();
  await clearFaults();
});

describe("edge sessions", () => {
  for (const enforcement of ["strip", "reject", "off"] as const) {
    it(`handles a revoked session's next request at the edge with SESSION_ENFORCEMENT=${enforcement}`, async () => {
      const gw = gatewayWith({ ADMIN_TOKEN, SESSION_ENFORCEMENT: enforcement });
      const cookie = await login(gw);
      expect(await (await home(gw, cookie)).text()).toContain("demo"); // the origin sees the session
      expect(await (await admin(gw, "/sessions/revoke", { username: "Demo" })).json()).toEqual({ revoked: 1 });

      await origin.resetStats();
      const after = await home(gw, cookie);
      if (enforcement === "reject") {
        expect(after.status).toBe(401);
        expect(after.headers.get("set-cookie")).toMatch(/^sessionid=; Max-Age=0/);
        expect((await origin.stats()).requests).toBe(0); // the origin never saw it
      } else if (enforcement === "strip") {
        expect(after.status).toBe(200);
        const page = await after.text();
        expect(page).not.toContain("Logged in as");
        expect(after.headers.getSetCookie().some((c) => c.startsWith("sessionid=; Max-Age=0"))).toBe(true);
        const echo = await gw.request("/__origin/echo", { ip: nextIp(), headers: { cookie: `${cookie}; csrftoken=abc` } });
        const { headers } = (await echo.json()) as { headers: Record<string, string> };
        expect(headers.cookie).toBe("csrftoken=abc"); // the origin got the request without the session
      } else {
        expect(await after.text()).toContain("Logged in as");
      }
    });
  }

  it("costs one round trip with a session cookie and none without", async () => {
    const gw = gatewayWith();
    const cookie = await login(gw);
    await bridge.resetStats();
    await (await home(gw, cookie)).text();
    expect((await bridge.stats()).requests).toBe(1);
    await bridge.resetStats();
    await (await gw.request("/", { ip: nextIp() })).text();
    expect((await bridge.stats()).requests).toBe(0);
  });

  it("lets cookies the registry never saw through", async () => {
    const gw = gatewayWith({ SESSION_ENFORCEMENT: "reject" });
    expect((await gw.request("/", { ip: nextIp(), headers: { cookie: "sessionid=never-seen" } })).status).toBe(200);
  });

  it("treats a session idle for SESSION_TIMEOUT as expired, and slides it while in use", async () => {
    // Idle time is measured on the gateway's clock (Date.now), pinned here: a slow request cannot age the session.
    const clock = pinClock();
    const gw = gatewayWith({ SESSION_TIMEOUT: "1500ms", SESSION_ENFORCEMENT: "reject" });
    const cookie = await login(gw);
    clock.advance(900);
    expect((await home(gw, cookie)).status).toBe(200); // slides
    clock.advance(900);
    expect((await home(gw, cookie)).status).toBe(200); // 1.8 s after the login: alive only because it slid
    clock.advance(1501);
    expect((await home(gw, cookie)).status).toBe(401);
  });

  it("forgets the session on logout, and keeps records apart from the counters", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN });
    const cookie = await login(gw);
    const listed = (await (await admin(gw, "/sessions?username=demo")).json()) as { sessions: { id: string; ip: string; state: string }[] };
    expect(listed.sessions.some((s) => s.state === "active")).toBe(true);
    const before = listed.sessions.length;
    await gw.request("/accounts/logout/", { method: "POST", ip: nextIp(), headers: { cookie } });
    const after = (await (await admin(gw, "/sessions?username=demo")).json()) as { sessions: unknown[] };
    expect(after.sessions.length).toBe(before - 1);
    expect(JSON.stringify(listed)).not.toContain(cookie.split("=")[1]); // never the raw session id
  });

  it("revokes one session by its id and leaves the user's others alone", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN, SESSION_ENFORCEMENT: "reject" });
    const first = await login(gw);
    const second = await login(gw);
    expect(await (await admin(gw, "/sessions/revoke", { session_id: first.split("=")[1] })).json()).toEqual({ revoked: 1 });
    expect((await home(gw, first)).status).toBe(401);
    expect((await home(gw, second)).status).toBe(200);
  });

  it("falls back to Postgres, and a revocation made while Upstash is down still holds after it returns", async () => {
    const clock = pinClock(); // the breaker's cool-down passes only when the test says so
    const gw = gatewayWith({ ...postgres, ADMIN_TOKEN, SESSION_ENFORCEMENT: "reject", CIRCUIT_BREAKER_FAILURES: "1", CIRCUIT_BREAKER_COOLDOWN: "1s" });
    const cookie = await login(gw);
    await bridge.fault({ mode: "error", status: 500 });
    expect((await home(gw, cookie)).status).toBe(200);
    expect(await (await admin(gw, "/sessions/revoke", { session_id: cookie.split("=")[1] })).json()).toEqual({ revoked: 0 });
    expect((await home(gw, cookie)).status).toBe(401); // Postgres holds the tombstone
    await bridge.fault({ mode: "none" });
    clock.advance(1000);
    expect((await home(gw, cookie)).status).toBe(401); // the probe copies the revocation into Upstash
    await neonHttp.fault({ mode: "down" });
    expect((await home(gw, cookie)).status).toBe(401); // Upstash alone now knows it
  });

  it("keys a rate limit by the edge session's user, and anonymous requests by IP", async () => {
    pinClock(nextHourStart()); // a window's start: the requests cannot straddle two windows
    const policy = { name: "per-user", path: "/__origin/", algorithm: "fixed-window", limit: 2, window: "1m", key: ["user"] };
    const gw = gatewayWith({ RATE_LIMITS: JSON.stringify([policy]), SESSION_ENFORCEMENT: "off" });
    const [one, two] = [await login(gw), await login(gw)];
    const echo = (cookie?: string) => gw.request("/__origin/echo", { ip: nextIp(), headers: cookie ? { cookie } : {} }).then((r) => r.status);
    expect([await echo(one), await echo(two), await echo(one)]).toEqual([200, 200, 429]); // one user, two sessions, many IPs
    expect([await echo(), await echo()]).toEqual([200, 200]); // anonymous: each IP on its own
  });
});

