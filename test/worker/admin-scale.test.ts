/**
 * The admin API under attack: with 20,000 attacker counters in the store, the status and reset of a
 * locked user still find its counters (computed keys, or a scan that completes), and the listing
 * pages through every lockout. Run on Upstash (the real Redis through the bridge) and on Postgres.
 */
import { describe, expect, it, onTestFinished } from "vitest";
import { MAX_KEY_USERNAME, usernameInKey } from "../../src/lockout/keys";
import type { CounterSnapshot, CounterStore } from "../../src/store/contract";
import { PostgresStore, createSqlClient } from "../../src/store/postgres";
import { UpstashStore, createUpstashClient } from "../../src/store/upstash";
import { bindings, gatewayWith, jsonLogin, nextIp, postgres } from "./helpers";

const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";
const ATTACKERS = 20_000;
const PARAMETERS = '[["ip_address"],["username"],["ip_address","username"]]';

const stores: { name: string; env: Record<string, string | undefined>; make: () => CounterStore }[] = [
  {
    name: "upstash",
    env: {},
    make: () => new UpstashStore(createUpstashClient({ url: bindings.UPSTASH_REDIS_REST_URL!, token: bindings.UPSTASH_REDIS_REST_TOKEN!, timeoutMs: 20_000 })),
  },
  {
    name: "postgres",
    env: { ...postgres, UPSTASH_REDIS_REST_URL: "", UPSTASH_REDIS_REST_TOKEN: "", DATABASE_TIMEOUT_MS: "20000" },
    make: () => new PostgresStore(createSqlClient({ url: postgres.DATABASE_URL!, timeoutMs: 20_000, httpEndpoint: postgres.NEON_HTTP_ENDPOINT! }), 20_000),
  },
];

type Gateway = ReturnType<typeof gatewayWith>;
const admin = async (gw: Gateway, path: string, body?: object) => {
  const res = await gw.request(`/__gateway${path}`, {
    method: body ? "POST" : "GET",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: body && JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
};
const fail = async (gw: Gateway, username: string, ip: string) => (await gw.request("/api/login/", jsonLogin(username, "wrong", ip))).status;

/**
 * 20,000 counters the way an attack leaves them: a third per address, a third per username, a third
 * per pair; every seventh at the limit (locked). Written with merge, 5,000 per call.
 */
async function plantAttackers(store: CounterStore, prefix: string): Promise<{ keys: string[]; locked: number }> {
  // The stores are shared with other test runs: the test deletes them, and they would expire soon anyway.
  const expiresAtMs = Date.now() + 300_000;
  const counters: CounterSnapshot[] = Array.from({ length: ATTACKERS }, (_, i) => {
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const name = ["ip_address=" + ip, `username=attacker-${i}`, `ip_address=${ip}&username=attacker-${i}`][i % 3]!;
    return { key: `${prefix}:lockout:${name}`, count: i % 7 === 0 ? 3 : 1, expiresAtMs };
  });
  for (let i = 0; i < counters.length; i += 5000) await store.merge(counters.slice(i, i + 5000));
  return { keys: counters.map((c) => c.key), locked: counters.filter((c) => c.count >= 3).length };
}

for (const { name, env, make } of stores) {
  describe(`admin at scale: ${name}`, () => {
    it(`finds, resets and lists a locked user among ${ATTACKERS} attacker counters`, { timeout: 120_000 }, async () => {
      const gw = gatewayWith({ ADMIN_TOKEN, AXES_LOCKOUT_PARAMETERS: PARAMETERS, AXES_FAILURE_LIMIT: "3", ...env });
      const store = make();
      const { keys: planted, locked: attackersLocked } = await plantAttackers(store, gw.prefix);
      onTestFinished(async () => {
        for (let i = 0; i < planted.length; i += 5000) await store.reset(planted.slice(i, i + 5000));
      });
      const ip = nextIp();
      const victim = `victim-${crypto.randomUUID().slice(0, 8)}`;
      // As axes: the failure that reaches the limit is already answered with the lockout.
      expect([await fail(gw, victim, ip), await fail(gw, victim, ip), await fail(gw, victim, ip)]).toEqual([401, 401, 429]);

      // Both given: every counter's key is computed, no scan.
      const both = await admin(gw, `/lockouts/status?ip=${ip}&username=${victim}`);
      expect(both.locked).toBe(true);
      expect(both.counters).toHaveLength(3);
      // The username alone: its own counter is computed, its pair counters found by a complete scan.
      const byName = (await admin(gw, `/lockouts/status?username=${victim}`)) as { locked: boolean; counters: { ip_address?: string; failures: number }[] };
      expect(byName.locked).toBe(true);
      expect(byName.counters.map((c) => c.ip_address ?? "-").sort()).toEqual([ip, "-"].sort());

      // Listing: every page followed, every lockout once.
      const seen = new Set<string>();
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = (await admin(gw, `/lockouts${cursor === null ? "" : `?cursor=${encodeURIComponent(cursor)}`}`)) as { lockouts: { ip_address?: string; username?: string }[]; cursor: string | null };
        for (const l of page.lockouts) {
          const id = `${l.ip_address ?? ""}|${l.username ?? ""}`;
          expect(seen.has(id)).toBe(false);
          seen.add(id);
        }
        cursor = page.cursor;
        pages += 1;
      } while (cursor !== null);
      expect(pages).toBeGreaterThan(1);
      expect(seen.size).toBe(attackersLocked + 3); // the victim's address, name and pair

      // Reset by username: the name's own counter and its pair (found by the scan).
      expect(await admin(gw, "/lockouts/reset", { username: victim })).toEqual({ reset: 2 });
      expect(await fail(gw, victim, nextIp())).toBe(401);
      expect(await admin(gw, `/lockouts/status?username=${victim}`)).toMatchObject({ locked: false });
      // The address keeps its own lock, as axes_reset_username leaves it.
      expect(await fail(gw, "someone-else", ip)).toBe(429);
      await admin(gw, "/lockouts/reset", { ip });
      expect(await admin(gw, `/lockouts/status?ip=${ip}`)).toEqual({ locked: false, counters: [] });
      expect(await fail(gw, "someone-else", ip)).toBe(401);
    });
  });
}

describe("status and reset by IP without a scan", () => {
  it("find the counter of attempts without a username, which is bound to the address", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN, AXES_LOCKOUT_PARAMETERS: '["username"]', AXES_FAILURE_LIMIT: "2" });
    const ip = nextIp();
    expect([await fail(gw, "", ip), await fail(gw, "", ip)]).toEqual([401, 429]);
    expect(await admin(gw, `/lockouts/status?ip=${ip}`)).toMatchObject({ locked: true, counters: [{ ip_address: ip, username: "", failures: 2 }] });
    expect(await admin(gw, "/lockouts/reset", { ip })).toEqual({ reset: 1 });
    expect(await fail(gw, "", ip)).toBe(401);
  });
});

describe("usernames in keys", () => {
  it("bounds the encoded length: a long or multibyte username becomes a digest", async () => {
    expect(await usernameInKey("a".repeat(MAX_KEY_USERNAME))).toBe("a".repeat(MAX_KEY_USERNAME));
    for (const long of ["a".repeat(MAX_KEY_USERNAME + 1), "é".repeat(34), "😀".repeat(200)]) {
      const written = await usernameInKey(long);
      expect(written).toMatch(/^sha256:[0-9a-f]{32}$/);
    }
    expect(await usernameInKey("é".repeat(33))).toBe(encodeURIComponent("é".repeat(33))); // 198 characters encoded
  });

  it("never writes a username as something that looks like a digest", async () => {
    const digest = await usernameInKey("x".repeat(300));
    expect(await usernameInKey(digest)).not.toBe(digest);
  });

  it("locks, shows and resets a 200-character multibyte username under a small key", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN, AXES_LOCKOUT_PARAMETERS: '["username"]', AXES_FAILURE_LIMIT: "2" });
    const name = "ж".repeat(200);
    await fail(gw, name, nextIp());
    await fail(gw, name, nextIp());
    expect(await fail(gw, name, nextIp())).toBe(429);
    const status = (await admin(gw, `/lockouts/status?username=${encodeURIComponent(name)}`)) as { locked: boolean; counters: { username: string }[] };
    expect(status.locked).toBe(true);
    expect(status.counters[0]!.username).toMatch(/^sha256:/);
    expect(await admin(gw, "/lockouts/reset", { username: name })).toEqual({ reset: 1 });
    expect(await fail(gw, name, nextIp())).toBe(401);
  });
});
