/**
 * Password checks the origin reports on paths that are not login routes. With the Django companion
 * (contrib/django), every response of a request that checked a password carries
 * `X-Login-Result: success|failure; username=…`, whatever the view: the gateway counts those too.
 * A failure after the fact cannot be stopped, but it is counted and locks the next attempt.
 */
import type { ClientAddress } from "../client/address";
import { logEvent, maskUsername } from "../http/log";
import type { LockoutPolicy } from "../lockout/policy";
import { countedUsername } from "../lockout/username";
import { type CounterStore, StoreError } from "../store/contract";
import type { LoginFlowSettings, LoginHooks } from "./handler";
import { LOGIN_RESULT_HEADER, parseLoginResult } from "./outcome";

export interface ReportedLogin {
  readonly request: Request;
  readonly response: Response;
  readonly client: ClientAddress | undefined;
  readonly requestId: string;
  readonly path: string;
  /** The counters as this request sees them. */
  readonly store?: CounterStore;
}

/** Counts a failure for `username` (normalised) from `client`, reporting a new lockout; store failures are logged. */
export async function countFailureAfterTheFact(
  config: LoginFlowSettings,
  policy: LockoutPolicy,
  { username, client, request, requestId, path, store }: { username: string; client: ClientAddress; request: Request; requestId: string; path: string; store?: CounterStore },
  hooks: LoginHooks,
): Promise<void> {
  const who = { request_id: requestId, ip: client.text, username: maskUsername(username), path };
  try {
    const verdict = await policy.recordFailure({ address: client, username, userAgent: request.headers.get("user-agent") ?? "", path }, request.method, store);
    logEvent("login_attempt", { ...who, outcome: "failure", source: "origin" });
    if (verdict.kind === "locked-out") {
      logEvent("lockout", { ...who, failures: verdict.failures, retry_after: verdict.retryAfterSeconds }, "warn");
      hooks.lockedOut?.({ username, client, failures: verdict.failures, retryAfterSeconds: verdict.retryAfterSeconds });
    }
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    logEvent("settle_failed", { ...who, store: error.store, reason: error.reason, outcome: "failure", source: "origin" }, "error");
  }
}

/** Reads the origin's report on a response that was not a counted login, and counts it. */
export async function countReportedLogin(config: LoginFlowSettings, policy: LockoutPolicy, reported: ReportedLogin, hooks: LoginHooks): Promise<void> {
  const header = reported.response.headers.get(LOGIN_RESULT_HEADER);
  if (header === null) return;
  const { client, requestId, path, store } = reported;
  const stated = parseLoginResult(header);
  if (!stated || !client) {
    logEvent("login_result_ignored", { request_id: requestId, path, reason: stated ? "no_client_address" : "unreadable" }, "warn");
    return;
  }
  const username = countedUsername(stated.username, config.lockout.usernameCaseSensitive);
  if (stated.result === "failure") {
    await countFailureAfterTheFact(config, policy, { username, client, request: reported.request, requestId, path, store }, hooks);
    return;
  }
  logEvent("login_attempt", { request_id: requestId, ip: client.text, username: maskUsername(username), path, outcome: "success", source: "origin" });
  try {
    await policy.recordSuccess({ address: client, username, userAgent: reported.request.headers.get("user-agent") ?? "" }, store);
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    logEvent("settle_failed", { request_id: requestId, store: error.store, reason: error.reason, path, outcome: "success", source: "origin" }, "error");
  }
  await hooks.succeeded?.(reported.response, username, client);
}
