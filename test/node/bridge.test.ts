import { createHash, randomBytes } from "node:crypto";
import { Ratelimit } from "@upstash/ratelimit";
import { errors, Redis } from "@upstash/redis";
import { Redis as IORedis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from "vitest";
import { type Bridge, startBridge } from "../../tools/bridge/server.ts";
import { spawnTool } from "./spawn-tool.ts";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const token = randomBytes(24).toString("base64url");
/** Every key this file writes starts with this, so cleanup never touches other tests' keys on the shared Redis. */
const prefix = `bridge-test:${randomBytes(6).toString("hex")}:`;

let bridge: Bridge;
let redis: Redis;
/** A direct connection, for setting up binary values and for cleanup. */
let direct: IORedis;

beforeAll(async () => {
  bridge = await startBridge({ token, port: 0, redisUrl: REDIS_URL });
  redis = new Redis({ url: bridge.url, token, enableAutoPipelining: false });
  direct = new IORedis(REDIS_URL);
});

afterEach(() => {
  bridge.setFault({ mode: "none" });
});

afterAll(async () => {
  const keys: string[] = [];
  for await (const batch of direct.scanStream({ match: `${prefix}*`, count: 1000 }) as AsyncIterable<string[]>) {
    keys.push(...batch);
  }
  if (keys.length > 0) await direct.del(...keys);
  direct.disconnect();
  await bridge.close();
});

let keyCount = 0;
function key(name: string): string {
  keyCount += 1;
  return `${prefix}${name}:${keyCount}`;
}

/** Sends one raw request the way the SDK would; a string body goes as is. */
async function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${token}` },
): Promise<{ status: number; json: unknown; text: string }> {
  const res = await fetch(`${bridge.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text) as unknown, text };
}

/**
 * A delayed request still reaches Redis after its client timed out, as with real Upstash; waiting for it keeps
 * the late command out of the next test's stats.
 */
async function commandRunsAfterClientGaveUp(commandsBefore: number): Promise<void> {
  await expect.poll(() => bridge.stats().commands, { timeout: 10_000 }).toBeGreaterThan(commandsBefore);
}

const BASE64 = { authorization: `Bearer ${token}`, "upstash-encoding": "base64" };
const b64 = (text: string): string => Buffer.from(text).toString("base64");

describe("through @upstash/redis", () => {
  it("round-trips unicode text and strings that happen to be valid base64", async () => {
    for (const value of ["héllo wörld 🚀 日本語", "aGVsbG8=", "OK", "QUEUED", "PONG", "", " leading space"]) {
      const k = key("text");
      await redis.set(k, value);
      expect(await redis.get(k)).toBe(value);
    }
  });

  it("round-trips control characters, but the SDK turns bytes that are not UTF-8 into U+FFFD", async () => {
    const k = key("control");
    await redis.set(k, "\u0000\u0001\u007f\u00ff tab\tnl\n");
    expect(await redis.get(k)).toBe("\u0000\u0001\u007f\u00ff tab\tnl\n");

    const binary = key("binary");
    await direct.set(binary, Buffer.from([0x00, 0xff, 0x80, 0xfe]));
    expect(await redis.get(binary)).toBe("\u0000\ufffd\ufffd\ufffd");
  });

  it("serialises JSON objects and numbers", async () => {
    const k = key("json");
    await redis.set(k, { name: "ada", roles: ["admin"], nested: { n: 1 } });
    expect(await redis.get(k)).toEqual({ name: "ada", roles: ["admin"], nested: { n: 1 } });

    const n = key("number");
    await redis.set(n, 42);
    expect(await redis.get(n)).toBe(42);
  });

  it("returns numbers from INCR, INCRBY and INCRBYFLOAT", async () => {
    const k = key("counter");
    expect(await redis.incr(k)).toBe(1);
    expect(await redis.incrby(k, 5)).toBe(6);
    expect(await redis.incrbyfloat(k, 1.5)).toBe(7.5);
  });

  it("returns null for a missing key", async () => {
    expect(await redis.get(key("missing"))).toBeNull();
    expect(await redis.hgetall(key("missing-hash"))).toBeNull();
  });

  it("decodes nested arrays from EVAL, HGETALL, ZRANGE WITHSCORES and SCAN", async () => {
    const nested = await redis.eval(
      "return {1, 'a', {2, 'OK', {ARGV[1]}}, redis.status_reply('OK'), 'PONG'}",
      [],
      ["aGVsbG8="],
    );
    expect(nested).toEqual([1, "a", [2, "OK", ["aGVsbG8="]], "OK", "PONG"]);

    const hash = key("hash");
    await redis.hset(hash, { field: "välue", count: 3, b64: "aGVsbG8=" });
    expect(await redis.hgetall(hash)).toEqual({ field: "välue", count: 3, b64: "aGVsbG8=" });

    const zset = key("zset");
    await redis.zadd(zset, { score: 1, member: "one" }, { score: 2.5, member: "two" });
    expect(await redis.zrange(zset, 0, -1, { withScores: true })).toEqual(["one", 1, "two", 2.5]);

    const found: string[] = [];
    let cursor: string | number = 0;
    do {
      const [next, keys]: [string | number, string[]] = await redis.scan(cursor, { match: `${prefix}*`, count: 1000 });
      found.push(...keys);
      cursor = next;
    } while (String(cursor) !== "0");
    expect(found).toEqual(expect.arrayContaining([hash, zset]));
  });

  it("rejects a pipeline with a failing command from exec(), yet runs the others (not atomic)", async () => {
    const k = key("pipeline");
    const failing = redis.pipeline().set(k, "not a number").incr(k).get(k);
    await expect(failing.exec()).rejects.toThrow(/Command 2 \[ incr \] failed: ERR value is not an integer/);
    expect(await redis.get(k)).toBe("not a number");

    const kept = await redis.pipeline().set(k, "x").incr(k).get(k).exec({ keepErrors: true });
    expect(kept).toEqual([
      { result: "OK", error: undefined },
      { result: undefined, error: "ERR value is not an integer or out of range" },
      { result: "x", error: undefined },
    ]);
  });

  it("runs multi() as one transaction", async () => {
    const k = key("multi");
    const results = await redis.multi().set(k, 1).incr(k).incrby(k, 10).get(k).exec();
    expect(results).toEqual(["OK", 2, 12, 12]);
  });

  it("surfaces a command error as UpstashError naming the command", async () => {
    const k = key("not-a-number");
    await redis.set(k, "abc");
    const error = await redis.incr(k).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(errors.UpstashError);
    expect((error as Error).message).toMatch(/^ERR value is not an integer or out of range, command was: \["incr",/);
  });

  it("throws UpstashError Unauthorized for a bad token", async () => {
    const wrong = new Redis({ url: bridge.url, token: "wrong-token", enableAutoPipelining: false, retry: false });
    await expect(wrong.get(key("any"))).rejects.toThrow(errors.UpstashError);
    await expect(wrong.get(key("any"))).rejects.toThrow(/^Unauthorized, command was/);
  });

  it("runs EVAL, SCRIPT LOAD and EVALSHA, and reports NOSCRIPT for an unknown SHA", async () => {
    const script = "redis.call('SET', KEYS[1], ARGV[1]); return {redis.call('GET', KEYS[1]), 7}";
    const sha = await redis.scriptLoad(script);
    expect(sha).toBe(createHash("sha1").update(script).digest("hex"));
    const k = key("script");
    expect(await redis.evalsha(sha, [k], ["from-sha"])).toEqual(["from-sha", 7]);
    expect(await redis.eval(script, [k], ["from-eval"])).toEqual(["from-eval", 7]);
    await expect(redis.evalsha("0".repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/);
  });

  it("accepts the Upstash-only shebang flag allow-key-locking under the SHA the client computed", async () => {
    // A fresh script per run, so its SHA is unknown until this test loads it. The nonce has a letter in
    // front: 8 hex digits can all be decimal, and the SDK would then deserialise the reply as a number.
    const nonce = `n${randomBytes(4).toString("hex")}`;
    const script = `#!lua flags=allow-key-locking,no-writes\nreturn {ARGV[1], '${nonce}'}`;
    const sha = createHash("sha1").update(script).digest("hex");
    await expect(redis.evalsha(sha, [], ["x"])).rejects.toThrow(/NOSCRIPT/);
    expect(await redis.eval(script, [], ["via-eval"])).toEqual(["via-eval", nonce]);
    expect(await redis.evalsha(sha, [], ["via-sha"])).toEqual(["via-sha", nonce]);
    expect(await redis.scriptLoad(script)).toBe(sha);
    expect(await redis.scriptExists(sha)).toEqual([1]);
    await expect(redis.eval("#!lua flags=allow-key-locking\nreturn nil + 1", [], [])).rejects.toThrow(/user_script:2:/);
  });
});

describe("through @upstash/ratelimit", () => {
  const algorithms = {
    fixedWindow: Ratelimit.fixedWindow(3, "30 s"),
    slidingWindow: Ratelimit.slidingWindow(3, "30 s"),
    tokenBucket: Ratelimit.tokenBucket(1, "30 s", 3),
  };

  for (const [name, limiter] of Object.entries(algorithms)) {
    it(`${name}: allows exactly 3 then denies, with one HTTP request per limit()`, async () => {
      // Windows are aligned to the epoch: on the wall clock these 5 calls could straddle two of them. On a
      // clock that stands still at the start of an hour they cannot (Redis still expires keys on real time).
      vi.useFakeTimers({ toFake: ["Date"], now: Math.ceil(Date.now() / 3_600_000) * 3_600_000 });
      onTestFinished(() => void vi.useRealTimers());
      const ratelimit = new Ratelimit({ redis, limiter, prefix: `${prefix}rl:${name}`, ephemeralCache: false });
      const first = await ratelimit.limit("user-1");
      bridge.resetStats();
      const rest = [];
      for (let i = 0; i < 3; i++) rest.push(await ratelimit.limit("user-1"));
      expect([first, ...rest].map((r) => r.success)).toEqual([true, true, true, false]);
      expect([first, ...rest].map((r) => r.remaining)).toEqual([2, 1, 0, 0]);
      expect(rest[2]?.reason).toBeUndefined();
      expect(bridge.stats().requests).toBe(3);
      expect((await ratelimit.limit("user-2")).success).toBe(true);
    });
  }

  it("fails open (success, reason timeout) when the store is slower than its timeout", async () => {
    const ratelimit = new Ratelimit({
      redis,
      limiter: Ratelimit.fixedWindow(1, "30 s"),
      prefix: `${prefix}rl:timeout`,
      ephemeralCache: false,
      timeout: 100,
    });
    bridge.setFault({ mode: "delay", ms: 300 });
    const before = bridge.stats().commands;
    const result = await ratelimit.limit("slow");
    expect(result).toMatchObject({ success: true, reason: "timeout" });
    await result.pending;
    await commandRunsAfterClientGaveUp(before);
  });
});

describe("wire format", () => {
  it("base64-encodes every string, nested arrays element by element, except a top-level OK", async () => {
    const k = key("wire");
    expect((await post("/", ["SET", k, "aGVsbG8="], BASE64)).json).toEqual({ result: "OK" });
    expect((await post("/", ["GET", k], BASE64)).json).toEqual({ result: b64("aGVsbG8=") });
    expect((await post("/", ["PING"], BASE64)).json).toEqual({ result: b64("PONG") });
    expect((await post("/", ["TYPE", k], BASE64)).json).toEqual({ result: b64("string") });
    const script = "return {1, 'OK', {'hi', ARGV[1], {redis.status_reply('OK')}}, false}";
    expect((await post("/", ["EVAL", script, 0, "é"], BASE64)).json).toEqual({
      result: [1, b64("OK"), [b64("hi"), b64("é"), [b64("OK")]], null],
    });
    expect((await post("/", ["EVAL", script, 0, "é"])).json).toEqual({ result: [1, "OK", ["hi", "é", ["OK"]], null] });
  });

  it("sends binary values byte-exact with base64", async () => {
    const k = key("bytes");
    await direct.set(k, Buffer.from([0x00, 0xff, 0x80, 0xfe]));
    expect((await post("/", ["GET", k], BASE64)).json).toEqual({ result: "AP+A/g==" });
  });

  it("always includes result, also when it is null", async () => {
    const { status, text } = await post("/", ["GET", key("absent")], BASE64);
    expect(status).toBe(200);
    expect(text).toBe('{"result":null}');
  });

  it("stringifies numbers and booleans in commands", async () => {
    const k = key("scalars");
    await post("/", ["SET", k, true]);
    expect((await post("/", ["GET", k])).json).toEqual({ result: "true" });
    await post("/", ["SET", k, 12.5]);
    expect((await post("/", ["INCRBYFLOAT", k, 1])).json).toEqual({ result: "13.5" });
  });

  it("answers 401 Unauthorized without a token or with a wrong one, and accepts ?_token=", async () => {
    expect(await post("/", ["PING"], {})).toMatchObject({ status: 401, json: { error: "Unauthorized" } });
    expect(await post("/", ["PING"], { authorization: "Bearer nope" })).toMatchObject({ status: 401 });
    expect(await post(`/?_token=nope`, ["PING"], {})).toMatchObject({ status: 401 });
    expect(await post(`/?_token=${token}`, ["PING"], {})).toMatchObject({ status: 200, json: { result: "PONG" } });
  });

  it("answers 400 for malformed JSON, a wrong shape, a failed command and unsupported commands", async () => {
    expect(await post("/", "[not json")).toMatchObject({ status: 400, json: { error: expect.stringMatching(/not valid JSON/) } });
    expect(await post("/", { cmd: "GET" })).toMatchObject({ status: 400, json: { error: expect.stringMatching(/JSON array/) } });
    expect(await post("/", [])).toMatchObject({ status: 400 });
    expect(await post("/", ["SET", "k", { nested: true }])).toMatchObject({ status: 400 });
    expect(await post("/pipeline", [["PING"], "GET"])).toMatchObject({ status: 400, json: { error: expect.stringMatching(/command 1/) } });
    expect(await post("/", ["INCR"])).toMatchObject({ status: 400, json: { error: expect.stringMatching(/^ERR wrong number/) } });
    for (const command of [["SUBSCRIBE", "c"], ["SELECT", "1"], ["BLPOP", "l", "0"], ["MULTI"], ["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]]) {
      expect(await post("/", command)).toMatchObject({ status: 400, json: { error: expect.stringMatching(/not supported by the bridge/) } });
    }
  });

  it("answers 413 for a body over 10 MiB, 404 for an unknown path and 405 for GET", async () => {
    expect(await post("/", JSON.stringify(["SET", "k", "x".repeat(10 * 1024 * 1024)]))).toMatchObject({ status: 413 });
    expect(await post("/set/foo/bar", [])).toMatchObject({ status: 404 });
    const get = await fetch(`${bridge.url}/`, { headers: { authorization: `Bearer ${token}` } });
    expect(get.status).toBe(405);
  });

  it("answers a pipeline in order with per-command errors and HTTP 200", async () => {
    const k = key("raw-pipeline");
    const { status, json } = await post(
      "/pipeline",
      [["SET", k, "v"], ["INCR", k], ["BRPOP", k, 0], ["GET", k], ["GET", key("none")]],
      { ...BASE64, "upstash-sync-token": "" },
    );
    expect(status).toBe(200);
    expect(json).toEqual([
      { result: "OK" },
      { error: "ERR value is not an integer or out of range" },
      { error: expect.stringMatching(/'BRPOP' is not supported/) },
      { result: b64("v") },
      { result: null },
    ]);
  });

  it("answers multi-exec with per-command results, or one 400 error when the transaction is discarded", async () => {
    const k = key("raw-multi");
    expect(await post("/multi-exec", [["SET", k, "v"], ["INCR", k], ["GET", k]], BASE64)).toEqual({
      status: 200,
      json: [{ result: "OK" }, { error: "ERR value is not an integer or out of range" }, { result: b64("v") }],
      text: expect.any(String),
    });
    const aborted = await post("/multi-exec", [["SET", k, "w"], ["SET", k]]);
    expect(aborted).toMatchObject({ status: 400, json: { error: expect.stringMatching(/^EXECABORT .*wrong number of arguments/) } });
    expect(await redis.get(k)).toBe("v");
    expect(await post("/multi-exec", [["GET", k], ["WATCH", k]])).toMatchObject({ status: 400 });
  });
});

describe("stats, health and faults", () => {
  const control = (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${bridge.url}/__bridge/${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });

  it("counts authenticated requests and commands per path, but not control endpoints", async () => {
    expect((await control("stats/reset", { method: "POST" })).status).toBe(200);
    await post("/", ["PING"]);
    await post("/pipeline", [["PING"], ["PING"], ["PING"]]);
    await post("/multi-exec", [["PING"], ["PING"]]);
    await post("/", ["PING"], {});
    await control("health");
    const stats = (await (await control("stats")).json()) as unknown;
    expect(stats).toEqual({ requests: 3, commands: 6, byPath: { "/": 1, "/pipeline": 1, "/multi-exec": 1 } });
    expect(bridge.stats()).toEqual(stats);
    bridge.resetStats();
    expect(bridge.stats()).toEqual({ requests: 0, commands: 0, byPath: {} });
  });

  it("requires the token on control endpoints except health", async () => {
    expect((await fetch(`${bridge.url}/__bridge/stats`)).status).toBe(401);
    const health = await fetch(`${bridge.url}/__bridge/health`);
    expect({ status: health.status, body: await health.json() }).toEqual({ status: 200, body: { ok: true } });
  });

  it("injects error and unauthorized faults set over HTTP, on protocol paths only", async () => {
    const set = await control("fault", { method: "POST", body: JSON.stringify({ mode: "error", status: 500 }) });
    expect(await set.json()).toEqual({ ok: true, fault: { mode: "error", status: 500 } });
    expect(await post("/", ["PING"])).toMatchObject({ status: 500, json: { error: "injected fault" } });
    expect((await control("stats")).status).toBe(200);

    await control("fault", { method: "POST", body: JSON.stringify({ mode: "unauthorized" }) });
    expect(await post("/pipeline", [["PING"]])).toMatchObject({ status: 401, json: { error: "Unauthorized" } });

    const bad = await control("fault", { method: "POST", body: JSON.stringify({ mode: "error", status: 200 }) });
    expect(bad.status).toBe(400);
    expect(() => bridge.setFault({ mode: "delay", ms: -1 })).toThrow(TypeError);
  });

  it("delays, then serves normally", async () => {
    bridge.setFault({ mode: "delay", ms: 300 });
    const started = performance.now();
    expect(await post("/", ["PING"])).toMatchObject({ status: 200, json: { result: "PONG" } });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("drops the connection without answering", async () => {
    bridge.setFault({ mode: "drop" });
    await expect(post("/", ["PING"])).rejects.toThrow(TypeError);
  });

  it("answers 503 quickly when Redis is unreachable, and health says so", async () => {
    const dead = await startBridge({ token, port: 0, redisUrl: "redis://127.0.0.1:1" });
    try {
      const started = performance.now();
      const res = await fetch(`${dead.url}/`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        body: '["PING"]',
      });
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ error: expect.stringMatching(/^Redis unavailable: .*ECONNREFUSED/) });
      expect(performance.now() - started).toBeLessThan(1000);
      const pipeline = await fetch(`${dead.url}/pipeline?_token=${token}`, { method: "POST", body: '[["PING"]]' });
      expect(pipeline.status).toBe(503);
      const health = await fetch(`${dead.url}/__bridge/health`);
      expect({ status: health.status, body: await health.json() }).toEqual({
        status: 503,
        body: { ok: false, error: expect.stringMatching(/ECONNREFUSED/) },
      });
    } finally {
      await dead.close();
    }
  });
});

describe("the SDK under faults", () => {
  it("throws UpstashError with the injected message on a 500, without retrying", async () => {
    bridge.setFault({ mode: "error", status: 500 });
    bridge.resetStats();
    await expect(redis.get(key("fault"))).rejects.toThrow(/^injected fault, command was/);
    expect(bridge.stats().requests).toBe(1);
  });

  it("throws UpstashError Unauthorized when the server answers 401", async () => {
    bridge.setFault({ mode: "unauthorized" });
    await expect(redis.get(key("fault"))).rejects.toThrow(/^Unauthorized/);
  });

  it("retries a dropped request (1 + retries attempts) and then throws the fetch TypeError", async () => {
    bridge.setFault({ mode: "drop" });
    bridge.resetStats();
    const retrying = new Redis({
      url: bridge.url,
      token,
      enableAutoPipelining: false,
      retry: { retries: 2, backoff: () => 0 },
    });
    await expect(retrying.incr(key("dropped"))).rejects.toThrow(TypeError);
    expect(bridge.stats().requests).toBe(3);
  });

  it("aborts with a TimeoutError when signal is a function returning AbortSignal.timeout", async () => {
    bridge.setFault({ mode: "delay", ms: 300 });
    const before = bridge.stats().commands;
    const impatient = new Redis({
      url: bridge.url,
      token,
      enableAutoPipelining: false,
      signal: () => AbortSignal.timeout(100),
    });
    await expect(impatient.get(key("slow"))).rejects.toMatchObject({ name: "TimeoutError" });
    await commandRunsAfterClientGaveUp(before);
  });
});

describe("cli", () => {
  const cli = (env: NodeJS.ProcessEnv, args: string[] = []) => {
    const child = spawnTool("tools/bridge/cli.ts", args, env);
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    return { child, exited, output: () => output };
  };
  const baseEnv = (): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = { ...process.env, BRIDGE_PORT: "0" };
    delete env.BRIDGE_TOKEN;
    return env;
  };

  it("refuses to start without BRIDGE_TOKEN and shows an example", async () => {
    const run = cli(baseEnv());
    expect(await run.exited).toBe(2);
    expect(run.output()).toMatch(/BRIDGE_TOKEN is not set/);
    expect(run.output()).toMatch(/e\.g\. BRIDGE_TOKEN=/);
  });

  it("refuses to start when Redis is unreachable", async () => {
    const run = cli({ ...baseEnv(), BRIDGE_TOKEN: "t", REDIS_URL: "redis://127.0.0.1:1" });
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(/cannot reach Redis at 127\.0\.0\.1:1/);
  });

  it("prints where it listens but never the token or the Redis password, and stops on SIGTERM", async () => {
    const secretToken = `tok-${randomBytes(8).toString("hex")}`;
    const password = `pw-${randomBytes(8).toString("hex")}`;
    const run = cli({ ...baseEnv(), BRIDGE_TOKEN: secretToken, REDIS_URL: `redis://:${password}@127.0.0.1:6379` });
    await expect.poll(run.output, { timeout: 15_000 }).toMatch(/Upstash-compatible bridge on http:\/\/127\.0\.0\.1:\d+ -> redis at 127\.0\.0\.1:6379/);
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
    expect(run.output()).not.toContain(secretToken);
    expect(run.output()).not.toContain(password);
  });
});
