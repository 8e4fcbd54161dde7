/**
 * LOCKOUT_WEBHOOK_URL: the edge counterpart of django-axes' `user_locked_out` signal. Sent in the
 * background (`waitUntil`) with a timeout, so it never delays or changes the lockout response.
 */
import { logEvent } from "./log";

export interface LockoutNotice {
  readonly event: "user_locked_out";
  readonly request_id: string;
  readonly ip_address: string;
  /** Normalised username, "" when the attempt carried none. */
  readonly username: string;
  readonly path: string;
  readonly failures: number;
  readonly retry_after_seconds: number | null;
  readonly time: string;
}

export async function sendLockoutWebhook(webhook: { url: string; timeoutMs: number }, notice: LockoutNotice): Promise<void> {
  try {
    const response = await fetch(webhook.url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "edge-axes-gateway" },
      body: JSON.stringify(notice),
      signal: AbortSignal.timeout(webhook.timeoutMs),
    });
    await response.body?.cancel();
    if (!response.ok) logEvent("webhook_failed", { request_id: notice.request_id, status: response.status }, "warn");
  } catch (error) {
    const reason = error instanceof Error && error.name === "TimeoutError" ? "timeout" : "unreachable";
    logEvent("webhook_failed", { request_id: notice.request_id, reason }, "warn");
  }
}
