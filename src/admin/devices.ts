/**
 * Trusted devices in the admin API: `GET /devices?username=` lists a user's trusted devices,
 * `POST /devices/revoke {"username", "device_id"?}` revokes one (or, without `device_id`, all) of
 * them: their cookies give no trust from the next attempt on, and their own counters are deleted.
 * With trusted devices off, both answer 404 saying so.
 */
import { Hono } from "hono";
import type { GatewayConfig } from "../settings";
import type { TrustedDevices } from "../devices";
import { logEvent } from "../http/log";
import { normaliseUsername } from "../lockout/keys";
import type { CounterStore } from "../store/contract";
import type { AdminBindings } from "./bindings";
import { AdminInputError } from "./lockouts";

/** A device id as the gateway issues them. */
const DEVICE_ID = /^[0-9a-f]{32}$/;

function usernameOf(value: unknown, config: GatewayConfig): string {
  if (typeof value !== "string" || value === "") throw new AdminInputError('give "username"');
  const username = normaliseUsername(value, config.lockout.usernameCaseSensitive);
  if (username === "") throw new AdminInputError('"username" is empty once normalised');
  return username;
}

/** What the listing shows of a device: its id, when it expires, and its registration's info. */
function deviceView(record: { id: string; expiresAtMs: number; info: string }): Record<string, unknown> {
  let info: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(record.info);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) info = parsed as Record<string, unknown>;
  } catch {
    // An entry without readable info still lists its id and expiry.
  }
  return { id: record.id, issued_at: info.issued_at ?? null, ip: info.ip ?? null, user_agent: info.user_agent ?? null, expires_at: new Date(record.expiresAtMs).toISOString() };
}

export function deviceRoutes(
  config: GatewayConfig,
  store: CounterStore,
  devices: TrustedDevices | null,
  jsonBody: (request: Request) => Promise<Record<string, unknown>>,
): Hono<{ Bindings: AdminBindings }> {
  const routes = new Hono<{ Bindings: AdminBindings }>();
  if (devices === null) {
    const off = { error: "trusted devices are off (set DEVICE_COOKIE_SECRET to turn them on)" };
    routes.get("/devices", (c) => c.json(off, 404));
    routes.post("/devices/revoke", (c) => c.json(off, 404));
    return routes;
  }

  routes.get("/devices", async (c) => {
    const username = usernameOf(c.req.query("username"), config);
    const list = await store.listDevices(await devices.registryOf(username));
    return c.json({ username, devices: list.sort((a, b) => b.expiresAtMs - a.expiresAtMs).map(deviceView) });
  });

  routes.post("/devices/revoke", async (c) => {
    const body = await jsonBody(c.req.raw);
    const username = usernameOf(body.username, config);
    const id = body.device_id;
    if (id !== undefined && id !== null && (typeof id !== "string" || !DEVICE_ID.test(id))) throw new AdminInputError('"device_id" must be a device id from GET /devices (32 hex digits)');
    const ids = typeof id === "string" ? [id] : null;
    const revoked = await store.revokeDevices(await devices.registryOf(username), ids, devices.counterOf);
    logEvent("device_revoked", { request_id: c.env.requestId, by: ids === null ? "username" : "device", devices: revoked });
    return c.json({ revoked });
  });
  return routes;
}
