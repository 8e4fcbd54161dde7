/**
 * The device cookie: `1.<username>.<device id>.<issued at>.<mac>`, the username as base64url of its
 * normalised UTF-8, the id 32 hex digits, the issue time in epoch seconds, and an HMAC-SHA-256
 * (Web Crypto) of everything before the last dot under DEVICE_COOKIE_SECRET. Verification also
 * accepts DEVICE_COOKIE_SECRET_PREVIOUS (a rotation) and compares MACs in constant time
 * (`crypto.subtle.verify`). A valid signature is necessary, not sufficient: the device must also
 * still be in the username's registry (src/store: revoked, replaced or failed-out devices are not).
 */
import { cookieSpellings } from "../http/cookies";
import type { DeviceSettings } from "./settings";

/** A device cookie's signed content. */
export interface DeviceClaim {
  /** The normalised username it was issued for. */
  readonly username: string;
  /** Random, 32 hex digits: names the device in the registry and its own counter. */
  readonly id: string;
  readonly issuedAtMs: number;
}

/** Clocks of isolates disagree a little: an issue time this far ahead still counts as now. */
const SKEW_MS = 5 * 60_000;
/** No cookie of ours is longer: usernames of more than 1,024 bytes get none (src/devices: MAX_USERNAME_BYTES). */
const MAX_VALUE = 4096;
const VERSION = "1";

const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    return Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (char) => char.charCodeAt(0));
  } catch {
    return null;
  }
}

const importKey = (secret: string) => crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);

/** A new random device id. */
export function newDeviceId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Signs and reads device cookies; the HMAC keys are imported once per isolate. */
export class DeviceCookies {
  private keys: Promise<CryptoKey[]> | undefined;

  constructor(
    readonly settings: DeviceSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** The signing key first, then the previous one (verification only). */
  private secrets(): Promise<CryptoKey[]> {
    this.keys ??= Promise.all([this.settings.secret, ...(this.settings.previousSecret === null ? [] : [this.settings.previousSecret])].map(importKey));
    return this.keys;
  }

  /** The cookie value for a device. */
  async sign(claim: DeviceClaim): Promise<string> {
    const payload = [VERSION, base64url(encoder.encode(claim.username)), claim.id, String(Math.floor(claim.issuedAtMs / 1000))].join(".");
    const [key] = await this.secrets();
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key!, encoder.encode(payload)));
    return `${payload}.${base64url(mac)}`;
  }

  /** The claim of a cookie value that this gateway signed (with either secret) and that has not expired; null otherwise. */
  async verify(value: string): Promise<DeviceClaim | null> {
    if (value.length > MAX_VALUE) return null;
    const parts = value.split(".");
    if (parts.length !== 5) return null;
    const [version, user, id, issued, macText] = parts as [string, string, string, string, string];
    if (version !== VERSION || !/^[0-9a-f]{32}$/.test(id) || !/^\d{1,12}$/.test(issued)) return null;
    const mac = fromBase64url(macText);
    const name = fromBase64url(user);
    if (mac === null || mac.length !== 32 || name === null) return null;
    const signed = encoder.encode(parts.slice(0, 4).join("."));
    let valid = false;
    for (const key of await this.secrets()) {
      if (await crypto.subtle.verify("HMAC", key, mac, signed)) {
        valid = true;
        break;
      }
    }
    if (!valid) return null;
    const issuedAtMs = Number(issued) * 1000;
    const now = this.now();
    if (issuedAtMs > now + SKEW_MS || issuedAtMs + this.settings.lifetimeSeconds * 1000 <= now) return null;
    let username: string;
    try {
      username = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(name);
    } catch {
      return null;
    }
    return { username, id, issuedAtMs };
  }

  /**
   * The device a request presents for `username`: the first cookie of ours that verifies and names
   * that username; null for none (or a cookie for another username, forged, expired, or signed by a
   * secret no longer configured).
   */
  async presented(request: Request, username: string): Promise<DeviceClaim | null> {
    if (username === "") return null;
    const header = request.headers.get("cookie");
    if (header === null) return null;
    for (const value of cookieSpellings(header, this.settings.cookieName).values) {
      const claim = await this.verify(value);
      if (claim !== null && claim.username === username) return claim;
    }
    return null;
  }

  /** The Set-Cookie header for a device: Secure, HttpOnly, SameSite=Lax, path /, for the cookie's lifetime. */
  setCookie(value: string): string {
    return `${this.settings.cookieName}=${value}; Max-Age=${Math.floor(this.settings.lifetimeSeconds)}; Path=/; Secure; HttpOnly; SameSite=Lax`;
  }
}
