/**
 * How the origin's answer to a login attempt reads. The origin's own word comes first
 * (`X-Login-Result: success; username=alice`); otherwise the route's status lists, where a success
 * also needs evidence: the session cookie set in that response (a view that redirects a signed-in
 * client answers the success status without checking any password).
 */
import type { LoginOutcome } from "../lockout/policy";
import { countedUsername } from "../lockout/username";
import type { LoginRoute } from "./routes";

/** The outcome, and what about it deserves a log line. */
export interface OriginVerdict {
  readonly outcome: LoginOutcome;
  /**
   * `username_mismatch`: the origin named another user than the one counted (a failure for the counted
   * name, nothing reset). `success_unconfirmed`: a success status without a new session cookie
   * (neither success nor failure: the reservation is given back).
   */
  readonly note: "username_mismatch" | "success_unconfirmed" | null;
  /** With `username_mismatch`: the user the origin named, normalised as counted. */
  readonly named?: string;
}

/** What of a route decides how its answers read. */
export type OutcomeRules = Pick<LoginRoute, "path" | "success" | "failure" | "requireSessionCookie">;

/** Origins may state the result outright; the gateway removes this header before the client sees it. */
export const LOGIN_RESULT_HEADER = "X-Login-Result";

/** What the gateway knows about the attempt when it reads the answer. */
export interface OutcomeContext {
  /** The name the attempt was counted under. */
  readonly username: string;
  readonly caseSensitive: boolean;
  /** The origin's session cookie (SESSION_COOKIE_NAME). */
  readonly sessionCookie: string;
}

/** `success` or `failure`, and the username parameter (percent-encoded UTF-8) if given; null when unreadable. */
export function parseLoginResult(header: string): { result: "success" | "failure"; username: string | null } | null {
  const [token = "", ...params] = header.split(";");
  const result = token.trim().toLowerCase();
  if (result !== "success" && result !== "failure") return null;
  let username: string | null = null;
  for (const param of params) {
    const at = param.indexOf("=");
    if (at < 0 || param.slice(0, at).trim().toLowerCase() !== "username") continue;
    try {
      username = decodeURIComponent(param.slice(at + 1).trim());
    } catch {
      return null;
    }
  }
  return { result, username };
}

/** Whether the response sets (not deletes) the named cookie. */
function setsCookie(response: Response, name: string): boolean {
  return response.headers.getSetCookie().some((line) => {
    const [pair = "", ...attributes] = line.split(";");
    const at = pair.indexOf("=");
    if (at < 0 || pair.slice(0, at).trim() !== name || pair.slice(at + 1).trim().replace(/^"|"$/g, "") === "") return false;
    return !attributes.some((attribute) => /^\s*max-age\s*=\s*(0|-\d+)\s*$/i.test(attribute));
  });
}

/** Reads the origin's answer to an attempt counted under `context.username`. */
export function loginOutcome(route: OutcomeRules, response: Response, context: OutcomeContext): OriginVerdict {
  const header = response.headers.get(LOGIN_RESULT_HEADER);
  const stated = header === null ? null : parseLoginResult(header);
  if (stated) {
    const named = stated.username === null ? null : countedUsername(stated.username, context.caseSensitive);
    if (named !== null && named !== context.username) return { outcome: "failure", note: "username_mismatch", named };
    return { outcome: stated.result, note: null };
  }
  if (route.failure.includes(response.status)) return { outcome: "failure", note: null };
  if (!route.success.includes(response.status)) return { outcome: "unknown", note: null };
  if (route.requireSessionCookie && !setsCookie(response, context.sessionCookie)) return { outcome: "unknown", note: "success_unconfirmed" };
  return { outcome: "success", note: null };
}
