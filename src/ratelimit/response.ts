/**
 * RateLimit header fields (draft-ietf-httpapi-ratelimit-headers-10, or the older draft-7 form) and
 * the 429 answer: the one place a rate-limit decision becomes HTTP.
 */
import { retryAfterSeconds, secondsLeft } from "../http/retry-after";
import type { RateDecision } from "./limiter";
import type { HeaderStyle, RateLimitPolicy } from "./policies";

/** The header fields for a decision; empty when the style is "off". */
export function rateLimitHeaders(style: HeaderStyle, policy: RateLimitPolicy, decision: RateDecision, now = Date.now()): Record<string, string> {
  const reset = secondsLeft(decision.resetAtMs - now);
  const window = Math.ceil(policy.windowSeconds);
  switch (style) {
    case "off":
      return {};
    case "draft-10":
      return {
        "ratelimit-policy": `"${policy.name}";q=${decision.limit};w=${window}`,
        ratelimit: `"${policy.name}";r=${decision.remaining};t=${reset}`,
      };
    case "draft-7":
      return {
        "ratelimit-policy": `${decision.limit};w=${window}`,
        ratelimit: `limit=${decision.limit}, remaining=${decision.remaining}, reset=${reset}`,
      };
  }
}

/** 429 with `Retry-After` and an `application/problem+json` body (RFC 9457). */
export function rateLimitedResponse(policy: RateLimitPolicy, decision: RateDecision, headers: Record<string, string>, now = Date.now()): Response {
  const retryAfter = retryAfterSeconds(decision.resetAtMs - now);
  const body = {
    type: "about:blank",
    title: "Too Many Requests",
    status: 429,
    detail: `The rate limit "${policy.name}" allows ${decision.limit} requests per ${Math.ceil(policy.windowSeconds)} s; retry after ${retryAfter} s.`,
    policy: policy.name,
    retry_after_seconds: retryAfter,
  };
  return new Response(JSON.stringify(body), {
    status: 429,
    headers: { ...headers, "retry-after": String(retryAfter), "content-type": "application/problem+json", "cache-control": "no-store" },
  });
}
