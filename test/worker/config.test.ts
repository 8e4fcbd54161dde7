import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/settings";
import { isoDuration, parseDurationSeconds } from "../../src/config/duration";

const upstash = { UPSTASH_REDIS_REST_URL: "https://example.upstash.io", UPSTASH_REDIS_REST_TOKEN: "t" };

function configError(env: Record<string, unknown>): ConfigError {
  try {
    parseConfig({ ...upstash, DATABASE_URL: "postgresql://u@db.example/neondb", ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("configuration", () => {
  it("has django-axes' defaults, with the seed's lockout parameters", () => {
    const config = parseConfig(upstash);
    expect(config.lockout).toMatchObject({
      failureLimit: 3,
      cooloffSeconds: null,
      parameters: [["ip_address"], ["username"]],
      resetOnSuccess: false,
      resetCoolOffOnFailureDuringLockout: true,
      lockOutAtFailure: true,
      neverLockoutGet: false,
      httpResponseCode: 429,
      lockoutUrl: null,
      usernameCaseSensitive: false,
      ipv6Prefix: 64,
    });
    expect(config.login.routes.map((r) => r.path)).toEqual(["/accounts/login/", "/admin/login/"]);
    expect(config.login.routes[0]).toMatchObject({ methods: ["POST"], success: [302, 303], failure: [200], usernameField: "username" });
    expect(config.store).toEqual({
      upstash: { url: upstash.UPSTASH_REDIS_REST_URL, token: "t", timeoutMs: 1000, writeLingerMs: 50 },
      postgres: null,
      breaker: { failures: 2, cooldownMs: 10_000 },
    });
    expect(config.failMode).toEqual({ login: "closed", other: "open" });
    expect(config.history).toEqual({ enabled: true, maxEntries: 10_000, retentionSeconds: 7 * 86_400 });
    expect(config.login.inFlightWaitSeconds).toBe(3);
    expect(config.keyPrefix).toBe("axes");
    expect(Object.isFrozen(config) && Object.isFrozen(config.lockout)).toBe(true);
  });

  it("accepts wrangler's native values as well as strings", () => {
    const config = parseConfig({ ...upstash, AXES_FAILURE_LIMIT: 5, AXES_RESET_ON_SUCCESS: true, AXES_LOCKOUT_PARAMETERS: [["username", "ip_address"]] });
    expect(config.lockout.failureLimit).toBe(5);
    expect(config.lockout.resetOnSuccess).toBe(true);
    expect(config.lockout.parameters).toEqual([["ip_address", "username"]]);
  });

  it("reads AXES_USERNAME_FORM_FIELD as the default field of every route", () => {
    const config = parseConfig({ ...upstash, AXES_USERNAME_FORM_FIELD: "email", LOGIN_ROUTES: '[{"path":"/a/"},{"path":"/b/","usernameField":"login"}]' });
    expect(config.login.routes.map((r) => r.usernameField)).toEqual(["email", "login"]);
  });

  it.each([
    ["AXES_COOLOFF_TIME", "2", "bare number"],
    ["AXES_COOLOFF_TIME", "soon", "not a duration"],
    ["AXES_FAILURE_LIMIT", "0", "whole number from 1"],
    ["AXES_FAILURE_LIMIT", "three", "whole number"],
    ["AXES_LOCKOUT_PARAMETERS", '["ip"]', '"ip" is not one of'],
    ["AXES_LOCKOUT_PARAMETERS", "[", "not valid JSON"],
    ["AXES_RESET_ON_SUCCESS", "maybe", "not a boolean"],
    ["AXES_HTTP_RESPONSE_CODE", "200", "from 400 to 599"],
    ["AXES_IPV6_PREFIX", "8", "whole number from 16 to 128"],
    ["AXES_IPV6_PREFIX", "129", "whole number from 16 to 128"],
    ["AXES_IPV6_PREFIX", "/64", "whole number from 16 to 128"],
    ["AXES_LOCKOUT_URL", "javascript:alert(1)", "path or an http(s) URL"],
    ["AXES_WHITELIST_IPS", "10.0.0.0/33", "entry 1 of 1"],
    ["AXES_BLACKLIST_IPS", "1.2.3.4,not-an-ip", "entry 2 of 2"],
    ["LOGIN_ROUTES", '[{"path":"login"}]', 'must start with "/"'],
    ["LOGIN_ROUTES", '[{"path":"/x/","success":[200],"failure":[200]}]', "both success and failure"],
    ["LOGIN_ROUTES", '[{"path":"/x/","sucess":[200]}]', 'unknown key "sucess"'],
    ["ORIGIN_URL", "ftp://origin", "http(s) URL"],
    ["ORIGIN_TIMEOUT", "30", "no unit"],
    ["LOGIN_INFLIGHT_WAIT", "3", "no unit"],
    ["LOGIN_INFLIGHT_WAIT", "1m", "at most 30s"],
    ["FORWARDED_FOR", "prepend", "one of append, replace"],
    ["FAIL_MODE", "maybe", "login=open|closed"],
    ["FAIL_MODE", "login=closed,api=open", "login=open|closed"],
    ["DATABASE_URL", "mysql://x", "postgresql:// URL"],
    ["NEON_HTTP_ENDPOINT", "localhost:8077", "http(s) URL"],
    ["DATABASE_TIMEOUT_MS", "1", "from 10"],
    ["CIRCUIT_BREAKER_FAILURES", "0", "from 1"],
    ["CIRCUIT_BREAKER_COOLDOWN", "10", "no unit"],
    ["REDIS_TIMEOUT_MS", "5", "from 10"],
    ["REDIS_WRITE_LINGER_MS", "2000", "0 to 1000"],
    ["CACHE_KEY_PREFIX", "a b", "letters"],
    ["SESSION_TIMEOUT", "3600", "no unit"],
    ["SESSION_ENFORCEMENT", "block", "one of off, strip, reject"],
    ["SESSION_COOKIE_NAME", "a b", "not a valid cookie name"],
    ["LOGOUT_ROUTES", '[{"path":"logout"}]', 'must start with "/"'],
    ["ADMIN_TOKEN", "tooshort", "at least 16 characters"],
    ["ADMIN_PREFIX", "admin", "must be a path"],
    ["LOCKOUT_WEBHOOK_URL", "ftp://x", "http(s) URL"],
    ["SESSIONS_UPSTASH_REDIS_REST_URL", "not-a-url", "http(s) URL"],
    ["AXES_HISTORY", "sometimes", "not a boolean"],
    ["AXES_HISTORY_MAX", "10", "from 100"],
    ["AXES_HISTORY_RETENTION", "7", "no unit"],
    ["AXES_HISTORY_RETENTION", "10m", "at least 1h"],
  ])("refuses %s=%s, naming the variable and a valid example", (variable, value, problem) => {
    const error = configError({ [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(problem);
    expect(error.message).toMatch(new RegExp(`example: ${variable}=`));
  });

  it("never echoes a whitelist entry, which comes from a secret", () => {
    expect(configError({ AXES_WHITELIST_IPS: "10.1.2.3/99" }).message).not.toContain("10.1.2.3");
  });

  it("refuses the in-memory store in production", () => {
    expect(() => parseConfig({ ENVIRONMENT: "production" })).toThrow(/UPSTASH_REDIS_REST_URL: is required when ENVIRONMENT=production/);
    expect(() => parseConfig({})).toThrow(ConfigError);
    expect(parseConfig({ ENVIRONMENT: "development" }).store).toMatchObject({ upstash: null, postgres: null });
    expect(parseConfig({ DATABASE_URL: "postgresql://u:p@db.example/neondb" }).store.postgres).toMatchObject({ timeoutMs: 2000, httpEndpoint: null });
  });

  it("reads FAIL_MODE as one mode or per kind", () => {
    expect(parseConfig({ ...upstash, FAIL_MODE: "open" }).failMode).toEqual({ login: "open", other: "open" });
    expect(parseConfig({ ...upstash, FAIL_MODE: "other=closed" }).failMode).toEqual({ login: "closed", other: "closed" });
  });

  it("never echoes DATABASE_URL, which is a secret", () => {
    expect(configError({ DATABASE_URL: "mysql://root:hunter2@db" }).message).not.toContain("hunter2");
    expect(configError({ ADMIN_TOKEN: "hunter2" }).message).not.toContain("hunter2");
  });

  it("requires the Upstash URL and token together", () => {
    expect(() => parseConfig({ UPSTASH_REDIS_REST_URL: "https://x.upstash.io" })).toThrow(/UPSTASH_REDIS_REST_TOKEN/);
    expect(() => parseConfig({ UPSTASH_REDIS_REST_TOKEN: "t" })).toThrow(/UPSTASH_REDIS_REST_URL/);
  });
});

describe("durations", () => {
  it.each([
    ["30m", 1800],
    ["1h30m", 5400],
    ["90s", 90],
    ["1d", 86400],
    ["500ms", 0.5],
    ["PT30M", 1800],
    ["P1DT1H", 90000],
    ["1.5h", 5400],
  ])("reads %s as %d seconds", (text, seconds) => {
    expect(parseDurationSeconds(text)).toBe(seconds);
  });

  it.each(["", "0m", "m", "P", "PT", "30 minutes", "-5m"])("refuses %j", (text) => {
    expect(() => parseDurationSeconds(text)).toThrow();
  });

  it("formats ISO durations as axes' JSON does", () => {
    expect(isoDuration(1800)).toBe("PT30M");
    expect(isoDuration(3600)).toBe("PT1H");
    expect(isoDuration(90061)).toBe("P1DT1H1M1S");
    expect(isoDuration(86400)).toBe("P1D");
  });
});

describe("RATE_LIMITS", () => {
  const base = { UPSTASH_REDIS_REST_URL: "https://example.upstash.io", UPSTASH_REDIS_REST_TOKEN: "t" };
  it("reads policies with defaults", () => {
    const [policy] = parseConfig({ ...base, RATE_LIMITS: '[{"name":"api","path":"/api/","limit":100,"window":"1m"}]' }).rateLimits.policies;
    expect(policy).toMatchObject({ name: "api", algorithm: "sliding-window", limit: 100, windowSeconds: 60, refill: 100, key: [{ kind: "ip" }], shadow: false, methods: null });
    expect(policy!.matches("/api")).toBe(true);
    expect(policy!.matches("/api/x")).toBe(true);
    expect(policy!.matches("/apix")).toBe(false);
    expect(policy!.ipCap).toBeNull();
  });

  it("counts HEAD under GET, and caps each IP of a header-keyed policy (ipLimit, default limit)", () => {
    const policies = parseConfig({
      ...base,
      RATE_LIMITS: JSON.stringify([
        { name: "get", path: "/x/", methods: ["get"], limit: 5, window: "1m" },
        { name: "post", path: "/x/", methods: ["POST"], limit: 5, window: "1m" },
        { name: "key", path: "/api/", key: ["header:X-API-Key"], algorithm: "token-bucket", limit: 100, refill: 10, window: "1s" },
        { name: "wide", path: "/api/", key: ["header:X-API-Key", "ip"], ipLimit: 300, algorithm: "token-bucket", limit: 100, refill: 10, window: "1s" },
      ]),
    }).rateLimits.policies;
    expect(policies.map((p) => p.methods)).toEqual([["GET", "HEAD"], ["POST"], null, null]);
    expect(policies[2]!.ipCap).toEqual({ name: "key:ip", algorithm: "token-bucket", limit: 100, windowSeconds: 1, refill: 10 });
    expect(policies[3]!.ipCap).toEqual({ name: "wide:ip", algorithm: "token-bucket", limit: 300, windowSeconds: 1, refill: 30 });
  });

  it("matches globs and prefixes with and without the trailing slash", () => {
    const [glob, prefix] = parseConfig({
      ...base,
      RATE_LIMITS: JSON.stringify([
        { name: "search", path: "/search/*", limit: 1, window: "1m" },
        { name: "api", path: "/api/", limit: 1, window: "1m" },
      ]),
    }).rateLimits.policies;
    for (const path of ["/search", "/search/q", "/search/q/r"]) expect(glob!.matches(path)).toBe(true);
    for (const path of ["/searchx", "/", "/other/search"]) expect(glob!.matches(path)).toBe(false);
    expect(prefix!.matches("/api")).toBe(true);
    expect(prefix!.matches("/ap")).toBe(false);
  });

  it.each([
    ['[{"path":"/","limit":1,"window":"1m"}]', '"name"'],
    ['[{"name":"a","path":"/","limit":0,"window":"1m"}]', '"limit"'],
    ['[{"name":"a","path":"/","limit":1,"window":"60"}]', "no unit"],
    ['[{"name":"a","path":"/","limit":1,"window":"1m","algorithm":"leaky"}]', '"algorithm"'],
    ['[{"name":"a","path":"/","limit":1,"window":"1m","refill":2}]', "token-bucket"],
    ['[{"name":"a","path":"/","limit":1,"window":"1m","key":["cookie:x"]}]', "key part"],
    ['[{"name":"a","path":"/","limit":1,"window":"1m","key":[]}]', "at least one part"],
    ['[{"name":"a","path":"/","limit":1,"window":"1m","ipLimit":5}]', '"ipLimit" applies to policies keyed by a header only'],
    ['[{"name":"a","path":"/","limit":1,"window":"1m","key":["header:K"],"ipLimit":0}]', '"ipLimit" must be a whole number above zero'],
    ['[{"name":"a","path":"/","limit":1,"window":"1m"},{"name":"a","path":"/x","limit":1,"window":"1m"}]', 'two policies are named "a"'],
    ['{"name":"a"}', "JSON list"],
  ])("refuses %s", (value, problem) => {
    expect(() => parseConfig({ ...base, RATE_LIMITS: value })).toThrow(problem);
  });
});
