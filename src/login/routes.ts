/**
 * Which requests are login attempts, and how the origin's answer reads as success or failure.
 * Paths are compared in a canonical form (percent-decoded, slashes merged, dot segments resolved,
 * lower case, no trailing slash) so `/Accounts//%6Cogin` cannot slip past as a different path while
 * the origin still serves it as the login view.
 */
import { ConfigError, type RawEnv, readJson } from "../config/read";
import { canonicalPath } from "../http/path";

/** Kept here too for code that imports it from the login routes; it lives in ../http/path. */
export { canonicalPath };

/** One login endpoint of the origin. */
export interface LoginRoute {
  /** The path as configured, for messages. */
  readonly path: string;
  readonly canonicalPath: string;
  readonly methods: readonly string[];
  /** Form or JSON field that carries the username. @default AXES_USERNAME_FORM_FIELD */
  readonly usernameField: string;
  /** Origin statuses that mean the login succeeded. @default [302, 303] (Django's form login redirects) */
  readonly success: readonly number[];
  /** Origin statuses that mean the credentials were wrong. @default [200] (Django re-renders the form) */
  readonly failure: readonly number[];
}

const EXAMPLE = '[{"path":"/api/login/","methods":["POST"],"success":[200],"failure":[401]}]';
const DJANGO_FORM = { methods: ["POST"], success: [302, 303], failure: [200] } as const;
const DEFAULT_PATHS = ["/accounts/login/", "/admin/login/"];

function statusList(value: unknown, index: number, key: string): number[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((s) => Number.isInteger(s) && s >= 100 && s <= 599)) {
    throw new ConfigError("LOGIN_ROUTES", `route ${index}: "${key}" must be a non-empty list of HTTP statuses`, `'${EXAMPLE}'`);
  }
  return value as number[];
}

function parseRoute(entry: unknown, index: number, usernameField: string): LoginRoute {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    throw new ConfigError("LOGIN_ROUTES", `route ${index} must be an object`, `'${EXAMPLE}'`);
  }
  const route = entry as Record<string, unknown>;
  const known = new Set(["path", "methods", "usernameField", "success", "failure"]);
  const unknown = Object.keys(route).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    throw new ConfigError("LOGIN_ROUTES", `route ${index}: unknown key "${unknown[0]}"`, `'${EXAMPLE}'`);
  }
  if (typeof route.path !== "string" || !route.path.startsWith("/")) {
    throw new ConfigError("LOGIN_ROUTES", `route ${index}: "path" must start with "/"`, `'${EXAMPLE}'`);
  }
  const methods = route.methods ?? DJANGO_FORM.methods;
  if (!Array.isArray(methods) || methods.length === 0 || !methods.every((m) => typeof m === "string" && /^[A-Za-z]+$/.test(m))) {
    throw new ConfigError("LOGIN_ROUTES", `route ${index}: "methods" must be a list such as ["POST"]`, `'${EXAMPLE}'`);
  }
  const field = route.usernameField ?? usernameField;
  if (typeof field !== "string" || field === "") {
    throw new ConfigError("LOGIN_ROUTES", `route ${index}: "usernameField" must be a field name`, `'${EXAMPLE}'`);
  }
  const success = statusList(route.success ?? DJANGO_FORM.success, index, "success");
  const failure = statusList(route.failure ?? DJANGO_FORM.failure, index, "failure");
  const both = success.find((status) => failure.includes(status));
  if (both !== undefined) {
    throw new ConfigError("LOGIN_ROUTES", `route ${index}: status ${both} is listed as both success and failure`, `'${EXAMPLE}'`);
  }
  return Object.freeze({
    path: route.path,
    canonicalPath: canonicalPath(route.path),
    methods: Object.freeze(methods.map((m: string) => m.toUpperCase())),
    usernameField: field,
    success: Object.freeze(success),
    failure: Object.freeze(failure),
  });
}

/** Reads `LOGIN_ROUTES`, defaulting to Django's `/accounts/login/` and `/admin/login/` form logins. */
export function parseLoginRoutes(env: RawEnv, usernameField: string): readonly LoginRoute[] {
  const value = readJson(env, "LOGIN_ROUTES", EXAMPLE) ?? DEFAULT_PATHS.map((path) => ({ path }));
  if (!Array.isArray(value)) throw new ConfigError("LOGIN_ROUTES", "must be a JSON list of routes", `'${EXAMPLE}'`);
  return Object.freeze(value.map((entry, index) => parseRoute(entry, index, usernameField)));
}

/** The login route a request is aimed at, if any. */
export function matchLoginRoute(routes: readonly LoginRoute[], method: string, pathname: string): LoginRoute | undefined {
  if (routes.length === 0) return undefined;
  const path = canonicalPath(pathname);
  return routes.find((route) => route.canonicalPath === path && route.methods.includes(method));
}
