/**
 * Test helpers for the gateway inside workerd: a gateway built from the real wrangler.toml vars plus
 * per-test overrides, talking to the real Redis through the bridge and to the demo origin process.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { type GatewayApp, createGateway } from "../../src/app";
import { parseConfig } from "../../src/settings";
import type { Stores } from "../../src/store";
import { createStores } from "../../src/wiring";

export const bindings = env as unknown as Record<string, string>;

/** The Postgres fallback's settings; gateways get them only when a test asks (`gatewayWith(postgres)`). */
export const postgres = { DATABASE_URL: bindings.DATABASE_URL, NEON_HTTP_ENDPOINT: bindings.NEON_HTTP_ENDPOINT };
const { DATABASE_URL: _database, NEON_HTTP_ENDPOINT: _endpoint, ...upstashOnly } = bindings;

let counter = 0;
/**
 * A fresh key prefix per gateway under this run's prefix (test/setup/global.ts), so tests never share
 * counters, also with other runs on the same Redis, and never write under the default `axes`.
 * Random, not time-based: a pinned clock (pinClock) gives two runs the same Date.now().
 */
export const uniquePrefix = () => `${bindings.TEST_KEY_PREFIX}-${(counter++).toString(36)}${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`;

/** A distinct documentation-range client address per call. */
let ipCounter = 0;
export const nextIp = () => {
  ipCounter += 1;
  return `198.51.${100 + Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`;
};

export interface TestGateway {
  app: GatewayApp;
  prefix: string;
  request(path: string, init?: RequestInit & { ip?: string; ctx?: ExecutionContext }): Promise<Response>;
}

export const JSON_ROUTES = JSON.stringify([
  { path: "/accounts/login/" },
  { path: "/admin/login/" },
  { path: "/api/login/", body: ["json"], success: [200], failure: [401] },
  { path: "/api/signin/", body: ["json", "form"], success: [204], failure: [403] },
]);

/**
 * Builds a gateway from the Worker's bindings plus `overrides` (strings as in wrangler vars / secrets).
 * The bindings give the stores patient timeouts (vitest.config.ts); tests of timeouts set their own.
 */
export function gatewayWith(overrides: Record<string, unknown> = {}, wrapStores?: (stores: Stores) => Stores): TestGateway {
  const prefix = uniquePrefix();
  // Tests of exact store semantics ask the store every time; the lock cache has its own tests.
  const config = parseConfig({ ...upstashOnly, CACHE_KEY_PREFIX: prefix, LOGIN_ROUTES: JSON_ROUTES, LOCKOUT_CACHE_SECONDS: "0", ...overrides });
  const app = wrapStores ? createGateway(config, wrapStores(createStores(config))) : createGateway(config);
  return {
    app,
    prefix,
    async request(path, { ip, headers, ctx, ...init } = {}) {
      const all = new Headers(headers);
      if (ip !== undefined) all.set("cf-connecting-ip", ip);
      const request = new Request(`https://gateway.test${path}`, { ...init, headers: all, redirect: "manual" });
      if (ctx) return app.fetch(request, env, ctx);
      // Without a context of its own, a request returns once its background work (a failure counted
      // after the response) is done, as it would be before a client's next request in most cases;
      // tests of what happens before that pass their own `ctx`.
      const own = createExecutionContext();
      const response = await app.fetch(request, env, own);
      await waitOnExecutionContext(own);
      return response;
    },
  };
}

/** A Django form login (urlencoded). */
export const formLogin = (username: string, password: string, ip: string, extra: Record<string, string> = {}) => ({
  method: "POST",
  ip,
  headers: { "content-type": "application/x-www-form-urlencoded", ...extra },
  body: new URLSearchParams({ username, password }).toString(),
});

/** A JSON API login. */
export const jsonLogin = (username: string, password: string, ip: string, extra: Record<string, string> = {}) => ({
  method: "POST",
  ip,
  headers: { "content-type": "application/json", accept: "application/json", ...extra },
  body: JSON.stringify({ username, password }),
});

async function tool(base: string, token: string, path: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response;
}

/** The bridge's counters: Upstash round trips as the gateway made them. */
export const bridge = {
  stats: async () => (await (await tool(bindings.TEST_BRIDGE_URL!, bindings.TEST_BRIDGE_TOKEN!, "/__bridge/stats")).json()) as { requests: number; commands: number; byPath: Record<string, number> },
  resetStats: () => tool(bindings.TEST_BRIDGE_URL!, bindings.TEST_BRIDGE_TOKEN!, "/__bridge/stats/reset", { method: "POST" }),
  fault: (fault: Record<string, unknown>) =>
    tool(bindings.TEST_BRIDGE_URL!, bindings.TEST_BRIDGE_TOKEN!, "/__bridge/fault", { method: "POST", body: JSON.stringify(fault) }),
};

/** The Neon HTTP endpoint's counters and fault switch (Postgres "down" without stopping it). */
export const neonHttp = {
  stats: async () => (await (await fetch(`${bindings.TEST_NEON_HTTP_URL}/__neon/stats`)).json()) as { requests: number; statements: number },
  resetStats: () => fetch(`${bindings.TEST_NEON_HTTP_URL}/__neon/stats/reset`, { method: "POST" }),
  fault: (fault: Record<string, unknown>) =>
    fetch(`${bindings.TEST_NEON_HTTP_URL}/__neon/fault`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(fault) }),
};

/** The demo origin's counters: what actually reached the origin. */
export const origin = {
  stats: async () =>
    (await (await fetch(`${bindings.TEST_ORIGIN_URL}/__origin/stats`)).json()) as { requests: number; loginAttempts: Record<string, number>; lastLoginHeaders: Record<string, string> | null },
  resetStats: () => fetch(`${bindings.TEST_ORIGIN_URL}/__origin/stats/reset`, { method: "POST" }),
};

export const DEMO = { username: "demo", password: "demo-password" } as const;

/** Sends the same request `count` times, one after another; answers the statuses. */
export async function statusesOf(gw: TestGateway, path: string, count: number, init: () => Parameters<TestGateway["request"]>[1] = () => ({})): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const res = await gw.request(path, init());
    await res.body?.cancel();
    out.push(res.status);
  }
  return out;
}

/** Stops injecting faults into the bridge and the Neon endpoint (after each fault test). */
export async function clearFaults(): Promise<void> {
  await bridge.fault({ mode: "none" });
  await neonHttp.fault({ mode: "none" });
}

/** Runs `run` and answers the log lines the gateway wrote meanwhile (every level). */
export async function logsOf(run: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const original = { log: console.log, info: console.info, warn: console.warn, error: console.error };
  for (const level of ["log", "info", "warn", "error"] as const) console[level] = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  try {
    await run();
  } finally {
    Object.assign(console, original);
  }
  return lines;
}

/** The next full hour on the wall clock: the start of a window of every length that divides an hour. */
export const nextHourStart = (): number => Math.ceil(Date.now() / 3_600_000) * 3_600_000;

/** A test's own clock: `advance` moves it, nothing else does. */
export interface TestClock {
  advance(ms: number): void;
}

/**
 * Replaces Date in this isolate (the gateway under test runs in it) with a clock that stands still
 * until the test advances it, for what reads Date.now() itself: @upstash/ratelimit's windows, the
 * circuit breaker's cool-down, a session's idle time. Timers, AbortSignal.timeout and Redis TTLs
 * keep real time. Build the gateway after pinning (the breaker keeps the Date.now it was built
 * with) and call `vi.useRealTimers()` after the test.
 * @example const clock = pinClock(); const gw = gatewayWith(...); clock.advance(1100);
 */
export function pinClock(at: number = Date.now()): TestClock {
  vi.useFakeTimers({ toFake: ["Date"], now: at });
  return { advance: (ms) => vi.setSystemTime(Date.now() + ms) };
}
