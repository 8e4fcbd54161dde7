/**
 * Which requests are login attempts, and how the origin's answer reads as success or failure.
 * Paths are compared in a canonical form (percent-decoded, slashes merged, dot segments resolved,
 * lower case, no trailing slash) so `/Accounts//%6Cogin` cannot slip past as a different path while
 * the origin still serves it as the login view.
 */
import { ConfigError, type RawEnv, readJson } from "../config/read";
import { canonicalPath } from "../http/path";
import { isLookalikeName } from "../lockout/username";

/** Kept here too for code that imports it from the login routes; it lives in ../http/path. */

/** Body types a login route accepts: urlencoded forms, multipart forms, JSON. */
export type BodyKind = "form" | "multipart" | "json";
const BODY_KINDS: readonly BodyKind[] = ["form", "multipart", "json"];

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
  /** Body types the route accepts; others get 415. @default ["form", "multipart"] */
  readonly body: readonly BodyKind[];
  /**
   * A success read from a status also needs the origin to set the session cookie in that response
   * (Django's `login()` always issues a new session key). @default true
   */
  readonly requireSessionCookie: boolean;
}

const EXAMPLE = '[{"path":"/api/login/","methods":["POST"],"body":["json"],"success":[200],"failure":[401]}]';
const DJANGO_FORM = { methods: ["POST"], success: [302, 303], failure: [200], body: ["form", "multipart"] } as const;
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
  const known = new Set(["path", "methods", "usernameField", "success", "failure", "body", "requireSessionCookie"]);
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
  const body = route.body ?? DJANGO_FORM.body;
  if (!Array.isArray(body) || body.length === 0 || !body.every((kind) => BODY_KINDS.includes(kind))) {
    throw new ConfigError("LOGIN_ROUTES", `route ${index}: "body" must be a non-empty list of "form", "multipart", "json"`, `'${EXAMPLE}'`);
  }
  const requireSessionCookie = route.requireSessionCookie ?? true;
  if (typeof requireSessionCookie !== "boolean") {
    throw new ConfigError("LOGIN_ROUTES", `route ${index}: "requireSessionCookie" must be true or false`, `'${EXAMPLE}'`);
  }
  return Object.freeze({
    path: route.path,
    canonicalPath: canonicalPath(route.path),
    methods: Object.freeze(methods.map((m: string) => m.toUpperCase())),
    usernameField: field,
    success: Object.freeze(success),
    failure: Object.freeze(failure),
    body: Object.freeze([...new Set(body as BodyKind[])]),
    requireSessionCookie,
  });
}

/** Reads `LOGIN_ROUTES`, defaulting to Django's `/accounts/login/` and `/admin/login/` form logins. */
export function parseLoginRoutes(env: RawEnv, usernameField: string): readonly LoginRoute[] {
  const value = readJson(env, "LOGIN_ROUTES", EXAMPLE) ?? DEFAULT_PATHS.map((path) => ({ path }));
  if (!Array.isArray(value)) throw new ConfigError("LOGIN_ROUTES", "must be a JSON list of routes", `'${EXAMPLE}'`);
  return Object.freeze(value.map((entry, index) => parseRoute(entry, index, usernameField)));
}

/** What a request to a login path is: a counted attempt, the bodiless form page, or refused. */
export type LoginRequest =
  | { readonly kind: "attempt"; readonly route: LoginRoute }
  | { readonly kind: "page"; readonly route: LoginRoute }
  | { readonly kind: "refused"; readonly route: LoginRoute; readonly status: 400 | 405; readonly message: string; readonly allow?: string };

/** Methods that fetch the login page (or a CORS preflight) and check no password when they carry no body. */
const PAGE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Whether the query string names the username field in any spelling a framework might read. */
function queryNamesField(search: string, field: string): boolean {
  return search
    .slice(1)
    .split(/[&;]/)
    .some((pair) => {
      const raw = pair.split("=")[0]!.replace(/\+/g, " ");
      let name = raw;
      try {
        name = decodeURIComponent(raw);
      } catch {
        // A malformed escape: compare it as written.
      }
      return name === field || isLookalikeName(name, field);
    });
}

/** Whether a request carries a body (a declared length above 0, or a stream without a length). */
export function carriesBody(request: Request): boolean {
  const length = request.headers.get("content-length");
  if (length !== null) return length.trim() !== "0";
  return request.body !== null || request.headers.has("transfer-encoding");
}

/**
 * Decides every request whose path is a login path, whatever its method: the route's methods are
 * counted attempts; a bodiless GET, HEAD or OPTIONS passes uncounted; anything else (another method,
 * or a page method with a body, which some views read credentials from) is refused with 405, and a
 * username in the query string (which a view could read instead of the body) with 400. `path` is the
 * request's canonical path (computed once per request).
 */
export function classifyLoginRequest(routes: readonly LoginRoute[], request: Request, path: string): LoginRequest | undefined {
  if (routes.length === 0) return undefined;
  const { method } = request;
  const onPath = routes.filter((candidate) => candidate.canonicalPath === path);
  const route = onPath.find((candidate) => candidate.methods.includes(method)) ?? onPath[0];
  if (!route) return undefined;
  if (queryNamesField(new URL(request.url).search, route.usernameField)) {
    return { kind: "refused", route, status: 400, message: `send the "${route.usernameField}" field in the body, not in the query string` };
  }
  if (route.methods.includes(method)) return { kind: "attempt", route };
  if (PAGE_METHODS.has(method) && !carriesBody(request)) return { kind: "page", route };
  const allow = [...new Set([...onPath.flatMap((candidate) => candidate.methods), ...PAGE_METHODS])].join(", ");
  const message = `${method} is not accepted on this login path; log in with ${route.methods.join(" or ")}`;
  return { kind: "refused", route, status: 405, message, allow };
}
