/**
 * One login attempt, end to end: read the credentials once, count the attempt before the origin sees
 * it, forward the canonical credentials, read the origin's verdict, and settle the count. Every
 * branch ends in a deliberate, logged answer; a store failure follows LOGIN_FAIL_MODE.
 */
import type { ClientAddress } from "../client/address";
import type { NewDevice, TrustedDevices } from "../devices";
import { gatewayErrorResponse } from "../http/errors";
import { type LogFields, logEvent, maskUsername } from "../http/log";
import { normaliseUsername } from "../lockout/keys";
import type { Admission, Background, LockoutPolicy, Verdict } from "../lockout/policy";
import { lockoutResponse } from "../lockout/response";
import { type OriginSettings, forwardToOrigin } from "../proxy";
import type { LockoutSettings } from "../lockout/settings";
import type { SessionSettings } from "../sessions/settings";
import { type CounterStore, StoreError } from "../store/contract";
import type { FailModes } from "../store/settings";
import { failModeFor, unavailable, whenStoresFail } from "../store/fail-mode";
import { runDetached } from "../store/failover/scope";
import { canonicalUsername } from "../lockout/username";
import type { Credentials } from "./credentials";
import { LOGIN_RESULT_HEADER, type OutcomeRules, loginOutcome } from "./outcome";

export interface LoginAttempt {
  readonly request: Request;
  /** How the origin's answer reads (a login route's statuses, or Basic's). */
  readonly route: OutcomeRules;
  /** Reads the credentials once (the body, or the Authorization header). */
  readonly read: () => Promise<Credentials>;
  readonly client: ClientAddress | undefined;
  readonly requestId: string;
  /** The counters as this request sees them (one Upstash timeout per request at most). */
  readonly store?: CounterStore;
}

/** What else happens around a login: recording the session, announcing lockouts. */
export interface LoginHooks {
  /** After a successful login (the origin's response is final); may record the session. */
  readonly succeeded?: (response: Response, username: string, client: ClientAddress) => Promise<void>;
  /** The origin named another user than the one counted: count a failure for that user too. */
  readonly failedElsewhere?: (username: string, client: ClientAddress) => Promise<void>;
  /** On each new lockout; must not delay the response (use waitUntil). */
  readonly lockedOut?: (notice: { username: string; client: ClientAddress; failures: number; retryAfterSeconds: number | null }) => void;
  /** Work that outlives the response (`ctx.waitUntil`): counting attempts refused from the lock cache. */
  readonly background?: Background;
}

/**
 * Other attempts of this client were still in flight for all of LOGIN_INFLIGHT_WAIT: not a lockout and
 * not counted, so a short "try again" rather than AXES_HTTP_RESPONSE_CODE.
 */
function tryAgainShortly(request: Request, who: LogFields, admission: Extract<Admission, { kind: "busy" }>): Response {
  logEvent("login_busy", { ...who, failures: admission.failures, in_flight: admission.inFlight, waited_ms: admission.waitedMs }, "warn");
  return gatewayErrorResponse(request, 503, "Service Unavailable", "other login attempts for this account or address are still being checked; please try again", { "retry-after": "1" });
}

/** The settings the login flow reads; the parsed configuration (src/settings) is one. */
export interface LoginFlowSettings {
  readonly lockout: LockoutSettings;
  readonly failMode: FailModes;
  readonly origin: OriginSettings;
  readonly sessions: SessionSettings;
}

/**
 * Handles a request aimed at a login route. With `devices` (trusted devices on), an attempt that
 * presents a device cookie for its username is counted as that device, and a success gets a new one.
 */
export async function handleLoginAttempt(config: LoginFlowSettings, policy: LockoutPolicy, attempt: LoginAttempt, hooks: LoginHooks = {}, devices: TrustedDevices | null = null): Promise<Response> {
  const { request, route, client, requestId } = attempt;
  if (!client) {
    return gatewayErrorResponse(request, 400, "Bad Request", "the client address is unknown (the gateway must run behind Cloudflare, which sets CF-Connecting-IP)");
  }
  const read = await attempt.read();
  if (!read.ok) {
    if (read.aborted) {
      logEvent("client_aborted", { request_id: requestId, path: route.path, ip: client.text }, "info");
    } else {
      logEvent("login_rejected", { request_id: requestId, status: read.status, path: route.path, ip: client.text, reason: read.message });
    }
    return gatewayErrorResponse(request, read.status, read.status === 413 ? "Payload Too Large" : read.status === 415 ? "Unsupported Media Type" : "Bad Request", read.message);
  }
  const forwarded = read.username === null ? null : canonicalUsername(read.username);
  const username = normaliseUsername(read.username, config.lockout.usernameCaseSensitive);
  const who = { request_id: requestId, ip: client.text, username: maskUsername(username), path: route.path };

  const userAgent = request.headers.get("user-agent") ?? "";
  const presented = devices === null ? null : await devices.presented(request, username);
  let admission: Admission;
  try {
    admission = await policy.admit({ address: client, username, userAgent, path: route.path }, request.method, hooks.background, attempt.store, presented?.id ?? null);
  } catch (error) {
    const mode = whenStoresFail(error, failModeFor(config.failMode, { kind: "login" }), "admit", { request_id: requestId, path: route.path });
    if (mode === "closed") return unavailable(request, "login is temporarily unavailable; please try again shortly");
    admission = { kind: "exempt" };
  }
  if (admission.kind === "locked") {
    logEvent("lockout_refused", { ...who, failures: admission.failures, retry_after: admission.retryAfterSeconds });
    return lockoutResponse(request, config.lockout, { reason: "locked", ...admission });
  }
  if (admission.kind === "busy") return tryAgainShortly(request, who, admission);

  const response = await forwardToOrigin(request, config.origin, client, read.forward(forwarded));
  const { outcome, note, named } = loginOutcome(route, response, {
    username,
    caseSensitive: config.lockout.usernameCaseSensitive,
    sessionCookie: config.sessions.cookieName,
  });
  response.headers.delete(LOGIN_RESULT_HEADER);
  if (note) logEvent(note, { ...who, status: response.status, ...(named === undefined ? {} : { origin_username: maskUsername(named) }) }, "warn");
  // The origin checked another user's password than the one counted: that user failed too.
  if (named !== undefined) await hooks.failedElsewhere?.(named, client);

  // A success's new device is registered in the same store call as the release.
  const device: NewDevice | null =
    devices !== null && outcome === "success" && admission.kind === "admitted" && username !== "" ? await devices.issue(username, presented, { ip: client.text, userAgent }) : null;
  const attemptLine = (failures: number | null): LogFields => ({ ...who, outcome, failures, ...(admission.kind === "admitted" && admission.device ? { trusted_device: true } : {}) });
  const settleFailed = (error: unknown): Verdict => {
    if (!(error instanceof StoreError)) throw error;
    // The reservation keeps its slot until it expires (ORIGIN_TIMEOUT plus a margin); a failure that could not be recorded is logged here.
    logEvent("settle_failed", { request_id: requestId, store: error.store, reason: error.reason, path: route.path, outcome }, "error");
    return { kind: "pass", failures: null };
  };
  let verdict: Verdict;
  let registered = false;
  // The session is recorded before the response (the client's next request may carry its cookie),
  // its write issued in the same turn as the give-back: on one Upstash database, one request carries both.
  const recorded = outcome === "success" ? hooks.succeeded?.(response, username, client) : undefined;
  try {
    const settled = await policy.settle(admission, outcome, request.method, attempt.store, device?.registration);
    if (settled.kind === "counting" && device === null) {
      // The answer does not depend on the write (a failure that cannot lock, a give-back): it lands after the response.
      const logged = ({ failures }: Verdict) => logEvent("login_attempt", attemptLine(failures));
      const counted = settled.counted.then(logged, (error: unknown) => logged(settleFailed(error)));
      (hooks.background ?? runDetached)(counted);
      await recorded;
      return response;
    }
    // A new device waits for its registration: only a device the store registered gets its cookie.
    verdict = settled.kind === "counting" ? await settled.counted : settled;
    registered = true;
  } catch (error) {
    verdict = settleFailed(error);
  }
  if (admission.kind === "admitted") logEvent("login_attempt", attemptLine(verdict.failures));
  if (verdict.kind === "locked-out") {
    await response.body?.cancel();
    logEvent("lockout", { ...who, failures: verdict.failures, retry_after: verdict.retryAfterSeconds }, "warn");
    hooks.lockedOut?.({ username, client, failures: verdict.failures, retryAfterSeconds: verdict.retryAfterSeconds });
    return lockoutResponse(request, config.lockout, { reason: "locked", ...verdict });
  }
  if (outcome === "success") {
    // Only a device the store registered gets its cookie (a failed settle registered nothing).
    if (device !== null && registered) response.headers.append("set-cookie", device.setCookie);
    await recorded;
  }
  return response;
}
