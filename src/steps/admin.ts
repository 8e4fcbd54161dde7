/**
 * The admin step. Every request under the prefix, however spelt (case, escapes, dot segments,
 * trailing slash), is answered here: the admin app routes on the canonical path below the prefix.
 * Nothing falls through to the origin, with or without a token.
 */
import type { MiddlewareHandler } from "hono";
import type { AdminApp } from "../admin";
import { canonicalPath, isUnder } from "../http/path";
import type { GatewayEnv } from "./context";

export function adminApi(admin: AdminApp, prefix: string): MiddlewareHandler<GatewayEnv> {
  const adminPrefix = canonicalPath(prefix);
  return async function adminApi(c, next) {
    if (!isUnder(c.var.path, adminPrefix)) return next();
    const url = new URL(c.req.url);
    url.pathname = c.var.path.slice(adminPrefix.length) || "/";
    const answer = await admin.fetch(new Request(url, c.req.raw), { requestId: c.var.requestId });
    const response = new Response(answer.body, answer);
    response.headers.set("cache-control", "no-store");
    return response;
  };
}
