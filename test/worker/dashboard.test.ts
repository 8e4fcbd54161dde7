/** The dashboard through the app: sign-in, the signed cookie, CSRF refusals, no-store, resets (Chromium: test/node/dashboard.test.ts). */
import { describe, expect, it } from "vitest";
import { DashboardSessions, SESSION_COOKIE } from "../../src/admin/dashboard/session";
import { type TestGateway, gatewayWith, jsonLogin, nextIp, statusesOf } from "./helpers";

const TOKEN = "dashboard-test-token-0123456789";
const SITE = "https://gateway.test";

function signInForm(token: string, extra: Record<string, string> = { origin: SITE }): RequestInit {
  return { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...extra }, body: new URLSearchParams({ token }).toString() };
}

async function signedIn(gw: TestGateway): Promise<string> {
  const res = await gw.request("/__gateway/dashboard/sign-in", signInForm(TOKEN));
  expect(res.status).toBe(303);
  const cookie = res.headers.get("set-cookie")!;
  return cookie.split(";")[0]!;
}

describe("the dashboard", () => {
  it("shows the sign-in form, refuses a wrong token, and sets a short, signed, HttpOnly, Secure, SameSite=Strict cookie", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN: TOKEN });
    const form = await gw.request("/__gateway/");
    expect(form.status).toBe(200);
    expect(form.headers.get("cache-control")).toBe("no-store");
    expect(await form.text()).toContain('<form method="post" action="/__gateway/dashboard/sign-in">');

    const wrong = await gw.request("/__gateway/dashboard/sign-in", signInForm(`${TOKEN}x`));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("set-cookie")).toBeNull();
    expect(await wrong.text()).toContain("That is not the admin token.");

    const right = await gw.request("/__gateway/dashboard/sign-in", signInForm(TOKEN));
    expect(right.status).toBe(303);
    expect(right.headers.get("location")).toBe("/__gateway/");
    expect(right.headers.get("cache-control")).toBe("no-store");
    expect(right.headers.get("set-cookie")).toMatch(
      new RegExp(`^${SESSION_COOKIE}=\\d+\\.[\\w-]{22}\\.[\\w-]{43}; Max-Age=1800; Path=/__gateway; HttpOnly; Secure; SameSite=Strict$`),
    );
  });

  it("refuses a form post whose Origin is another site or missing, before looking at the token", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN: TOKEN });
    const cross = await gw.request("/__gateway/dashboard/sign-in", signInForm(TOKEN, { origin: "https://evil.example" }));
    expect(cross.status).toBe(403);
    expect(cross.headers.get("set-cookie")).toBeNull();
    const none = await gw.request("/__gateway/dashboard/sign-in", signInForm(TOKEN, {}));
    expect(none.status).toBe(403);
    const cookie = await signedIn(gw);
    const reset = await gw.request("/__gateway/dashboard/lockouts/reset", {
      method: "POST",
      headers: { cookie, origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" },
      body: "ip=192.0.2.1",
    });
    expect(reset.status).toBe(403);
    const sameOrigin = await gw.request("/__gateway/dashboard/lockouts/reset", {
      method: "POST",
      headers: { cookie, "sec-fetch-site": "same-origin", "content-type": "application/x-www-form-urlencoded" },
      body: "ip=192.0.2.1",
    });
    expect(sameOrigin.status).toBe(303);
  });

  it("refuses a forged, tampered or expired cookie", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN: TOKEN });
    const cookie = await signedIn(gw);
    expect(await (await gw.request("/__gateway/", { headers: { cookie } })).text()).toContain("Lockouts");
    const [expires, nonce, signature] = cookie.split("=")[1]!.split(".");
    const tampered = `${SESSION_COOKIE}=${Number(expires) + 3600}.${nonce}.${signature}`;
    expect(await (await gw.request("/__gateway/", { headers: { cookie: tampered } })).text()).toContain("Admin token");
    const health = await gw.request("/__gateway/dashboard/health", { headers: { cookie: tampered } });
    expect([health.status, health.headers.get("location")]).toEqual([303, "/__gateway/"]);

    // A cookie signed with another token, and one of ours 31 minutes later.
    const other = gatewayWith({ ADMIN_TOKEN: "another-token-0123456789abcdef" });
    const foreign = await signedIn({ ...other, request: (path, init) => other.request(path, { ...init, body: new URLSearchParams({ token: "another-token-0123456789abcdef" }).toString() }) });
    expect(await (await gw.request("/__gateway/", { headers: { cookie: foreign } })).text()).toContain("Admin token");
    const later = new DashboardSessions(TOKEN, "/__gateway", () => Date.now() - 31 * 60_000);
    const { Hono } = await import("hono");
    const mint = new Hono().get("/", async (c) => (await later.start(c), c.text("")));
    const old = (await mint.request("/")).headers.get("set-cookie")!.split(";")[0]!;
    expect(await (await gw.request("/__gateway/", { headers: { cookie: old } })).text()).toContain("Admin token");
  });

  it("lists a lockout made by real login attempts, resets it, and shows health and the configuration without secrets", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN: TOKEN, ORIGIN_SECRET: "origin-secret-value-0123456789" });
    const ip = nextIp();
    const user = `dash-${crypto.randomUUID().slice(0, 8)}`;
    expect(await statusesOf(gw, "/api/login/", 3, () => jsonLogin(user, "wrong", ip))).toEqual([401, 401, 429]);
    const cookie = await signedIn(gw);
    const page = await (await gw.request("/__gateway/", { headers: { cookie } })).text();
    expect(page).toContain(`<td>${user}</td>`);
    expect(page).toContain(`<td>${ip}</td>`);
    expect(page).toContain("<strong>2</strong> locked, <strong>0</strong> counting (limit 3 failures).");

    const reset = await gw.request("/__gateway/dashboard/lockouts/reset", {
      method: "POST",
      headers: { cookie, origin: SITE, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ username: user }).toString(),
    });
    expect([reset.status, reset.headers.get("location")]).toEqual([303, "/__gateway/?reset=1"]);
    const after = await (await gw.request("/__gateway/?reset=1", { headers: { cookie } })).text();
    expect(after).toContain("Reset 1 counter(s).");
    expect(after).not.toContain(`<td>${user}</td>`);
    expect(after).toContain(`<td>${ip}</td>`);

    const health = await gw.request("/__gateway/dashboard/health", { headers: { cookie } });
    expect(health.headers.get("cache-control")).toBe("no-store");
    expect(await health.text()).toMatch(/<td>counters<\/td><td>upstash<\/td><td><span class="badge ok">yes<\/span><\/td>/);

    const config = await (await gw.request("/__gateway/dashboard/config", { headers: { cookie } })).text();
    expect(config).toContain("<th>lockout.failure_limit</th><td><code>3</code></td>");
    expect(config).toContain("<th>ORIGIN_SECRET</th><td><code>set (hidden)</code></td>");
    expect(config).not.toContain("origin-secret-value");
    expect(config).not.toContain(TOKEN);
  });

  it("answers the bearer API with no-store, and 404 without a token configured", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN: TOKEN });
    const api = await gw.request("/__gateway/lockouts", { headers: { authorization: `Bearer ${TOKEN}` } });
    expect([api.status, api.headers.get("cache-control")]).toEqual([200, "no-store"]);
    const anonymous = await gw.request("/__gateway/lockouts");
    expect([anonymous.status, anonymous.headers.get("cache-control")]).toEqual([401, "no-store"]);
    const off = await gatewayWith().request("/__gateway/");
    expect([off.status, off.headers.get("cache-control")]).toEqual([404, "no-store"]);
  });
});
