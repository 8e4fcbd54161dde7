/** The device cookie's format and checks, as pure logic with an injected clock (no store involved). */
import { describe, expect, it } from "vitest";
import { DeviceCookies } from "../../src/devices/cookie";
import { TrustedDevices } from "../../src/devices";
import { parseDeviceSettings } from "../../src/devices/settings";

const SECRET = "unit-test-secret-0123456789abcdef0123456789";
const OTHER = "unit-test-other-secret-0123456789abcdef0123";
const NOW = 1_800_000_000_000;
const settings = (env: Record<string, string> = {}) => parseDeviceSettings({ DEVICE_COOKIE_SECRET: SECRET, ...env })!;
const claim = { username: "alice", id: "a".repeat(32), issuedAtMs: NOW };

describe("device cookies", () => {
  it("round-trips a claim, to the second", async () => {
    const cookies = new DeviceCookies(settings(), () => NOW);
    const value = await cookies.sign({ ...claim, issuedAtMs: NOW + 999 });
    expect(value).toMatch(/^1\.YWxpY2U\.a{32}\.1800000000\.[\w-]{43}$/);
    expect(await cookies.verify(value)).toEqual(claim);
  });

  it("refuses a changed username, id or time under the original MAC", async () => {
    const cookies = new DeviceCookies(settings(), () => NOW);
    const [version, , id, issued, mac] = (await cookies.sign(claim)).split(".");
    const bob = btoa("bob").replace(/=+$/, "");
    for (const forged of [
      [version, bob, id, issued, mac],
      [version, "YWxpY2U", "b".repeat(32), issued, mac],
      [version, "YWxpY2U", id, String(Number(issued) + 1), mac],
      ["2", "YWxpY2U", id, issued, mac],
    ]) {
      expect(await cookies.verify(forged.join("."))).toBeNull();
    }
  });

  it("refuses a cookie from the future beyond the clock skew, and one past its lifetime", async () => {
    const cookies = new DeviceCookies(settings({ AXES_DEVICE_COOKIE_LIFETIME: "1h" }), () => NOW);
    expect(await cookies.verify(await cookies.sign({ ...claim, issuedAtMs: NOW + 4 * 60_000 }))).not.toBeNull();
    expect(await cookies.verify(await cookies.sign({ ...claim, issuedAtMs: NOW + 6 * 60_000 }))).toBeNull();
    expect(await cookies.verify(await cookies.sign({ ...claim, issuedAtMs: NOW - 3_599_000 }))).not.toBeNull();
    expect(await cookies.verify(await cookies.sign({ ...claim, issuedAtMs: NOW - 3_600_000 }))).toBeNull();
  });

  it("verifies with the previous secret, signs only with the current one", async () => {
    const old = await new DeviceCookies(settings({ DEVICE_COOKIE_SECRET: OTHER }), () => NOW).sign(claim);
    const rotating = new DeviceCookies(settings({ DEVICE_COOKIE_SECRET_PREVIOUS: OTHER }), () => NOW);
    expect(await rotating.verify(old)).toEqual(claim);
    expect(await new DeviceCookies(settings(), () => NOW).verify(await rotating.sign(claim))).toEqual(claim);
    expect(await new DeviceCookies(settings(), () => NOW).verify(old)).toBeNull();
  });

  it("takes the cookie for the attempt's username among several, ignoring malformed ones", async () => {
    const cookies = new DeviceCookies(settings(), () => NOW);
    const bobs = await cookies.sign({ ...claim, username: "bob", id: "b".repeat(32) });
    const alices = await cookies.sign(claim);
    const request = new Request("https://gateway.test/", { headers: { cookie: `axes_device=garbage; axes_device=${bobs}; axes_device=${alices}` } });
    expect(await cookies.presented(request, "alice")).toEqual(claim);
    expect((await cookies.presented(request, "bob"))?.id).toBe("b".repeat(32));
    expect(await cookies.presented(request, "carol")).toBeNull();
    expect(await cookies.presented(request, "")).toBeNull();
  });

  it("issues no device for a username too long for a cookie", async () => {
    const devices = new TrustedDevices(settings(), "p", () => NOW);
    expect(await devices.issue("x".repeat(1025), null, { ip: "192.0.2.1", userAgent: "" })).toBeNull();
    const issued = await devices.issue("x".repeat(1024), null, { ip: "192.0.2.1", userAgent: "ua" });
    expect(issued!.setCookie.length).toBeLessThan(4096);
    expect(issued!.registration).toMatchObject({ replaces: null, expiresAtMs: NOW + 30 * 86_400_000, maxPerUser: 20 });
  });
});
