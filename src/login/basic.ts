/**
 * HTTP Basic credentials as login attempts (BASIC_AUTH_PATHS). An API that accepts
 * `Authorization: Basic` on every request (Django REST framework's `BasicAuthentication`) checks a
 * password on each of them: each is counted before the origin sees it, like a form login.
 *
 * The header is read strictly (one `Basic` token of padded base64, UTF-8 `user:password`) and
 * forwarded re-encoded with the canonical username; DRF decodes laxly (it skips characters outside
 * the base64 alphabet and falls back to latin-1), so anything but the strict form is refused.
 */
import { ConfigError, type RawEnv, readJson } from "../config/read";
import type { Credentials } from "./credentials";
import type { OutcomeRules } from "./outcome";
import { canonicalPath } from "../http/path";

const EXAMPLE = '["/api/"]';
const BASIC = /^basic ([A-Za-z0-9+/]*={0,2})$/i;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Reads `BASIC_AUTH_PATHS`: a JSON list of path prefixes (`["/"]` for every path); default none. */
export function parseBasicAuthPaths(env: RawEnv): readonly string[] {
  const value = readJson(env, "BASIC_AUTH_PATHS", EXAMPLE) ?? [];
  if (!Array.isArray(value) || !value.every((path) => typeof path === "string" && path.startsWith("/"))) {
    throw new ConfigError("BASIC_AUTH_PATHS", 'must be a JSON list of path prefixes starting with "/"', `'${EXAMPLE}'`);
  }
  return Object.freeze(value.map((path: string) => canonicalPath(path)));
}

/** Whether a canonical path lies under one of the prefixes (`/api` covers `/api` and `/api/...`). */
export function underBasicAuthPath(prefixes: readonly string[], path: string): boolean {
  return prefixes.some((prefix) => prefix === "/" || path === prefix || path.startsWith(`${prefix}/`));
}

/** Whether the request sends Basic credentials (any spelling of the scheme, any number of headers). */
export const sendsBasicCredentials = (request: Request): boolean => /^\s*basic(\s|$)/i.test(request.headers.get("authorization") ?? "");

/** How an answer to Basic credentials reads: 401 is a failure, 2xx and 3xx a success, others neither. */
export const BASIC_OUTCOME: OutcomeRules = Object.freeze({
  path: "Authorization: Basic",
  success: Object.freeze(Array.from({ length: 200 }, (_, i) => 200 + i)),
  failure: Object.freeze([401]),
  requireSessionCookie: false,
});

const refuse = (message: string): Credentials => ({ ok: false, status: 400, message });

/** Reads `Authorization: Basic` strictly; the forwarded header carries the canonical username. */
export function readBasicCredentials(header: string): Credentials {
  const token = BASIC.exec(header.trim())?.[1];
  if (token === undefined || token.length % 4 !== 0) return refuse("the Authorization header must be one Basic token of padded base64");
  let text: string;
  try {
    text = strictUtf8.decode(Uint8Array.from(atob(token), (char) => char.charCodeAt(0)));
  } catch {
    return refuse("the Basic credentials must be base64 of UTF-8 text");
  }
  const colon = text.indexOf(":");
  if (colon < 0) return refuse("the Basic credentials must be user:password");
  const password = text.slice(colon + 1);
  const encode = (value: string) => btoa(Array.from(new TextEncoder().encode(value), (byte) => String.fromCharCode(byte)).join(""));
  return {
    ok: true,
    username: text.slice(0, colon),
    forward: (canonical) => ({ authorization: `Basic ${encode(`${canonical ?? ""}:${password}`)}` }),
  };
}
