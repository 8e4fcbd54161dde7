/**
 * The last step: anything not answered before goes to the origin unchanged (hono/proxy), and a
 * password check the origin reports in X-Login-Result is counted (the header never reaches the
 * client). Then the error handler: a bug answers 500 and is logged by name only.
 */
import type { ErrorHandler, Handler } from "hono";
import { gatewayErrorResponse } from "../http/errors";
import { logEvent } from "../http/log";
import { LOGIN_RESULT_HEADER } from "../login/outcome";
import { countReportedLogin } from "../login/reported";
import { forwardToOrigin } from "../proxy";
import { type Gateway, type GatewayEnv } from "./context";
import { loginHooks } from "./login";

export function proxy(gateway: Gateway): Handler<GatewayEnv> {
  const { config, policy } = gateway;
  return async function proxy(c) {
    const request = c.var.forwarded;
    const client = c.var.client;
    const response = await forwardToOrigin(request, config.origin, client);
    const reported = { request, client, requestId: c.var.requestId, store: c.var.stores.store, response, path: c.req.path };
    await countReportedLogin(config, policy, reported, loginHooks(c, gateway));
    response.headers.delete(LOGIN_RESULT_HEADER);
    return response;
  };
}

export const internalError: ErrorHandler<GatewayEnv> = (error, c) => {
  logEvent("internal_error", { request_id: c.var.requestId, error: error.name }, "error");
  return gatewayErrorResponse(c.req.raw, 500, "Internal Server Error", "the gateway failed to handle this request");
};
