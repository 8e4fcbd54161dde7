/**
 * What the pipeline's steps share: the services built once per isolate (`Gateway`), the facts each
 * request derives once and keeps on its context (`GatewayEnv`), and the request's session, looked
 * up at most once and only when a step asks for it.
 */
import type { Context, Hono } from "hono";
import type { ClientAddress } from "../client/address";
import type { TrustedDevices } from "../devices";
import type { LockoutPolicy } from "../lockout/policy";
import type { LoginRoute } from "../login/routes";
import type { RateLimiter } from "../ratelimit/limiter";
import { NO_SESSION, type SessionCheck, type SessionRegistry } from "../sessions";
import type { GatewayConfig } from "../settings";
import type { RequestStores, Stores } from "../store";
import { failModeFor, whenStoresFail } from "../store/fail-mode";

/** The services the steps use, built once per isolate (src/wiring.ts). */
export interface Gateway {
  readonly config: GatewayConfig;
  readonly stores: Stores;
  readonly policy: LockoutPolicy;
  readonly limiter: RateLimiter;
  /** The registry over the isolate's session store (the admin API's view). */
  readonly sessions: SessionRegistry;
  /** Trusted-device cookies; null unless DEVICE_COOKIE_SECRET is set. */
  readonly devices: TrustedDevices | null;
}

/** A request the lockout counts: a login route's attempt, or `Authorization: Basic` on BASIC_AUTH_PATHS. */
export type CountedLogin = { readonly kind: "route"; readonly route: LoginRoute } | { readonly kind: "basic" };

/** Facts derived once per request and kept on the context, in the order the steps set them. */
export type GatewayEnv = {
  Variables: {
    /** The canonical path: every path decision is made on it. */
    path: string;
    /** The client address (CF-Connecting-IP), parsed by the blacklist step. */
    client: ClientAddress | undefined;
    /** What the login step counts, decided by the login-routes step; null for everything else. */
    login: CountedLogin | null;
    /** This request's view of the stores: once a store failed, its later calls in the request skip it. */
    stores: RequestStores;
    /** The session registry over `stores`. */
    registry: SessionRegistry;
    /** The request as the origin gets it: the session step may strip a refused session cookie. */
    forwarded: Request;
    /** The session lookup, once made, and whether it looked with SESSION_ENFORCEMENT=off. */
    sessionLookup: { readonly check: Promise<SessionCheck>; readonly whenOff: boolean } | undefined;
  };
};
export type GatewayApp = Hono<GatewayEnv>;
export type GatewayContext = Context<GatewayEnv>;

/** Hands background work to the Worker's `waitUntil`; outside a Worker (app.request in tests) it just runs. */
export function waitUntil(c: Context, promise: Promise<unknown>): void {
  let ctx: { waitUntil(promise: Promise<unknown>): void } | undefined;
  try {
    ctx = c.executionCtx;
  } catch {
    // No ExecutionContext: nothing outlives the request, so there is nothing to extend.
  }
  if (ctx) ctx.waitUntil(promise);
  else promise.catch(() => {});
}

/** Runs a session-registry call; when every store fails, the sessions' fail mode (open) answers `fallback`. */
export async function sessionCall<T>(c: GatewayContext, config: GatewayConfig, stage: string, call: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await call();
  } catch (error) {
    whenStoresFail(error, failModeFor(config.failMode, { kind: "session" }), stage, { request_id: c.var.requestId });
    return fallback;
  }
}

/**
 * The request's session check: one round trip per session cookie, made on the first ask and shared
 * by the steps after. `whenOff` (a rate limit keyed by user, or a logout to record) also looks with
 * SESSION_ENFORCEMENT=off; an earlier lookup made without it is then made again.
 */
export function sessionOf(c: GatewayContext, config: GatewayConfig, whenOff: boolean): Promise<SessionCheck> {
  const known = c.var.sessionLookup;
  // With enforcement on, every lookup looks: `whenOff` changes nothing.
  if (known && (known.whenOff || !whenOff || config.sessions.enforcement !== "off")) return known.check;
  const check = sessionCall(c, config, "session_check", () => c.var.registry.check(c.req.raw, c.req.path, c.var.requestId, whenOff), NO_SESSION);
  c.set("sessionLookup", { check, whenOff });
  return check;
}
