/** Edge sessions against the real Redis (and Postgres for the fallback), with the demo origin's real cookies. */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEMO, bridge, clearFaults, formLogin, gatewayWith, jsonLogin, logsOf, neonHttp, nextHourStart, nextIp, origin, pinClock, postgres } from "./helpers";

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

/** What the origin received: the Cookie header of an echoed request. */
async function cookieAtOrigin(gw: ReturnType<typeof gatewayWith>, cookie: string): Promise<{ status: number; cookie: string | null; setCookie: string[] }> {
  const res = await gw.request("/__origin/echo", { ip: nextIp(), headers: { cookie } });
  const setCookie = res.headers.getSetCookie();
  if (res.status !== 200) return { status: res.status, cookie: null, setCookie };
  const { headers } = (await res.json()) as { headers: Record<string, string> };
  return { status: res.status, cookie: headers.cookie ?? null, setCookie };
}

/** Spellings of one session id that Django's parse_cookie reads as that id and a plain reader does not. */
const spellings = (id: string) => [
  `sessionid="\\${id}"`, // "\abc": Django unescapes \a to a
  `sessionid="\\${id.slice(0, 1)}${id.slice(1)}"`,
  `sessionid="\\${id.charCodeAt(0).toString(8).padStart(3, "0")}${id.slice(1)}"`, // octal escape of the first character
  `sessionid="${id}"`,
  `\x0bsessionid=${id}`,
  `sessionid\x0c=${id}`,
  `\x1csessionid=${id}\x1f`,
  `sessionid=${id}\xa0`,
  `\xc2\xa0sessionid=${id}`, // a UTF-8 NBSP as a runtime handing header bytes over as Latin-1 would show it
  `sessionid=\x85${id}`,
];

describe("session cookies read as the origin reads them", () => {
  for (const enforcement of ["strip", "reject"] as const) {
    it(`refuses a revoked session hidden behind a decoy of the same name (SESSION_ENFORCEMENT=${enforcement})`, async () => {
      const gw = gatewayWith({ ADMIN_TOKEN, SESSION_ENFORCEMENT: enforcement });
      const cookie = await login(gw);
      await admin(gw, "/sessions/revoke", { session_id: cookie.split("=")[1] });
      await origin.resetStats();
      const lines = await logsOf(async () => {
        const res = await gw.request("/", { ip: nextIp(), headers: { cookie: `sessionid=decoy; ${cookie}` } });
        if (enforcement === "reject") expect(res.status).toBe(401);
        else expect(await res.text()).not.toContain("Logged in as");
      });
      expect(lines.some((l) => l.includes('"event":"session_refused"') && l.includes('"state":"revoked"') && l.includes('"cookies":2'))).toBe(true);
      if (enforcement === "reject") expect((await origin.stats()).requests).toBe(0);
      else expect(await cookieAtOrigin(gw, `sessionid=decoy; a=1; ${cookie}; sessionid=x`)).toMatchObject({ status: 200, cookie: "a=1" });
    });

    it(`refuses several session cookies unless every one is active (SESSION_ENFORCEMENT=${enforcement})`, async () => {
      const gw = gatewayWith({ SESSION_ENFORCEMENT: enforcement });
      const [one, two] = [await login(gw), await login(gw)];
      const both = await gw.request("/", { ip: nextIp(), headers: { cookie: `${one}; ${two}` } });
      expect(await both.text()).toContain("Logged in as"); // both known and active: passes as sent
      await origin.resetStats();
      const withUnknown = await cookieAtOrigin(gw, `${one}; sessionid=never-seen-by-the-gateway; b=2`);
      if (enforcement === "reject") {
        expect(withUnknown.status).toBe(401);
        expect((await origin.stats()).requests).toBe(0);
      } else {
        expect(withUnknown).toMatchObject({ status: 200, cookie: "b=2" });
        expect(withUnknown.setCookie.some((c) => c.startsWith("sessionid=; Max-Age=0"))).toBe(true);
      }
    });

    it(`refuses more than 4 session cookies without asking the store (SESSION_ENFORCEMENT=${enforcement})`, async () => {
      const gw = gatewayWith({ SESSION_ENFORCEMENT: enforcement });
      const cookie = await login(gw);
      await bridge.resetStats();
      const four = await gw.request("/", { ip: nextIp(), headers: { cookie: Array(4).fill(cookie).join("; ") } });
      expect(await four.text()).toContain("Logged in as");
      expect((await bridge.stats()).requests).toBe(4);
      await bridge.resetStats();
      const five = await cookieAtOrigin(gw, `${Array(5).fill(cookie).join("; ")}; c=3`);
      expect((await bridge.stats()).requests).toBe(0);
      if (enforcement === "reject") expect(five.status).toBe(401);
      else expect(five).toMatchObject({ status: 200, cookie: "c=3" });
    });

    it(`treats every ambiguous spelling of a revoked session as refused (SESSION_ENFORCEMENT=${enforcement})`, async () => {
      const gw = gatewayWith({ ADMIN_TOKEN, SESSION_ENFORCEMENT: enforcement });
      const cookie = await login(gw);
      const id = cookie.split("=")[1]!;
      await admin(gw, "/sessions/revoke", { session_id: id });
      for (const spelling of spellings(id)) {
        await origin.resetStats();
        const lines = await logsOf(async () => {
          const seen = await cookieAtOrigin(gw, `a=1; ${spelling}; b=2`);
          if (enforcement === "reject") {
            expect(seen.status, spelling).toBe(401);
            expect((await origin.stats()).requests, spelling).toBe(0);
          } else {
            expect(seen, spelling).toMatchObject({ status: 200, cookie: "a=1; b=2" });
          }
        });
        expect(lines.filter((l) => l.includes('"event":"session_refused"') && l.includes('"state":"ambiguous"')), spelling).toHaveLength(1);
      }
    });
  }

  it("treats an ambiguous spelling of a cookie it never saw as an unknown session: refused, not passed", async () => {
    const gw = gatewayWith({ SESSION_ENFORCEMENT: "reject" });
    await origin.resetStats();
    expect((await gw.request("/", { ip: nextIp(), headers: { cookie: 'sessionid="\\never-seen"' } })).status).toBe(401);
    expect((await gw.request("/", { ip: nextIp(), headers: { cookie: "sessionid=never-seen" } })).status).toBe(200);
    expect((await origin.stats()).requests).toBe(1);
  });

  it("refuses a percent-encoded spelling of a revoked session, which origins that decode cookies read as the session", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN, SESSION_ENFORCEMENT: "reject" });
    const cookie = await login(gw);
    const id = cookie.split("=")[1]!;
    await admin(gw, "/sessions/revoke", { session_id: id });
    await origin.resetStats();
    const encoded = `%${id.charCodeAt(0).toString(16)}${id.slice(1, 5)}%${id.charCodeAt(5).toString(16).toUpperCase()}${id.slice(6)}`;
    expect((await gw.request("/", { ip: nextIp(), headers: { cookie: `sessionid=${encoded}` } })).status).toBe(401);
    expect((await origin.stats()).requests).toBe(0);
  });

  it("forgets an active session on logout with SESSION_ENFORCEMENT=off too", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN, SESSION_ENFORCEMENT: "off" });
    const cookie = await login(gw);
    const before = (await (await admin(gw, "/sessions?username=demo")).json()) as { sessions: unknown[] };
    await gw.request("/accounts/logout/", { method: "POST", ip: nextIp(), headers: { cookie } });
    const after = (await (await admin(gw, "/sessions?username=demo")).json()) as { sessions: unknown[] };
    expect(after.sessions.length).toBe(before.sessions.length - 1);
  });

  it("keeps a revoked session revoked when it is sent to a logout route", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN, SESSION_ENFORCEMENT: "strip" });
    const cookie = await login(gw);
    await admin(gw, "/sessions/revoke", { session_id: cookie.split("=")[1] });
    const logout = await gw.request("/accounts/logout/", { method: "POST", ip: nextIp(), headers: { cookie } });
    expect(logout.status).toBe(302);
    // The origin never saw the cookie, so its own session is still open: only the edge stands in the way.
    for (let i = 0; i < 2; i++) expect(await (await home(gw, cookie)).text()).not.toContain("Logged in as");
    const listed = (await (await admin(gw, "/sessions?username=demo")).json()) as { sessions: { state: string }[] };
    expect(listed.sessions.filter((s) => s.state === "revoked")).toHaveLength(1);
  });

  it("refuses a revoked session on a login route too, and keeps the new session a login sets", async () => {
    const rejecting = gatewayWith({ ADMIN_TOKEN, SESSION_ENFORCEMENT: "reject" });
    const old = await login(rejecting);
    await admin(rejecting, "/sessions/revoke", { session_id: old.split("=")[1] });
    await origin.resetStats();
    const refused = await rejecting.request("/accounts/login/", { ...formLogin(DEMO.username, DEMO.password, nextIp()), headers: { "content-type": "application/x-www-form-urlencoded", cookie: old } });
    expect(refused.status).toBe(401);
    expect((await origin.stats()).requests).toBe(0);

    const stripping = gatewayWith({ ADMIN_TOKEN, SESSION_ENFORCEMENT: "strip" });
    const revoked = await login(stripping);
    await admin(stripping, "/sessions/revoke", { session_id: revoked.split("=")[1] });
    await origin.resetStats();
    const res = await stripping.request("/accounts/login/", { ...formLogin(DEMO.username, DEMO.password, nextIp()), headers: { "content-type": "application/x-www-form-urlencoded", cookie: revoked } });
    expect(res.status).toBe(302);
    expect((await origin.stats()).lastLoginHeaders?.cookie).toBeUndefined();
    const set = res.headers.getSetCookie().filter((c) => c.startsWith("sessionid="));
    expect(set).toHaveLength(1); // the origin's new session, not followed by a deletion
    expect(set[0]).not.toMatch(/^sessionid=;/);
    expect(await (await home(stripping, set[0]!.split(";")[0]!)).text()).toContain("Logged in as");
  });
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
    // Upstash (where the session was recorded) cannot be asked; Postgres now refuses it: one session revoked.
    expect(await (await admin(gw, "/sessions/revoke", { session_id: cookie.split("=")[1] })).json()).toEqual({ revoked: 1 });
    expect((await home(gw, cookie)).status).toBe(401); // Postgres holds the tombstone
    await bridge.fault({ mode: "none" });
    clock.advance(1000);
    const ctx = createExecutionContext();
    const drawsProbe = await gw.request("/", { ip: nextIp(), headers: { cookie: `${cookie}; csrftoken=abc` }, ctx });
    expect(drawsProbe.status).toBe(401); // answered by Postgres; the probe copies the revocation into Upstash meanwhile
    await waitOnExecutionContext(ctx);
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

