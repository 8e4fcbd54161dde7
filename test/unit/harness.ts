/**
 * The fast, hermetic layer: the gateway's Hono app driven with `app.request`, as hono's own tests do,
 * with in-memory stores and the origin as a `fetch` stub. No Redis, Postgres, workerd or process is
 * started, so the pipeline's logic (blacklist, admin, sessions, rate limits, lockout, proxy headers)
 * runs in seconds: `npm run test:unit`. The real-service suites in test/worker and test/node check the
 * same behaviour against the real stores and origins.
 */
import { afterEach, vi } from "vitest";
import { type GatewayApp, createGateway } from "../../src/app";
import { parseConfig } from "../../src/settings";
import type { Stores } from "../../src/store";
import type { CounterStore } from "../../src/store/contract";
import { MemoryStore } from "../../src/store/memory";
import type { SessionStore } from "../../src/store/session-contract";
import { MemorySessionStore } from "../../src/sessions/memory";

export const ORIGIN = "https://origin.test";
export const ADMIN_TOKEN = "unit-admin-token-0123456789";
export const PASSWORD = "right-password";

/** What the origin stub received: method, path and the headers as the origin saw them. */
export interface OriginCall {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * A Django-like origin: `/accounts/login/` answers a form login with 302 and a new `sessionid` on the
 * right password, 200 (the form again) otherwise; `/api/login/` answers JSON with 200 / 401; every
 * other path 200 "ok". Any request to another host fails the test: no outbound call goes unnoticed.
 */
export function stubOrigin(): OriginCall[] {
  const calls: OriginCall[] = [];
  let sessions = 0;
  vi.stubGlobal("fetch", async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.origin !== ORIGIN) throw new Error(`unexpected outbound request to ${url.origin}`);
    const body = request.body ? await request.text() : "";
    calls.push({ method: request.method, path: url.pathname, headers: Object.fromEntries(request.headers), body });
    const fields = request.headers.get("content-type")?.includes("json") ? (JSON.parse(body) as Record<string, string>) : Object.fromEntries(new URLSearchParams(body));
    const right = request.method === "POST" && fields.password === PASSWORD;
    const cookie = { "set-cookie": `sessionid=s${++sessions}-${crypto.randomUUID()}; Path=/; HttpOnly` };
    if (url.pathname === "/accounts/login/" && request.method === "POST") {
      return right ? new Response(null, { status: 302, headers: { location: "/", ...cookie } }) : new Response("<form>again</form>", { status: 200 });
    }
    if (url.pathname === "/api/login/") return right ? Response.json({ ok: true }, { headers: cookie }) : Response.json({ ok: false }, { status: 401 });
    // /hop answers with a header of its own named in Connection, and an X-Login-Result no client may see.
    if (url.pathname === "/hop") return new Response("ok", { headers: { connection: "x-origin-hop", "x-origin-hop": "1", "x-login-result": "failure; username=x" } });
    return new Response("ok");
  });
  return calls;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

let runs = 0;
/** A key prefix of this test's own (memory stores are per gateway anyway; the prefix shows in keys and logs). */
const uniquePrefix = () => `unit-${(runs++).toString(36)}-${crypto.randomUUID().slice(0, 8)}`;

export interface UnitGateway {
  readonly app: GatewayApp;
  readonly store: CounterStore;
  readonly sessions: SessionStore;
  /** `app.request` from a client address (CF-Connecting-IP). */
  request(path: string, init?: RequestInit & { ip?: string }): Promise<Response>;
}

/** In-memory stores, with the request scope the real ones have. */
export function memoryStores(store: CounterStore = new MemoryStore(), sessions: SessionStore = new MemorySessionStore()): Stores {
  return {
    store,
    redis: null,
    sessions,
    health: [{ name: "counters", store }],
    fallbackWindow: null,
    maintenance: { sweep: null, copyBack: null },
    forRequest: () => ({ store, sessions, failover: null }),
  };
}

/** A gateway from `overrides` (strings, as wrangler hands vars over) on memory stores, in front of the stub origin. */
export function unitGateway(overrides: Record<string, string> = {}, stores: Stores = memoryStores()): UnitGateway {
  const config = parseConfig({
    ENVIRONMENT: "development",
    ORIGIN_URL: ORIGIN,
    CACHE_KEY_PREFIX: uniquePrefix(),
    LOGIN_ROUTES: JSON.stringify([{ path: "/accounts/login/" }, { path: "/api/login/", body: ["json"], success: [200], failure: [401] }]),
    ...overrides,
  });
  const app = createGateway(config, stores);
  return {
    app,
    store: stores.store,
    sessions: stores.sessions,
    async request(path, { ip, headers, ...init } = {}) {
      const all = new Headers(headers);
      if (ip !== undefined) all.set("cf-connecting-ip", ip);
      return app.request(`https://gateway.test${path}`, { ...init, headers: all, redirect: "manual" });
    },
  };
}

export const formLogin = (username: string, password: string, ip: string): RequestInit & { ip: string } => ({
  method: "POST",
  ip,
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams({ username, password }).toString(),
});

export const jsonLogin = (username: string, password: string, ip: string): RequestInit & { ip: string } => ({
  method: "POST",
  ip,
  headers: { "content-type": "application/json", accept: "application/json" },
  body: JSON.stringify({ username, password }),
});

/** The statuses of `count` requests sent one after another. */
export async function statuses(gw: UnitGateway, path: string, count: number, init: () => RequestInit & { ip?: string }): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push((await gw.request(path, init())).status);
  return out;
}
