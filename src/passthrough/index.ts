/**
 * The gateway without its protection: every request goes to the origin, except those `refuse`
 * answers itself. Used when AXES_ENABLED=false (nothing refused, nothing counted) and when the
 * configuration is broken but ORIGIN_URL parsed (logins and the admin prefix refused with 503, see
 * ../index.ts), so one bad setting does not take the whole site down.
 */
import { Hono } from "hono";
import { clientAddressOf } from "../client/address";
import { forwardToOrigin, type OriginSettings } from "../proxy";

/** Answers a request itself, or undefined to forward it. */
export type Refusal = (request: Request, path: string) => Response | undefined;

/** A Hono app that forwards to `origin` whatever `refuse` lets through. */
export function createPassthrough(origin: OriginSettings, refuse: Refusal = () => undefined): Hono {
  const app = new Hono();
  app.all("*", async function passthrough(c) {
    const refused = refuse(c.req.raw, c.req.path);
    if (refused) return refused;
    return forwardToOrigin(c.req.raw, origin, clientAddressOf(c));
  });
  return app;
}
