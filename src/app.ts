/**
 * The gateway as a Hono app: blacklist first, then login attempts through the lockout policy, and
 * everything else straight to the origin. Built once per isolate from a parsed configuration.
 */
import { type Context, Hono } from "hono";
import { requestId } from "hono/request-id";
import { clientAddressOf } from "./client/address";
import type { GatewayConfig } from "./config";
import { gatewayErrorResponse } from "./http/errors";
import { logEvent } from "./http/log";
import { handleLoginAttempt } from "./login/handler";
import { LOGIN_RESULT_HEADER } from "./login/outcome";
import { matchLoginRoute } from "./login/routes";
import { LockoutPolicy } from "./lockout/policy";
import { lockoutResponse } from "./lockout/response";
import { forwardToOrigin } from "./proxy";
import { applyRateLimit } from "./ratelimit";
import { RateLimiter } from "./ratelimit/limiter";
import { type Stores, createStores } from "./store";

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

/** Builds the gateway. `stores` default to the ones the configuration names. */
export function createGateway(config: GatewayConfig, { store, redis }: Stores = createStores(config.store)): Hono {
  const policy = new LockoutPolicy({
    settings: config.lockout,
    store,
    whitelist: config.whitelist,
    keyPrefix: config.keyPrefix,
    lockCacheSeconds: config.lockCacheSeconds,
  });
  const limiter = new RateLimiter(config.rateLimits.policies, store, config.keyPrefix, redis);
  // Client-sent X-Request-Id is not trusted for log correlation; Cloudflare's ray id is, when present.
  const app = new Hono().use(requestId({ headerName: "", generator: (c) => c.req.header("cf-ray") ?? crypto.randomUUID() }));

  app.all("*", async function gateway(c) {
    const request = c.req.raw;
    const client = clientAddressOf(c);
    if (client && config.blacklist.size > 0 && config.blacklist.has(client)) {
      logEvent("blacklisted", { request_id: c.var.requestId, ip: client.text, path: c.req.path });
      return lockoutResponse(request, config.lockout, { reason: "blacklisted", failures: null, retryAfterSeconds: null });
    }
    const route = matchLoginRoute(config.login.routes, request.method, c.req.path);
    const limited = await applyRateLimit(config.rateLimits, limiter, config.failMode, {
      request,
      path: c.req.path,
      client,
      requestId: c.var.requestId,
      isLogin: route !== undefined,
      waitUntil: (promise) => waitUntil(c, promise),
    });
    if ("refuse" in limited) return limited.refuse;
    const response = route
      ? await handleLoginAttempt(config, policy, { request, route, client, requestId: c.var.requestId })
      : await forwardToOrigin(request, config.origin, client);
    response.headers.delete(LOGIN_RESULT_HEADER);
    for (const [name, value] of Object.entries(limited.headers)) response.headers.set(name, value);
    return response;
  });

  app.onError((error, c) => {
    logEvent("internal_error", { request_id: c.var.requestId, error: error.name }, "error");
    return gatewayErrorResponse(c.req.raw, 500, "Internal Server Error", "the gateway failed to handle this request");
  });
  return app;
}
