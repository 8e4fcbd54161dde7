/**
 * The origin's own word (issue 10, gateway side): the origin secret on every proxied request, HTTP
 * Basic credentials counted as login attempts, and password checks the origin reports on any path.
 */
import { describe, expect, it } from "vitest";
import { DEMO, gatewayWith, jsonLogin, nextIp, origin, statusesOf } from "./helpers";

const basic = (credentials: string) => `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(credentials)))}`;
const echoHeaders = async (res: Response) => ((await res.json()) as { headers: Record<string, string> }).headers;

describe("an origin only the gateway can reach", () => {
  it("sends ORIGIN_SECRET on every proxied request, replacing any copy the client sent", async () => {
    const secret = "s3cret-0123456789abcdef";
    const gw = gatewayWith({ ORIGIN_SECRET: secret });
    const headers = await echoHeaders(await gw.request("/__origin/echo", { ip: nextIp(), headers: { "x-gateway-secret": "forged" } }));
    expect(headers["x-gateway-secret"]).toBe(secret);
    const named = gatewayWith({ ORIGIN_SECRET: secret, ORIGIN_SECRET_HEADER: "X-Edge-Proof" });
    expect((await echoHeaders(await named.request("/__origin/echo", { ip: nextIp() })))["x-edge-proof"]).toBe(secret);
  });

  it("removes a client's copy of the header when no secret is set", async () => {
    const gw = gatewayWith();
    const headers = await echoHeaders(await gw.request("/__origin/echo", { ip: nextIp(), headers: { "x-gateway-secret": "forged" } }));
    expect(headers["x-gateway-secret"]).toBeUndefined();
  });

  it("refuses a short or spaced secret at startup, without echoing it", () => {
    expect(() => gatewayWith({ ORIGIN_SECRET: "short" })).toThrow(/ORIGIN_SECRET: must be at least 16/);
    expect(() => gatewayWith({ ORIGIN_SECRET: "has a space in it 0123" })).not.toThrow(/has a space/);
  });
});

describe("HTTP Basic credentials are login attempts on BASIC_AUTH_PATHS", () => {
  const settings = { BASIC_AUTH_PATHS: '["/api/basic"]', AXES_FAILURE_LIMIT: "2", AXES_LOCKOUT_PARAMETERS: '["username"]' };
  const call = (credentials: string) => () => ({
    ip: nextIp(),
    headers: { authorization: basic(credentials), accept: "application/json" },
  });

  it("counts failures, locks the username and refuses its correct password before the origin", async () => {
    const gw = gatewayWith(settings);
    expect(await statusesOf(gw, "/api/basic/items", 2, call(`${DEMO.username}:wrong`))).toEqual([401, 429]);
    await origin.resetStats();
    expect(await statusesOf(gw, "/API/Basic/other", 1, call(`${DEMO.username.toUpperCase()}:${DEMO.password}`))).toEqual([429]);
    expect((await origin.stats()).requests).toBe(0);
  });

  it("passes correct credentials and gives the reservation back", async () => {
    const gw = gatewayWith(settings);
    expect(await statusesOf(gw, "/api/basic/items", 1, call(`${DEMO.username}:wrong`))).toEqual([401]);
    expect(await statusesOf(gw, "/api/basic/items", 3, call(`${DEMO.username}:${DEMO.password}`))).toEqual([200, 200, 200]);
    expect(await statusesOf(gw, "/api/basic/items", 1, call(`${DEMO.username}:wrong`))).toEqual([429]);
  });

  it("forwards the credentials re-encoded with the canonical username", async () => {
    const gw = gatewayWith({ ...settings, BASIC_AUTH_PATHS: '["/__origin/echo"]' });
    const res = await gw.request("/__origin/echo", { ip: nextIp(), headers: { authorization: `basic ${basic(" Alice\x1f:pa:ss").slice(6)}` } });
    expect((await echoHeaders(res)).authorization).toBe(basic("Alice:pa:ss"));
  });

  it.each([
    ["unpadded base64", `Basic ${btoa("demo:x").replace(/=+$/, "")}x`],
    ["characters outside base64", "Basic ZGVt*bzp4"],
    ["two Authorization headers", `${basic("a:b")}, ${basic("demo:x")}`],
    ["no colon", basic("demo")],
    ["two spaces after the scheme", `Basic  ${btoa("demo:x")}`],
    ["bytes that are not UTF-8", `Basic ${btoa("\xffdemo:x")}`],
  ])("refuses %s with 400 before the origin", async (_name, authorization) => {
    const gw = gatewayWith(settings);
    await origin.resetStats();
    const res = await gw.request("/api/basic/items", { ip: nextIp(), headers: { authorization } });
    expect(res.status).toBe(400);
    expect((await origin.stats()).requests).toBe(0);
  });

  it("leaves other paths and other schemes alone", async () => {
    const gw = gatewayWith(settings);
    for (let i = 0; i < 3; i++) {
      expect((await gw.request("/__origin/echo", call(`${DEMO.username}:wrong`)())).status).toBe(200);
      expect((await gw.request("/api/basic/items", { ip: nextIp(), headers: { authorization: "Bearer abc" } })).status).toBe(401);
    }
    expect(await statusesOf(gw, "/api/basic/items", 1, call(`${DEMO.username}:${DEMO.password}`))).toEqual([200]);
  });

  it("refuses Basic credentials on a login route that also reads a body", async () => {
    const gw = gatewayWith({ ...settings, BASIC_AUTH_PATHS: '["/"]' });
    const res = await gw.request("/api/login/", { ...jsonLogin("a", "b", nextIp()), headers: { "content-type": "application/json", authorization: basic("demo:x") } });
    expect(res.status).toBe(400);
  });
});

describe("password checks the origin reports on any path", () => {
  const report = (result: string) => `/__origin/echo?loginResult=${encodeURIComponent(result)}`;

  it("counts a reported failure after the fact, and the next login attempt is locked", async () => {
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "2", AXES_LOCKOUT_PARAMETERS: '["username"]' });
    for (let i = 0; i < 2; i++) {
      const res = await gw.request(report("failure; username=Zed"), { ip: nextIp() });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-login-result")).toBeNull();
    }
    await origin.resetStats();
    expect((await gw.request("/api/login/", jsonLogin("zed", "any", nextIp()))).status).toBe(429);
    expect((await origin.stats()).requests).toBe(0);
  });

  it("resets the named user's counters on a reported success with AXES_RESET_ON_SUCCESS", async () => {
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "2", AXES_LOCKOUT_PARAMETERS: '["username"]', AXES_RESET_ON_SUCCESS: "true" });
    expect((await gw.request("/api/login/", jsonLogin("yan", "bad", nextIp()))).status).toBe(401);
    await (await gw.request(report("success; username=yan"), { ip: nextIp() })).text();
    expect((await gw.request("/api/login/", jsonLogin("yan", "bad", nextIp()))).status).toBe(401);
  });

  it("counts a failure for the user the origin named when it differs from the one counted", async () => {
    const routes = JSON.stringify([
      { path: "/api/login/", body: ["json"], success: [200], failure: [401] },
      { path: "/__origin/echo", body: ["json"], success: [200], failure: [401] },
    ]);
    const gw = gatewayWith({ LOGIN_ROUTES: routes, AXES_FAILURE_LIMIT: "1", AXES_LOCKOUT_PARAMETERS: '["username"]' });
    // Counted as "victim", the origin says it logged in "mallory": a failure for both, so both are locked.
    const res = await gw.request(report("success; username=mallory"), jsonLogin("victim", "x", nextIp()));
    expect(res.status).toBe(429);
    expect((await gw.request("/api/login/", jsonLogin("mallory", "x", nextIp()))).status).toBe(429);
    expect((await gw.request("/api/login/", jsonLogin("victim", "x", nextIp()))).status).toBe(429);
  });
});
