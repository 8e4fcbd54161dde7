/**
 * The gateway as a Hono app, a list of named steps: the canonical path, the blacklist, bodies on
 * GET/HEAD, the admin API under its prefix, then per request: session enforcement, rate limit,
 * login attempts through the lockout policy, and the origin. Built once per isolate from a parsed
 * configuration.
 */
import { type Context, Hono } from "hono";
import { requestId } from "hono/request-id";
import { createAdmin } from "./admin";
import { DEFAULT_ADMIN_PREFIX } from "./settings/admin";
import { type ClientAddress, clientAddressOf } from "./client/address";
import type { GatewayConfig } from "./settings";
import { TrustedDevices } from "./devices";
import { gatewayErrorResponse } from "./http/errors";
import { logEvent } from "./http/log";
import { canonicalPath, isUnder } from "./http/path";
import { sendLockoutWebhook } from "./http/webhook";
import { type LoginHooks, handleLoginAttempt } from "./login/handler";
import { LOGIN_RESULT_HEADER } from "./login/outcome";
import { BASIC_OUTCOME, readBasicCredentials, sendsBasicCredentials, underBasicAuthPath } from "./login/basic";
import { bodyCredentials, readLoginBody } from "./login/body";
import { countFailureAfterTheFact, countReportedLogin } from "./login/reported";
import { classifyLoginRequest, type LoginRoute } from "./login/routes";
import { LockoutPolicy } from "./lockout/policy";
import { lockoutResponse } from "./lockout/response";
import { forwardToOrigin } from "./proxy";
import { applyRateLimit } from "./ratelimit";
import { RateLimiter } from "./ratelimit/limiter";
import { NO_SESSION, SessionRegistry } from "./sessions";
import type { RequestStores, Stores } from "./store";
import { StoreError } from "./store/contract";
import { createStores } from "./wiring";

/** How long a login reservation outlives ORIGIN_TIMEOUT: reading the body, the store calls, clock skew. */
const RESERVATION_MARGIN_SECONDS = 5;

/** Hands background work to the Worker's `waitUntil`; outside a Worker (app.request in tests) it just runs. */
function waitUntil(c: Context, promise: Promise<unknown>): void {
  let ctx: { waitUntil(promise: Promise<unknown>): void } | undefined;
  try {
    ctx = c.executionCtx;
  } catch {
    // No ExecutionContext: nothing outlives the request, so there is nothing to extend.
  }
  if (ctx) ctx.waitUntil(promise);
  else promise.catch(() => {});
}

/** Runs a session-registry call; a store failure is logged and the request goes on (sessions fail open). */
async function sessionCall<T>(c: Context, operation: string, call: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    logEvent("fail_open", { request_id: c.var.requestId, store: error.store, reason: error.reason, stage: operation }, "error");
    return fallback;
  }
}

/**
 * Facts derived once per request and kept on the context: the canonical path (every path decision
 * is made on it) and the client address (parsed by the blacklist step).
 */
type GatewayEnv = { Variables: { path: string; client: ClientAddress | undefined } };
export type GatewayApp = Hono<GatewayEnv>;

/** Builds the gateway. `stores` default to the ones the configuration names. */
export function createGateway(config: GatewayConfig, stores: Stores = createStores(config)): GatewayApp {
  const policy = new LockoutPolicy({
    settings: config.lockout,
    store: stores.store,
    whitelist: config.whitelist,
    keyPrefix: config.keyPrefix,
    lockCacheSeconds: config.lockCacheSeconds,
    inFlightWaitSeconds: config.login.inFlightWaitSeconds,
    // An unsettled reservation (the isolate vanished) outlives the origin's timeout by a margin, no more.
    reservationSeconds: config.origin.timeoutMs / 1000 + RESERVATION_MARGIN_SECONDS,
    history: config.history.enabled ? { prefix: config.keyPrefix, maxEntries: config.history.maxEntries } : null,
  });
  const limiter = new RateLimiter(config.rateLimits.policies, stores.store, config.keyPrefix, stores.redis, config.rateLimitAnalytics);
  const sessions = new SessionRegistry(config.sessions, stores.sessions);
  const devices = config.devices && new TrustedDevices(config.devices, config.keyPrefix);
  const admin = createAdmin({ config, stores, policy, sessions, devices });
  const adminPrefix = canonicalPath(config.admin?.prefix ?? DEFAULT_ADMIN_PREFIX);
  const limitsByUser = config.rateLimits.policies.some((policy) => policy.key.some((part) => part.kind === "user"));

  const loginHooks = (c: Context, scoped: RequestStores, registry: SessionRegistry): LoginHooks => ({
    succeeded: (response, username, client) =>
      sessionCall(c, "session_record", () => registry.recordLogin(response, username, client.text), undefined),
    failedElsewhere: (username, client) =>
      countFailureAfterTheFact(
        config,
        policy,
        { username, client, request: c.req.raw, requestId: c.var.requestId, path: c.req.path, store: scoped.store },
        loginHooks(c, scoped, registry),
      ),
    lockedOut: ({ username, client, failures, retryAfterSeconds }) => {
      if (!config.lockoutWebhook) return;
      const notice = {
        event: "user_locked_out" as const,
        request_id: c.var.requestId,
        ip_address: client.text,
        username,
        path: c.req.path,
        failures,
        retry_after_seconds: retryAfterSeconds,
        time: new Date().toISOString(),
      };
      waitUntil(c, sendLockoutWebhook(config.lockoutWebhook, notice));
    },
    background: (work) => waitUntil(c, work),
  });

  // Client-sent X-Request-Id is not trusted for log correlation; Cloudflare's ray id is, when present.
  const app: GatewayApp = new Hono<GatewayEnv>().use(
    requestId({ headerName: "", generator: (c) => c.req.header("cf-ray") ?? crypto.randomUUID() }),
  );

  app.use(async function canonical(c, next) {
    c.set("path", canonicalPath(new URL(c.req.url).pathname));
    await next();
  });

  app.use(async function blacklist(c, next) {
    const client = clientAddressOf(c);
    c.set("client", client);
    if (client && config.blacklist.size > 0 && config.blacklist.has(client)) {
      logEvent("blacklisted", { request_id: c.var.requestId, ip: client.text, path: c.req.path });
      return lockoutResponse(c.req.raw, config.lockout, { reason: "blacklisted", failures: null, retryAfterSeconds: null });
    }
    await next();
  });

  // A GET or HEAD body has no meaning the gateway and every origin agree on (and fetch cannot forward one).
  app.use(async function bodylessReads(c, next) {
    const { method, headers } = c.req.raw;
    if (method !== "GET" && method !== "HEAD") return next();
    const length = headers.get("content-length");
    if (headers.has("transfer-encoding") || (length !== null && length.trim() !== "0")) {
      logEvent("request_rejected", { request_id: c.var.requestId, reason: "body_on_read", method, path: c.req.path, ip: c.var.client?.text ?? null });
      return gatewayErrorResponse(c.req.raw, 400, "Bad Request", `a ${method} request must not carry a body`);
    }
    await next();
  });

  // Every request under the prefix, however spelt (case, escapes, dot segments, trailing slash), is
  // answered here: the admin app routes on the canonical path below the prefix. Nothing falls
  // through to the origin, with or without a token.
  app.use(async function adminApi(c, next) {
    if (!isUnder(c.var.path, adminPrefix)) return next();
    const url = new URL(c.req.url);
    url.pathname = c.var.path.slice(adminPrefix.length) || "/";
    const answer = await admin.fetch(new Request(url, c.req.raw), { requestId: c.var.requestId });
    const response = new Response(answer.body, answer);
    response.headers.set("cache-control", "no-store");
    return response;
  });

  app.all("*", async function gateway(c) {
    const client = c.var.client;
    let request = c.req.raw;
    const login = classifyLoginRequest(config.login.routes, request, c.var.path);
    if (login?.kind === "refused") {
      logEvent("login_rejected", { request_id: c.var.requestId, status: login.status, path: login.route.path, ip: client?.text ?? null, method: request.method });
      const allow = login.allow === undefined ? undefined : { allow: login.allow };
      return gatewayErrorResponse(request, login.status, login.status === 405 ? "Method Not Allowed" : "Bad Request", login.message, allow);
    }
    const basic = sendsBasicCredentials(request) && underBasicAuthPath(config.login.basicAuthPaths, c.var.path);
    if (basic && login?.kind === "attempt") {
      logEvent("login_rejected", { request_id: c.var.requestId, status: 400, path: login.route.path, ip: client?.text ?? null, reason: "two_credentials" });
      return gatewayErrorResponse(request, 400, "Bad Request", "send the credentials once: in the body or in Authorization: Basic, not both");
    }
    const route: LoginRoute | undefined = login?.kind === "attempt" ? login.route : undefined;
    const counted = route !== undefined || basic;
    // This request's view of the stores: once a store failed, its later calls in the request skip it.
    const scoped = stores.forRequest((work) => waitUntil(c, work));
    const registry = new SessionRegistry(config.sessions, scoped.sessions);
    const hooks = loginHooks(c, scoped, registry);

    // Sessions are checked on every route, login and logout routes included: a revoked session
    // stays revoked wherever it is sent.
    // A logout route needs the session's state even with SESSION_ENFORCEMENT=off, to forget it if active.
    const logout = !counted && sessions.isLogout(request.method, c.var.path);
    const session = await sessionCall(c, "session_check", () => registry.check(request, c.req.path, c.var.requestId, limitsByUser || logout), NO_SESSION);
    if (session.kind === "reject") {
      return gatewayErrorResponse(request, 401, "Unauthorized", "this session has ended; please log in again", { "set-cookie": sessions.clearCookie() });
    }
    if (session.kind === "strip") request = session.request;
    const user = session.kind === "pass" && !counted ? session.user : null;

    const limited = await applyRateLimit(config.rateLimits, limiter, config.failMode, {
      request,
      path: c.var.path,
      client,
      user,
      requestId: c.var.requestId,
      isLogin: route !== undefined,
      waitUntil: (promise) => waitUntil(c, promise),
      store: scoped.store,
    });
    if ("refuse" in limited) return limited.refuse;

    const attempt = { request, client, requestId: c.var.requestId, store: scoped.store };
    let response: Response;
    if (route) {
      const read = async () => bodyCredentials(await readLoginBody(request, route.body, route.usernameField, config.login.maxBodyBytes));
      response = await handleLoginAttempt(config, policy, { ...attempt, route, read }, hooks, devices);
    } else if (basic) {
      const read = async () => readBasicCredentials(request.headers.get("authorization") ?? "");
      response = await handleLoginAttempt(config, policy, { ...attempt, route: BASIC_OUTCOME, read }, hooks, devices);
    } else {
      response = await forwardToOrigin(request, config.origin, client);
      await countReportedLogin(config, policy, { ...attempt, response, path: c.req.path }, hooks);
    }
    if (logout && session.kind === "pass" && response.status < 400) {
      await sessionCall(c, "session_logout", () => registry.logout(session.active), undefined);
    }
    response.headers.delete(LOGIN_RESULT_HEADER);
    for (const [name, value] of Object.entries(limited.headers)) response.headers.set(name, value);
    // Unless the origin set a new session (a login), the browser is told to drop the refused one.
    if (session.kind === "strip" && sessions.sessionSetBy(response) === null) response.headers.append("set-cookie", sessions.clearCookie());
    return response;
  });

  app.onError((error, c) => {
    logEvent("internal_error", { request_id: c.var.requestId, error: error.name }, "error");
    return gatewayErrorResponse(c.req.raw, 500, "Internal Server Error", "the gateway failed to handle this request");
  });
  return app;
}
