/**
 * The benchmark's local stack: the demo origin, two Upstash bridges over the local Redis (one healthy,
 * one answering 500 for the "Upstash down" gateway), the Neon HTTP endpoint over the local Postgres, and
 * four Workers under wrangler's dev server with the inspector off (bench/dev-worker.ts): the baseline
 * (bench/baseline), the gateway, the gateway with its console dropped, and the gateway whose Upstash is down. Everything is reached over loopback HTTP, as the Workers reach it.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import pg from "pg";
import { type Child, startChild } from "./processes.ts";
import type { ServiceMessage } from "./service.ts";
import { REPO_ROOT, startWorker, type Worker } from "./wrangler.ts";

const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const DATABASE_URL = process.env.DATABASE_URL || "postgresql://postgres@127.0.0.1:5432/test";

/** The demo origin's JSON login API: 200 on success, 401 on failure. */
export const LOGIN_PATH = "/api/login/";
/** An ordinary route: no login, no rate limit. */
export const PLAIN_PATH = "/__origin/status/200";
/** The same origin handler on a path that RATE_LIMITS covers. */
export const LIMITED_PATH = "/__origin/status/202";

/** Settings of the gateway instances that the report quotes. */
export const GATEWAY_SETTINGS = {
  rateLimit: { name: "bench", path: LIMITED_PATH, algorithm: "fixed-window", limit: 1_000_000, window: "60s" },
  failureLimit: 3,
  lockoutCacheSeconds: 5,
  redisTimeoutMs: 1000,
  breakerFailures: 2,
  /** The gateway used for the failover timings; the "Upstash down" one keeps the default 10s. */
  breakerCooldownSeconds: 2,
} as const;

export interface Bridge {
  readonly url: string;
  readonly token: string;
}

export interface Stack {
  readonly runId: string;
  readonly keyPrefix: string;
  readonly originUrl: string;
  /** The bridge of the baseline and the gateway. */
  readonly bridge: Bridge;
  /** The bridge of the "Upstash down" gateway, answering 500 to every Upstash call. */
  readonly downBridge: Bridge;
  readonly neonUrl: string;
  readonly baseline: Worker;
  readonly gateway: Worker;
  /** The same gateway with its log lines dropped at the source (bench/quiet.ts): decision logs off. */
  readonly gatewayQuiet: Worker;
  readonly gatewayUpstashDown: Worker;
}

export interface StoreCounts {
  /** Upstash HTTP requests (store round trips) seen by a bridge. */
  readonly requests: number;
  readonly commands: number;
}

export interface SqlCounts {
  /** SQL-over-HTTP requests seen by the Neon endpoint. */
  readonly requests: number;
  readonly statements: number;
}

function startService(kind: "bridge" | "neon-http" | "origin", env: Record<string, string> = {}): Promise<{ child: Child; url: string }> {
  const child = startChild(kind, process.execPath, ["--import", "tsx", "bench/service.ts", kind], {
    cwd: REPO_ROOT,
    env: { ...process.env, REDIS_URL, DATABASE_URL, ...env },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.process.once("message", (message: ServiceMessage) => {
      if ("url" in message) resolve({ child, url: message.url });
      else reject(new Error(`${kind} did not start: ${message.error}`));
    });
    child.process.once("exit", (code) => reject(new Error(`${kind} exited (${code}) before it was ready:\n${child.tail()}`)));
  });
}

async function startBridge(): Promise<Bridge> {
  const token = randomBytes(24).toString("base64url");
  const { url } = await startService("bridge", { BENCH_BRIDGE_TOKEN: token });
  return { url, token };
}

/** Applies the migrations (the cache table) the way `npm run dev` does. */
async function createCacheTable(neonUrl: string): Promise<void> {
  try {
    await promisify(execFile)(process.execPath, ["--import", "tsx", "tools/setup.ts", "--skip-redis-test", "--create-cache-table"], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL, NEON_HTTP_ENDPOINT: `${neonUrl}/sql` },
    });
  } catch (error) {
    const output = (error as { stdout?: string; stderr?: string }).stdout ?? "";
    throw new Error(`npm run setup -- --create-cache-table failed:\n${output}${(error as { stderr?: string }).stderr ?? ""}`);
  }
}

/** Starts everything; `log` receives one line per step. */
export async function startStack(log: (line: string) => void): Promise<Stack> {
  const runId = randomBytes(3).toString("hex");
  const keyPrefix = `bench-${runId}`;
  const [origin, bridge, downBridge, neon] = await Promise.all([startService("origin"), startBridge(), startBridge(), startService("neon-http")]);
  await setFault(downBridge, { mode: "error", status: 500 });
  await createCacheTable(neon.url);
  log(`  origin ${origin.url}, bridges ${bridge.url} and ${downBridge.url} (Redis), Neon HTTP ${neon.url} (Postgres)`);

  const common = (store: Bridge, extra: Record<string, string> = {}) => ({
    ENVIRONMENT: "development",
    ORIGIN_URL: origin.url,
    UPSTASH_REDIS_REST_URL: store.url,
    UPSTASH_REDIS_REST_TOKEN: store.token,
    DATABASE_URL,
    NEON_HTTP_ENDPOINT: `${neon.url}/sql`,
    LOGIN_ROUTES: JSON.stringify([{ path: LOGIN_PATH, body: ["json"], success: [200], failure: [401] }]),
    RATE_LIMITS: JSON.stringify([GATEWAY_SETTINGS.rateLimit]),
    CACHE_KEY_PREFIX: keyPrefix,
    AXES_FAILURE_LIMIT: String(GATEWAY_SETTINGS.failureLimit),
    LOCKOUT_CACHE_SECONDS: String(GATEWAY_SETTINGS.lockoutCacheSeconds),
    REDIS_TIMEOUT_MS: String(GATEWAY_SETTINGS.redisTimeoutMs),
    CIRCUIT_BREAKER_FAILURES: String(GATEWAY_SETTINGS.breakerFailures),
    // The attempt history on (the default), so the round-trip targets hold with it: it is appended inside the counting calls.
    AXES_HISTORY: "true",
    ...extra,
  });
  const [baseline, gateway, gatewayQuiet, gatewayUpstashDown] = await Promise.all([
    startWorker({
      name: "baseline",
      config: "bench/baseline/wrangler.toml",
      vars: { ORIGIN_URL: origin.url, UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: bridge.token },
    }),
    startWorker({ name: "gateway", vars: common(bridge, { CIRCUIT_BREAKER_COOLDOWN: `${GATEWAY_SETTINGS.breakerCooldownSeconds}s` }) }),
    startWorker({ name: "gateway-quiet", script: "bench/gateway/quiet.ts", vars: common(bridge) }),
    startWorker({ name: "gateway-upstash-down", vars: common(downBridge) }),
  ]);
  log(`  baseline ${baseline.url}, gateway ${gateway.url} (logs off: ${gatewayQuiet.url}), gateway with Upstash down ${gatewayUpstashDown.url} (wrangler's dev server, inspector off)`);
  return { runId, keyPrefix, originUrl: origin.url, bridge, downBridge, neonUrl: neon.url, baseline, gateway, gatewayQuiet, gatewayUpstashDown };
}

async function control(url: string, init: RequestInit = {}): Promise<unknown> {
  const answer = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  if (!answer.ok) throw new Error(`${init.method ?? "GET"} ${url} answered ${answer.status}: ${await answer.text()}`);
  return answer.json();
}

export async function bridgeCounts(bridge: Bridge): Promise<StoreCounts> {
  const stats = (await control(`${bridge.url}/__bridge/stats`, { headers: { authorization: `Bearer ${bridge.token}` } })) as StoreCounts;
  return { requests: stats.requests, commands: stats.commands };
}

export type BridgeFault = { mode: "none" } | { mode: "error"; status: number } | { mode: "delay"; ms: number };

export async function setFault(bridge: Bridge, fault: BridgeFault): Promise<void> {
  await control(`${bridge.url}/__bridge/fault`, {
    method: "POST",
    headers: { authorization: `Bearer ${bridge.token}`, "content-type": "application/json" },
    body: JSON.stringify(fault),
  });
}

export async function sqlCounts(stack: Stack): Promise<SqlCounts> {
  const stats = (await control(`${stack.neonUrl}/__neon/stats`)) as SqlCounts;
  return { requests: stats.requests, statements: stats.statements };
}

/** Deletes this run's counters from Redis and Postgres, and the baseline's rate-limit windows. */
export async function removeRunData(stack: Stack): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    for (const pattern of [`${stack.keyPrefix}:*`, "bench-baseline:*"]) {
      let cursor = "0";
      for (let pass = 0; pass < 10_000; pass++) {
        const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
        if (keys.length > 0) await redis.unlink(...keys);
        cursor = next;
        if (cursor === "0") break;
      }
    }
  } finally {
    redis.disconnect();
  }
  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  try {
    await db.query("DELETE FROM gateway_cache WHERE starts_with(key, $1)", [`${stack.keyPrefix}:`]);
  } finally {
    await db.end();
  }
}
