/** The lockout page (absolute retry time, link back, AXES_LOCKOUT_TEMPLATE) and RATE_LIMIT_ANALYTICS against the real Redis. */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { Redis } from "@upstash/redis/cloudflare";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/settings";
import { bindings, formLogin, gatewayWith, nextIp, statusesOf } from "./helpers";

const lockedOut = async (gw: ReturnType<typeof gatewayWith>, user: string, ip: string) => {
  expect(await statusesOf(gw, "/accounts/login/", 2, () => formLogin(user, "wrong", ip))).toEqual([200, 200]);
  return gw.request("/accounts/login/", formLogin(user, "wrong", ip));
};

describe("the lockout page", () => {
  it("gives the absolute retry time and links back to the login page", async () => {
    const gw = gatewayWith({ AXES_COOLOFF_TIME: "30m" });
    const before = Date.now();
    const res = await lockedOut(gw, `page-${crypto.randomUUID().slice(0, 8)}`, nextIp());
    const after = Date.now();
    expect(res.status).toBe(429);
    const html = await res.text();
    const [, iso, shown] = /<p>You can try again at <time datetime="([^"]+)">([^<]+)<\/time> \(in 30 minute\(s\)\)\.<\/p>/.exec(html)!;
    const at = Date.parse(iso!);
    expect(at).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 1_800_000 - 1000);
    expect(at).toBeLessThanOrEqual(after + 1_800_000 + 1000);
    expect(shown).toBe(`${iso!.slice(0, 16).replace("T", " ")} UTC`);
    expect(html).toContain('<p><a href="/accounts/login/">Back to the login page</a></p>');
  });

  it("renders AXES_LOCKOUT_TEMPLATE with every value HTML-escaped", async () => {
    const gw = gatewayWith({
      AXES_COOLOFF_TIME: "1h",
      AXES_COOLOFF_MESSAGE: `Locked <script>alert("x")</script> & co`,
      AXES_LOCKOUT_TEMPLATE: `<main><p>{{message}}</p><p>{{ failures }}/{{failure_limit}} in {{retry_after_seconds}}s, at {{retry_at}}</p><a href="{{login_url}}">again</a></main>`,
    });
    const res = await lockedOut(gw, `tpl-${crypto.randomUUID().slice(0, 8)}`, nextIp());
    expect([res.status, res.headers.get("content-type"), res.headers.get("retry-after")]).toEqual([429, "text/html; charset=utf-8", "3600"]);
    const html = await res.text();
    expect(html).toMatch(
      /^<main><p>Locked &#60;script&#62;alert\(&#34;x&#34;\)&#60;\/script&#62; &#38; co<\/p><p>3\/3 in 3600s, at \d{4}-\d\d-\d\d \d\d:\d\d UTC<\/p><a href="\/accounts\/login\/">again<\/a><\/main>$/,
    );
  });

  it("refuses a template with an unknown placeholder", () => {
    expect(() => parseConfig({ ENVIRONMENT: "development", AXES_LOCKOUT_TEMPLATE: "<p>{{messge}}</p>" })).toThrow(ConfigError);
    expect(() => parseConfig({ ENVIRONMENT: "development", AXES_LOCKOUT_TEMPLATE: "<p>{{messge}}</p>" })).toThrow(
      "AXES_LOCKOUT_TEMPLATE: {{messge}} is not a placeholder (use {{message}}, {{retry_after_seconds}}, {{retry_at}}, {{login_url}}, {{failure_limit}}, {{failures}})",
    );
  });
});

describe("RATE_LIMIT_ANALYTICS", () => {
  const redis = new Redis({ url: bindings.TEST_BRIDGE_URL!, token: bindings.TEST_BRIDGE_TOKEN! });
  const policy = { RATE_LIMITS: JSON.stringify([{ name: "api", path: "/__origin/", algorithm: "fixed-window", limit: 5, window: "1m" }]) };

  async function keysAfterTwoRequests(overrides: Record<string, string>): Promise<{ prefix: string; ips: string[]; keys: string[] }> {
    const gw = gatewayWith({ ...policy, ...overrides });
    const ips = [nextIp(), nextIp()];
    for (const ip of ips) {
      const ctx = createExecutionContext();
      const res = await gw.request("/__origin/echo", { ip, ctx });
      await res.body?.cancel();
      await waitOnExecutionContext(ctx);
    }
    return { prefix: gw.prefix, ips, keys: (await redis.keys(`${gw.prefix}:*`)).sort() };
  }

  it("records @upstash/ratelimit analytics events only when on", async () => {
    const off = await keysAfterTwoRequests({});
    expect(off.keys.filter((key) => key.includes(":events:"))).toEqual([]);
    expect(off.keys).toHaveLength(2);

    const on = await keysAfterTwoRequests({ RATE_LIMIT_ANALYTICS: "true" });
    const events = on.keys.filter((key) => key.includes(":events:"));
    expect(events).toEqual([expect.stringMatching(new RegExp(`^${on.prefix}:ratelimit:api:events:\\d+$`))]);
    // One sorted-set member per identifier and outcome, scored by its count.
    const members = await redis.zrange<unknown[]>(events[0]!, 0, -1, { withScores: true });
    expect(members).toEqual([{ identifier: `ip=${on.ips[0]}`, success: true }, 1, { identifier: `ip=${on.ips[1]}`, success: true }, 1]);
  });
});
