/**
 * The attempt history end to end, against the real stores: real logins through the gateway are
 * recorded with their outcome (Upstash and Postgres), at no extra store round trip, listed by the
 * admin API with filters and cursors; `lockouts?all=true` and the confirmed reset of every counter;
 * the cron trims Postgres's history.
 */
import { neon, neonConfig } from "@neondatabase/serverless";
import { afterEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/crypto/digest";
import { runMaintenance } from "../../src/maintenance";
import { DEMO, bridge, clearFaults, gatewayWith, jsonLogin, neonHttp, nextIp, postgres } from "./helpers";
import { pg } from "./store-kinds";

const ADMIN_TOKEN = "test-admin-token-history-0123456789";
type Gateway = ReturnType<typeof gatewayWith>;
const admin = (gw: Gateway, path: string, body?: object) =>
  gw.request(`/__gateway${path}`, {
    method: body ? "POST" : "GET",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: body && JSON.stringify(body),
  });
const login = async (gw: Gateway, username: string, password: string, ip: string, userAgent = "history-test/1.0") => {
  const res = await gw.request("/api/login/", jsonLogin(username, password, ip, { "user-agent": userAgent }));
  await res.body?.cancel();
  return res.status;
};
interface Attempt {
  time: string;
  username: string;
  ip: string;
  path: string;
  user_agent: string;
  outcome: string;
  counters: string[];
}
const attemptsOf = async (gw: Gateway, query = ""): Promise<{ attempts: Attempt[]; cursor: string | null }> => {
  const res = await admin(gw, `/attempts${query}`);
  expect(res.status).toBe(200);
  return res.json();
};

const upstashOnly = { UPSTASH_REDIS_REST_URL: undefined, UPSTASH_REDIS_REST_TOKEN: undefined };
const backends = [
  { name: "Upstash", env: {} },
  { name: "Postgres", env: { ...postgres, ...upstashOnly } },
];

afterEach(clearFaults);

for (const { name, env } of backends) {
  describe(`attempt history on ${name}`, () => {
    it("records each real login with its outcome, the counted username, the client and a user-agent digest, never the password", async () => {
      const gw = gatewayWith({ ...env, ADMIN_TOKEN, AXES_FAILURE_LIMIT: "2", AXES_COOLOFF_TIME: "1h" });
      const [ip, other] = [nextIp(), nextIp()];
      const secret = `pw-${crypto.randomUUID()}`;
      expect(await login(gw, "  Mallory ", secret, ip)).toBe(401);
      expect(await login(gw, "MALLORY", secret, ip)).toBe(429); // the failure that reaches the limit
      expect(await login(gw, "mallory", secret, ip)).toBe(429); // refused while locked
      expect(await login(gw, DEMO.username, DEMO.password, other, "browser/2")).toBe(200);

      const res = await admin(gw, "/attempts");
      const text = await res.text();
      expect(text).not.toContain(secret);
      expect(text).not.toContain(DEMO.password);
      const { attempts, cursor } = JSON.parse(text) as { attempts: Attempt[]; cursor: string | null };
      expect(cursor).toBeNull();
      const ua = await sha256Hex("history-test/1.0", 16);
      const failure = { username: "mallory", ip, path: "/api/login/", user_agent: ua, counters: [`ip_address=${ip}`, "username=mallory"] };
      expect(attempts.map(({ time: _time, ...rest }) => rest)).toEqual([
        { username: DEMO.username, ip: other, path: "/api/login/", user_agent: await sha256Hex("browser/2", 16), outcome: "success", counters: [`ip_address=${other}`, `username=${DEMO.username}`] },
        { ...failure, outcome: "locked" },
        { ...failure, outcome: "failure" },
        { ...failure, outcome: "failure" },
      ]);
      for (const a of attempts) expect(Math.abs(Date.parse(a.time) - Date.now())).toBeLessThan(60_000);
    });

    it("lists with filters (the username normalised as counted, the IP in any spelling, a time window) and cursors", async () => {
      const gw = gatewayWith({ ...env, ADMIN_TOKEN, AXES_FAILURE_LIMIT: "50" });
      const ips = [nextIp(), nextIp()];
      for (let n = 0; n < 6; n++) await login(gw, n % 2 === 0 ? "Ève" : "bob", "wrong", ips[n % 3 === 0 ? 0 : 1]!);
      expect((await attemptsOf(gw)).attempts).toHaveLength(6);
      expect((await attemptsOf(gw, `?username=${encodeURIComponent("  ÈVE")}`)).attempts.map((a) => a.username)).toEqual(["ève", "ève", "ève"]);
      expect((await attemptsOf(gw, `?ip=${ips[0]}`)).attempts.map((a) => a.ip)).toEqual([ips[0], ips[0]]);
      expect((await attemptsOf(gw, `?ip=::ffff:${ips[0]}&username=eve`)).attempts).toEqual([]); // "eve" is not "ève"
      expect((await attemptsOf(gw, `?ip=::ffff:${ips[0]}&username=%C3%88ve`)).attempts).toHaveLength(1);
      expect((await attemptsOf(gw, "?since=1h")).attempts).toHaveLength(6);

      const seen: Attempt[] = [];
      let cursor: string | null = null;
      do {
        const page: { attempts: Attempt[]; cursor: string | null } = await attemptsOf(gw, `?limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
        expect(page.attempts.length).toBeLessThanOrEqual(4);
        seen.push(...page.attempts);
        cursor = page.cursor;
      } while (cursor !== null);
      expect(seen.map((a) => a.time)).toEqual((await attemptsOf(gw)).attempts.map((a) => a.time));
      expect(seen).toHaveLength(6);

      for (const [query, message] of [
        ["?since=90", "unit"],
        ["?ip=not-an-ip", "IP address"],
        ["?limit=0", "limit"],
        ["?limit=abc", "limit"],
        ["?username=%20%20", "empty"],
      ] as const) {
        const res = await admin(gw, `/attempts${query}`);
        expect(res.status).toBe(400);
        expect(((await res.json()) as { error: string }).error).toContain(message);
      }
    });

    it("costs no store round trip more than without the history: 2 per failed login, 2 per success, 1 per locked attempt", async () => {
      const tripsPerKind = async (history: string) => {
        const gw = gatewayWith({ ...env, AXES_HISTORY: history, AXES_FAILURE_LIMIT: "2", AXES_COOLOFF_TIME: "1h" });
        const ip = nextIp();
        await login(gw, "warm-up", "x", nextIp()); // loads the scripts
        const trips = async (run: () => Promise<unknown>) => {
          await Promise.all([bridge.resetStats(), neonHttp.resetStats()]);
          await run();
          const [upstash, sql] = await Promise.all([bridge.stats(), neonHttp.stats()]);
          return { upstash: upstash.requests, sql: sql.statements };
        };
        return [
          await trips(() => gw.request("/api/signin/", jsonLogin(DEMO.username, DEMO.password, ip)).then((r) => r.body?.cancel())),
          await trips(() => login(gw, "sam", "x", ip)),
          await trips(() => login(gw, "sam", "x", ip)),
          await trips(() => login(gw, "sam", "x", ip)),
        ];
      };
      const on = await tripsPerKind("true");
      expect(on).toEqual(await tripsPerKind("false"));
      const expected = name === "Upstash" ? [2, 2, 2, 1].map((upstash) => ({ upstash, sql: 0 })) : [2, 2, 2, 1].map((sql) => ({ upstash: 0, sql }));
      expect(on).toEqual(expected);
    });

    it("records nothing with AXES_HISTORY=false", async () => {
      const gw = gatewayWith({ ...env, ADMIN_TOKEN, AXES_HISTORY: "false" });
      await login(gw, "quiet", "wrong", nextIp());
      expect((await attemptsOf(gw)).attempts).toEqual([]);
    });
  });
}

describe("lockouts?all=true and the reset of every counter", () => {
  it("lists counters below the limit too, with their failures; resets every counter of this prefix only after confirmation", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN, AXES_FAILURE_LIMIT: "2", AXES_LOCKOUT_PARAMETERS: '["username"]' });
    const neighbour = gatewayWith({ ADMIN_TOKEN, AXES_FAILURE_LIMIT: "2", AXES_LOCKOUT_PARAMETERS: '["username"]' });
    await login(gw, "once", "wrong", nextIp());
    await login(gw, "twice", "wrong", nextIp());
    await login(gw, "twice", "wrong", nextIp());
    await login(neighbour, "next-door", "wrong", nextIp());

    const locked = (await (await admin(gw, "/lockouts")).json()) as { lockouts: { username: string }[] };
    expect(locked.lockouts.map((l) => l.username)).toEqual(["twice"]);
    const all = (await (await admin(gw, "/lockouts?all=true")).json()) as { lockouts: { username: string; failures: number; locked: boolean }[] };
    expect(all.lockouts.map(({ username, failures, locked }) => ({ username, failures, locked })).sort((a, b) => a.failures - b.failures)).toEqual([
      { username: "once", failures: 1, locked: false },
      { username: "twice", failures: 2, locked: true },
    ]);
    expect((await admin(gw, "/lockouts?all=maybe")).status).toBe(400);

    const unconfirmed = await admin(gw, "/lockouts/reset", { all: true });
    expect(unconfirmed.status).toBe(400);
    expect(((await unconfirmed.json()) as { error: string }).error).toContain('"confirm": true');
    expect((await admin(gw, "/lockouts/reset", { all: true, confirm: true, ip: "192.0.2.1" })).status).toBe(400);
    expect(((await (await admin(gw, "/lockouts?all=true")).json()) as { lockouts: unknown[] }).lockouts).toHaveLength(2);

    const reset = await admin(gw, "/lockouts/reset", { all: true, confirm: true });
    expect(await reset.json()).toEqual({ reset: 2 });
    expect(((await (await admin(gw, "/lockouts?all=true")).json()) as { lockouts: unknown[] }).lockouts).toEqual([]);
    expect(await login(gw, "twice", "wrong", nextIp())).toBe(401); // unlocked
    // Another gateway's prefix in the same Redis keeps its counters.
    const theirs = (await (await admin(neighbour, "/lockouts?all=true")).json()) as { lockouts: { username: string }[] };
    expect(theirs.lockouts.map((l) => l.username)).toEqual(["next-door"]);
  });
});

describe("the cron trims Postgres's history", () => {
  it("deletes this prefix's rows older than AXES_HISTORY_RETENTION, and no other prefix's", async () => {
    const gw = gatewayWith({ ...postgres, ...upstashOnly, ADMIN_TOKEN });
    const neighbour = gatewayWith({ ...postgres, ...upstashOnly, ADMIN_TOKEN });
    for (const g of [gw, neighbour, gw]) await login(g, "aged", "wrong", nextIp());
    neonConfig.fetchEndpoint = () => postgres.NEON_HTTP_ENDPOINT!;
    const sql = neon(postgres.DATABASE_URL!);
    // Age one of this prefix's rows and the neighbour's row past a day.
    await sql.query("UPDATE access_log SET at = now() - interval '2 days' WHERE id = (SELECT min(id) FROM access_log WHERE prefix = $1)", [gw.prefix]);
    await sql.query("UPDATE access_log SET at = now() - interval '2 days' WHERE prefix = $1", [neighbour.prefix]);
    await runMaintenance({ sweep: pg(), copyBack: null }, { history: { prefix: gw.prefix, retentionSeconds: 86_400 } });
    expect((await attemptsOf(gw)).attempts).toHaveLength(1);
    expect((await attemptsOf(neighbour)).attempts).toHaveLength(1);
  });
});

describe("the failover store's history", () => {
  it("records on Postgres while Upstash is down, and lists from there while the circuit is open", async () => {
    const gw = gatewayWith({ ...postgres, ADMIN_TOKEN, CIRCUIT_BREAKER_FAILURES: "1", CIRCUIT_BREAKER_COOLDOWN: "1h" });
    const ip = nextIp();
    await login(gw, "before", "wrong", ip);
    expect((await attemptsOf(gw)).attempts.map((a) => a.username)).toEqual(["before"]); // Upstash's stream
    await bridge.fault({ mode: "error", status: 500 });
    await login(gw, "during", "wrong", ip);
    await login(gw, "during", "wrong", ip);
    expect((await attemptsOf(gw)).attempts.map((a) => a.username)).toEqual(["during", "during"]); // Postgres's access_log
  });
});
