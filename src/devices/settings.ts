/**
 * Trusted-device cookies (OWASP's "device cookies"): off unless DEVICE_COOKIE_SECRET is set. See
 * README: "Trusted devices" for the threat model.
 */
import { readDurationSeconds } from "../config/duration";
import { ConfigError, type RawEnv, readText } from "../config/read";

export interface DeviceSettings {
  /** AXES_DEVICE_COOKIE_NAME. @default "axes_device" */
  readonly cookieName: string;
  /** AXES_DEVICE_COOKIE_LIFETIME: how long a device stays trusted after its last successful login. @default 30 days */
  readonly lifetimeSeconds: number;
  /** DEVICE_COOKIE_SECRET: signs new cookies and verifies them. */
  readonly secret: string;
  /** DEVICE_COOKIE_SECRET_PREVIOUS: still verifies cookies signed before a rotation; null = none. */
  readonly previousSecret: string | null;
  /** Trusted devices kept per username; a new one beyond this drops the one closest to expiry. */
  readonly maxPerUser: number;
}

/** Devices per username: a person's browsers, not an unbounded list an attacker who knows the password could grow. */
export const DEVICES_PER_USER = 20;

const SECRET_EXAMPLE = "$(openssl rand -hex 32)";

function readSecret(env: RawEnv, name: string): string | undefined {
  const secret = readText(env, name);
  // A secret: the message never repeats it.
  if (secret !== undefined && !/^[\x21-\x7e]{32,}$/.test(secret)) {
    throw new ConfigError(name, "must be at least 32 printable ASCII characters without spaces", SECRET_EXAMPLE);
  }
  return secret;
}

/** Parses the device-cookie settings; null (the feature off) without DEVICE_COOKIE_SECRET. */
export function parseDeviceSettings(env: RawEnv): DeviceSettings | null {
  const cookieName = readText(env, "AXES_DEVICE_COOKIE_NAME") ?? "axes_device";
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(cookieName)) throw new ConfigError("AXES_DEVICE_COOKIE_NAME", "is not a valid cookie name", "axes_device");
  const lifetimeSeconds = readDurationSeconds(env, "AXES_DEVICE_COOKIE_LIFETIME", "30d");
  if (lifetimeSeconds < 60 || lifetimeSeconds > 400 * 86_400) {
    throw new ConfigError("AXES_DEVICE_COOKIE_LIFETIME", "must be from 1m to 400d (browsers cap cookies at 400 days)", "30d");
  }
  const secret = readSecret(env, "DEVICE_COOKIE_SECRET");
  const previousSecret = readSecret(env, "DEVICE_COOKIE_SECRET_PREVIOUS") ?? null;
  if (secret === undefined) {
    if (previousSecret !== null) throw new ConfigError("DEVICE_COOKIE_SECRET", "is required when DEVICE_COOKIE_SECRET_PREVIOUS is set", SECRET_EXAMPLE);
    return null;
  }
  return Object.freeze({ cookieName, lifetimeSeconds, secret, previousSecret, maxPerUser: DEVICES_PER_USER });
}
