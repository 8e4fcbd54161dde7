import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import {
  DEMO_USERNAME,
  isDemoUser,
  isJsonRequest,
  readFormCredentials,
  readJsonCredentials,
  type Credentials,
} from "./credentials.ts";
import { cookieValue, redirect, sendHtml, sendJson, type Route, type RouteContext } from "./http.ts";
import { homePage, loginPage, profilePage } from "./pages.ts";

const SESSION_COOKIE = "sessionid";
const EXPIRED_SESSION_COOKIE = `${SESSION_COOKIE}=""; Max-Age=0; HttpOnly; Path=/; SameSite=Lax`;

/** In-memory sessions keyed by the random `sessionid` cookie value. */
export class SessionStore {
  private readonly users = new Map<string, string>();

  /** Opens a session for `username` and returns the Set-Cookie header value for it. */
  open(username: string): string {
    const id = randomBytes(16).toString("hex");
    this.users.set(id, username);
    return `${SESSION_COOKIE}=${id}; HttpOnly; Path=/; SameSite=Lax`;
  }

  /** The user whose valid session cookie the request carries, if any. */
  userFor(req: IncomingMessage): string | undefined {
    const id = cookieValue(req, SESSION_COOKIE);
    return id === undefined ? undefined : this.users.get(id);
  }

  /** Ends the request's session, if it has one. */
  close(req: IncomingMessage): void {
    const id = cookieValue(req, SESSION_COOKIE);
    if (id !== undefined) this.users.delete(id);
  }
}

/** A `next` value Django would follow: a path on this site, never another host (`//evil`, `/\evil`). */
function sameSitePath(next: string | undefined): string | undefined {
  if (!next?.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return undefined;
  const base = "http://demo-origin.invalid";
  return new URL(next, base).origin === base ? next : undefined;
}

/** The home page, login forms, profile, logout and the two JSON login APIs. */
export function accountRoutes(sessions: SessionStore): Route[] {
  function home({ req, res }: RouteContext): void {
    const header = (name: string): string | undefined => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(", ") : value;
    };
    sendHtml(res, 200, homePage({ user: sessions.userFor(req), forwardedFor: header("x-forwarded-for"), realIp: header("x-real-ip") }));
  }

  function showForm({ res, path, query }: RouteContext): void {
    sendHtml(res, 200, loginPage({ action: path, failed: false, next: sameSitePath(query.get("next") ?? undefined) }));
  }

  async function formLogin({ req, res, path, query }: RouteContext): Promise<void> {
    const credentials = await readFormCredentials(req);
    // Django's LoginView prefers the posted `next` over the query string's.
    const next = sameSitePath(credentials.next ?? query.get("next") ?? undefined);
    if (isDemoUser(credentials)) {
      redirect(res, next ?? "/accounts/profile/", { "set-cookie": sessions.open(DEMO_USERNAME) });
      return;
    }
    sendHtml(res, 200, loginPage({ action: path, failed: true, username: credentials.username, next }));
  }

  async function jsonLogin({ req, res }: RouteContext): Promise<void> {
    const credentials = await readJsonCredentials(req);
    if (credentials === undefined) {
      sendJson(res, 400, { ok: false, error: "malformed JSON: expected an object" });
    } else if (isDemoUser(credentials)) {
      sendJson(res, 200, { ok: true, username: DEMO_USERNAME }, { "set-cookie": sessions.open(DEMO_USERNAME) });
    } else {
      sendJson(res, 401, { ok: false, error: "invalid credentials" });
    }
  }

  // Same body whatever happens and no cookie: the X-Login-Result header is the only signal of the outcome.
  async function headerSignalledLogin({ req, res }: RouteContext): Promise<void> {
    const credentials: Credentials | undefined = isJsonRequest(req)
      ? await readJsonCredentials(req)
      : await readFormCredentials(req);
    const result = credentials !== undefined && isDemoUser(credentials) ? "success" : "failure";
    sendJson(res, 200, { received: true }, { "x-login-result": result });
  }

  // An API that accepts HTTP Basic on every request (Django REST framework's BasicAuthentication):
  // 200 with the user for the demo credentials, 401 with a challenge otherwise.
  function basicApi({ req, res }: RouteContext): void {
    const [scheme, token] = (req.headers.authorization ?? "").split(" ");
    const [username, password] = Buffer.from(token ?? "", "base64").toString("utf8").split(/:(.*)/s);
    if (scheme?.toLowerCase() === "basic" && isDemoUser({ username, password })) sendJson(res, 200, { username: DEMO_USERNAME });
    else sendJson(res, 401, { error: "invalid credentials" }, { "www-authenticate": 'Basic realm="api"' });
  }

  function profile({ req, res, path }: RouteContext): void {
    const user = sessions.userFor(req);
    if (user === undefined) redirect(res, `/accounts/login/?next=${encodeURIComponent(path)}`);
    else sendHtml(res, 200, profilePage(user));
  }

  function logout({ req, res }: RouteContext): void {
    sessions.close(req);
    redirect(res, "/", { "set-cookie": EXPIRED_SESSION_COOKIE });
  }

  return [
    { method: "GET", path: "/", handle: home },
    { method: "GET", path: "/accounts/login/", handle: showForm },
    { method: "POST", path: "/accounts/login/", login: true, handle: formLogin },
    { method: "GET", path: "/admin/login/", handle: showForm },
    { method: "POST", path: "/admin/login/", login: true, handle: formLogin },
    { method: "GET", path: "/accounts/profile/", handle: profile },
    { method: "POST", path: "/accounts/logout/", handle: logout },
    { method: "POST", path: "/api/login/", login: true, handle: jsonLogin },
    { method: "POST", path: "/api/signin/", login: true, handle: headerSignalledLogin },
    { method: "*", path: /^\/api\/basic\//, login: true, handle: basicApi },
  ];
}
