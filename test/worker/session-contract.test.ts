/**
 * One suite for the session store contract (src/store/session-contract.ts), run unchanged against every
 * store: memory, Upstash (the real Redis through the bridge), Postgres (through the Neon HTTP endpoint)
 * and the failover store over the last two. Last-seen times are passed in, so idle timeouts are tested
 * without waiting; only the stores' own expiry (ttl) needs real time.
 */
import { describe, expect, it } from "vitest";
import type { Session, SessionStore } from "../../src/store/session-contract";
import { FailoverSessionStore } from "../../src/sessions/failover";
import { MemorySessionStore } from "../../src/sessions/memory";
import { PostgresSessionStore } from "../../src/sessions/postgres";
import { UpstashSessionStore } from "../../src/sessions/upstash";
import { CircuitBreaker } from "../../src/store/failover/breaker";
import { Failover } from "../../src/store/failover/runner";
import { createSqlClient } from "../../src/store/postgres";
import { createUpstashClient } from "../../src/store/upstash";
import { bindings, postgres, uniquePrefix } from "./helpers";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const upstash = (prefix: string) =>
  new UpstashSessionStore({ redis: createUpstashClient({ url: bindings.UPSTASH_REDIS_REST_URL!, token: bindings.UPSTASH_REDIS_REST_TOKEN!, timeoutMs: 5000 }), prefix });
const pg = (prefix: string) =>
  new PostgresSessionStore({ sql: createSqlClient({ url: postgres.DATABASE_URL!, timeoutMs: 5000, httpEndpoint: postgres.NEON_HTTP_ENDPOINT! }), prefix, timeoutMs: 5000 });

const stores: { name: string; make: (prefix: string) => SessionStore }[] = [
  { name: "memory", make: () => new MemorySessionStore() },
  { name: "upstash", make: upstash },
  { name: "postgres", make: pg },
  {
    name: "upstash+postgres",
    make: (prefix) => {
      const failover = new Failover({ breaker: new CircuitBreaker(2, 10_000), ping: async () => {} });
      return new FailoverSessionStore({ primary: upstash(prefix), fallback: pg(prefix), failover, revocationTtlMs: 60_000 });
    },
  },
];

const HOUR = 3_600_000;
const TIMEOUT = 30 * 60_000;
/** A fresh session hash (hex, as the registry stores them). */
const newHash = () => crypto.randomUUID().replaceAll("-", "") + crypto.randomUUID().replaceAll("-", "");
const record = (username: string, at: number): Session => ({ username, ip: "192.0.2.7", createdAtMs: at, lastSeenAtMs: at, revokedAtMs: null });

for (const { name, make } of stores) {
  describe(`session contract: ${name}`, () => {
    const setup = () => make(uniquePrefix());

    it("knows nothing of a session it never saw", async () => {
      const store = setup();
      expect(await store.touch(newHash(), Date.now(), TIMEOUT, HOUR)).toEqual({ state: "unknown", user: null });
      expect(await store.listUser("nobody")).toEqual([]);
    });

    it("answers a saved session active with its user, and slides its last-seen time", async () => {
      const store = setup();
      const [hash, t0] = [newHash(), Date.now()];
      await store.save(hash, record("alice", t0), HOUR);
      expect(await store.touch(hash, t0 + 1000, TIMEOUT, HOUR)).toEqual({ state: "active", user: "alice" });
      expect(await store.listUser("alice")).toEqual([{ hash, ...record("alice", t0), lastSeenAtMs: t0 + 1000 }]);
      // Slid: idle time counts from the last touch, not from the login.
      expect(await store.touch(hash, t0 + 1000 + TIMEOUT, TIMEOUT, HOUR)).toEqual({ state: "active", user: "alice" });
    });

    it("answers expired once idle longer than the timeout, without sliding it back to life", async () => {
      const store = setup();
      const [hash, t0] = [newHash(), Date.now()];
      await store.save(hash, record("bob", t0), HOUR);
      expect(await store.touch(hash, t0 + TIMEOUT + 1, TIMEOUT, HOUR)).toEqual({ state: "expired", user: null });
      expect(await store.touch(hash, t0 + TIMEOUT + 2, TIMEOUT, HOUR)).toEqual({ state: "expired", user: null });
      expect((await store.listUser("bob"))[0]?.lastSeenAtMs).toBe(t0);
    });

    it("revokes: counts only sessions that existed unrevoked, and refuses them afterwards", async () => {
      const store = setup();
      const t0 = Date.now();
      const [a, b] = [newHash(), newHash()];
      await store.save(a, record("carol", t0), HOUR);
      await store.save(b, record("carol", t0), HOUR);
      expect(await store.revoke([a], t0 + 5, HOUR)).toBe(1);
      expect(await store.revoke([a, b], t0 + 6, HOUR)).toBe(1); // a was revoked already
      expect(await store.touch(a, t0 + 7, TIMEOUT, HOUR)).toEqual({ state: "revoked", user: null });
      expect(await store.touch(b, t0 + 7, TIMEOUT, HOUR)).toEqual({ state: "revoked", user: null });
      // A session it never saw: not counted, but refused from now on (an admin revoked that cookie).
      const unseen = newHash();
      expect(await store.revoke([unseen], t0, HOUR)).toBe(0);
      expect(await store.touch(unseen, t0 + 8, TIMEOUT, HOUR)).toEqual({ state: "revoked", user: null });
      expect(await store.revoke([], t0, HOUR)).toBe(0);
      const listed = await store.listUser("carol");
      expect(listed.map((s) => s.revokedAtMs).sort()).toEqual([t0 + 5, t0 + 6]);
    });

    it("forgets a removed session (logout), and only that one", async () => {
      const store = setup();
      const t0 = Date.now();
      const [gone, kept] = [newHash(), newHash()];
      await store.save(gone, record("dave", t0), HOUR);
      await store.save(kept, record("dave", t0), HOUR);
      await store.remove(gone);
      expect(await store.touch(gone, t0, TIMEOUT, HOUR)).toEqual({ state: "unknown", user: null });
      expect((await store.listUser("dave")).map((s) => s.hash)).toEqual([kept]);
    });

    it("lists a user's sessions only, whatever characters the names share", async () => {
      const store = setup();
      const t0 = Date.now();
      const names = ["erin", "erin:x", "erin%3Ax", "erinn", "Erin", "éri n"];
      const hashes = names.map(() => newHash());
      await Promise.all(names.map((u, i) => store.save(hashes[i]!, record(u, t0), HOUR)));
      for (const [i, u] of names.entries()) expect((await store.listUser(u)).map((s) => s.hash)).toEqual([hashes[i]]);
    });

    it("replaces a session saved again under the same hash", async () => {
      const store = setup();
      const [hash, t0] = [newHash(), Date.now()];
      await store.save(hash, record("frank", t0), HOUR);
      await store.save(hash, { ...record("frank", t0), ip: "192.0.2.8" }, HOUR);
      expect(await store.listUser("frank")).toEqual([{ hash, ...record("frank", t0), ip: "192.0.2.8" }]);
    });

    it("lets a session end after its ttl, a touch restart it, and a revocation last its own ttl", async () => {
      const store = setup();
      const t0 = Date.now();
      const ttl = 2000; // setting up may take up to 900 ms on a loaded machine
      const [idle, touched, revoked] = [newHash(), newHash(), newHash()];
      await store.save(idle, record("gina", t0), ttl);
      await store.save(touched, record("gina", t0), ttl);
      await store.save(revoked, record("gina", t0), HOUR);
      await store.revoke([revoked], t0, ttl);
      await sleep(1100);
      expect(await store.touch(touched, Date.now(), TIMEOUT, ttl)).toMatchObject({ state: "active" });
      await sleep(1100);
      expect(await store.touch(idle, Date.now(), TIMEOUT, ttl)).toEqual({ state: "unknown", user: null });
      expect(await store.touch(touched, Date.now(), TIMEOUT, ttl)).toMatchObject({ state: "active" });
      expect(await store.touch(revoked, Date.now(), TIMEOUT, ttl)).toEqual({ state: "unknown", user: null });
      expect((await store.listUser("gina")).map((s) => s.hash)).toEqual([touched]);
    });
  });
}
