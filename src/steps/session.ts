/**
 * The session step. Sessions are checked on every route, login and logout routes included: a
 * revoked session stays revoked wherever it is sent. SESSION_ENFORCEMENT=reject answers 401;
 * `strip` forwards the request without the session cookie and tells the browser to drop it (unless
 * the origin set a new session: a login). A logout route the origin accepts forgets the active
 * session it was sent with, which needs its state even with SESSION_ENFORCEMENT=off.
 */
import type { MiddlewareHandler } from "hono";
import { gatewayErrorResponse } from "../http/errors";
import { type Gateway, type GatewayEnv, sessionCall, sessionOf } from "./context";

export function sessionCheck({ config, sessions }: Gateway): MiddlewareHandler<GatewayEnv> {
  return async function sessionCheck(c, next) {
    const logout = c.var.login === null && sessions.isLogout(c.req.method, c.var.path);
    const session = await sessionOf(c, config, logout);
    if (session.kind === "reject") {
      return gatewayErrorResponse(c.req.raw, 401, "Unauthorized", "this session has ended; please log in again", { "set-cookie": sessions.clearCookie() });
    }
    if (session.kind === "strip") c.set("forwarded", session.request);
    await next();
    if (logout && session.kind === "pass" && c.res.status < 400) {
      await sessionCall(c, config, "session_logout", () => c.var.registry.logout(session.active), undefined);
    }
    if (session.kind === "strip" && sessions.sessionSetBy(c.res) === null) c.res.headers.append("set-cookie", sessions.clearCookie());
  };
}
