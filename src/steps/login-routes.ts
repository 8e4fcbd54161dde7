/**
 * The login-routes step: every method on a login path is decided before any store is asked (a
 * refused one never reaches the origin), and the request is marked as a counted login (a route's
 * attempt, or `Authorization: Basic` on BASIC_AUTH_PATHS) or not.
 */
import type { MiddlewareHandler } from "hono";
import { gatewayErrorResponse } from "../http/errors";
import { logEvent } from "../http/log";
import { sendsBasicCredentials, underBasicAuthPath } from "../login/basic";
import { classifyLoginRequest } from "../login/routes";
import type { GatewayConfig } from "../settings";
import type { GatewayEnv } from "./context";

export function loginRoutes(config: GatewayConfig): MiddlewareHandler<GatewayEnv> {
  return async function loginRoutes(c, next) {
    const request = c.req.raw;
    const ip = c.var.client?.text ?? null;
    const login = classifyLoginRequest(config.login.routes, request, c.var.path);
    if (login?.kind === "refused") {
      logEvent("login_rejected", { request_id: c.var.requestId, status: login.status, path: login.route.path, ip, method: request.method });
      const allow = login.allow === undefined ? undefined : { allow: login.allow };
      return gatewayErrorResponse(request, login.status, login.status === 405 ? "Method Not Allowed" : "Bad Request", login.message, allow);
    }
    const basic = sendsBasicCredentials(request) && underBasicAuthPath(config.login.basicAuthPaths, c.var.path);
    if (basic && login?.kind === "attempt") {
      logEvent("login_rejected", { request_id: c.var.requestId, status: 400, path: login.route.path, ip, reason: "two_credentials" });
      return gatewayErrorResponse(request, 400, "Bad Request", "send the credentials once: in the body or in Authorization: Basic, not both");
    }
    c.set("login", login?.kind === "attempt" ? { kind: "route", route: login.route } : basic ? { kind: "basic" } : null);
    await next();
  };
}
