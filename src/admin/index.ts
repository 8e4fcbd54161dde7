/**
 * The admin API under ADMIN_PREFIX (default /__gateway), behind `Authorization: Bearer ADMIN_TOKEN`
 * (Hono's bearerAuth compares in constant time). Disabled (404) when no token is set. It is its own
 * app, handed every request whose canonical path is under the prefix (see app.ts), so it answers
 * every such request itself: an unknown endpoint is 404 and a known one with another method 405,
 * never a fall-through to the origin. The dashboard (./dashboard) lives at the prefix itself. Every
 * answer is `Cache-Control: no-store`.
 */
import { type Context, Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import type { GatewayConfig } from "../settings";
import type { TrustedDevices } from "../devices";
import { logEvent } from "../http/log";
import { normaliseUsername } from "../lockout/keys";
import type { LockoutPolicy } from "../lockout/policy";
import type { SessionRegistry } from "../sessions";
import { StoreError } from "../store/contract";
import type { Stores } from "../store";
import { AttemptAdmin, type AttemptQuery } from "./attempts";
import type { AdminBindings } from "./bindings";
import { createDashboard } from "./dashboard";
import { storeHealth } from "./health";
import { AdminInputError, type ClientFilter, LockoutAdmin } from "./lockouts";
import { deviceRoutes } from "./devices";
import { configSummary } from "./summary";

export interface AdminDependencies {
  readonly config: GatewayConfig;
  readonly stores: Stores;
  readonly policy: LockoutPolicy;
  readonly sessions: SessionRegistry;
  /** Trusted devices; null when off (DEVICE_COOKIE_SECRET unset). */
  readonly devices?: TrustedDevices | null;
  /** The clock of retry times, session states, attempt windows and health latencies. @default Date.now */
  readonly now?: () => number;
}

async function jsonBody(request: Request): Promise<Record<string, unknown>> {
  try {
    const body: unknown = await request.json();
    if (typeof body === "object" && body !== null && !Array.isArray(body)) return body as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new AdminInputError("the body must be a JSON object");
}

function clientFilter(input: Record<string, unknown>): ClientFilter {
  const filter: { ip?: string; username?: string } = {};
  for (const name of ["ip", "username"] as const) {
    const value = input[name];
    if (value === undefined || value === null || value === "") continue;
    if (typeof value !== "string") throw new AdminInputError(`"${name}" must be text`);
    filter[name] = value;
  }
  return filter;
}

/** The attempt filters of a query string (empty values left out). */
function attemptQuery(input: Record<string, string>): AttemptQuery {
  const query: { username?: string; ip?: string; since?: string } = {};
  for (const name of ["username", "ip", "since"] as const) if (input[name]) query[name] = input[name];
  return query;
}

/** A listing's `limit` query parameter; undefined = the default page. */
function limitOf(text: string | undefined): number | undefined {
  if (text === undefined || text === "") return undefined;
  if (!/^[0-9]{1,7}$/.test(text)) throw new AdminInputError('"limit" must be a whole number');
  return Number(text);
}

/** `?all=true` (or 1): the listing of every counter, not only the locked ones. */
function flag(text: string | undefined, name: string): boolean {
  if (text === undefined || text === "" || text === "false" || text === "0") return false;
  if (text === "true" || text === "1") return true;
  throw new AdminInputError(`"${name}" must be true or false`);
}

/** The admin app: routes on the path below the prefix (canonical), with the gateway's request id. */
export type AdminApp = Hono<{ Bindings: AdminBindings }>;

/** A 405 for an endpoint that exists with other methods. */
const methodNotAllowed = (allowed: string) => (c: Context) => c.json({ error: `method not allowed; use ${allowed}` }, 405, { allow: allowed });

/** The admin routes, paths relative to the prefix; a 404 responder when the API is disabled. */
export function createAdmin({ config, stores, policy, sessions, devices = null, now = () => Date.now() }: AdminDependencies): AdminApp {
  const admin: AdminApp = new Hono<{ Bindings: AdminBindings }>();
  // Lockout lists, health and pages are about now and about people: never cached anywhere.
  admin.use(async function noStore(c, next) {
    await next();
    c.header("cache-control", "no-store");
  });
  if (config.admin === null) {
    admin.all("*", (c) => c.json({ error: "admin API disabled" }, 404));
    return admin;
  }
  const lockouts = new LockoutAdmin(stores.store, config.lockout, config.keyPrefix, now);
  const attempts = new AttemptAdmin(stores.store, config.lockout, config.keyPrefix, now);
  const message = (text: string) => ({ error: text });
  // The dashboard signs in with a form and a cookie, so it is mounted ahead of the bearer check.
  admin.route("/", createDashboard({ config, admin: config.admin, stores, policy, lockouts, attempts, now }));
  admin.use(
    bearerAuth({
      token: config.admin.token,
      noAuthenticationHeader: { message: message("missing bearer token") },
      invalidAuthenticationHeader: { message: message("malformed Authorization header") },
      invalidToken: { message: message("invalid token") },
    }),
  );

  admin.get("/health", async (c) => {
    const health = await storeHealth(stores, now);
    return c.json({ ...health, config: configSummary(config) }, health.status === "ok" ? 200 : 503);
  });

  admin.get("/lockouts", async (c) => c.json(await lockouts.list(c.req.query("cursor") ?? null, flag(c.req.query("all"), "all"))));

  admin.get("/lockouts/status", async (c) => c.json(await lockouts.status(clientFilter(c.req.query()))));

  admin.post("/lockouts/reset", async (c) => {
    const body = await jsonBody(c.req.raw);
    if (body.all !== undefined && body.all !== false) {
      if (body.all !== true) throw new AdminInputError('"all" must be true or false');
      if (body.ip !== undefined || body.username !== undefined) throw new AdminInputError('give "all" alone, or "ip" and/or "username"');
      if (body.confirm !== true) throw new AdminInputError('resetting every counter of this gateway needs "confirm": true (the CLI: lockouts reset --all --yes)');
      const keys = await lockouts.resetAll();
      policy.forgetLocks(keys);
      logEvent("lockout_reset", { request_id: c.env.requestId, ip: null, by: "all", counters: keys.length }, "warn");
      return c.json({ reset: keys.length });
    }
    const filter = clientFilter(body);
    const keys = await lockouts.reset(filter);
    policy.forgetLocks(keys);
    logEvent("lockout_reset", { request_id: c.env.requestId, ip: filter.ip ?? null, by: Object.keys(filter).join("+"), counters: keys.length });
    return c.json({ reset: keys.length });
  });

  admin.get("/attempts", async (c) =>
    c.json(await attempts.list(attemptQuery(c.req.query()), c.req.query("cursor") ?? null, limitOf(c.req.query("limit")))),
  );

  admin.get("/sessions", async (c) => {
    const username = c.req.query("username");
    if (!username) throw new AdminInputError('give "username"');
    const nowMs = now();
    const list = await sessions.listUser(normaliseUsername(username, config.lockout.usernameCaseSensitive));
    return c.json({
      sessions: list.map((session) => ({
        id: session.hash.slice(0, 12),
        username: session.username,
        ip: session.ip,
        created: new Date(session.createdAtMs).toISOString(),
        last_seen: new Date(session.lastSeenAtMs).toISOString(),
        state: session.revokedAtMs !== null ? "revoked" : nowMs - session.lastSeenAtMs > config.sessions.timeoutMs ? "expired" : "active",
      })),
    });
  });

  admin.post("/sessions/revoke", async (c) => {
    const body = await jsonBody(c.req.raw);
    let revoked: number;
    if (typeof body.session_id === "string" && body.session_id !== "") revoked = await sessions.revokeSession(body.session_id);
    else if (typeof body.username === "string" && body.username !== "") {
      revoked = await sessions.revokeUser(normaliseUsername(body.username, config.lockout.usernameCaseSensitive));
    } else throw new AdminInputError('give "session_id" or "username"');
    logEvent("session_revoked", { request_id: c.env.requestId, by: body.session_id ? "session" : "username", sessions: revoked });
    return c.json({ revoked });
  });

  admin.route("/", deviceRoutes(config, stores.store, devices, jsonBody));

  // Registered after the handlers above, so they only see the methods those do not take (HEAD is GET's).
  for (const [path, allowed] of [
    ["/health", "GET, HEAD"],
    ["/lockouts", "GET, HEAD"],
    ["/lockouts/status", "GET, HEAD"],
    ["/lockouts/reset", "POST"],
    ["/attempts", "GET, HEAD"],
    ["/sessions", "GET, HEAD"],
    ["/sessions/revoke", "POST"],
    ["/devices", "GET, HEAD"],
    ["/devices/revoke", "POST"],
  ] as const) {
    admin.all(path, methodNotAllowed(allowed));
  }
  admin.notFound((c) => c.json({ error: "no such admin endpoint" }, 404));
  admin.onError((error, c) => {
    if (error instanceof AdminInputError) return c.json({ error: error.message }, 400);
    if (error instanceof StoreError) return c.json({ error: `${error.store} is unavailable (${error.reason})` }, 503);
    if ("getResponse" in error && typeof error.getResponse === "function") return error.getResponse() as Response;
    logEvent("internal_error", { request_id: c.env.requestId, error: error.name, stage: "admin" }, "error");
    return c.json({ error: "internal error" }, 500);
  });
  return admin;
}
