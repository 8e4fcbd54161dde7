/**
 * The request-scope step: this request's view of the stores (once a store failed, its later calls
 * in the request skip it, and the request waits at most one timeout of each), and its session
 * registry. Background work (the half-open probe, copies to Postgres) goes to `waitUntil`.
 */
import type { MiddlewareHandler } from "hono";
import { SessionRegistry } from "../sessions";
import { type Gateway, type GatewayEnv, waitUntil } from "./context";

export function requestScope({ config, stores }: Gateway): MiddlewareHandler<GatewayEnv> {
  return async function requestScope(c, next) {
    const scoped = stores.forRequest((work) => waitUntil(c, work));
    c.set("stores", scoped);
    c.set("registry", new SessionRegistry(config.sessions, scoped.sessions));
    c.set("forwarded", c.req.raw);
    await next();
  };
}
