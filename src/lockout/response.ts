/** The one place where a lockout decision becomes an HTTP response. */
import { isoDuration } from "../config/duration";
import { wantsJson } from "../http/errors";
import type { LockoutSettings } from "./settings";
import { escapeHtml, renderLockoutTemplate } from "./template";

export interface Lockout {
  readonly reason: "locked" | "blacklisted";
  /** Failures counted so far; null when not counted (blacklisted). */
  readonly failures: number | null;
  /** Seconds until the lock lifts; null = only an admin can lift it. */
  readonly retryAfterSeconds: number | null;
  /** The lock's whole cool-off, grown for a repeat offender (AXES_COOLOFF_GROWTH). @default AXES_COOLOFF_TIME */
  readonly cooloffSeconds?: number | null;
}

/**
 * Renders a lockout: AXES_HTTP_RESPONSE_CODE with `Retry-After` when a cool-off applies, JSON for
 * JSON clients, a redirect to AXES_LOCKOUT_URL when set, the AXES_LOCKOUT_TEMPLATE page or a short
 * built-in one otherwise (both with the absolute retry time, from `nowMs`, and a link back to the
 * login page).
 */
export function lockoutResponse(request: Request, settings: LockoutSettings, lockout: Lockout, nowMs: number = Date.now()): Response {
  const headers = new Headers({ "cache-control": "no-store" });
  const temporary = lockout.retryAfterSeconds !== null;
  if (temporary) headers.set("retry-after", String(lockout.retryAfterSeconds));
  const message = temporary ? settings.cooloffMessage : settings.permalockMessage;

  if (wantsJson(request)) {
    headers.set("content-type", "application/json; charset=utf-8");
    const cooloff = lockout.cooloffSeconds === undefined ? settings.cooloffSeconds : lockout.cooloffSeconds;
    const body = {
      error: lockout.reason === "blacklisted" ? "blacklisted" : "locked_out",
      message,
      failure_limit: settings.failureLimit,
      failure_count: lockout.failures,
      cooloff_time: cooloff === null ? null : isoDuration(cooloff),
      cooloff_seconds: cooloff,
      retry_after_seconds: lockout.retryAfterSeconds,
    };
    return new Response(JSON.stringify(body), { status: settings.httpResponseCode, headers });
  }
  if (settings.lockoutUrl !== null) {
    headers.set("location", settings.lockoutUrl);
    return new Response(null, { status: 302, headers });
  }
  headers.set("content-type", "text/html; charset=utf-8");
  return new Response(lockoutPage(request, settings, lockout, message, nowMs), { status: settings.httpResponseCode, headers });
}

/** The HTML page: the operator's template, or the built-in one. */
function lockoutPage(request: Request, settings: LockoutSettings, lockout: Lockout, message: string, nowMs: number): string {
  // The page a locked login came from is the login page itself (a GET shows its form).
  const loginUrl = new URL(request.url).pathname;
  const retryAt = lockout.retryAfterSeconds === null ? null : new Date(nowMs + lockout.retryAfterSeconds * 1000);
  const retryText = retryAt === null ? "" : `${retryAt.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  if (settings.lockoutTemplate !== null) {
    return renderLockoutTemplate(settings.lockoutTemplate, {
      message,
      retry_after_seconds: lockout.retryAfterSeconds === null ? "" : String(lockout.retryAfterSeconds),
      retry_at: retryText,
      login_url: loginUrl,
      failure_limit: String(settings.failureLimit),
      failures: lockout.failures === null ? "" : String(lockout.failures),
    });
  }
  const retry =
    retryAt === null
      ? ""
      : `<p>You can try again at <time datetime="${retryAt.toISOString()}">${retryText}</time> (in ${Math.ceil(lockout.retryAfterSeconds! / 60)} minute(s)).</p>`;
  const back = lockout.reason === "locked" ? `<p><a href="${escapeHtml(loginUrl)}">Back to the login page</a></p>` : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Account locked</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem">
<h1>Account locked</h1><p>${escapeHtml(message)}</p>${retry}${back}</body></html>`;
}
