/**
 * The login parsing contract end to end, against the demo origin: every method on a login path is
 * decided, the origin receives the gateway's canonical reading, and a success needs evidence.
 */
import { describe, expect, it } from "vitest";
import { DEMO, formLogin, gatewayWith, jsonLogin, nextIp, origin } from "./helpers";

interface Echo {
  method: string;
  headers: Record<string, string>;
  bodyBase64: string;
}
const echoed = async (res: Response) => {
  const echo = (await res.json()) as Echo;
  return { ...echo, body: new TextDecoder().decode(Uint8Array.from(atob(echo.bodyBase64), (c) => c.charCodeAt(0))) };
};

/** The demo origin's echo route as a login route, so a test sees exactly what the origin received. */
const ECHO_ROUTE = (extra: object = {}) => JSON.stringify([{ path: "/__origin/echo", body: ["form", "multipart", "json"], success: [200], failure: [401], ...extra }]);

describe("every method on a login path is decided", () => {
  it.each(["PUT", "PATCH", "DELETE"])("refuses %s on a JSON login path with 405, never reaching the origin", async (method) => {
    const gw = gatewayWith();
    await origin.resetStats();
    const res = await gw.request("/api/login/", { ...jsonLogin(DEMO.username, DEMO.password, nextIp()), method });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST, GET, HEAD, OPTIONS");
    expect((await origin.stats()).requests).toBe(0);
  });

  it("refuses an OPTIONS request with a body, and passes a bodiless one uncounted", async () => {
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "1", AXES_LOCKOUT_PARAMETERS: '["ip_address"]' });
    const ip = nextIp();
    await origin.resetStats();
    expect((await gw.request("/api/login/", { ...jsonLogin("x", "y", ip), method: "OPTIONS" })).status).toBe(405);
    expect((await origin.stats()).requests).toBe(0);
    await gw.request("/api/login/", { method: "OPTIONS", ip });
    expect((await origin.stats()).requests).toBe(1);
    // Nothing was counted: the first real failure is still answered by the origin.
    expect((await gw.request("/api/login/", jsonLogin("x", "bad", ip))).status).toBe(429);
    expect((await origin.stats()).loginAttempts["/api/login/"]).toBe(1);
  });

  it("serves the login form to a bodiless GET, uncounted, even for a locked client", async () => {
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "1", AXES_LOCKOUT_PARAMETERS: '["ip_address"]' });
    const ip = nextIp();
    expect((await gw.request("/accounts/login/", formLogin("x", "bad", ip))).status).toBe(429);
    const page = await gw.request("/accounts/login/", { ip });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<form");
  });

  it("refuses a username in the query string, whatever the method or spelling", async () => {
    const gw = gatewayWith();
    await origin.resetStats();
    for (const query of ["?username=demo", "?User%6Eame=demo", "?%20username=demo", "?a=1;username=demo"]) {
      expect((await gw.request(`/accounts/login/${query}`, formLogin("other", "x", nextIp()))).status).toBe(400);
      expect((await gw.request(`/accounts/login/${query}`, { ip: nextIp() })).status).toBe(400);
    }
    expect((await origin.stats()).requests).toBe(0);
  });
});

describe("the origin receives the gateway's reading", () => {
  it("forwards a form re-encoded as UTF-8 with the username stripped and NFKC-normalised", async () => {
    const gw = gatewayWith({ LOGIN_ROUTES: ECHO_ROUTE() });
    const res = await gw.request("/__origin/echo", {
      method: "POST",
      ip: nextIp(),
      headers: { "content-type": "application/x-www-form-urlencoded; charset=UTF-8" },
      body: "username=%E2%80%83%EF%BC%A1lice%1F&password=p%C3%A4ss",
    });
    const echo = await echoed(res);
    expect(echo.headers["content-type"]).toBe("application/x-www-form-urlencoded; charset=utf-8");
    expect(echo.body).toBe("username=Alice&password=p%C3%A4ss");
    expect(echo.headers["content-length"]).toBe(String(echo.body.length));
  });

  it("forwards multipart rebuilt under the gateway's boundary, and JSON re-serialised", async () => {
    const gw = gatewayWith({ LOGIN_ROUTES: ECHO_ROUTE() });
    const data = new FormData();
    data.set("username", " bob ");
    data.set("password", "x");
    const multipart = await echoed(await gw.request("/__origin/echo", { method: "POST", ip: nextIp(), body: data }));
    const boundary = /^multipart\/form-data; boundary=(gateway-[0-9a-f]{32})$/.exec(multipart.headers["content-type"]!)?.[1];
    expect(boundary).toBeDefined();
    expect(multipart.body).toContain(`--${boundary}\r\nContent-Disposition: form-data; name="username"\r\n\r\nbob\r\n`);
    const json = await echoed(await gw.request("/__origin/echo", jsonLogin("\u3000carol", "x", nextIp())));
    expect(json.body).toBe('{"username":"carol","password":"x"}');
  });

  it("counts a username padded with Python whitespace as the plain username", async () => {
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "2", AXES_LOCKOUT_PARAMETERS: '["username"]' });
    expect((await gw.request("/api/login/", jsonLogin("dave", "bad", nextIp()))).status).toBe(401);
    expect((await gw.request("/api/login/", jsonLogin("Dave\x1f", "bad", nextIp()))).status).toBe(429);
    for (const spelling of ["dave\x85", "\u3000DAVE", "ｄａｖｅ", "dave\x1c"]) {
      expect((await gw.request("/api/login/", jsonLogin(spelling, "bad", nextIp()))).status).toBe(429);
    }
  });

  it.each([
    ["a charset other than UTF-8", { "content-type": "application/x-www-form-urlencoded; charset=utf-7" }, "username=demo", 415],
    ["JSON labelled as a form", { "content-type": "application/x-www-form-urlencoded" }, JSON.stringify(DEMO), 415],
    ["a duplicate username", { "content-type": "application/x-www-form-urlencoded" }, "username=a&username=demo", 400],
  ])("refuses %s before the origin", async (_name, headers, body, status) => {
    const gw = gatewayWith();
    await origin.resetStats();
    expect((await gw.request("/accounts/login/", { method: "POST", ip: nextIp(), headers, body })).status).toBe(status);
    expect((await origin.stats()).requests).toBe(0);
  });

  it("refuses a body type the route does not declare with 415", async () => {
    const gw = gatewayWith();
    const res = await gw.request("/api/login/", formLogin(DEMO.username, DEMO.password, nextIp()));
    expect(res.status).toBe(415);
    expect(await res.text()).toContain("accepts application/json, not application/x-www-form-urlencoded");
  });

  it("answers a lone surrogate in a JSON username with 400, not 500", async () => {
    const gw = gatewayWith();
    const res = await gw.request("/api/login/", { method: "POST", ip: nextIp(), headers: { "content-type": "application/json" }, body: '{"username":"\\ud800","password":"x"}' });
    expect(res.status).toBe(400);
  });
});

describe("a success needs evidence", () => {
  /** One failure for `victim` on the JSON route, then `attempt`, then another failure: locked only if nothing was reset. */
  async function lockedAfter(gw: ReturnType<typeof gatewayWith>, victim: string, attempt: () => Promise<Response>): Promise<number> {
    expect((await gw.request("/api/login/", jsonLogin(victim, "bad", nextIp()))).status).toBe(401);
    await (await attempt()).body?.cancel();
    return (await gw.request("/api/login/", jsonLogin(victim, "bad", nextIp()))).status;
  }
  const settings = { AXES_FAILURE_LIMIT: "2", AXES_LOCKOUT_PARAMETERS: '["username"]', AXES_RESET_ON_SUCCESS: "true" };

  /** The JSON login, and the echo route as a login whose every answer is a success status without a session cookie. */
  const routes = (echo: object = {}) =>
    JSON.stringify([
      { path: "/api/login/", body: ["json"], success: [200], failure: [401] },
      { path: "/__origin/echo", body: ["form", "json"], success: [200], failure: [401], ...echo },
    ]);
  const cookieless = (gw: ReturnType<typeof gatewayWith>, username: string) => async () => {
    const res = await gw.request("/__origin/echo", formLogin(username, "any", nextIp(), { cookie: "sessionid=attacker" }));
    expect(res.status).toBe(200);
    return res;
  };

  it("does not count a success status without a new session cookie (a redirect of a signed-in client)", async () => {
    const gw = gatewayWith({ ...settings, LOGIN_ROUTES: routes() });
    expect(await lockedAfter(gw, "victim-a", cookieless(gw, "victim-a"))).toBe(429);
  });

  it("still resets on a success that sets the session cookie", async () => {
    const gw = gatewayWith(settings);
    const status = await lockedAfter(gw, DEMO.username, () => gw.request("/api/login/", jsonLogin(DEMO.username, DEMO.password, nextIp())));
    expect(status).toBe(401);
  });

  it("lets a route opt out of the cookie evidence", async () => {
    const gw = gatewayWith({ ...settings, LOGIN_ROUTES: routes({ requireSessionCookie: false }) });
    expect(await lockedAfter(gw, "victim-b", cookieless(gw, "victim-b"))).toBe(401);
  });

  it("treats a success for another username than the one counted as a failure, and resets nothing", async () => {
    const gw = gatewayWith({ ...settings, AXES_FAILURE_LIMIT: "3", LOGIN_ROUTES: routes() });
    const mismatch = () => gw.request(`/__origin/echo?loginResult=${encodeURIComponent("success; username=mallory")}`, jsonLogin("victim-c", "any", nextIp()));
    expect((await gw.request("/api/login/", jsonLogin("victim-c", "bad", nextIp()))).status).toBe(401);
    const res = await mismatch();
    expect(res.status).toBe(200);
    expect(res.headers.get("x-login-result")).toBeNull();
    // Two failures now (the mismatch counted as one): the third locks.
    expect((await gw.request("/api/login/", jsonLogin("victim-c", "bad", nextIp()))).status).toBe(429);
  });

  it("accepts the origin's named success for the counted user in any spelling it normalises to", async () => {
    const gw = gatewayWith({ ...settings, LOGIN_ROUTES: routes() });
    const status = await lockedAfter(gw, "erik", () =>
      gw.request(`/__origin/echo?loginResult=${encodeURIComponent(`success; username=${encodeURIComponent("Erik")}`)}`, jsonLogin("erik", "any", nextIp())),
    );
    expect(status).toBe(401);
  });
});
