/**
 * One suite for the counter contract, run unchanged against every store: memory, Upstash (the real
 * Redis through the bridge), Postgres (through the Neon HTTP endpoint) and the failover store over the
 * last two. Three copies of one rule (Lua, plpgsql, TypeScript) cannot drift apart unnoticed.
 */
import { describe, expect, it } from "vitest";
import type { CounterRule, CounterStore, Reservation } from "../../src/store/contract";
import { MemoryStore } from "../../src/store/memory";
import { uniquePrefix } from "./helpers";
import { stores } from "./store-kinds";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const rule: CounterRule = { limit: 3, ttlSeconds: 60, lockOutAtFailure: true, countWhileLocked: true, reservationMs: 30_000, idleSeconds: 86_400 };
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
      expect(await store.reserve([k], rule, id())).toEqual({ kind: "reserved", failures: 0, counts: [0], inFlight: 1 });
      expect((await store.list(key(""), 10)).counters).toEqual([]);
    });

    it("tells a reservation how many are in flight with it, and reads failures and live reservations without writing", async () => {
      const { store, key } = setup();
      const [ip, user] = [key("ip_address=192.0.2.9"), key("username=pending")];
      const [a, b] = [id(), id()];
      expect(await store.pending([ip, user])).toEqual({ failures: 0, counts: [0, 0], inFlight: 0 });
      expect(await store.reserve([ip, user], rule, a)).toMatchObject({ kind: "reserved", inFlight: 1 });
      expect(await store.reserve([user], rule, b)).toMatchObject({ kind: "reserved", inFlight: 2 });
      expect(await store.pending([ip, user])).toEqual({ failures: 0, counts: [0, 0], inFlight: 2 });
      await store.confirmFailure([ip, user], a, rule);
      expect(await store.pending([ip, user])).toEqual({ failures: 1, counts: [1, 1], inFlight: 1 });
      await store.release([user], b, false);
      expect(await store.pending([ip, user])).toEqual({ failures: 1, counts: [1, 1], inFlight: 0 });
      expect(await store.pending([user])).toEqual({ failures: 1, counts: [1], inFlight: 0 }); // reading wrote nothing
    });

    it("does not count an expired reservation as in flight", async () => {
      const { store, key } = setup();
      const k = key("username=expiring");
      await store.reserve([k], { ...rule, reservationMs: 200 }, id());
      expect((await store.pending([k])).inFlight).toBe(1);
      await sleep(350);
      expect((await store.pending([k])).inFlight).toBe(0);
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

    it("answers as the lock's end the latest end among the locked counters, and null when one of them never ends", async () => {
      const { store, key } = setup();
      const [soon, later, forever, below] = ["username=soon", "username=later", "username=forever2", "ip_address=192.0.2.11"].map(key) as [string, string, string, string];
      const now = Date.now();
      await store.merge([
        { key: soon, count: 3, expiresAtMs: now + 30_000 },
        { key: later, count: 3, expiresAtMs: now + 90_000 },
        { key: forever, count: 3, expiresAtMs: null },
        { key: below, count: 2, expiresAtMs: now + 600_000 }, // below the limit: its expiry is no lock's end
      ]);
      const both = await store.reserve([below, soon, later], quiet, id());
      expect(both.kind === "locked" && both.lockMsLeft).toBeGreaterThan(85_000);
      expect(both.kind === "locked" && both.lockMsLeft).toBeLessThanOrEqual(90_000);
      expect(await store.reserve([soon, forever], quiet, id())).toMatchObject({ kind: "locked", lockMsLeft: null });
    });

    it("ignores the release of a reservation it does not hold", async () => {
      const { store, key } = setup();
      const k = key("username=stranger");
      const r = id();
      await store.reserve([k], rule, r);
      await store.confirmFailure([k], r, rule);
      await store.release([k], id(), false);
      await store.release([k], r, false); // already settled
      expect(await store.reserve([k], rule, id())).toMatchObject({ kind: "reserved", failures: 1 });
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

    it("without a cool-off, forgets a counter below the limit after the idle time and keeps one at the limit", async () => {
      const { store, key } = setup();
      const [below, at, other] = [key("username=idle"), key("username=kept"), key("ip_address=192.0.2.9")];
      // Long enough for the setup on a loaded machine.
      const permanent = { ...rule, ttlSeconds: null, limit: 2, idleSeconds: 1.5 };
      for (const [k, times] of [[below, 1], [at, 2]] as const) {
        for (let n = 0; n < times; n++) {
          const r = id();
          await store.reserve([k], permanent, r);
          await store.confirmFailure([k], r, permanent);
        }
      }
      // Counted while locked: the lock's counter stays permanent, a new counter beside it gets the idle time.
      expect(await store.reserve([at, other], permanent, id())).toMatchObject({ kind: "locked", counts: [3, 1], lockMsLeft: null });
      const read = new Map((await store.read([below, at, other])).map((c) => [c.key, c]));
      expect(read.get(at)?.expiresAtMs).toBeNull();
      expect(read.get(below)?.expiresAtMs).toBeGreaterThan(Date.now());
      expect(read.get(below)?.expiresAtMs).toBeLessThanOrEqual(Date.now() + 1500);
      await sleep(1650);
      expect(await store.read([below, at, other])).toEqual([{ key: at, count: 3, expiresAtMs: null }]);
      expect(await store.reserve([below], permanent, id())).toMatchObject({ kind: "reserved", failures: 0 });
    });

    it("makes a lock permanent when it is counted after the cool-off was removed", async () => {
      const { store, key } = setup();
      const k = key("username=unconverted");
      const r = id();
      await store.reserve([k], { ...rule, limit: 1 }, r);
      await store.confirmFailure([k], r, { ...rule, limit: 1 });
      const counted = await store.reserve([k], { ...rule, limit: 1, ttlSeconds: null }, id());
      expect(counted).toMatchObject({ kind: "locked", failures: 2, lockMsLeft: null });
    });

    it("never expires a counter that does not lock (AXES_LOCK_OUT_AT_FAILURE off) only because it passed the limit", async () => {
      const { store, key } = setup();
      const k = key("username=counted");
      const counting = { ...rule, ttlSeconds: null, limit: 1, lockOutAtFailure: false, idleSeconds: 60 };
      const r = id();
      await store.reserve([k], counting, r);
      await store.confirmFailure([k], r, counting);
      const [counter] = await store.read([k]);
      expect(counter?.count).toBe(1);
      expect(counter?.expiresAtMs).toBeGreaterThan(Date.now() + 55_000);
    });

    it("counts attempts refused from a permanent lock, giving the other counters the idle time", async () => {
      const { store, key } = setup();
      const [ip, user] = [key("ip_address=192.0.2.10"), key("username=henry")];
      const permanent = { ...rule, ttlSeconds: null, limit: 2, idleSeconds: 1.5 };
      for (let n = 0; n < 2; n++) {
        const r = id();
        await store.reserve([ip], permanent, r);
        await store.confirmFailure([ip], r, permanent);
      }
      expect(await store.countRefused({ lockKey: ip, attempts: new Map([[ip, 1], [user, 1]]) }, { ...permanent, limit: 3 })).toMatchObject({ locked: false });
      expect(await store.countRefused({ lockKey: ip, attempts: new Map([[ip, 1], [user, 1]]) }, permanent)).toEqual({ locked: true, failures: 3, lockMsLeft: null });
      await sleep(1650);
      expect(await store.read([ip, user])).toEqual([{ key: ip, count: 3, expiresAtMs: null }]);
    });

    it("reads the live counters among given keys, and lists every counter under a prefix page by page", async () => {
      const { store, key } = setup();
      const keys = Array.from({ length: 25 }, (_, i) => key(`username=page-${i}`));
      const expiresAtMs = Date.now() + 60_000;
      await store.merge(keys.map((k, i) => ({ key: k, count: i + 1, expiresAtMs: i === 0 ? null : expiresAtMs })));
      const read = await store.read([keys[0]!, keys[3]!, key("username=absent"), keys[3]!]);
      expect(read.map((c) => [c.key, c.count, c.expiresAtMs === null])).toEqual([[keys[0], 1, true], [keys[3], 4, false]]);
      expect(await store.read([])).toEqual([]);

      const listAll = async (start: string | null) => {
        const seen: string[] = [];
        let cursor = start;
        for (let pages = 0; pages < 1000; pages++) {
          const page = await store.list(key(""), 10, cursor);
          expect(page.counters.length).toBeLessThanOrEqual(10 + 1000); // a page, or at most one SCAN batch more
          seen.push(...page.counters.map((c) => c.key));
          cursor = page.cursor;
          if (cursor === null) break;
        }
        return seen.sort();
      };
      expect(await listAll(null)).toEqual([...keys].sort());
      // Another store's cursor (after a failover) starts the listing again: it may repeat, never skip.
      expect(await listAll(name.startsWith("upstash") ? "k:zzz" : "s:12345")).toEqual([...keys].sort());
    });

    it("merges without ever lowering a count or shortening an expiry", async () => {
      const { store, key } = setup();
      const [k, forever] = [key("username=merged"), key("username=merged-forever")];
      const soon = Date.now() + 30_000;
      const later = Date.now() + 90_000;
      await store.merge([{ key: k, count: 5, expiresAtMs: later }, { key: forever, count: 2, expiresAtMs: null }]);
      await store.merge([{ key: k, count: 3, expiresAtMs: soon }, { key: forever, count: 1, expiresAtMs: soon }]);
      const read = new Map((await store.read([k, forever])).map((c) => [c.key, c]));
      expect(read.get(k)?.count).toBe(5);
      expect(read.get(k)?.expiresAtMs).toBeGreaterThan(later - 2000);
      expect(read.get(forever)).toEqual({ key: forever, count: 2, expiresAtMs: null });
      await store.merge([{ key: k, count: 7, expiresAtMs: soon }]);
      expect((await store.read([k]))[0]?.count).toBe(7);
    });

    it("counts every one of 50 concurrent attempts refused by a lock, and each settled failure, exactly once", async () => {
      const { store, key } = setup();
      const k = key("username=flooded");
      const one = { ...rule, limit: 1 };
      const r = id();
      await store.reserve([k], one, r);
      await store.confirmFailure([k], r, one);
      const results = await Promise.all(Array.from({ length: 50 }, () => store.reserve([k], one, id())));
      expect(kinds(results)).toEqual(Array(50).fill("locked"));
      expect(results.map((x) => (x.kind === "locked" ? x.failures : 0)).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
      expect((await store.read([k]))[0]?.count).toBe(51);
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

    it("counts an attempt on a trusted device's keys only while the registry holds the device, and drops a device that fails to the limit", async () => {
      const { store, key } = setup();
      const [ip, user, device] = [key("ip_address=192.0.2.7"), key("username=alice"), key(`device=${"d".repeat(32)}`)];
      const registry = `${key("")}devices:alice`;
      const trust = { registry, id: "d".repeat(32), keys: [ip, device] };
      // Unknown to the registry: counted as an ordinary attempt.
      const first = id();
      expect(await store.reserve([ip, user], rule, first, trust)).toMatchObject({ kind: "reserved", trusted: false });
      // Its success registers the device in the same call as the release.
      await store.release([ip, user], first, false, {
        registry, id: "d".repeat(32), replaces: null, expiresAtMs: Date.now() + 60_000, info: '{"ip":"192.0.2.7"}', maxPerUser: 20,
      });
      expect((await store.listDevices(registry)).map((d) => [d.id, d.info])).toEqual([["d".repeat(32), '{"ip":"192.0.2.7"}']]);
      // The username is locked; the trusted device is not refused by it.
      for (let i = 0; i < 3; i++) {
        const other = id();
        await store.reserve([user], rule, other);
        await store.confirmFailure([user], other, rule);
      }
      expect(await store.reserve([ip, user], quiet, id())).toMatchObject({ kind: "locked" });
      for (let i = 1; i <= 3; i++) {
        const attempt = id();
        const reserved = await store.reserve([ip, user], rule, attempt, trust);
        expect(reserved).toMatchObject({ kind: "reserved", trusted: true, counts: [i - 1, i - 1] });
        expect((await store.confirmFailure([ip, device], attempt, rule, { registry, id: trust.id, counter: device })).counts).toEqual([i, i]);
      }
      // At the limit the device left the registry: the next attempt is an ordinary one, refused by the username's lock.
      expect(await store.listDevices(registry)).toEqual([]);
      expect(await store.reserve([key("ip_address=192.0.2.8"), user], quiet, id(), { ...trust, keys: [key("ip_address=192.0.2.8"), device] })).toMatchObject({ kind: "locked", trusted: false });
    });

    it("revokes a device and deletes its counter", async () => {
      const { store, key } = setup();
      const registry = `${key("")}devices:bob`;
      const counterOf = (device: string) => key(`device=${device}`);
      for (const device of ["a".repeat(32), "b".repeat(32)]) {
        await store.release([], id(), false, { registry, id: device, replaces: null, expiresAtMs: Date.now() + 60_000, info: "{}", maxPerUser: 20 });
      }
      const attempt = id();
      await store.reserve([counterOf("a".repeat(32))], rule, attempt);
      await store.confirmFailure([counterOf("a".repeat(32))], attempt, rule);
      expect(await store.revokeDevices(registry, ["a".repeat(32)], counterOf)).toBe(1);
      expect(await store.read([counterOf("a".repeat(32))])).toEqual([]);
      expect((await store.listDevices(registry)).map((d) => d.id)).toEqual(["b".repeat(32)]);
      expect(await store.revokeDevices(registry, null, counterOf)).toBe(1);
      expect(await store.listDevices(registry)).toEqual([]);
    });

    it("grows the cool-off of a repeat lockout by the factor, up to the cap, and reports the lockouts", async () => {
      const { store, key } = setup();
      const k = key("ip_address=192.0.2.9");
      const growing: CounterRule = { ...rule, ttlSeconds: 1, growth: { factor: 3, memorySeconds: 60, maxSeconds: 2.5 } };
      const lockOut = async () => {
        let last;
        for (let i = 0; i < 3; i++) {
          const attempt = id();
          expect((await store.reserve([k], growing, attempt)).kind).toBe("reserved");
          last = await store.confirmFailure([k], attempt, growing);
        }
        return last!;
      };
      expect(await lockOut()).toMatchObject({ failures: 3, lockouts: 1 });
      const first = (await store.read([k]))[0]!.expiresAtMs! - Date.now();
      expect(first).toBeLessThanOrEqual(1000);
      await sleep(first + 200);
      expect(await lockOut()).toMatchObject({ failures: 3, lockouts: 2 });
      const second = (await store.read([k]))[0]!.expiresAtMs! - Date.now();
      expect(second).toBeGreaterThan(1500); // 3 s grown, capped at 2.5 s
      expect(second).toBeLessThanOrEqual(2500);
      // Refused while locked and counted: the cool-off restarts at the grown value, no new lockout recorded.
      const refused = await store.reserve([k], growing, id());
      expect(refused).toMatchObject({ kind: "locked", lockouts: 2 });
      expect((refused as { lockMsLeft: number }).lockMsLeft).toBeGreaterThan(1500);
      // A reset forgets the history too.
      await store.reset([k]);
      expect(await lockOut()).toMatchObject({ lockouts: 1 });
    });
  });
}

/** Time travel where the store allows it: the memory store's clock is injected, so hours pass at once. */
describe("counter contract: memory, by an injected clock", () => {
  const clocked = () => {
    let now = 1_800_000_000_000;
    return { store: new MemoryStore(() => now), travel: (ms: number) => (now += ms) };
  };
  const fail = async (store: CounterStore, keys: string[], r: CounterRule) => {
    const reservation = id();
    expect((await store.reserve(keys, r, reservation)).kind).toBe("reserved");
    return store.confirmFailure(keys, reservation, r);
  };

  it("lifts a lock exactly when its cool-off ends, counting from the last counted attempt", async () => {
    const { store, travel } = clocked();
    const short = { ...rule, limit: 1, ttlSeconds: 600 };
    await fail(store, ["k"], short);
    travel(599_000);
    expect(await store.reserve(["k"], short, id())).toMatchObject({ kind: "locked", failures: 2, lockMsLeft: 600_000 }); // restarted
    travel(599_999);
    expect(await store.reserve(["k"], { ...short, countWhileLocked: false }, id())).toMatchObject({ kind: "locked", lockMsLeft: 1 });
    travel(1);
    expect(await store.reserve(["k"], short, id())).toMatchObject({ kind: "reserved", failures: 0 });
  });

  it("without a cool-off, forgets a counter below the limit a day after its last failure and keeps a lockout for ever", async () => {
    const { store, travel } = clocked();
    const permanent = { ...rule, ttlSeconds: null, limit: 2 };
    await fail(store, ["below"], permanent);
    await fail(store, ["at"], permanent);
    await fail(store, ["at"], permanent);
    travel(86_400_000 - 1);
    expect((await store.read(["below", "at"])).map((c) => c.key)).toEqual(["below", "at"]);
    travel(1);
    expect(await store.read(["below", "at"])).toEqual([{ key: "at", count: 2, expiresAtMs: null }]);
    travel(365 * 86_400_000);
    expect(await store.reserve(["at"], { ...permanent, countWhileLocked: false }, id())).toMatchObject({ kind: "locked", lockMsLeft: null });
  });

  it("drops a reservation whose client vanished exactly at its lifetime", async () => {
    const { store, travel } = clocked();
    const one = { ...rule, limit: 1 };
    await store.reserve(["r"], one, id());
    travel(29_999);
    expect((await store.reserve(["r"], one, id())).kind).toBe("busy");
    travel(1);
    expect((await store.reserve(["r"], one, id())).kind).toBe("reserved");
  });
});
