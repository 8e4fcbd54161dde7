/**
 * One suite for the counter contract, run unchanged against every store: memory, Upstash (the real
 * Redis through the bridge), Postgres (through the Neon HTTP endpoint) and the failover store over the
 * last two. Three copies of one rule (Lua, plpgsql, TypeScript) cannot drift apart unnoticed.
 */
import { describe, expect, it } from "vitest";
import type { CounterRule, CounterStore, Reservation } from "../../src/store/contract";
import { FailoverStore } from "../../src/store/failover";
import { CircuitBreaker } from "../../src/store/failover/breaker";
import { Failover } from "../../src/store/failover/runner";
import { MemoryStore } from "../../src/store/memory";
import { PostgresStore, createSqlClient } from "../../src/store/postgres";
import { UpstashStore, createUpstashClient } from "../../src/store/upstash";
import { bindings, postgres, uniquePrefix } from "./helpers";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const upstash = () => new UpstashStore(createUpstashClient({ url: bindings.UPSTASH_REDIS_REST_URL!, token: bindings.UPSTASH_REDIS_REST_TOKEN!, timeoutMs: 5000 }));
const pg = () => new PostgresStore(createSqlClient({ url: postgres.DATABASE_URL!, timeoutMs: 5000, httpEndpoint: postgres.NEON_HTTP_ENDPOINT! }), 5000);

const stores: { name: string; make: (prefix: string) => CounterStore }[] = [
  { name: "memory", make: () => new MemoryStore() },
  { name: "upstash", make: upstash },
  { name: "postgres", make: pg },
  {
    name: "upstash+postgres",
    make: (prefix) => {
      const primary = upstash();
      return new FailoverStore(primary, pg(), new Failover(new CircuitBreaker(2, 10_000), "upstash", "postgres", () => primary.ping()), `${prefix}:lockout:`);
    },
  },
];

const rule: CounterRule = { limit: 3, ttlSeconds: 60, lockOutAtFailure: true, countWhileLocked: true, reservationMs: 30_000 };
const quiet: CounterRule = { ...rule, countWhileLocked: false };
const id = () => crypto.randomUUID();
const kinds = (results: readonly Reservation[]) => results.map((r) => r.kind);

for (const { name, make } of stores) {
  describe(`counter contract: ${name}`, () => {
    const setup = () => {
      const prefix = uniquePrefix();
      return { store: make(prefix), key: (name: string) => `${prefix}:lockout:${name}` };
    };

    it("reserves without counting: attempts in flight are not failures", async () => {
      const { store, key } = setup();
      const k = key("ip_address=192.0.2.1");
      expect(await store.reserve([k], rule, id())).toEqual({ kind: "reserved", failures: 0, counts: [0] });
      expect(await store.list(key(""), 10)).toEqual([]);
    });

    it("holds an attempt as busy when failures plus attempts in flight reach the limit, and writes nothing for it", async () => {
      const { store, key } = setup();
      const k = key("username=alice");
      const [a, b] = [id(), id()];
      await store.reserve([k], rule, a);
      await store.confirmFailure([k], a, rule); // 1 failure
      await store.reserve([k], rule, b);
      await store.reserve([k], rule, id()); // 1 failure + 2 in flight
      expect(await store.reserve([k], rule, id())).toMatchObject({ kind: "busy", failures: 1 });
      await store.release([k], b, false); // one in flight gave back: a slot is free again
      expect(await store.reserve([k], rule, id())).toMatchObject({ kind: "reserved", failures: 1 });
    });

    it("counts a confirmed failure, restarts the expiry, and locks at the limit", async () => {
      const { store, key } = setup();
      const k = key("ip_address=192.0.2.2");
      for (let n = 1; n <= 3; n++) {
        const r = id();
        expect((await store.reserve([k], rule, r)).kind).toBe("reserved");
        expect(await store.confirmFailure([k], r, rule)).toEqual({ failures: n, counts: [n] });
      }
      const locked = await store.reserve([k], quiet, id());
      expect(locked).toMatchObject({ kind: "locked", failures: 3, counts: [3] });
      expect(locked.kind === "locked" && locked.lockMsLeft).toBeGreaterThan(55_000);
      expect(locked.kind === "locked" && locked.lockMsLeft).toBeLessThanOrEqual(60_000);
      // Counted while locked: the attempt adds one and restarts the cool-off.
      expect(await store.reserve([k], rule, id())).toMatchObject({ kind: "locked", failures: 4, counts: [4] });
    });

    it("answers null as the lock end of a counter without a cool-off", async () => {
      const { store, key } = setup();
      const k = key("username=forever");
      const permanent = { ...rule, ttlSeconds: null, limit: 1 };
      const r = id();
      await store.reserve([k], permanent, r);
      await store.confirmFailure([k], r, permanent);
      expect(await store.reserve([k], { ...permanent, countWhileLocked: false }, id())).toMatchObject({ kind: "locked", lockMsLeft: null });
    });

    it("gives a permanent lock counted again after a cool-off was configured that cool-off, in every store", async () => {
      const { store, key } = setup();
      const k = key("username=converted");
      const permanent = { ...rule, ttlSeconds: null, limit: 1 };
      const r = id();
      await store.reserve([k], permanent, r);
      await store.confirmFailure([k], r, permanent);
      const counted = await store.reserve([k], { ...permanent, ttlSeconds: 60 }, id());
      expect(counted).toMatchObject({ kind: "locked", failures: 2 });
      expect(counted.kind === "locked" && counted.lockMsLeft).toBeGreaterThan(55_000);
      expect(counted.kind === "locked" && counted.lockMsLeft).toBeLessThanOrEqual(60_000);
    });

    it("locks on the highest counter of several keys and reports each count", async () => {
      const { store, key } = setup();
      const [ip, user] = [key("ip_address=192.0.2.3"), key("username=bob")];
      for (let n = 0; n < 3; n++) {
        const r = id();
        await store.reserve([user], rule, r);
        await store.confirmFailure([user], r, rule);
      }
      expect(await store.reserve([ip, user], quiet, id())).toMatchObject({ kind: "locked", failures: 3, counts: [0, 3] });
    });

    it("clears the counters on release only when asked (reset on success), keeping other reservations", async () => {
      const { store, key } = setup();
      const k = key("username=carol");
      const [a, b, c] = [id(), id(), id()];
      await store.reserve([k], rule, a);
      await store.confirmFailure([k], a, rule);
      await store.reserve([k], rule, b);
      await store.release([k], b, false);
      await store.reserve([k], rule, c);
      await store.reserve([k], rule, id()); // 1 failure + 2 in flight
      await store.release([k], c, true); // c succeeded: failures cleared, the other stays in flight
      expect(await store.reserve([k], rule, id())).toMatchObject({ kind: "reserved", failures: 0 });
      expect(await store.reserve([k], rule, id())).toMatchObject({ kind: "reserved", failures: 0 }); // 3 in flight now
      expect(await store.reserve([k], rule, id())).toMatchObject({ kind: "busy", failures: 0 });
    });

    it("deletes counters and reservations on reset", async () => {
      const { store, key } = setup();
      const k = key("username=dave");
      for (let n = 0; n < 3; n++) await store.reserve([k], rule, id());
      expect((await store.reserve([k], rule, id())).kind).toBe("busy");
      await store.reset([k]);
      expect((await store.reserve([k], rule, id())).kind).toBe("reserved");
    });

    it("lets a reservation whose client vanished expire after its lifetime, and a counter after its cool-off", async () => {
      const { store, key } = setup();
      const [gone, cooled] = [key("username=gone"), key("username=cooled")];
      const short = { ...rule, limit: 1, ttlSeconds: 0.3, reservationMs: 300 };
      expect((await store.reserve([gone], short, id())).kind).toBe("reserved");
      expect((await store.reserve([gone], short, id())).kind).toBe("busy");
      const r = id();
      await store.reserve([cooled], short, r);
      await store.confirmFailure([cooled], r, short);
      expect((await store.reserve([cooled], { ...short, countWhileLocked: false }, id())).kind).toBe("locked");
      await sleep(450);
      expect((await store.reserve([gone], short, id())).kind).toBe("reserved");
      expect(await store.reserve([cooled], short, id())).toMatchObject({ kind: "reserved", failures: 0 });
    });

    it("never holds or locks when AXES_LOCK_OUT_AT_FAILURE is off", async () => {
      const { store, key } = setup();
      const k = key("username=erin");
      const counting = { ...rule, limit: 1, lockOutAtFailure: false };
      const results = await Promise.all(Array.from({ length: 5 }, () => store.reserve([k], counting, id())));
      expect(kinds(results)).toEqual(Array(5).fill("reserved"));
    });

    it("reserves exactly limit-minus-failures of 100 concurrent attempts; the rest are held, none counted", async () => {
      const { store, key } = setup();
      const k = key("username=burst");
      const r = id();
      await store.reserve([k], rule, r);
      await store.confirmFailure([k], r, rule); // 1 confirmed failure: 2 slots left
      const ids = Array.from({ length: 100 }, id);
      const results = await Promise.all(ids.map((reservation) => store.reserve([k], quiet, reservation)));
      expect(kinds(results).filter((kind) => kind === "reserved")).toHaveLength(2);
      expect(kinds(results).filter((kind) => kind === "busy")).toHaveLength(98);
      // The two fail: exactly the limit of confirmed failures, and from now on the key is locked.
      const admitted = ids.filter((_, i) => results[i]!.kind === "reserved");
      const settled = await Promise.all(admitted.map((reservation) => store.confirmFailure([k], reservation, rule)));
      expect(settled.map((s) => s.failures).sort()).toEqual([2, 3]);
      expect(await store.reserve([k], quiet, id())).toMatchObject({ kind: "locked", failures: 3 });
    });

    it("counts refused attempts only while the lock stands, restarting every counter's expiry", async () => {
      const { store, key } = setup();
      const [ip, user] = [key("ip_address=192.0.2.4"), key("username=frank")];
      const short = { ...rule, limit: 1, ttlSeconds: 2 };
      const r = id();
      await store.reserve([ip], short, r);
      await store.confirmFailure([ip], r, short);
      const state = await store.countRefused({ lockKey: ip, attempts: new Map([[ip, 4], [user, 4]]) }, { ...short, ttlSeconds: 60 });
      expect(state).toMatchObject({ locked: true, failures: 5 });
      expect(state.lockMsLeft).toBeGreaterThan(55_000);
      expect(await store.reserve([user], quiet, id())).toMatchObject({ kind: "locked", failures: 4 });
      await store.reset([ip, user]);
      expect(await store.countRefused({ lockKey: ip, attempts: new Map([[ip, 1], [user, 1]]) }, short)).toMatchObject({ locked: false });
      expect(await store.reserve([ip, user], quiet, id())).toMatchObject({ kind: "reserved", failures: 0 });
    });
  });
}
