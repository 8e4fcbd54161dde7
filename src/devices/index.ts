/**
 * Trusted devices (OWASP's device cookies) against lockout abuse: a browser that logged in as a user
 * before presents a signed cookie naming that user, and its attempts are counted on its own counter
 * (and the IP counters) instead of the username's, so an attacker who locked the username from
 * elsewhere does not lock the user out. The cookie is read here; whether the device is still trusted
 * is decided by the store, atomically with the reservation (src/lockout/policy.ts).
 */
import { deviceCounterKey, deviceRegistryKey } from "../lockout/keys";
import type { DeviceRegistration } from "../store/contract";
import { type DeviceClaim, DeviceCookies, newDeviceId } from "./cookie";
import type { DeviceSettings } from "./settings";

export type { DeviceSettings } from "./settings";
export type { DeviceClaim } from "./cookie";

/** A successful login's new device: what the store registers, and the cookie that names it. */
export interface NewDevice {
  readonly registration: DeviceRegistration;
  /** The Set-Cookie header value. */
  readonly setCookie: string;
}

/** The longest username (UTF-8 bytes) that gets a device cookie: its base64 keeps the cookie well under 4 KB. */
export const MAX_USERNAME_BYTES = 1024;

/** The longest user agent kept in a device's listing entry. */
const USER_AGENT_MAX = 200;

export class TrustedDevices {
  private readonly cookies: DeviceCookies;

  constructor(
    readonly settings: DeviceSettings,
    private readonly keyPrefix: string,
    private readonly now: () => number = Date.now,
  ) {
    this.cookies = new DeviceCookies(settings, now);
  }

  /** The device a request's cookie names for `username` (signature, username and age checked); null for none. */
  presented(request: Request, username: string): Promise<DeviceClaim | null> {
    return this.cookies.presented(request, username);
  }

  /**
   * A new device for a successful login as `username`, replacing the one the browser presented (so a
   * copy of the old cookie stops working), with what the admin listing shows about it; null for a
   * username longer than MAX_USERNAME_BYTES.
   */
  async issue(username: string, replaces: DeviceClaim | null, client: { readonly ip: string; readonly userAgent: string }): Promise<NewDevice | null> {
    // Browsers drop cookies over 4 KB: a username that long gets no device (and loses nothing else).
    if (new TextEncoder().encode(username).length > MAX_USERNAME_BYTES) return null;
    const issuedAtMs = this.now();
    const id = newDeviceId();
    const info = JSON.stringify({ issued_at: new Date(issuedAtMs).toISOString(), ip: client.ip, user_agent: client.userAgent.slice(0, USER_AGENT_MAX) });
    const registration: DeviceRegistration = {
      registry: await this.registryOf(username),
      id,
      replaces: replaces?.id ?? null,
      expiresAtMs: issuedAtMs + this.settings.lifetimeSeconds * 1000,
      info,
      maxPerUser: this.settings.maxPerUser,
    };
    return { registration, setCookie: this.cookies.setCookie(await this.cookies.sign({ username, id, issuedAtMs })) };
  }

  /** The registry of a (normalised) username's devices. */
  registryOf(username: string): Promise<string> {
    return deviceRegistryKey(this.keyPrefix, username);
  }

  /** A device's own failure counter. */
  counterOf = (id: string): string => deviceCounterKey(this.keyPrefix, id);
}
