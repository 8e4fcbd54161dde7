/**
 * The per-user session index stays the size of the user's live sessions: saving a session prunes
 * members whose session ended (logged out, expired), on Upstash and on Postgres alike.
 */
import { afterEach, describe, expect, it } from "vitest";
import { userIndexKey } from "../../src/sessions/keys";
import { createSqlClient } from "../../src/store/postgres";
import { createUpstashClient } from "../../src/store/upstash";
import { DEMO, bindings, bridge, clearFaults, formLogin, gatewayWith, nextIp, postgres } from "./helpers";

type Gateway = ReturnType<typeof gatewayWith>;

async function login(gw: Gateway): Promise<string> {
  const res = await gw.request("/accounts/login/", formLogin(DEMO.username, DEMO.password, nextIp()));
  expect(res.status).toBe(302);
  return res.headers.getSetCookie().find((c) => c.startsWith("sessionid="))!.split(";")[0]!;
}

async function logout(gw: Gateway, cookie: string): Promise<void> {
  const res = await gw.request("/accounts/logout/", { method: "POST", ip: nextIp(), headers: { cookie } });
  await res.body?.cancel();
}

/** Three logins, two logouts, one more login: two sessions live. */
async function churn(gw: Gateway): Promise<void> {
  const [a, b] = [await login(gw), await login(gw), await login(gw)];
  await logout(gw, a!);
  await logout(gw, b!);
  await login(gw);
}

afterEach(clearFaults);

describe("session index", () => {
  it("holds only live sessions on Upstash after logouts", async () => {
    const gw = gatewayWith({ SESSION_ENFORCEMENT: "reject" });
    await churn(gw);
    const redis = createUpstashClient({ url: bindings.UPSTASH_REDIS_REST_URL!, token: bindings.UPSTASH_REDIS_REST_TOKEN!, timeoutMs: 5000 });
    expect(await redis.scard(userIndexKey(gw.prefix, DEMO.username))).toBe(2);
  });

  it("holds only live sessions on Postgres after logouts during an Upstash outage", async () => {
    const gw = gatewayWith({ ...postgres, SESSION_ENFORCEMENT: "reject", CIRCUIT_BREAKER_FAILURES: "1", CIRCUIT_BREAKER_COOLDOWN: "1m" });
    await bridge.fault({ mode: "error", status: 500 });
    await churn(gw);
    const sql = createSqlClient({ url: postgres.DATABASE_URL!, httpEndpoint: postgres.NEON_HTTP_ENDPOINT!, timeoutMs: 5000 });
    const rows = await sql.query("SELECT count(*)::int AS n FROM gateway_cache WHERE starts_with(key, $1)", [`${userIndexKey(gw.prefix, DEMO.username)}:`]);
    expect(rows[0]).toEqual({ n: 2 });
  });
});
