/**
 * Issue 10 end to end: the gateway in front of a real Django with the companion (contrib/django)
 * installed -- the admin login, LoginView, django-allauth, Django REST framework's Basic API and a
 * hand-written Basic API, on a case-insensitive backend. A locked username is refused whatever the
 * path or spelling; a success resets only the user the origin named; a request without the origin
 * secret never reaches a view.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { bindings, gatewayWith, nextIp } from "./helpers";

const companionUrl = bindings.TEST_COMPANION_URL!;
const SECRET = "e2e-origin-secret-0123456789abcdef"; // test/django-origin/companion_settings.py
const PASSWORDS: Record<string, string> = { alice: "alice-correct-pw", bob: "bob-correct-pw", carol: "carol-correct-pw", dave: "dave-correct-pw", erin: "erin-correct-pw" };

const ROUTES = JSON.stringify([
  { path: "/accounts/login/" },
  { path: "/admin/login/" },
  { path: "/allauth/login/", usernameField: "login" },
]);
const gateway = (overrides: Record<string, string> = {}) =>
  gatewayWith({
    ORIGIN_URL: companionUrl,
    ORIGIN_SECRET: SECRET,
    LOGIN_ROUTES: ROUTES,
    BASIC_AUTH_PATHS: '["/api/"]',
    AXES_FAILURE_LIMIT: "2",
    AXES_LOCKOUT_PARAMETERS: '["username"]',
    ...overrides,
  });
type Gateway = ReturnType<typeof gateway>;

const log = async () => ((await (await fetch(`${companionUrl}/__test/auth-log`)).json()) as { events: { event: string; username: string | null; path: string }[] }).events;
const viewCalls = async () => ((await (await fetch(`${companionUrl}/__test/view-calls`)).json()) as { calls: string[] }).calls.filter((path) => !path.startsWith("/__test"));
const logins = async (username: string) => (await log()).filter((e) => e.event === "success" && e.username === username).length;

beforeEach(async () => {
  await fetch(`${companionUrl}/__test/auth-log/clear`, { method: "POST" });
});

/** A form login through the gateway as a browser does it: the page first (CSRF cookie and token), then the post. */
async function formLogin(gw: Gateway, path: string, fields: Record<string, string>, ip = nextIp()): Promise<Response> {
  const page = await gw.request(path, { ip });
  const html = await page.text();
  const token = /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(html)?.[1];
  const cookie = page.headers.getSetCookie().find((c) => c.startsWith("csrftoken="))?.split(";")[0];
  if (!token || !cookie) throw new Error(`no CSRF token on ${path} (${page.status})`);
  return gw.request(path, {
    method: "POST",
    ip,
    headers: { "content-type": "application/x-www-form-urlencoded", cookie },
    body: new URLSearchParams({ csrfmiddlewaretoken: token, ...fields }).toString(),
  });
}

const basic = (user: string, password: string) => ({
  authorization: `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(`${user}:${password}`)))}`,
});
const flows = {
  LoginView: (gw: Gateway, user: string, password: string) => formLogin(gw, "/accounts/login/", { username: user, password }),
  admin: (gw: Gateway, user: string, password: string) => formLogin(gw, "/admin/login/?next=/admin/", { username: user, password }),
  allauth: (gw: Gateway, user: string, password: string) => formLogin(gw, "/allauth/login/", { login: user, password }),
  "DRF Basic API": (gw: Gateway, user: string, password: string) => gw.request("/api/drf/", { ip: nextIp(), headers: basic(user, password) }),
  "plain Basic API": (gw: Gateway, user: string, password: string) => gw.request("/api/basic/", { ip: nextIp(), headers: basic(user, password) }),
};

describe("a locked username is refused whatever the path or spelling", () => {
  it.each(Object.keys(flows))("locked by failures elsewhere, its correct password through %s never reaches a password check", async (name) => {
    const gw = gateway();
    const flow = flows[name as keyof typeof flows];
    expect((await flows.LoginView(gw, "alice", "wrong-1")).status).toBe(200);
    expect((await flows["DRF Basic API"](gw, "alice", "wrong-2")).status).toBe(429);
    await fetch(`${companionUrl}/__test/auth-log/clear`, { method: "POST" });
    for (const spelling of ["alice", "ALICE", "alıce", " Alice"]) {
      expect((await flow(gw, spelling, PASSWORDS.alice!)).status).toBe(429);
    }
    expect(await log()).toEqual([]);
  });

  it("logs in through each flow while unlocked, and the origin names the user", async () => {
    const gw = gateway();
    for (const [name, flow] of Object.entries(flows)) {
      if (name === "admin") continue; // bob is not staff: the admin refuses him after a correct password
      const res = await flow(gw, "BOB", PASSWORDS.bob!);
      expect([200, 302]).toContain(res.status);
      expect(res.headers.get("x-login-result")).toBeNull();
    }
    expect(await logins("bob")).toBe(2); // LoginView and allauth; the Basic APIs authenticate without login()
  });
});

describe("a success resets only the user the origin named (AXES_RESET_ON_SUCCESS)", () => {
  it("resets the named user's counters on a success in another spelling", async () => {
    const gw = gateway({ AXES_RESET_ON_SUCCESS: "true", AXES_FAILURE_LIMIT: "3" });
    for (let i = 0; i < 2; i++) expect((await flows.LoginView(gw, "carol", "wrong")).status).toBe(200);
    expect((await flows["DRF Basic API"](gw, "CAROL", PASSWORDS.carol!)).status).toBe(200);
    // Counters cleared: two more failures are still answered by the origin.
    for (let i = 0; i < 2; i++) expect((await flows.LoginView(gw, "carol", "wrong")).status).toBe(200);
  });

  it("with case-sensitive counting, a success for another name than the one counted is a failure for both", async () => {
    const gw = gateway({ AXES_RESET_ON_SUCCESS: "true", AXES_USERNAME_CASE_SENSITIVE: "true" });
    expect((await flows.LoginView(gw, "dave", "wrong")).status).toBe(200);
    // Counted as "DAVE"; the case-insensitive backend logs in "dave": a failure for DAVE and for dave, nothing reset.
    expect((await flows["plain Basic API"](gw, "DAVE", PASSWORDS.dave!)).status).toBe(200);
    expect((await flows.LoginView(gw, "dave", PASSWORDS.dave!)).status).toBe(429);
  });
});

describe("the origin is reachable only through the gateway", () => {
  it("refuses every login flow sent straight to the origin, before any view", async () => {
    const before = (await viewCalls()).length;
    const direct = [
      fetch(`${companionUrl}/accounts/login/`),
      fetch(`${companionUrl}/admin/login/`, { method: "POST", body: new URLSearchParams({ username: "erin", password: PASSWORDS.erin! }) }),
      fetch(`${companionUrl}/api/drf/`, { headers: basic("erin", PASSWORDS.erin!) }),
      fetch(`${companionUrl}/api/basic/`, { headers: { ...basic("erin", PASSWORDS.erin!), "x-gateway-secret": "guessed-secret-0123456789" } }),
    ];
    for (const res of await Promise.all(direct)) expect(res.status).toBe(403);
    expect((await viewCalls()).length).toBe(before);
    expect(await log()).toEqual([]);
  });

  it("reaches the views through the gateway, which sends the secret", async () => {
    const gw = gateway();
    const res = await gw.request("/public/", { ip: nextIp(), headers: { "x-gateway-secret": "forged" } });
    expect(await res.json()).toEqual({ gateway_verified: true, secret_visible: false });
  });
});

describe("password checks on paths that are not login routes", () => {
  it("counts a failure the origin reports anywhere, so the next attempt is locked", async () => {
    const gw = gateway();
    const checks = (user: string) =>
      gw.request("/checks/", { method: "POST", ip: nextIp(), headers: { "content-type": "application/json" }, body: JSON.stringify([{ username: user, password: "wrong" }]) });
    for (let i = 0; i < 2; i++) {
      const res = await checks("erin");
      expect(res.status).toBe(200);
      expect(res.headers.get("x-login-result")).toBeNull();
    }
    expect((await flows.LoginView(gw, "erin", PASSWORDS.erin!)).status).toBe(429);
    expect(await logins("erin")).toBe(0);
  });
});
