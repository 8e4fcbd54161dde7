/**
 * The request-scope step: this request's view of the stores (once a store failed, its later calls
 * in the request skip it, and the request waits at most one timeout of each), and its session
 * registry. Background work (the half-open probe, copies to Postgres) goes to `waitUntil`. The rest
 * of the pipeline runs in the request's own lane of Upstash calls.
 */
import type { MiddlewareHandler } from "hono";
import { SessionRegistry } from "../sessions";
import { inOwnLane } from "../store/upstash/batch";
import { type Gateway, type GatewayEnv, waitUntil } from "./context";

export function requestScope({ config, stores }: Gateway): MiddlewareHandler<GatewayEnv> {
  return async function requestScope(c, next) {
    const scoped = stores.forRequest((work) => waitUntil(c, work));
    c.set("stores", scoped);
    c.set("registry", new SessionRegistry(config.sessions, scoped.sessions));
    c.set("forwarded", c.req.raw);
    // This request's Upstash calls are batched with each other only (Workers: no I/O on behalf of another request).
    await inOwnLane(next);
  };
}
