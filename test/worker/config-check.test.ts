/** The configuration check (every problem at once, ignored names), django-axes' aliases and AXES_ENABLED. */
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/settings";
import { checkConfig, editDistance } from "../../src/settings/check";
import { parseAddress } from "../../src/client/address";

const upstash = { UPSTASH_REDIS_REST_URL: "https://example.upstash.io", UPSTASH_REDIS_REST_TOKEN: "t" };

describe("checkConfig", () => {
  it("reports every bad variable with its example, not only the first", () => {
    const report = checkConfig({
      ENVIRONMENT: "production",
      AXES_COOLOFF_TIME: "2",
      AXES_FAILURE_LIMIT: "three",
      FAIL_MODE: "sometimes",
      ORIGIN_URL: "not a url",
      ADMIN_TOKEN: "short",
    });
    expect(report.config).toBeNull();
    expect(report.problems.map((p) => p.variable)).toEqual([
      "ORIGIN_URL",
      "FAIL_MODE",
      "AXES_COOLOFF_TIME",
      "AXES_FAILURE_LIMIT",
      "UPSTASH_REDIS_REST_URL",
      "ADMIN_TOKEN",
    ]);
    expect(report.problems.map((p) => p.message)).toEqual([
      'ORIGIN_URL: "not a url" is not a URL (example: ORIGIN_URL=https://origin.example.com)',
      'FAIL_MODE: "sometimes" must be login=open|closed or other=open|closed (example: FAIL_MODE=login=closed,other=open)',
      'AXES_COOLOFF_TIME: "2" has no unit; django-axes reads a bare number as hours, so write the unit (for example "2h" or "30m") (example: AXES_COOLOFF_TIME=30m)',
      'AXES_FAILURE_LIMIT: "three" must be a whole number from 1 to 1000000 (example: AXES_FAILURE_LIMIT=3)',
      expect.stringMatching(/^UPSTASH_REDIS_REST_URL: is required when ENVIRONMENT=production/),
      "ADMIN_TOKEN: must be at least 16 characters (generate one with `openssl rand -hex 32`) (example: ADMIN_TOKEN=<64 hex characters>)",
    ]);
  });

  it("knows the trusted-device and cool-off growth settings: no warning when set, every bad one reported", () => {
    const good = checkConfig({
      ...upstash,
      AXES_COOLOFF_TIME: "30m",
      AXES_COOLOFF_GROWTH: "2",
      AXES_COOLOFF_MEMORY: "12h",
      AXES_COOLOFF_MAX: "1d",
      DEVICE_COOKIE_SECRET: "a".repeat(64),
      DEVICE_COOKIE_SECRET_PREVIOUS: "b".repeat(64),
      AXES_DEVICE_COOKIE_NAME: "edge_device",
      AXES_DEVICE_COOKIE_LIFETIME: "14d",
    });
    expect(good.problems).toEqual([]);
    expect(good.warnings).toEqual([]);
    expect(good.config?.devices).toMatchObject({ cookieName: "edge_device", lifetimeSeconds: 14 * 86_400 });
    expect(good.config?.lockout.cooloffGrowth).toEqual({ factor: 2, memorySeconds: 43_200, maxSeconds: 86_400 });

    const bad = checkConfig({ ...upstash, AXES_COOLOFF_GROWTH: "-1", DEVICE_COOKIE_SECRET: "too short", AXES_DEVICE_COOKIE_LIFETIME: "30", AXES_DEVICE_COOKIE_NAME: "a b" });
    expect(bad.problems.map((p) => p.variable).sort()).toEqual(["AXES_COOLOFF_GROWTH", "AXES_DEVICE_COOKIE_LIFETIME", "AXES_DEVICE_COOKIE_NAME", "DEVICE_COOKIE_SECRET"]);
    expect(bad.problems.map((p) => p.message).join("\n")).not.toContain("too short");
  });

  it("answers the parsed configuration and no problem for a good one", () => {
    const report = checkConfig({ ...upstash, AXES_FAILURE_LIMIT: "5" });
    expect(report.problems).toEqual([]);
    expect(report.config?.lockout.failureLimit).toBe(5);
  });

  it("warns about names the gateway never reads, with what to write instead", () => {
    const report = checkConfig({
      ...upstash,
      AXES_IP_WHITELIST: "203.0.113.7",
      AXES_ONLY_USER_FAILURES: "true",
      AXES_FAILURE_LIMT: "5",
      AXES_SOMETHING_ELSE_ENTIRELY: "1",
      ORIGN_URL: "https://origin.example.com",
      MY_OWN_VARIABLE: "x",
    });
    expect(report.problems).toEqual([]);
    expect(report.warnings).toEqual([
      { variable: "AXES_FAILURE_LIMT", message: "is not a setting of this gateway and is ignored; use AXES_FAILURE_LIMIT" },
      { variable: "AXES_IP_WHITELIST", message: "django-axes' name, read as AXES_WHITELIST_IPS; prefer AXES_WHITELIST_IPS" },
      { variable: "AXES_ONLY_USER_FAILURES", message: `is not a setting of this gateway and is ignored; use AXES_LOCKOUT_PARAMETERS='["username"]'` },
      { variable: "AXES_SOMETHING_ELSE_ENTIRELY", message: "is not a setting of this gateway and is ignored" },
      { variable: "ORIGN_URL", message: "is not read by the gateway; did you mean ORIGIN_URL?" },
    ]);
  });

  it("measures edit distance", () => {
    expect(editDistance("AXES_FAILURE_LIMT", "AXES_FAILURE_LIMIT")).toBe(1);
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
  });
});

describe("django-axes' names and switches", () => {
  it("reads AXES_IP_WHITELIST and AXES_IP_BLACKLIST as the gateway's lists", () => {
    const config = parseConfig({ ...upstash, AXES_IP_WHITELIST: "203.0.113.7", AXES_IP_BLACKLIST: "192.0.2.0/24" });
    expect(config.whitelist.has(parseAddress("203.0.113.7")!)).toBe(true);
    expect(config.whitelist.has(parseAddress("203.0.113.8")!)).toBe(false);
    expect(config.blacklist.has(parseAddress("192.0.2.99")!)).toBe(true);
  });

  it("refuses both spellings with different values", () => {
    expect(() => parseConfig({ ...upstash, AXES_IP_WHITELIST: "203.0.113.7", AXES_WHITELIST_IPS: "203.0.113.8" })).toThrow(
      new ConfigError("AXES_IP_WHITELIST", "is django-axes' name for AXES_WHITELIST_IPS, and both are set to different values: keep only AXES_WHITELIST_IPS", "(unset)"),
    );
    expect(parseConfig({ ...upstash, AXES_IP_WHITELIST: "203.0.113.7", AXES_WHITELIST_IPS: "203.0.113.7" }).whitelist.size).toBe(1);
  });

  it("reads AXES_ENABLED and RATE_LIMIT_ANALYTICS", () => {
    expect(parseConfig(upstash)).toMatchObject({ enabled: true, rateLimitAnalytics: false });
    expect(parseConfig({ ...upstash, AXES_ENABLED: "false", RATE_LIMIT_ANALYTICS: "true" })).toMatchObject({ enabled: false, rateLimitAnalytics: true });
    expect(() => parseConfig({ ...upstash, AXES_ENABLED: "maybe" })).toThrow('AXES_ENABLED: "maybe" is not a boolean (example: AXES_ENABLED=false)');
  });
});
