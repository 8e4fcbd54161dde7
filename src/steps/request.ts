/**
 * The first steps, before any store: the canonical path, the blacklist, and bodies on GET/HEAD.
 * Each sets what it derives on the context or answers the request itself.
 */
import type { MiddlewareHandler } from "hono";
import { clientAddressOf } from "../client/address";
import { gatewayErrorResponse } from "../http/errors";
import { logEvent } from "../http/log";
import { canonicalPath } from "../http/path";
import { lockoutResponse } from "../lockout/response";
import type { GatewayConfig } from "../settings";
import type { GatewayEnv } from "./context";

/** Computes the canonical path once; every later path decision reads `c.var.path`. */
export function canonical(): MiddlewareHandler<GatewayEnv> {
  return async function canonical(c, next) {
    c.set("path", canonicalPath(new URL(c.req.url).pathname));
    await next();
  };
}

/** Reads the client address (kept on the context) and refuses AXES_BLACKLIST_IPS with the lockout response. */
export function blacklist(config: GatewayConfig): MiddlewareHandler<GatewayEnv> {
  return async function blacklist(c, next) {
    const client = clientAddressOf(c);
    c.set("client", client);
    if (client && config.blacklist.size > 0 && config.blacklist.has(client)) {
      logEvent("blacklisted", { request_id: c.var.requestId, ip: client.text, path: c.req.path });
      return lockoutResponse(c.req.raw, config.lockout, { reason: "blacklisted", failures: null, retryAfterSeconds: null });
    }
    await next();
  };
}

/** A GET or HEAD body has no meaning the gateway and every origin agree on (and fetch cannot forward one). */
export function bodylessReads(): MiddlewareHandler<GatewayEnv> {
  return async function bodylessReads(c, next) {
    const { method, headers } = c.req.raw;
    if (method !== "GET" && method !== "HEAD") return next();
    const length = headers.get("content-length");
    if (headers.has("transfer-encoding") || (length !== null && length.trim() !== "0")) {
      logEvent("request_rejected", { request_id: c.var.requestId, reason: "body_on_read", method, path: c.req.path, ip: c.var.client?.text ?? null });
      return gatewayErrorResponse(c.req.raw, 400, "Bad Request", `a ${method} request must not carry a body`);
    }
    await next();
  };
}
