/**
 * The Worker entry with a broken configuration (one error line per isolate; logins and the admin
 * prefix 503, the rest proxied when ORIGIN_URL parsed) and with AXES_ENABLED=false.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createWorker } from "../../src/index";
import { JSON_ROUTES, nextIp, origin, uniquePrefix } from "./helpers";

type Fetch = (path: string, init?: RequestInit) => Promise<Response>;

function workerWith(overrides: Record<string, unknown>): Fetch {
  const worker = createWorker();
  const bindings = { ...env, CACHE_KEY_PREFIX: uniquePrefix(), LOGIN_ROUTES: JSON_ROUTES, ...overrides } as unknown as Env;
  return async (path, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set("cf-connecting-ip", nextIp());
    const request = new Request(`https://gateway.test${path}`, { ...init, headers, redirect: "manual" });
    return worker.fetch!(request as Request<unknown, IncomingRequestCfProperties>, bindings, createExecutionContext());
  };
}

const jsonLogin = (password: string): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", accept: "application/json" },
  body: JSON.stringify({ username: "demo", password }),
});

const logged: { level: string; line: string }[] = [];
const originals = { error: console.error, warn: console.warn };
beforeEach(() => {
  logged.length = 0;
  console.error = (...args: unknown[]) => logged.push({ level: "error", line: args.map(String).join(" ") });
  console.warn = (...args: unknown[]) => logged.push({ level: "warn", line: args.map(String).join(" ") });
});
afterEach(() => Object.assign(console, originals));

describe("a broken configuration", () => {
  it("proxies non-login traffic, answers 503 to logins and the admin prefix, and logs every problem once", async () => {
    await origin.resetStats();
    const fetch = workerWith({ AXES_COOLOFF_TIME: "2", FAIL_MODE: "sometimes", ADMIN_TOKEN: "a".repeat(32) });
    const home = await fetch("/");
    expect(home.status).toBe(200);
    expect(await home.text()).toContain("demo origin");

    const login = await fetch("/api/login/", jsonLogin("demo-password"));
    expect(login.status).toBe(503);
    expect(login.headers.get("retry-after")).toBe("300");
    expect(await login.json()).toEqual({
      type: "about:blank",
      title: "Service Unavailable",
      status: 503,
      detail: "logins are paused while the gateway's configuration is fixed; please try again later",
    });
    const form = await fetch("/accounts/login/", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "username=demo&password=demo-password" });
    expect(form.status).toBe(503);
    // BASIC_AUTH_PATHS is unset (no path), so Basic credentials are not a login here.
    const basic = await fetch("/anything", { headers: { authorization: `Basic ${btoa("demo:demo-password")}` } });
    expect(basic.status).toBe(404);
    const loginPage = await fetch("/accounts/login/");
    expect(loginPage.status).toBe(200);
    const admin = await fetch("/__gateway/health", { headers: { authorization: `Bearer ${"a".repeat(32)}` } });
    expect(admin.status).toBe(503);
    expect(await admin.text()).toBe("Service Unavailable: the gateway is misconfigured; its log names the settings to fix\n");

    // The origin saw the three page requests and no login.
    const stats = await origin.stats();
    expect(stats.requests).toBe(3);
    expect(stats.loginAttempts).toEqual({});

    expect(logged).toHaveLength(1);
    const line = JSON.parse(logged[0]!.line) as Record<string, string>;
    expect(line).toMatchObject({
      level: "error",
      event: "config_error",
      variables: "FAIL_MODE,AXES_COOLOFF_TIME",
      serving: "proxy_without_protection_logins_503",
    });
    expect(line.message).toContain("example: AXES_COOLOFF_TIME=30m");
    expect(line.message).toContain("example: FAIL_MODE=login=closed,other=open");
  });

  it("treats every request with a body, and Basic credentials anywhere, as a possible login when their settings are broken", async () => {
    const fetch = workerWith({ LOGIN_ROUTES: "[not json", BASIC_AUTH_PATHS: "/api/" });
    expect((await fetch("/")).status).toBe(200);
    expect((await fetch("/some/form/", { method: "POST", body: "a=1", headers: { "content-type": "application/x-www-form-urlencoded" } })).status).toBe(503);
    expect((await fetch("/anything", { headers: { authorization: `Basic ${btoa("demo:x")}` } })).status).toBe(503);
    expect(logged.map((entry) => JSON.parse(entry.line).variables)).toEqual(["LOGIN_ROUTES,BASIC_AUTH_PATHS"]);
  });

  it("keeps a malformed ADMIN_PREFIX's path from the origin", async () => {
    const fetch = workerWith({ ADMIN_PREFIX: "ops/" });
    const admin = await fetch("/ops/lockouts", { headers: { authorization: "Bearer some-admin-token-0123" } });
    expect(admin.status).toBe(503);
    expect((await fetch("/__gateway/health")).status).toBe(404);
    expect(logged.map((entry) => JSON.parse(entry.line).variables)).toEqual(["ADMIN_PREFIX"]);
  });

  it("answers 500 everywhere when ORIGIN_URL itself is broken", async () => {
    const fetch = workerWith({ ORIGIN_URL: "ftp://origin.example" });
    const res = await fetch("/");
    expect(res.status).toBe(500);
    expect(await res.text()).toBe("The gateway is misconfigured; its log names the setting to fix.\n");
    expect((await fetch("/accounts/")).status).toBe(500);
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0]!.line)).toMatchObject({ variables: "ORIGIN_URL", serving: "500_everywhere" });
  });
});

describe("AXES_ENABLED=false", () => {
  it("counts nothing, proxies every login to the origin and says so once", async () => {
    await origin.resetStats();
    const fetch = workerWith({ AXES_ENABLED: "false" });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch("/api/login/", jsonLogin("wrong"))).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    expect((await origin.stats()).loginAttempts).toEqual({ "/api/login/": 5 });
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0]!.line)).toMatchObject({ level: "warn", event: "axes_disabled" });
  });
});
