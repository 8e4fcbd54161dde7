/**
 * The dashboard's sign-in cookie: `<expiry>.<nonce>.<HMAC-SHA256>`, signed with a key made from
 * ADMIN_TOKEN, so rotating the token signs every browser out and no session state is stored.
 * HttpOnly, Secure, SameSite=Strict, limited to the admin prefix, 30 minutes.
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";

/** The cookie's name and lifetime. */
export const SESSION_COOKIE = "gateway_dashboard";
export const SESSION_SECONDS = 30 * 60;

const encoder = new TextEncoder();
const base64url = (bytes: ArrayBuffer | Uint8Array) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const fromBase64url = (text: string): Uint8Array | null => {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return null;
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
};

/** Signs and checks dashboard cookies for one admin token and prefix. */
export class DashboardSessions {
  private readonly key: Promise<CryptoKey>;

  constructor(
    token: string,
    private readonly path: string,
    private readonly now: () => number = Date.now,
  ) {
    // Domain-separated from the bearer use of the same token.
    this.key = crypto.subtle.importKey("raw", encoder.encode(`gateway-dashboard-session:${token}`), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  }

  /** Sets a fresh cookie on the response. */
  async start(c: Context): Promise<void> {
    const expires = Math.floor(this.now() / 1000) + SESSION_SECONDS;
    const nonce = base64url(crypto.getRandomValues(new Uint8Array(16)));
    const payload = `${expires}.${nonce}`;
    const signature = await crypto.subtle.sign("HMAC", await this.key, encoder.encode(payload));
    setCookie(c, SESSION_COOKIE, `${payload}.${base64url(signature)}`, {
      path: this.path,
      httpOnly: true,
      secure: true,
      sameSite: "Strict",
      maxAge: SESSION_SECONDS,
    });
  }

  /** Whether the request carries a cookie this token signed that has not expired. */
  async valid(c: Context): Promise<boolean> {
    const value = getCookie(c, SESSION_COOKIE);
    const [expires, nonce, signature, extra] = value?.split(".") ?? [];
    if (!expires || !nonce || !signature || extra !== undefined || !/^\d{1,12}$/.test(expires)) return false;
    const bytes = fromBase64url(signature);
    if (bytes === null) return false;
    // verify() compares in constant time; the expiry is checked only on a genuine cookie.
    const genuine = await crypto.subtle.verify("HMAC", await this.key, bytes, encoder.encode(`${expires}.${nonce}`));
    return genuine && Number(expires) * 1000 > this.now();
  }

  /** Clears the cookie. */
  end(c: Context): void {
    deleteCookie(c, SESSION_COOKIE, { path: this.path, httpOnly: true, secure: true, sameSite: "Strict" });
  }
}
