/** How the origin's answer to a login attempt reads: the explicit header first, then the route's status lists. */
import type { LoginRoute } from "./routes";

export type LoginOutcome = "success" | "failure" | "unknown";

/** Origins may state the result outright; the gateway removes this header before the client sees it. */
export const LOGIN_RESULT_HEADER = "X-Login-Result";

export function loginOutcome(route: LoginRoute, response: Response): LoginOutcome {
  const stated = response.headers.get(LOGIN_RESULT_HEADER)?.trim().toLowerCase();
  if (stated === "success" || stated === "failure") return stated;
  if (route.failure.includes(response.status)) return "failure";
  if (route.success.includes(response.status)) return "success";
  return "unknown";
}
