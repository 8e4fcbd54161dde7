/**
 * The login step: a counted login (a route's attempt, or Basic credentials) goes through the lockout
 * policy (src/login/handler.ts); anything else goes on to the proxy. The hooks record the session a
 * successful login created, count a failure the origin reports for another user, and announce
 * lockouts to LOCKOUT_WEBHOOK_URL in the background.
 */
import type { MiddlewareHandler } from "hono";
import { sendLockoutWebhook } from "../http/webhook";
import { BASIC_OUTCOME, readBasicCredentials } from "../login/basic";
import { bodyCredentials, readLoginBody } from "../login/body";
import { type LoginHooks, handleLoginAttempt } from "../login/handler";
import { LOGIN_RESULT_HEADER } from "../login/outcome";
import { countFailureAfterTheFact } from "../login/reported";
import { type Gateway, type GatewayContext, type GatewayEnv, sessionCall, waitUntil } from "./context";

/** What happens around a login of this request (also one the origin reports on another path). */
export function loginHooks(c: GatewayContext, { config, policy }: Gateway): LoginHooks {
  const hooks: LoginHooks = {
    succeeded: (response, username, client) =>
      sessionCall(c, config, "session_record", () => c.var.registry.recordLogin(response, username, client.text), undefined),
    failedElsewhere: (username, client) =>
      countFailureAfterTheFact(config, policy, { username, client, request: c.req.raw, requestId: c.var.requestId, path: c.req.path, store: c.var.stores.store }, hooks),
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
  };
  return hooks;
}

export function loginAttempt(gateway: Gateway): MiddlewareHandler<GatewayEnv> {
  const { config, policy } = gateway;
  return async function loginAttempt(c, next) {
    const login = c.var.login;
    if (login === null) return next();
    const request = c.var.forwarded;
    const read =
      login.kind === "route"
        ? async () => bodyCredentials(await readLoginBody(request, login.route.body, login.route.usernameField, config.login.maxBodyBytes))
        : async () => readBasicCredentials(request.headers.get("authorization") ?? "");
    const route = login.kind === "route" ? login.route : BASIC_OUTCOME;
    const attempt = { request, route, read, client: c.var.client, requestId: c.var.requestId, store: c.var.stores.store };
    const response = await handleLoginAttempt(config, policy, attempt, loginHooks(c, gateway), gateway.devices);
    response.headers.delete(LOGIN_RESULT_HEADER);
    return response;
  };
}
