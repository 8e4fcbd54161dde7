/**
 * The rate-limit step, before the session step: a client refused here costs no session lookup. Only
 * a policy keyed by the edge session's user asks for the session (on a request that is not a
 * counted login), and the session step then reuses that lookup. Allowed responses get the policy's
 * RateLimit headers on the way out.
 */
import type { MiddlewareHandler } from "hono";
import { applyRateLimit } from "../ratelimit";
import { type Gateway, type GatewayEnv, sessionOf, waitUntil } from "./context";

export function rateLimit({ config, limiter }: Gateway): MiddlewareHandler<GatewayEnv> {
  return async function rateLimit(c, next) {
    const login = c.var.login;
    const limited = await applyRateLimit(config.rateLimits, limiter, config.failMode, {
      request: c.req.raw,
      path: c.var.path,
      client: c.var.client,
      user: async () => {
        if (login !== null) return null; // a login is counted by its client, never by a session it may replace
        const session = await sessionOf(c, config, true);
        return session.kind === "pass" ? session.user : null;
      },
      requestId: c.var.requestId,
      isLogin: login?.kind === "route",
      waitUntil: (promise) => waitUntil(c, promise),
      stores: c.var.stores,
    });
    if (limited.kind === "refuse") return limited.response;
    await next();
    for (const [name, value] of Object.entries(limited.headers)) c.res.headers.set(name, value);
  };
}
