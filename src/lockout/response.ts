/** The one place where a lockout decision becomes an HTTP response. */
import { isoDuration } from "../config/duration";
import type { LockoutSettings } from "./settings";

export interface Lockout {
  readonly reason: "locked" | "blacklisted";
  /** Failures counted so far; null when not counted (blacklisted). */
  readonly failures: number | null;
  /** Seconds until the lock lifts; null = only an admin can lift it. */
  readonly retryAfterSeconds: number | null;
}

/** Clients that asked for JSON (an API or an XHR) get JSON, as django-axes does. */
export function wantsJson(request: Request): boolean {
  const accept = request.headers.get("accept") ?? "";
  return (
    /application\/(?:[\w.+-]*\+)?json/i.test(accept) ||
    request.headers.get("x-requested-with")?.toLowerCase() === "xmlhttprequest"
  );
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/**
 * Renders a lockout: AXES_HTTP_RESPONSE_CODE with `Retry-After` when a cool-off applies, JSON for
 * JSON clients, a redirect to AXES_LOCKOUT_URL when set, a short HTML page otherwise.
 */
export function lockoutResponse(request: Request, settings: LockoutSettings, lockout: Lockout): Response {
  const headers = new Headers({ "cache-control": "no-store" });
  const temporary = lockout.retryAfterSeconds !== null;
  if (temporary) headers.set("retry-after", String(lockout.retryAfterSeconds));
  const message = temporary ? settings.cooloffMessage : settings.permalockMessage;

  if (wantsJson(request)) {
    headers.set("content-type", "application/json; charset=utf-8");
    const body = {
      error: lockout.reason === "blacklisted" ? "blacklisted" : "locked_out",
      message,
      failure_limit: settings.failureLimit,
      failure_count: lockout.failures,
      cooloff_time: settings.cooloffSeconds === null ? null : isoDuration(settings.cooloffSeconds),
      cooloff_seconds: settings.cooloffSeconds,
      retry_after_seconds: lockout.retryAfterSeconds,
    };
    return new Response(JSON.stringify(body), { status: settings.httpResponseCode, headers });
  }
  if (settings.lockoutUrl !== null) {
    headers.set("location", settings.lockoutUrl);
    return new Response(null, { status: 302, headers });
  }
  headers.set("content-type", "text/html; charset=utf-8");
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Account locked</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem">
<h1>Account locked</h1><p>${escapeHtml(message)}</p>${
    temporary ? `<p>You can try again in ${Math.ceil(lockout.retryAfterSeconds! / 60)} minute(s).</p>` : ""
  }</body></html>`;
  return new Response(html, { status: settings.httpResponseCode, headers });
}
