/**
 * The edge session registry. A successful login that sets the session cookie is recorded under
 * `<CACHE_KEY_PREFIX>_sessions:<sha256(session id)>` with user, client IP, created and last-seen
 * times; logout routes delete the record; every request carrying the cookie costs one round trip
 * (read + slide), and one the registry knows to be revoked or expired is handled per
 * SESSION_ENFORCEMENT. A cookie the registry never saw passes untouched.
 */
import { getCookie } from "hono/cookie";
import type { Context } from "hono";
import { logEvent } from "../http/log";
import { canonicalPath } from "../login/routes";
import type { SessionState, SessionStore, StoredSession } from "./contract";
import { hashSessionId } from "./keys";
import type { SessionSettings } from "./settings";

/** What to do with a request after looking at its session cookie. */
export type SessionCheck =
  /** `user` is the session's user when the registry knows it active. */
  | { readonly kind: "pass"; readonly user: string | null }
  | { readonly kind: "strip"; readonly request: Request; readonly state: SessionState }
  | { readonly kind: "reject"; readonly state: SessionState };

export class SessionRegistry {
  constructor(
    readonly settings: SessionSettings,
    readonly store: SessionStore,
  ) {}

  private get ttlMs(): number {
    return this.settings.timeoutMs + this.settings.rememberMs;
  }

  isLogout(method: string, pathname: string): boolean {
    const path = canonicalPath(pathname);
    return this.settings.logoutRoutes.some((route) => route.path === path && route.methods.includes(method));
  }

  /** The session id the response sets, unless it deletes the cookie. */
  sessionSetBy(response: Response): string | null {
    const prefix = `${this.settings.cookieName}=`;
    for (const line of response.headers.getSetCookie()) {
      if (!line.startsWith(prefix)) continue;
      const value = line.slice(prefix.length).split(";")[0]!.trim();
      if (value === "" || value === '""' || /;\s*max-age=0\b/i.test(line)) return null;
      return value;
    }
    return null;
  }

  /** Records the session a successful login created. */
  async recordLogin(response: Response, username: string, ip: string, now = Date.now()): Promise<void> {
    const sessionId = this.sessionSetBy(response);
    if (sessionId === null) return;
    await this.store.save(await hashSessionId(sessionId), { u: username, ip, c: now, s: now }, this.ttlMs);
  }

  /**
   * Looks up the request's session cookie (one round trip) and says what to do with the request.
   * With SESSION_ENFORCEMENT=off it looks only when `needUser` (a rate limit keyed by user).
   */
  async check(c: Context, requestId: string, needUser = false): Promise<SessionCheck> {
    const sessionId = getCookie(c, this.settings.cookieName);
    if (!sessionId || (this.settings.enforcement === "off" && !needUser)) return { kind: "pass", user: null };
    const { state, user } = await this.store.touch(await hashSessionId(sessionId), Date.now(), this.settings.timeoutMs, this.ttlMs);
    if (state === "active" || state === "unknown" || this.settings.enforcement === "off") return { kind: "pass", user };
    logEvent("session_refused", { request_id: requestId, state, enforcement: this.settings.enforcement, path: c.req.path }, "warn");
    if (this.settings.enforcement === "reject") return { kind: "reject", state };
    return { kind: "strip", request: this.withoutCookie(c.req.raw), state };
  }

  /** The request without the session cookie, so the origin sees an anonymous request. */
  private withoutCookie(request: Request): Request {
    const headers = new Headers(request.headers);
    const kept = (request.headers.get("cookie") ?? "")
      .split(";")
      .map((pair) => pair.trim())
      .filter((pair) => pair !== "" && pair.split("=")[0]!.trim() !== this.settings.cookieName);
    if (kept.length > 0) headers.set("cookie", kept.join("; "));
    else headers.delete("cookie");
    return new Request(request, { headers });
  }

  /** A Set-Cookie that makes the browser drop the session cookie. */
  clearCookie(): string {
    return `${this.settings.cookieName}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax`;
  }

  /** Deletes the record of the request's session (logout). */
  async logout(c: Context): Promise<void> {
    const sessionId = getCookie(c, this.settings.cookieName);
    if (sessionId) await this.store.remove(await hashSessionId(sessionId));
  }

  listUser(username: string): Promise<StoredSession[]> {
    return this.store.listUser(username);
  }

  /** Revokes one session by its id (the cookie's value). */
  async revokeSession(sessionId: string): Promise<number> {
    return this.store.revoke([await hashSessionId(sessionId)], Date.now(), this.ttlMs);
  }

  /** Revokes every session of a user. */
  async revokeUser(username: string): Promise<number> {
    const sessions = await this.store.listUser(username);
    return this.store.revoke(
      sessions.filter((s) => s.record.r === undefined).map((s) => s.hash),
      Date.now(),
      this.ttlMs,
    );
  }
}
