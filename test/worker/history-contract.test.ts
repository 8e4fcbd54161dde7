/**
 * One suite for the attempt history, run unchanged against every store (memory, Upstash, Postgres,
 * the failover store): each counting call appends its note in the same script or statement, and a
 * listing reads it back newest first, filtered and in pages.
 */
import { describe, expect, it } from "vitest";
import type { CounterRule } from "../../src/store/contract";
import type { AttemptEntry, AttemptFilter, AttemptNote, AttemptOutcome, AttemptRecord } from "../../src/store/history";
import type { CounterStore } from "../../src/store/contract";
import { uniquePrefix } from "./helpers";
import { stores } from "./store-kinds";

const rule: CounterRule = { limit: 2, ttlSeconds: 60, lockOutAtFailure: true, countWhileLocked: true, reservationMs: 30_000, idleSeconds: 86_400 };
const id = () => crypto.randomUUID();

const record = (outcome: AttemptOutcome, over: Partial<AttemptRecord> = {}): AttemptRecord => ({
  username: "alice",
  ip: "192.0.2.1",
  path: "/accounts/login/",
  userAgent: "0123456789abcdef0123456789abcdef",
  outcome,
  counters: ["ip_address=192.0.2.1", "username=alice"],
  ...over,
});

/** Every entry of a listing, following the cursor with small pages. */
async function all(store: CounterStore, prefix: string, filter: AttemptFilter = {}, limit = 2): Promise<AttemptEntry[]> {
  const found: AttemptEntry[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const answer = await store.listAttempts(prefix, filter, limit, cursor);
    expect(answer.attempts.length).toBeLessThanOrEqual(limit);
    found.push(...answer.attempts);
    cursor = answer.cursor;
    if (cursor === null) return found;
  }
  throw new Error("the listing never ended");
}

const fields = (entries: readonly AttemptEntry[]) => entries.map(({ atMs: _at, id: _id, ...rest }) => rest);

for (const { name, make } of stores) {
  describe(`attempt history contract: ${name}`, () => {
    const setup = () => {
      const prefix = uniquePrefix();
      const note = (...records: AttemptRecord[]): AttemptNote => ({ target: { prefix, maxEntries: 10_000 }, records });
      return { prefix, store: make(prefix), note, key: (name: string) => `${prefix}:lockout:${name}` };
    };

    it("appends each settled attempt with its outcome and a lock refusal, newest first; a reservation alone appends nothing", async () => {
      const { prefix, store, note, key } = setup();
      const keys = [key("ip_address=192.0.2.1"), key("username=alice")];
      const before = Date.now();
      for (let n = 0; n < 2; n++) {
        const r = id();
        expect((await store.reserve(keys, rule, r, undefined, note(record("locked")))).kind).toBe("reserved");
        await store.confirmFailure(keys, r, rule, undefined, note(record("failure")));
      }
      expect(await all(store, prefix)).toHaveLength(2); // reservations that were admitted wrote nothing of their own
      expect(await store.reserve(keys, rule, id(), undefined, note(record("locked", { ip: "192.0.2.9" })))).toMatchObject({ kind: "locked" });
      const other = { username: "bob", counters: ["username=bob"] };
      const bob = id();
      await store.reserve([key("username=bob")], rule, bob);
      await store.release([key("username=bob")], bob, false, undefined, note(record("success", other)));
      const unsure = id();
      await store.reserve([key("username=bob")], rule, unsure);
      await store.release([key("username=bob")], unsure, false, undefined, note(record("unknown", other)));

      const entries = await all(store, prefix);
      expect(fields(entries)).toEqual([
        record("unknown", other),
        record("success", other),
        record("locked", { ip: "192.0.2.9" }),
        record("failure"),
        record("failure"),
      ]);
      for (const entry of entries) {
        expect(entry.atMs).toBeGreaterThanOrEqual(before - 5000);
        expect(entry.atMs).toBeLessThanOrEqual(Date.now() + 5000);
      }
      expect(new Set(entries.map((e) => e.id)).size).toBe(5);
    });

    it("appends every record of a refused batch, whether the lock still stands or not", async () => {
      const { prefix, store, note, key } = setup();
      const lock = key("ip_address=192.0.2.1");
      await store.merge([{ key: lock, count: 2, expiresAtMs: Date.now() + 60_000 }]);
      const refused = { lockKey: lock, attempts: new Map([[lock, 3]]) };
      const records = ["a", "b", "c"].map((u) => record("locked", { username: u }));
      expect(await store.countRefused(refused, rule, note(...records))).toMatchObject({ locked: true, failures: 5 });
      await store.reset([lock]);
      expect(await store.countRefused(refused, rule, note(record("locked", { username: "d" })))).toMatchObject({ locked: false });
      expect((await all(store, prefix)).map((e) => e.username)).toEqual(["d", "c", "b", "a"]);
    });

    it("appends nothing without a note, and a reservation that is busy or admitted appends nothing", async () => {
      const { prefix, store, note, key } = setup();
      const k = key("username=carol");
      const r = id();
      await store.reserve([k], rule, r);
      await store.confirmFailure([k], r, rule);
      await store.reserve([k], rule, id(), undefined, note(record("locked"))); // reserved: 1 failure + 1 in flight
      expect(await store.reserve([k], rule, id(), undefined, note(record("locked")))).toMatchObject({ kind: "busy" });
      expect(await all(store, prefix)).toEqual([]);
    });

    it("filters by username, by IP, by both and by time, and pages through the whole history", async () => {
      const { prefix, store, note, key } = setup();
      const k = key("ip_address=198.51.100.1");
      const made: AttemptRecord[] = [];
      for (let n = 0; n < 9; n++) {
        const r = record(n % 3 === 0 ? "success" : "unknown", { username: n % 2 === 0 ? "even" : "odd", ip: `198.51.100.${n % 3}` });
        made.push(r);
        const reservation = id();
        await store.reserve([k], rule, reservation);
        await store.release([k], reservation, false, undefined, note(r));
      }
      const newestFirst = [...made].reverse();
      expect(fields(await all(store, prefix, {}, 2))).toEqual(newestFirst);
      expect(fields(await all(store, prefix, {}, 100))).toEqual(newestFirst);
      expect(fields(await all(store, prefix, { username: "even" }))).toEqual(newestFirst.filter((r) => r.username === "even"));
      expect(fields(await all(store, prefix, { ip: "198.51.100.1" }))).toEqual(newestFirst.filter((r) => r.ip === "198.51.100.1"));
      expect(fields(await all(store, prefix, { username: "odd", ip: "198.51.100.0" }))).toEqual(newestFirst.filter((r) => r.username === "odd" && r.ip === "198.51.100.0"));
      expect(await all(store, prefix, { username: "nobody" })).toEqual([]);
      expect(await all(store, prefix, { sinceMs: Date.now() + 60_000 })).toEqual([]);
      expect(await all(store, prefix, { sinceMs: Date.now() - 60_000 })).toHaveLength(9);
      // Another prefix's history is not this one's.
      expect(await all(store, uniquePrefix())).toEqual([]);
    });

    it("starts again from the newest entry when handed a cursor it did not give", async () => {
      const { prefix, store, note, key } = setup();
      const r = id();
      await store.reserve([key("username=dave")], rule, r);
      await store.confirmFailure([key("username=dave")], r, rule, undefined, note(record("failure", { username: "dave" })));
      for (const cursor of ["s:123", "k:zzz", "x:not-an-id", "a:", "garbage"]) {
        expect((await store.listAttempts(prefix, {}, 10, cursor)).attempts.map((e) => e.username)).toEqual(["dave"]);
      }
    });
  });
}

describe("attempt history caps", () => {
  for (const { name, make } of stores.filter((s) => s.name === "memory" || s.name === "upstash")) {
    it(`${name}: keeps about AXES_HISTORY_MAX entries per prefix, the newest`, async () => {
      const prefix = uniquePrefix();
      const store = make(prefix);
      const lock = `${prefix}:lockout:ip_address=192.0.2.1`;
      await store.merge([{ key: lock, count: 2, expiresAtMs: Date.now() + 60_000 }]);
      // 5 writes of 100 records each into a stream capped at 100 (approximately, as MAXLEN ~ trims whole nodes).
      for (let batch = 0; batch < 5; batch++) {
        const records = Array.from({ length: 100 }, (_, n) => record("locked", { username: `u${batch * 100 + n}` }));
        await store.countRefused({ lockKey: lock, attempts: new Map([[lock, 1]]) }, rule, { target: { prefix, maxEntries: 100 }, records });
      }
      const kept = await all(store, prefix, {}, 1000);
      expect(kept.length).toBeGreaterThanOrEqual(100);
      expect(kept.length).toBeLessThanOrEqual(200);
      expect(kept[0]!.username).toBe("u499");
      expect(kept.map((e) => e.username)).toEqual(kept.map((_, n) => `u${499 - n}`));
    });
  }
});
