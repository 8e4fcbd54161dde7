/**
 * What a request does when no store answered: the one place a StoreError meets FAIL_MODE. Logins
 * follow FAIL_MODE's `login` (closed by default: 503), rate limits their policy's `failMode` or
 * FAIL_MODE's `other` (open by default), and session checks always fail open (a session the
 * registry cannot read is a session it never saw). Each decision is logged once, as `fail_open` or
 * `fail_closed`, with the store and the reason.
 */
import { gatewayErrorResponse } from "../http/errors";
import { type LogFields, logEvent } from "../http/log";
import { StoreError } from "./contract";
import type { FailMode, FailModes } from "./settings";

/** The store-backed checks of a request, each with its own fail mode. */
export type StoreCheck = { readonly kind: "login" } | { readonly kind: "ratelimit"; readonly policyMode: FailMode | null } | { readonly kind: "session" };

/** Seconds a client refused by a closed fail mode is told to wait. */
const FAIL_CLOSED_RETRY_AFTER_SECONDS = 30;

/** The fail mode of a check. */
export function failModeFor(modes: FailModes, check: StoreCheck): FailMode {
  switch (check.kind) {
    case "login":
      return modes.login;
    case "ratelimit":
      return check.policyMode ?? modes.other;
    case "session":
      // The registry only ever refuses what it knows; with no store to ask, it knows nothing.
      return "open";
  }
}

/**
 * Decides a check whose stores all failed: logs `fail_open` or `fail_closed` (the `fields` first,
 * then the store, the reason and the `stage`) and answers the mode. Anything but a StoreError is
 * thrown again, unlogged: it is a bug, not an outage.
 */
export function whenStoresFail(error: unknown, mode: FailMode, stage: string, fields: LogFields): FailMode {
  if (!(error instanceof StoreError)) throw error;
  logEvent(mode === "open" ? "fail_open" : "fail_closed", { ...fields, store: error.store, reason: error.reason, stage }, "error");
  return mode;
}

/** The answer of a check that failed closed: 503 with Retry-After. */
export function unavailable(request: Request, detail: string): Response {
  return gatewayErrorResponse(request, 503, "Service Unavailable", detail, { "retry-after": String(FAIL_CLOSED_RETRY_AFTER_SECONDS) });
}
