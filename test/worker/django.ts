/**
 * The differential tests' side of the real Django origin (test/django-origin): its users, its log of
 * password checks, and gateways in front of it whose lockout counters are read back through the
 * admin API.
 */
import { expect } from "vitest";
import { type TestGateway, bindings, gatewayWith, nextIp } from "./helpers";

/** The users the Django origin creates at start (test/django-origin/server.py), with their passwords. */
export const USERS = {
  alice: "alice-correct-pw",
  bob: "bob-correct-pw",
  carol: "carol-correct-pw",
  dave: "dave-correct-pw",
  erin: "erin-correct-pw",
} as const;
export type UserName = keyof typeof USERS;
export const USER_NAMES = Object.keys(USERS) as UserName[];

/** Django's answers to a login view, as route settings: forms redirect on success and re-render on failure. */
export const DJANGO_ROUTES = [
  { path: "/accounts/login/", body: ["form", "multipart"] },
  { path: "/accounts/login-redirect/", body: ["form", "multipart"] },
  { path: "/plain/login/", body: ["form", "multipart"] },
  { path: "/query-first/login/", body: ["form", "multipart"] },
  { path: "/api/login/", success: [200], failure: [401], body: ["json"] },
] as const;
export type DjangoPath = (typeof DJANGO_ROUTES)[number]["path"];
type FormPath = Exclude<DjangoPath, "/api/login/">;

/** Failures that lock a username in these tests (AXES_FAILURE_LIMIT). */
export const FAILURE_LIMIT = 3;
const ADMIN_TOKEN = "differential-admin-token-0123456789";

/** One password check as Django's auth signals saw it (`user_logged_in` / `user_login_failed`). */
export interface AuthEvent {
  readonly event: "success" | "failure";
  /** The user's username for a success; the credentials' username for a failure. */
  readonly username: string | null;
  readonly method: string;
  readonly path: string;
}

const djangoUrl = bindings.TEST_DJANGO_URL!;

async function djangoCall(path: string, method: "GET" | "POST"): Promise<Response> {
  const response = await fetch(`${djangoUrl}${path}`, { method });
  if (!response.ok) throw new Error(`Django origin ${method} ${path}: ${response.status} ${await response.text()}`);
  return response;
}

/** The Django origin's password checks since the last `clearAuthLog()`, oldest first. */
export const authLog = async (): Promise<AuthEvent[]> => ((await (await djangoCall("/__test/auth-log", "GET")).json()) as { events: AuthEvent[] }).events;
/** Empties the Django origin's auth log (before each test and each generated case). */
export const clearAuthLog = async (): Promise<void> => {
  await (await djangoCall("/__test/auth-log/clear", "POST")).body?.cancel();
};
/** The usernames Django logged in (successful password checks). */
export const successesIn = (events: readonly AuthEvent[]) => events.filter((e) => e.event === "success").map((e) => e.username);

/**
 * A gateway in front of the Django origin with the setup: 3 failures lock, counters per IP and
 * per username, the admin API on for reading counters.
 */
export function djangoGateway(overrides: Record<string, string> = {}): TestGateway {
  const settings = {
    ORIGIN_URL: djangoUrl,
    AXES_FAILURE_LIMIT: String(FAILURE_LIMIT),
    AXES_LOCKOUT_PARAMETERS: '["ip_address", "username"]',
    ADMIN_TOKEN,
    ...overrides,
  };
  return gatewayWith({ ...settings, LOGIN_ROUTES: JSON.stringify(DJANGO_ROUTES) });
}

interface CounterView {
  ip_address?: string;
  username?: string;
  failures: number;
}

/**
 * The gateway's failure count for `username` as the gateway itself normalises it (its admin API),
 * i.e. how many failures the gateway has counted against the name Django checked. `ip` is needed
 * only for names the gateway counts per IP (empty after normalisation).
 */
export async function failuresOf(gw: TestGateway, username: string, ip?: string): Promise<number> {
  const query = new URLSearchParams({ username, ...(ip !== undefined && { ip }) });
  const res = await gw.request(`/__gateway/lockouts/status?${query}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  if (res.status !== 200) throw new Error(`admin status for ${JSON.stringify(username)}: ${res.status} ${await res.text()}`);
  const { counters } = (await res.json()) as { counters: CounterView[] };
  return Math.max(0, ...counters.filter((c) => c.username !== undefined).map((c) => c.failures));
}

/** A canonical UTF-8 form login, the shape every reading agrees on. */
export const canonicalForm = (username: string, password: string, ip: string, headers: Record<string, string> = {}) => ({
  method: "POST",
  ip,
  headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  body: new URLSearchParams({ username, password }).toString(),
});

/**
 * Locks `username` at the gateway with FAILURE_LIMIT wrong passwords in canonical form logins from one
 * IP (each checked by Django), then checks the gateway's counter says so.
 */
export async function lockUser(gw: TestGateway, username: UserName, path: FormPath = "/plain/login/"): Promise<void> {
  await failUser(gw, username, FAILURE_LIMIT, path);
  expect(await failuresOf(gw, username), `${username} is locked at the gateway`).toBe(FAILURE_LIMIT);
}

/** Sends `times` canonical wrong-password logins for `username` from one fresh IP; answers the statuses. */
export async function failUser(gw: TestGateway, username: UserName, times: number, path: FormPath = "/plain/login/"): Promise<number[]> {
  const ip = nextIp();
  const statuses: number[] = [];
  for (let i = 0; i < times; i++) {
    const res = await gw.request(path, canonicalForm(username, `not-${USERS[username]}`, ip));
    await res.body?.cancel();
    statuses.push(res.status);
  }
  return statuses;
}
