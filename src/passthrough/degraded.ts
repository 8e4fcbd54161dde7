/**
 * What a broken configuration still lets through (README: "When the configuration is broken").
 * Logins cannot be counted without the lockout settings, so every request that may carry
 * credentials gets 503; the rest reaches the origin. Each part is read on its own: when the login
 * routes themselves are broken, any request with a body or a method other than GET, HEAD or OPTIONS
 * may be a login; when BASIC_AUTH_PATHS is broken, Basic credentials on any path count.
 */
import { DEFAULT_ADMIN_PREFIX } from "../settings/admin";
import { parseBasicAuthPaths, sendsBasicCredentials, underBasicAuthPath } from "../login/basic";
import { canonicalPath } from "../http/path";
import { carriesBody, classifyLoginRequest, type LoginRoute, parseLoginRoutes } from "../login/routes";
import { gatewayErrorResponse } from "../http/errors";
import { withAliases } from "../config/aliases";
import { type RawEnv, readText } from "../config/read";
import type { Refusal } from ".";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function orNull<T>(parse: () => T): T | null {
  try {
    return parse();
  } catch {
    return null;
  }
}

/** The refusal for a gateway whose configuration did not parse. */
export function degradedRefusal(input: RawEnv): Refusal {
  const env = orNull(() => withAliases(input)) ?? input;
  const routes: readonly LoginRoute[] | null = orNull(() => parseLoginRoutes(env, readText(env, "AXES_USERNAME_FORM_FIELD") ?? "username"));
  const basicPaths = orNull(() => parseBasicAuthPaths(env)) ?? ["/"];
  // Even a malformed ADMIN_PREFIX ("__gateway/") names the path meant: admin calls must not reach the origin.
  const adminPrefix = canonicalPath(`/${readText(env, "ADMIN_PREFIX") ?? DEFAULT_ADMIN_PREFIX}`.replace(/^\/+/, "/").replace(/\/+$/, "") || DEFAULT_ADMIN_PREFIX);
  const refuse = (request: Request, detail: string) =>
    gatewayErrorResponse(request, 503, "Service Unavailable", detail, { "retry-after": "300" });
  return (request, path) => {
    const canonical = canonicalPath(path);
    if (canonical === adminPrefix || canonical.startsWith(`${adminPrefix}/`)) {
      return refuse(request, "the gateway is misconfigured; its log names the settings to fix");
    }
    const maybeLogin =
      routes === null
        ? !SAFE_METHODS.has(request.method) || carriesBody(request)
        : (classifyLoginRequest(routes, request, canonical)?.kind ?? "page") !== "page";
    if (maybeLogin || (sendsBasicCredentials(request) && underBasicAuthPath(basicPaths, canonical))) {
      return refuse(request, "logins are paused while the gateway's configuration is fixed; please try again later");
    }
    return undefined;
  };
}
