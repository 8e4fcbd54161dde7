/**
 * The gateway as a Hono app: the request pipeline as named steps, in the order they run. Each step
 * answers the request itself or hands it on, and the steps after the request scope may touch the
 * response on its way back out.
 *
 * 1. requestId: Cloudflare's ray id (a client-sent X-Request-Id is not trusted for log correlation).
 * 2. canonical: the canonical path, computed once (src/steps/request.ts).
 * 3. blacklist: the client address; AXES_BLACKLIST_IPS gets the lockout response.
 * 4. bodylessReads: a GET or HEAD with a body gets 400.
 * 5. adminApi: everything under ADMIN_PREFIX is answered by the admin app (src/steps/admin.ts).
 * 6. loginRoutes: every method on a login path is decided; marks counted logins (src/steps/login-routes.ts).
 * 7. requestScope: this request's view of the stores and its session registry (src/steps/scope.ts).
 * 8. rateLimit: RATE_LIMITS; a refused client costs no session lookup (src/steps/rate-limit.ts).
 * 9. sessionCheck: revoked, expired or ambiguous sessions per SESSION_ENFORCEMENT (src/steps/session.ts).
 * 10. loginAttempt: counted logins through the lockout policy (src/steps/login.ts).
 * 11. proxy: everything else to the origin, counting what it reports (src/steps/proxy.ts).
 *
 * What happens when every store fails is decided in one place, src/store/fail-mode.ts.
 */
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { createAdmin } from "./admin";
import type { GatewayConfig } from "./settings";
import { DEFAULT_ADMIN_PREFIX } from "./settings/admin";
import { adminApi } from "./steps/admin";
import type { GatewayApp, GatewayEnv } from "./steps/context";
import { loginAttempt } from "./steps/login";
import { loginRoutes } from "./steps/login-routes";
import { internalError, proxy } from "./steps/proxy";
import { rateLimit } from "./steps/rate-limit";
import { blacklist, bodylessReads, canonical } from "./steps/request";
import { requestScope } from "./steps/scope";
import { sessionCheck } from "./steps/session";
import type { Stores } from "./store";
import { createServices, createStores } from "./wiring";

export type { GatewayApp } from "./steps/context";

/** Builds the gateway. `stores` default to the ones the configuration names. */
export function createGateway(config: GatewayConfig, stores: Stores = createStores(config)): GatewayApp {
  const gateway = createServices(config, stores);
  const admin = createAdmin({ config, stores, policy: gateway.policy, sessions: gateway.sessions, devices: gateway.devices });
  return new Hono<GatewayEnv>()
    .use(requestId({ headerName: "", generator: (c) => c.req.header("cf-ray") ?? crypto.randomUUID() }))
    .use(canonical())
    .use(blacklist(config))
    .use(bodylessReads())
    .use(adminApi(admin, config.admin?.prefix ?? DEFAULT_ADMIN_PREFIX))
    .use(loginRoutes(config))
    .use(requestScope(gateway))
    .use(rateLimit(gateway))
    .use(sessionCheck(gateway))
    .use(loginAttempt(gateway))
    .all("*", proxy(gateway))
    .onError(internalError);
}
