/** @jsxImportSource hono/jsx */
/**
 * The operators' dashboard at ADMIN_PREFIX/: sign in with the admin token (compared in constant
 * time, as the bearer API does), then a signed cookie (./session). Every form post passes hono/csrf
 * (Origin or Sec-Fetch-Site must be this site) besides the SameSite=Strict cookie. Mounted before
 * the bearer check, on its own paths only: `/` and `/dashboard/*`.
 */
import { type Context, Hono } from "hono";
import { csrf } from "hono/csrf";
import { timingSafeEqual } from "hono/utils/buffer";
import type { GatewayConfig } from "../../settings";
import { logEvent } from "../../http/log";
import type { LockoutPolicy } from "../../lockout/policy";
import type { Stores } from "../../store";
import { storeHealth } from "../health";
import type { AdminBindings } from "../bindings";
import type { AttemptAdmin, AttemptQuery } from "../attempts";
import { AdminInputError, type LockoutAdmin } from "../lockouts";
import { configRows } from "../summary";
import { DashboardSessions } from "./session";
import { AttemptsPage, ConfigPage, HealthPage, LockoutsPage, SignInPage } from "./views";

export interface DashboardDependencies {
  readonly config: GatewayConfig;
  readonly admin: NonNullable<GatewayConfig["admin"]>;
  readonly stores: Stores;
  readonly policy: LockoutPolicy;
  readonly lockouts: LockoutAdmin;
  readonly attempts: AttemptAdmin;
  /** The clock of retry times, dashboard cookies and health latencies. @default Date.now */
  readonly now?: () => number;
}

const text = (value: unknown): string | undefined => (typeof value === "string" && value.trim() !== "" ? value.trim() : undefined);

/** The dashboard's routes, to mount at the admin prefix ahead of the bearer-protected API. */
export function createDashboard({ config, admin, stores, policy, lockouts, attempts, now = () => Date.now() }: DashboardDependencies): Hono<{ Bindings: AdminBindings }> {
  const { prefix, token } = admin;
  const sessions = new DashboardSessions(token, prefix, now);
  const app = new Hono<{ Bindings: AdminBindings }>();
  const home = `${prefix}/`;
  const signIn = (c: Context<{ Bindings: AdminBindings }>, status: 200 | 401, error?: string) => c.html(<SignInPage prefix={prefix} error={error} />, status);

  app.use("/dashboard/*", csrf());

  app.post("/dashboard/sign-in", async (c) => {
    const form = await c.req.parseBody();
    const given = text(form.token) ?? "";
    if (!(await timingSafeEqual(token, given))) {
      logEvent("dashboard_sign_in", { request_id: c.env.requestId, ip: c.req.header("cf-connecting-ip") ?? null, outcome: "refused" }, "warn");
      return signIn(c, 401, "That is not the admin token.");
    }
    await sessions.start(c);
    logEvent("dashboard_sign_in", { request_id: c.env.requestId, ip: c.req.header("cf-connecting-ip") ?? null, outcome: "signed_in" });
    return c.redirect(home, 303);
  });

  app.post("/dashboard/sign-out", (c) => {
    sessions.end(c);
    return c.redirect(home, 303);
  });

  // Everything below needs a signed-in browser.
  const signedIn = async (c: Context, next: () => Promise<void>) => {
    if (await sessions.valid(c)) return next();
    if (c.req.method === "GET") return c.redirect(home, 303);
    return signIn(c, 401, "Your session has ended; sign in again.");
  };

  // The prefix itself (`ADMIN_PREFIX` or `ADMIN_PREFIX/`: the admin app routes on the canonical path below it).
  app.get("/", async (c) => {
    if (!(await sessions.valid(c))) return signIn(c, 200);
    const { counters, truncated } = await lockouts.listAll();
    const reset = c.req.query("reset");
    const notice = reset !== undefined && /^\d+$/.test(reset) ? `Reset ${reset} counter(s).` : undefined;
    return c.html(
      <LockoutsPage prefix={prefix} counters={counters} truncated={truncated} failureLimit={config.lockout.failureLimit} notice={notice} now={now()} />,
    );
  });

  app.post("/dashboard/lockouts/reset", signedIn, async (c) => {
    const form = await c.req.parseBody();
    const filter = { ip: text(form.ip), username: text(form.username) };
    const keys = await lockouts.reset(Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined)));
    policy.forgetLocks(keys);
    logEvent("lockout_reset", { request_id: c.env.requestId, ip: filter.ip ?? null, by: `dashboard:${Object.keys(filter).filter((k) => filter[k as "ip"]).join("+")}`, counters: keys.length });
    return c.redirect(`${home}?reset=${keys.length}`, 303);
  });

  // A GET form: the filters are in the URL, so a filtered view can be bookmarked and works without JavaScript.
  app.get("/dashboard/attempts", signedIn, async (c) => {
    const query: { username?: string; ip?: string; since?: string } = {};
    for (const name of ["username", "ip", "since"] as const) {
      const value = text(c.req.query(name));
      if (value !== undefined) query[name] = value;
    }
    const page = (shown: AttemptQuery, chart: Awaited<ReturnType<AttemptAdmin["chart"]>>, list: Awaited<ReturnType<AttemptAdmin["list"]>>, error?: string) => (
      <AttemptsPage prefix={prefix} query={shown} chart={chart} attempts={list.attempts} older={list.cursor} history={config.history.enabled} error={error} />
    );
    try {
      const [chart, list] = await Promise.all([attempts.chart(query), attempts.list(query, text(c.req.query("cursor")) ?? null)]);
      return c.html(page(query, chart, list));
    } catch (error) {
      if (!(error instanceof AdminInputError)) throw error;
      const chart = await attempts.chart({});
      return c.html(page(query, chart, { attempts: [], cursor: null }, `Filter not applied: ${error.message}.`), 400);
    }
  });

  app.get("/dashboard/health", signedIn, async (c) => {
    const health = await storeHealth(stores, now);
    return c.html(<HealthPage prefix={prefix} status={health.status} stores={health.stores} />);
  });

  app.get("/dashboard/config", signedIn, (c) => c.html(<ConfigPage prefix={prefix} rows={configRows(config)} />));
  return app;
}
