/**
 * Trusted devices (issue 15) against the real stores and the demo origin, once on Upstash (the real
 * Redis through the bridge) and once on the Postgres fallback alone (the real Postgres through the
 * Neon HTTP endpoint): an attacker locks the username from other addresses, the user's device that
 * logged in before still logs in, a new device is refused, and forged, foreign, expired or
 * rotated-out cookies give no trust.
 */
import { describe, expect, it } from "vitest";
import { DeviceCookies } from "../../src/devices/cookie";
import { parseDeviceSettings } from "../../src/devices/settings";
import { DEMO, bridge, formLogin, gatewayWith, logsOf, nextIp, origin, postgres, uniquePrefix } from "./helpers";

const SECRET = `device-secret-${crypto.randomUUID()}`;
const NEW_SECRET = `device-secret-${crypto.randomUUID()}`;
const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";
const LOGIN = "/accounts/login/";

const backends = [
  { name: "Upstash", settings: {} },
  { name: "Postgres", settings: { ...postgres, UPSTASH_REDIS_REST_URL: undefined, UPSTASH_REDIS_REST_TOKEN: undefined } },
  { name: "Upstash with the Postgres fallback", settings: postgres },
] as const;

type Gateway = ReturnType<typeof gatewayWith>;

/** The `axes_device=...` pair a response sets, or null. */
function deviceCookieOf(response: Response): string | null {
  const line = response.headers.getSetCookie().find((l) => l.startsWith("axes_device="));
  return line === undefined ? null : line.split(";")[0]!;
}

/** A correct login; answers its status and the device cookie it was given. */
async function logIn(gw: Gateway, ip: string, cookie: string | null = null): Promise<{ status: number; cookie: string | null }> {
  const res = await gw.request(LOGIN, formLogin(DEMO.username, DEMO.password, ip, cookie === null ? {} : { cookie }));
  await res.body?.cancel();
  return { status: res.status, cookie: deviceCookieOf(res) };
}

async function failWith(gw: Gateway, ip: string, cookie: string | null = null): Promise<number> {
  const res = await gw.request(LOGIN, formLogin(DEMO.username, "wrong", ip, cookie === null ? {} : { cookie }));
  await res.body?.cancel();
  return res.status;
}

/** Three failures for the user from three attacker addresses: the username is locked. */
async function lockUsernameFromElsewhere(gw: Gateway): Promise<void> {
  expect([await failWith(gw, nextIp()), await failWith(gw, nextIp()), await failWith(gw, nextIp())]).toEqual([200, 200, 429]);
}

/** Signs a cookie with the test's copy of the secret (as only someone who holds it could). */
const signer = (secret: string) => new DeviceCookies(parseDeviceSettings({ DEVICE_COOKIE_SECRET: secret })!);
const parse = (cookie: string) => {
  const [version, user, id, issued] = cookie.slice("axes_device=".length).split(".") as [string, string, string, string];
  return { version, user, id, issuedAtMs: Number(issued) * 1000 };
};

for (const { name, settings } of backends) {
  describe(`trusted devices on ${name}`, () => {
    const gatewayFor = (extra: Record<string, unknown> = {}) =>
      gatewayWith({ ...settings, DEVICE_COOKIE_SECRET: SECRET, AXES_COOLOFF_TIME: "30m", ADMIN_TOKEN, ...extra });

    it("lets the user's trusted device log in while an attacker has locked the username; a new device gets the lockout", async () => {
      const gw = gatewayFor();
      const laptop = nextIp();
      const first = await logIn(gw, laptop);
      expect(first.status).toBe(302);
      expect(first.cookie).not.toBeNull();

      await lockUsernameFromElsewhere(gw);
      // A browser without the cookie is refused (django-axes' behaviour), and never reaches the origin.
      await origin.resetStats();
      expect((await logIn(gw, nextIp())).status).toBe(429);
      expect((await origin.stats()).loginAttempts[LOGIN] ?? 0).toBe(0);
      // The trusted device still logs in, and gets a new cookie (the old one is replaced).
      const again = await logIn(gw, laptop, first.cookie);
      expect(again.status).toBe(302);
      expect(again.cookie).not.toBeNull();
      expect(again.cookie).not.toBe(first.cookie);
      expect((await origin.stats()).loginAttempts[LOGIN]).toBe(1);
      // The replaced cookie gives no trust any more; the new one does.
      expect((await logIn(gw, laptop, first.cookie)).status).toBe(429);
      expect((await logIn(gw, nextIp(), again.cookie)).status).toBe(302);
    });

    it("sets the cookie Secure, HttpOnly, SameSite=Lax on path / for AXES_DEVICE_COOKIE_LIFETIME", async () => {
      const gw = gatewayFor({ AXES_DEVICE_COOKIE_LIFETIME: "7d", AXES_DEVICE_COOKIE_NAME: "edge_device" });
      const res = await gw.request(LOGIN, formLogin(DEMO.username, DEMO.password, nextIp()));
      const line = res.headers.getSetCookie().find((l) => l.startsWith("edge_device="));
      expect(line).toMatch(/^edge_device=1\.[\w-]+\.[0-9a-f]{32}\.\d+\.[\w-]{43}; Max-Age=604800; Path=\/; Secure; HttpOnly; SameSite=Lax$/);
      // A failure sets none.
      const failed = await gw.request(LOGIN, formLogin(DEMO.username, "wrong", nextIp()));
      expect(failed.headers.getSetCookie().some((l) => l.startsWith("edge_device="))).toBe(false);
    });

    it("gives no trust to a cookie for another username, with a bad MAC, expired, or signed with a secret no longer configured", async () => {
      const gw = gatewayFor();
      const { cookie } = await logIn(gw, nextIp());
      const real = parse(cookie!);
      await lockUsernameFromElsewhere(gw);
      const ours = signer(SECRET);
      const [, , , , mac] = cookie!.split(".");
      const flipped = `${cookie!.slice(0, -mac!.length)}${mac![0] === "A" ? "B" : "A"}${mac!.slice(1)}`;
      const forged = {
        "another username (same registered device)": `axes_device=${await ours.sign({ username: "someone-else", id: real.id, issuedAtMs: real.issuedAtMs })}`,
        "a bad MAC": flipped,
        "an issue time older than the lifetime": `axes_device=${await ours.sign({ username: DEMO.username, id: real.id, issuedAtMs: Date.now() - 31 * 86_400_000 })}`,
        "another secret": `axes_device=${await signer(NEW_SECRET).sign({ username: DEMO.username, id: real.id, issuedAtMs: real.issuedAtMs })}`,
        "an unregistered device": `axes_device=${await ours.sign({ username: DEMO.username, id: "0".repeat(32), issuedAtMs: Date.now() })}`,
      };
      for (const [what, value] of Object.entries(forged)) {
        expect([what, (await logIn(gw, nextIp(), value)).status]).toEqual([what, 429]);
      }
      // The real cookie, unchanged, is trusted: the refusals above are the cookies' doing.
      expect((await logIn(gw, nextIp(), cookie)).status).toBe(302);
    });

    it("accepts a cookie signed before a rotation only while DEVICE_COOKIE_SECRET_PREVIOUS holds the old secret", async () => {
      const prefix = uniquePrefix();
      const before = gatewayFor({ CACHE_KEY_PREFIX: prefix });
      const { cookie } = await logIn(before, nextIp());
      await lockUsernameFromElsewhere(before);
      const rotating = gatewayFor({ CACHE_KEY_PREFIX: prefix, DEVICE_COOKIE_SECRET: NEW_SECRET, DEVICE_COOKIE_SECRET_PREVIOUS: SECRET });
      const done = gatewayFor({ CACHE_KEY_PREFIX: prefix, DEVICE_COOKIE_SECRET: NEW_SECRET });
      expect((await logIn(done, nextIp(), cookie)).status).toBe(429);
      const rotated = await logIn(rotating, nextIp(), cookie);
      expect(rotated.status).toBe(302);
      // The new cookie is signed with the new secret: trusted once the old secret is gone.
      expect((await logIn(done, nextIp(), rotated.cookie)).status).toBe(302);
    });

    it("counts a trusted device on its own counter: it is locked at its third failure, then loses its trust", async () => {
      const gw = gatewayFor();
      const { cookie } = await logIn(gw, nextIp());
      // Someone with the cookie fails from three addresses: the device's own counter locks it.
      expect([await failWith(gw, nextIp(), cookie), await failWith(gw, nextIp(), cookie), await failWith(gw, nextIp(), cookie)]).toEqual([200, 200, 429]);
      // The username was not counted: a browser without the cookie still logs in.
      expect((await logIn(gw, nextIp())).status).toBe(302);
      // The failed-out device is no longer in the registry.
      const list = (await (await gw.request(`/__gateway/devices?username=${DEMO.username}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { devices: unknown[] };
      expect(list.devices).toHaveLength(1); // the new browser's device, not the failed one
    });

    it("gives a stolen cookie only its own budget: once it failed out, the username's lockout applies to it", async () => {
      const gw = gatewayFor();
      const laptop = nextIp();
      const { cookie } = await logIn(gw, laptop);
      await lockUsernameFromElsewhere(gw);
      expect([await failWith(gw, nextIp(), cookie), await failWith(gw, nextIp(), cookie), await failWith(gw, nextIp(), cookie)]).toEqual([200, 200, 429]);
      await origin.resetStats();
      expect((await logIn(gw, laptop, cookie)).status).toBe(429);
      expect((await origin.stats()).loginAttempts[LOGIN] ?? 0).toBe(0);
    });

    it("still applies the IP counters to a trusted device", async () => {
      const gw = gatewayFor();
      const ip = nextIp();
      const { cookie } = await logIn(gw, nextIp());
      // Three failures of other usernames lock the address.
      for (const user of ["x1", "x2"]) expect((await gw.request(LOGIN, formLogin(user, "wrong", ip))).status).toBe(200);
      expect((await gw.request(LOGIN, formLogin("x3", "wrong", ip))).status).toBe(429);
      expect((await logIn(gw, ip, cookie)).status).toBe(429);
    });

    it("lists and revokes a user's devices through the admin API", async () => {
      const gw = gatewayFor();
      const adminCall = (path: string, body?: object) =>
        gw.request(`/__gateway${path}`, { method: body ? "POST" : "GET", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: body && JSON.stringify(body) });
      const laptopIp = nextIp();
      const laptop = await logIn(gw, laptopIp);
      const phone = await logIn(gw, nextIp());
      const listed = (await (await adminCall(`/devices?username=${DEMO.username.toUpperCase()}`)).json()) as { devices: { id: string; ip: string; expires_at: string }[] };
      expect(listed.devices.map((d) => d.id).sort()).toEqual([parse(laptop.cookie!).id, parse(phone.cookie!).id].sort());
      expect(listed.devices.find((d) => d.id === parse(laptop.cookie!).id)!.ip).toBe(laptopIp);

      await lockUsernameFromElsewhere(gw);
      expect(await (await adminCall("/devices/revoke", { username: DEMO.username, device_id: parse(laptop.cookie!).id })).json()).toEqual({ revoked: 1 });
      expect((await logIn(gw, nextIp(), laptop.cookie)).status).toBe(429);
      expect((await logIn(gw, nextIp(), phone.cookie)).status).toBe(302);
      // Revoking all: the phone's new cookie goes too.
      const phoneNow = (await adminCall(`/devices?username=${DEMO.username}`).then((r) => r.json())) as { devices: unknown[] };
      expect(phoneNow.devices).toHaveLength(1);
      expect(await (await adminCall("/devices/revoke", { username: DEMO.username })).json()).toEqual({ revoked: 1 });
      expect(((await adminCall(`/devices?username=${DEMO.username}`).then((r) => r.json())) as { devices: unknown[] }).devices).toEqual([]);
      expect((await adminCall("/devices/revoke", { username: DEMO.username, device_id: "nope" })).status).toBe(400);
      expect((await adminCall("/devices")).status).toBe(400);
    });
  });
}

describe("trusted devices: settings and round trips", () => {
  it("is off without DEVICE_COOKIE_SECRET: no cookie, the admin endpoints say so", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN });
    const res = await gw.request(LOGIN, formLogin(DEMO.username, DEMO.password, nextIp()));
    expect(deviceCookieOf(res)).toBeNull();
    const listed = await gw.request(`/__gateway/devices?username=demo`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(listed.status).toBe(404);
    expect(await listed.json()).toEqual({ error: "trusted devices are off (set DEVICE_COOKIE_SECRET to turn them on)" });
  });

  it("keeps the device cookie at the edge: the origin gets the other cookies only", async () => {
    const gw = gatewayWith({ DEVICE_COOKIE_SECRET: SECRET });
    const { cookie } = await logIn(gw, nextIp());
    await origin.resetStats();
    const again = await logIn(gw, nextIp(), `theme=dark; ${cookie}; lang=en`);
    expect(again.status).toBe(302);
    expect((await origin.stats()).lastLoginHeaders?.cookie).toBe("theme=dark; lang=en");
  });

  it("shows the settings in the admin health's configuration, never the secrets", async () => {
    const gw = gatewayWith({ ADMIN_TOKEN, DEVICE_COOKIE_SECRET: NEW_SECRET, DEVICE_COOKIE_SECRET_PREVIOUS: SECRET, AXES_COOLOFF_GROWTH: "2", AXES_COOLOFF_MAX: "4h" });
    const text = await (await gw.request("/__gateway/health", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
    const { config } = JSON.parse(text) as { config: { trusted_devices: unknown; lockout: { cooloff_growth: unknown } } };
    expect(config.trusted_devices).toEqual({ cookie: "axes_device", lifetime_seconds: 2_592_000, rotating: true });
    expect(config.lockout.cooloff_growth).toEqual({ factor: 2, memory_seconds: 86_400, max_seconds: 14_400 });
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(NEW_SECRET);
  });

  it("refuses a short secret, and a previous secret without a current one, at startup", () => {
    expect(() => gatewayWith({ DEVICE_COOKIE_SECRET: "short" })).toThrow(/DEVICE_COOKIE_SECRET: must be at least 32 printable ASCII characters/);
    expect(() => gatewayWith({ DEVICE_COOKIE_SECRET_PREVIOUS: SECRET })).toThrow(/DEVICE_COOKIE_SECRET: is required when DEVICE_COOKIE_SECRET_PREVIOUS is set/);
  });

  it("adds no Upstash round trip: a trusted login or failure makes exactly the calls of one without a cookie", async () => {
    const gw = gatewayWith({ DEVICE_COOKIE_SECRET: SECRET, AXES_COOLOFF_GROWTH: "2", AXES_COOLOFF_TIME: "30m" });
    const { cookie } = await logIn(gw, nextIp());
    const roundTrips = async (run: () => Promise<unknown>) => {
      await bridge.resetStats();
      await run();
      return (await bridge.stats()).requests;
    };
    const plainLogin = await roundTrips(() => logIn(gw, nextIp()));
    let trusted: { status: number; cookie: string | null } | undefined;
    expect(await roundTrips(async () => (trusted = await logIn(gw, nextIp(), cookie)))).toBe(plainLogin);
    const plainFailure = await roundTrips(() => failWith(gw, nextIp()));
    expect(plainFailure).toBe(2); // the reservation and the confirmed failure
    const logs = await logsOf(async () => expect(await roundTrips(() => failWith(gw, nextIp(), trusted!.cookie))).toBe(plainFailure));
    expect(logs.some((line) => line.includes('"trusted_device":true'))).toBe(true);
    // A success: the reservation, the release (with the device), and the session record when sessions are on.
    expect(plainLogin).toBeLessThanOrEqual(3);
  });
});
