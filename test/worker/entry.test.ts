/** The deployed entry point with wrangler.toml's settings, as `wrangler dev` and production run it. */
import { env, exports } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createWorker } from "../../src/index";
import { neon, neonConfig } from "@neondatabase/serverless";
import { DEMO, postgres } from "./helpers";

// Keys live under the run's own CACHE_KEY_PREFIX (vitest.config.ts); random clients keep the tests apart.
const randomIp = () => `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:${Math.floor(Math.random() * 0xffff).toString(16)}::1`;
const form = (username: string, password: string, ip: string) =>
  new Request("https://gateway.test/accounts/login/", {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": ip },
    body: new URLSearchParams({ username, password }),
  });

describe("the Worker entry with wrangler.toml settings", () => {
  it("locks a Django form login at the third failure, with a 30 minute cool-off", async () => {
    const ip = randomIp();
    const user = `entry-${crypto.randomUUID()}`;
    expect((await exports.default.fetch(form(user, "x", ip))).status).toBe(200);
    expect((await exports.default.fetch(form(user, "x", ip))).status).toBe(200);
    const third = await exports.default.fetch(form(user, "x", ip));
    expect(third.status).toBe(429);
    expect(third.headers.get("retry-after")).toBe("1800");
  });

  it("proxies a successful login and ordinary pages", async () => {
    const ok = await exports.default.fetch(form(DEMO.username, DEMO.password, randomIp()));
    expect(ok.status).toBe(302);
    const home = await exports.default.fetch(new Request("https://gateway.test/", { headers: { "cf-connecting-ip": randomIp() } }));
    expect(home.status).toBe(200);
    expect(await home.text()).toContain("demo origin");
  });

  it("sweeps expired rows from the Postgres cache table on the Cron Trigger", async () => {
    neonConfig.fetchEndpoint = () => postgres.NEON_HTTP_ENDPOINT!;
    const sql = neon(postgres.DATABASE_URL!);
    const prefix = `cron-${crypto.randomUUID()}`;
    // The table is shared with other runs, and one cron run sweeps a bounded number of rows: clear the
    // backlog other runs left expired (dead rows by definition), so this test's rows are within the bound.
    await sql.query("DELETE FROM gateway_cache WHERE expires_at < now()");
    await sql.query("INSERT INTO gateway_cache (key, count, expires_at) SELECT $1 || g, 1, now() - interval '1 second' FROM generate_series(1, 5) g", [prefix]);
    const controller = { cron: "*/5 * * * *", scheduledTime: Date.now(), noRetry() {} } as ScheduledController;
    await createWorker().scheduled!(controller, env as unknown as Env, createExecutionContext());
    const rows = (await sql.query("SELECT count(*)::int AS n FROM gateway_cache WHERE key LIKE $1", [`${prefix}%`])) as { n: number }[];
    expect(rows[0]?.n).toBe(0);
  });
});
