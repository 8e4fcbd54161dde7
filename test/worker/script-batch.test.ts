/**
 * ScriptBatch (src/store/upstash/batch.ts): script calls issued in one turn travel in one Upstash
 * `/pipeline` request, each keeping its own answer or error. Inside workerd, against the real Redis
 * through the project's bridge, with the Upstash client the Worker uses. Scripts get a unique comment
 * per test, so Redis has never seen them (NOSCRIPT is met without a SCRIPT FLUSH that other tests would feel).
 */
import { Redis } from "@upstash/redis/cloudflare";
import { afterEach, describe, expect, it } from "vitest";
import { ScriptBatch, inOwnLane } from "../../src/store/upstash/batch";
import { upstashCall } from "../../src/store/upstash";
import { StoreError } from "../../src/store/contract";
import { bindings, bridge, uniquePrefix } from "./helpers";

const redis = new Redis({ url: bindings.TEST_BRIDGE_URL!, token: bindings.TEST_BRIDGE_TOKEN!, enableAutoPipelining: false, automaticDeserialization: false, retry: false });
const prefix = `${uniquePrefix()}:batch:`;

afterEach(async () => {
  await bridge.fault({ mode: "none" });
});

/** A script Redis has not cached yet: its first EVALSHA meets NOSCRIPT. */
const fresh = (body: string) => `-- ${crypto.randomUUID()}\n${body}`;
const INCR = 'return redis.call("INCRBY", KEYS[1], ARGV[1])';
const values = (...keys: string[]) => redis.mget<(string | null)[]>(...keys.map((key) => `${prefix}${key}`));

describe("ScriptBatch", () => {
  it("sends the calls of one turn in one /pipeline request, each with its own answer", async () => {
    const batch = new ScriptBatch(redis);
    const incr = batch.script<number>(fresh(INCR));
    await incr.exec([`${prefix}warm`], ["1"]); // loads the script
    await bridge.resetStats();
    const answers = await Promise.all([incr.exec([`${prefix}a`], ["2"]), incr.exec([`${prefix}b`], ["5"]), incr.exec([`${prefix}a`], ["3"])]);
    expect(answers).toEqual([2, 5, 5]);
    expect(await bridge.stats()).toMatchObject({ requests: 1, commands: 3, byPath: { "/pipeline": 1 } });
    expect(await values("a", "b")).toEqual(["5", "5"]);
  });

  it("sends a call alone in its turn as one EVALSHA, and the next turn's call in a request of its own", async () => {
    const batch = new ScriptBatch(redis);
    const incr = batch.script<number>(fresh(INCR));
    await incr.exec([`${prefix}warm`], ["1"]);
    await bridge.resetStats();
    expect(await incr.exec([`${prefix}c`], ["1"])).toBe(1);
    expect(await incr.exec([`${prefix}c`], ["1"])).toBe(2);
    expect(await bridge.stats()).toMatchObject({ requests: 2, byPath: { "/": 2 } });
  });

  it("loads a script Redis does not hold with EVAL, per call, after the pipeline's NOSCRIPT", async () => {
    const batch = new ScriptBatch(redis);
    const incr = batch.script<number>(fresh(INCR));
    const other = batch.script<number>(fresh('return redis.call("STRLEN", KEYS[1])'));
    await bridge.resetStats();
    expect(await Promise.all([incr.exec([`${prefix}d`], ["4"]), other.exec([`${prefix}d`], [])])).toEqual([4, 1]);
    // The pipeline, then one EVAL per script; the next turn finds both loaded.
    expect(await bridge.stats()).toMatchObject({ requests: 3, byPath: { "/pipeline": 1, "/": 2 } });
    await bridge.resetStats();
    expect(await Promise.all([incr.exec([`${prefix}d`], ["1"]), other.exec([`${prefix}d`], [])])).toEqual([5, 1]);
    expect(await bridge.stats()).toMatchObject({ requests: 1, byPath: { "/pipeline": 1 } });
  });

  it("holds a lingering call for the next call, and sends it first in that call's request", async () => {
    const batch = new ScriptBatch(redis, { lingerMs: 1500 });
    const incr = batch.script<number>(fresh(INCR));
    const read = batch.script<string | null>(fresh('return redis.call("GET", KEYS[1])'));
    await Promise.all([incr.exec([`${prefix}warm`], ["1"]), read.exec([`${prefix}warm`], [])]);
    await bridge.resetStats();
    const lingering = incr.exec([`${prefix}h`], ["2"], "after-response");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await bridge.stats()).requests).toBe(0);
    // The read goes after the lingering write, in the same request: it sees the write.
    expect(await read.exec([`${prefix}h`], [])).toBe("2");
    expect(await lingering).toBe(2);
    expect(await bridge.stats()).toMatchObject({ requests: 1, commands: 2, byPath: { "/pipeline": 1 } });
  });

  it("sends a lingering call alone once its time is up", async () => {
    const batch = new ScriptBatch(redis, { lingerMs: 1500 });
    const incr = batch.script<number>(fresh(INCR));
    await incr.exec([`${prefix}warm`], ["1"]);
    await bridge.resetStats();
    const lingering = incr.exec([`${prefix}i`], ["3"], "after-response");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await bridge.stats()).requests).toBe(0);
    expect(await lingering).toBe(3);
    expect(await bridge.stats()).toMatchObject({ requests: 1, byPath: { "/": 1 } });
  });

  it("never batches one request's calls with another's (each request is a lane of its own)", async () => {
    const batch = new ScriptBatch(redis);
    const incr = batch.script<number>(fresh(INCR));
    await incr.exec([`${prefix}warm`], ["1"]);
    await bridge.resetStats();
    const answers = await Promise.all([
      inOwnLane(() => Promise.all([incr.exec([`${prefix}j`], ["1"]), incr.exec([`${prefix}k`], ["1"])])),
      inOwnLane(() => incr.exec([`${prefix}j`], ["1"])),
    ]);
    expect(answers).toEqual([[1, 1], 2]);
    expect(await bridge.stats()).toMatchObject({ requests: 2, commands: 3, byPath: { "/pipeline": 1, "/": 1 } });
    expect(await values("j", "k")).toEqual(["2", "1"]);
  });

  it("times a lingering call out when the request that carried it never gets an answer", async () => {
    // The carrier's request hangs (as when its client went away): pure logic, so a client that never answers.
    const hanging = { pipeline: () => ({ evalsha: () => undefined, exec: () => new Promise<never>(() => {}) }), evalsha: () => new Promise<never>(() => {}), eval: () => new Promise<never>(() => {}) };
    const batch = new ScriptBatch(hanging as unknown as Redis, { answerWithinMs: 300, lingerMs: 100 });
    const incr = batch.script<number>(INCR);
    const lingering = inOwnLane(() => incr.exec([`${prefix}l`], ["1"], "after-response"));
    await new Promise((resolve) => setTimeout(resolve, 20));
    void inOwnLane(() => incr.exec([`${prefix}m`], ["1"])); // carries the lingering call, and hangs
    await expect(lingering).rejects.toMatchObject({ name: "TimeoutError" });
    await expect(upstashCall(() => Promise.reject(new DOMException("x", "TimeoutError")))).rejects.toMatchObject({ reason: "timeout" });
  });

  it("fails only the call whose script failed", async () => {
    const batch = new ScriptBatch(redis);
    const incr = batch.script<number>(fresh(INCR));
    const broken = batch.script<number>(fresh('return redis.error_reply("ERR refused by the script")'));
    await Promise.allSettled([incr.exec([`${prefix}warm`], ["1"]), broken.exec([`${prefix}warm`], [])]);
    const [good, bad] = await Promise.allSettled([incr.exec([`${prefix}e`], ["7"]), upstashCall(() => broken.exec([`${prefix}e`], []))]);
    expect(good).toEqual({ status: "fulfilled", value: 7 });
    expect(bad.status).toBe("rejected");
    expect((bad as PromiseRejectedResult).reason).toMatchObject({ name: "StoreError", reason: "error" });
  });

  it("fails every call of a request that failed, each as the store error its caller decides on", async () => {
    const batch = new ScriptBatch(redis);
    const incr = batch.script<number>(fresh(INCR));
    await incr.exec([`${prefix}warm`], ["1"]);
    for (const [fault, reason] of [
      [{ mode: "error", status: 500 }, "error"],
      [{ mode: "unauthorized" }, "unauthorized"],
      [{ mode: "drop" }, "unreachable"],
    ] as const) {
      await bridge.fault(fault);
      const results = await Promise.allSettled([upstashCall(() => incr.exec([`${prefix}f`], ["1"])), upstashCall(() => incr.exec([`${prefix}g`], ["1"]))]);
      for (const result of results) {
        expect(result.status).toBe("rejected");
        const error = (result as PromiseRejectedResult).reason as StoreError;
        expect(error).toBeInstanceOf(StoreError);
        expect(error.reason).toBe(reason);
      }
    }
    await bridge.fault({ mode: "none" });
    expect(await values("f", "g")).toEqual([null, null]);
  });
});
