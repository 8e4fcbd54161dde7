/**
 * The edge session registry. A successful login that sets the session cookie is recorded under
 * `<CACHE_KEY_PREFIX>_sessions:<sha256(session id)>` with user, client IP, created and last-seen
 * times; a logout route the origin accepts deletes the record of the active session it was sent
 * with; every request carrying the cookie costs one round trip per session cookie (read + slide).
 * The cookie is read as the origin (Django) reads it, and a request is refused or stripped per
 * SESSION_ENFORCEMENT when its session is known to be revoked or expired, when it carries several
 * session cookies that are not all active, or when its session cookie has no single reading.
 * A single cookie the registry never saw passes untouched.
 */
import { cookieSpellings } from "../http/cookies";
import { logEvent } from "../http/log";
import type { SessionState, SessionStore, StoredSession } from "../store/session-contract";
import { hashSessionId } from "./keys";
import { type SessionSettings, sessionRecordTtlMs } from "./settings";

/**
 * Why a request's session is refused: what the registry knows of it, or `ambiguous` (a cookie the
 * gateway and the origin could read differently) or `duplicate` (several session cookies, not all active).
 */
export type RefusedState = Exclude<SessionState, "active" | "unknown"> | "ambiguous" | "duplicate";

/** What to do with a request after looking at its session cookie. */
export type SessionCheck =
  /** `user` is the session's user when the registry knows it active; `active` the hashes found active. */
  | { readonly kind: "pass"; readonly user: string | null; readonly active: readonly string[] }
  | { readonly kind: "strip"; readonly request: Request; readonly state: RefusedState }
  | { readonly kind: "reject"; readonly state: RefusedState };

/** A request without a session cookie (or one the registry was not asked about). */
export const NO_SESSION: SessionCheck = Object.freeze({ kind: "pass", user: null, active: Object.freeze([]) });

/** More session cookies than this in one request are refused without asking the store about each. */
const MAX_SESSION_COOKIES = 4;

/** The request with its Cookie header replaced by `cookies` (none when null): the origin sees no session. */
function withCookies(request: Request, cookies: string | null): Request {
  const headers = new Headers(request.headers);
  if (cookies !== null) headers.set("cookie", cookies);
  else headers.delete("cookie");
  return new Request(request, { headers });
}

export class SessionRegistry {
  constructor(
    readonly settings: SessionSettings,
    readonly store: SessionStore,
    /** The clock of created, last-seen and revoked times (read late, so a test's pinned clock holds). @default Date.now */
    private readonly now: () => number = () => Date.now(),
  ) {}

  private get ttlMs(): number {
    return sessionRecordTtlMs(this.settings);
  }

  /** Whether a request (its canonical path) is aimed at a logout route. */
  isLogout(method: string, path: string): boolean {
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
  async recordLogin(response: Response, username: string, ip: string): Promise<void> {
    const sessionId = this.sessionSetBy(response);
    if (sessionId === null) return;
    const now = this.now();
    await this.store.save(await hashSessionId(sessionId), { username, ip, createdAtMs: now, lastSeenAtMs: now, revokedAtMs: null }, this.ttlMs);
  }

  private async lookUp(sessionId: string) {
    const hash = await hashSessionId(sessionId);
    return { hash, ...(await this.store.touch(hash, this.now(), this.settings.timeoutMs, this.ttlMs)) };
  }

  /**
   * Reads the request's session cookies as the origin would and says what to do with the request:
   * one round trip per session cookie, none without one. With SESSION_ENFORCEMENT=off it looks only
   * when `lookUpWhenOff` (a rate limit keyed by user, or a logout to record), and only at a single
   * unambiguous cookie.
   */
  async check(request: Request, path: string, requestId: string, lookUpWhenOff = false): Promise<SessionCheck> {
    const header = request.headers.get("cookie");
    if (header === null) return NO_SESSION;
    const { values, ambiguous, rest } = cookieSpellings(header, this.settings.cookieName);
    const cookies = values.length + ambiguous;
    if (cookies === 0) return NO_SESSION;
    if (this.settings.enforcement === "off") {
      if (!lookUpWhenOff || cookies !== 1 || ambiguous > 0) return NO_SESSION;
      const { hash, state, user } = await this.lookUp(values[0]!);
      return { kind: "pass", user, active: state === "active" ? [hash] : [] };
    }

    let state: RefusedState;
    if (ambiguous > 0) state = "ambiguous";
    else if (cookies > MAX_SESSION_COOKIES) state = "duplicate";
    else {
      const lookups = await Promise.all(values.map((value) => this.lookUp(value)));
      const active = lookups.filter((lookup) => lookup.state === "active");
      // The origin reads the last cookie of a name; with one cookie an unknown session passes as before.
      if (active.length === lookups.length || (lookups.length === 1 && lookups[0]!.state === "unknown")) {
        return { kind: "pass", user: lookups.at(-1)!.user, active: active.map((lookup) => lookup.hash) };
      }
      const ended = lookups.find((lookup) => lookup.state === "revoked" || lookup.state === "expired");
      state = ended ? (ended.state as "revoked" | "expired") : "duplicate";
    }
    logEvent("session_refused", { request_id: requestId, state, cookies, enforcement: this.settings.enforcement, path }, "warn");
    if (this.settings.enforcement === "reject") return { kind: "reject", state };
    return { kind: "strip", request: withCookies(request, rest), state };
  }

  /** A Set-Cookie that makes the browser drop the session cookie. */
  clearCookie(): string {
    return `${this.settings.cookieName}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax`;
  }

  /**
   * Deletes the records of the sessions a logout was sent with, those found active: a revoked or
   * expired session keeps its record, so sending it to a logout route cannot make it unknown again.
   */
  async logout(activeHashes: readonly string[]): Promise<void> {
    await Promise.all(activeHashes.map((hash) => this.store.remove(hash)));
  }

  listUser(username: string): Promise<StoredSession[]> {
    return this.store.listUser(username);
  }

  /** Revokes one session by its id (the cookie's value). */
  async revokeSession(sessionId: string): Promise<number> {
    return this.store.revoke([await hashSessionId(sessionId)], this.now(), this.ttlMs);
  }

  /** Revokes every session of a user. */
  async revokeUser(username: string): Promise<number> {
    const sessions = await this.store.listUser(username);
    return this.store.revoke(
      sessions.filter((s) => s.revokedAtMs === null).map((s) => s.hash),
      this.now(),
      this.ttlMs,
    );
  }
}
