/**
 * The rate-limit step of a request: match a policy, count the request, and answer with a refusal or
 * the headers to add. Store failures follow the policy's fail mode (FAIL_MODE's `other` by default).
 */
import type { ClientAddress } from "../client/address";
import type { FailModes } from "../store/settings";
import { logEvent } from "../http/log";
import { failModeFor, unavailable, whenStoresFail } from "../store/fail-mode";
import { ipPart, rateLimitIdentity } from "./identity";
import type { RateDecision, RateLimitStores, RateLimiter } from "./limiter";
import { type HeaderStyle, type RateLimitPolicy, matchRateLimit } from "./policies";
import { rateLimitHeaders, rateLimitedResponse } from "./response";

export interface RateLimitSettings {
  readonly policies: readonly RateLimitPolicy[];
  readonly headers: HeaderStyle;
}

/** Either refuse the request, or let it through with these headers for the response. */
export type RateLimitOutcome = { readonly kind: "refuse"; readonly response: Response } | { readonly kind: "pass"; readonly headers: Record<string, string> };

const PASS: RateLimitOutcome = Object.freeze({ kind: "pass", headers: Object.freeze({}) });

export interface RateLimitRequest {
  readonly request: Request;
  /** The canonical path. */
  readonly path: string;
  readonly client: ClientAddress | undefined;
  /**
   * The edge session's user, when the request carries an active session: asked only by a policy keyed
   * by `user`, so no other request pays for the session lookup here.
   */
  readonly user: () => Promise<string | null>;
  readonly requestId: string;
  /** Login routes never carry RateLimit headers: remaining attempts must not be revealed. */
  readonly isLogin: boolean;
  readonly waitUntil: (promise: Promise<unknown>) => void;
  /** The counters and their failover as this request sees them. */
  readonly stores: RateLimitStores;
}

export async function applyRateLimit(
  settings: RateLimitSettings,
  limiter: RateLimiter,
  failModes: FailModes,
  { request, path, client, user, requestId, isLogin, waitUntil, stores }: RateLimitRequest,
): Promise<RateLimitOutcome> {
  const policy = matchRateLimit(settings.policies, request.method, path);
  if (!policy) return PASS;
  const keyedByUser = policy.key.some((part) => part.kind === "user");
  const identity = await rateLimitIdentity(policy.key, request, client, keyedByUser ? await user() : null);
  const fields = { request_id: requestId, policy: policy.name, ip: client?.text ?? null, path };
  let decision: RateDecision;
  try {
    // A header-keyed policy also counts the client's IP under its cap; the stricter answer stands.
    const decisions = await Promise.all([
      limiter.check(policy, identity, waitUntil, stores),
      ...(policy.ipCap ? [limiter.check(policy.ipCap, ipPart(client), waitUntil, stores)] : []),
    ]);
    decision = decisions.find((d) => !d.allowed) ?? decisions.reduce((a, b) => (b.remaining < a.remaining ? b : a));
  } catch (error) {
    const mode = whenStoresFail(error, failModeFor(failModes, { kind: "ratelimit", policyMode: policy.failMode }), "ratelimit", fields);
    return mode === "open" ? PASS : { kind: "refuse", response: unavailable(request, "rate limiting is temporarily unavailable") };
  }
  if (policy.shadow) {
    if (!decision.allowed) logEvent("rate_limit_shadow", { ...fields, limit: decision.limit });
    return PASS;
  }
  const headers = isLogin ? {} : rateLimitHeaders(settings.headers, policy, decision);
  if (decision.allowed) return { kind: "pass", headers };
  logEvent("rate_limited", { ...fields, limit: decision.limit, source: decision.source }, "warn");
  return { kind: "refuse", response: rateLimitedResponse(policy, decision, headers) };
}
