/**
 * Cool-offs that grow (issue 15) against the real stores and the demo origin, on Upstash and on the
 * Postgres fallback alone. Cool-offs are the stores' own expiries, so these run on real time with
 * short cool-offs: each wait is measured from the answer that set the lock, with margins that no
 * request on a loaded machine takes.
 */
import { describe, expect, it } from "vitest";
import { gatewayWith, jsonLogin, nextIp, postgres } from "./helpers";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sleepUntil = (epochMs: number) => sleep(Math.max(0, epochMs - Date.now()));

const backends = [
  { name: "Upstash", settings: {} },
  { name: "Postgres", settings: { ...postgres, UPSTASH_REDIS_REST_URL: undefined, UPSTASH_REDIS_REST_TOKEN: undefined } },
] as const;

type Gateway = ReturnType<typeof gatewayWith>;

/** Fails until the lockout; answers the locking response's Retry-After and body, and when it came. */
async function lockOut(gw: Gateway, ip: string): Promise<{ retryAfter: string | null; body: Record<string, unknown>; answeredAt: number }> {
  for (let i = 0; i < 2; i++) expect((await gw.request("/api/login/", jsonLogin("someone", "wrong", ip))).status).toBe(401);
  const third = await gw.request("/api/login/", jsonLogin("someone", "wrong", ip));
  const answeredAt = Date.now();
  expect(third.status).toBe(429);
  return { retryAfter: third.headers.get("retry-after"), body: (await third.json()) as Record<string, unknown>, answeredAt };
}

for (const { name, settings } of backends) {
  describe(`cool-offs that grow on ${name}`, () => {
    const growing = (extra: Record<string, unknown> = {}) =>
      gatewayWith({ ...settings, AXES_LOCKOUT_PARAMETERS: '["ip_address"]', AXES_COOLOFF_TIME: "2s", AXES_COOLOFF_GROWTH: "2", AXES_COOLOFF_MAX: "5s", ...extra });

    it("doubles the cool-off of each repeat lockout of the same key and caps it at AXES_COOLOFF_MAX", async () => {
      const gw = growing();
      const ip = nextIp();
      for (const cooloff of [2, 4, 5]) {
        const { retryAfter, body, answeredAt } = await lockOut(gw, ip);
        expect(retryAfter).toBe(String(cooloff));
        expect(body).toMatchObject({ error: "locked_out", cooloff_seconds: cooloff, retry_after_seconds: cooloff });
        // Refused while locked (and counted, restarting the cool-off): still the grown cool-off, not the base one.
        const during = await gw.request("/api/login/", jsonLogin("someone", "wrong", ip));
        const refusedAt = Date.now();
        expect(during.status).toBe(429);
        expect(Number(during.headers.get("retry-after"))).toBe(cooloff);
        expect(((await during.json()) as { cooloff_seconds: number }).cooloff_seconds).toBe(cooloff);
        if (cooloff !== 5) await sleepUntil(Math.max(answeredAt, refusedAt) + cooloff * 1000 + 300);
      }
      // Another address has its own history: its first lockout gets the base cool-off.
      expect((await lockOut(gw, nextIp())).retryAfter).toBe("2");
    });

    it("forgets a key's lockouts AXES_COOLOFF_MEMORY after its last one ended", async () => {
      const gw = growing({ AXES_COOLOFF_MEMORY: "1s", AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT: "false" });
      const ip = nextIp();
      const first = await lockOut(gw, ip);
      expect(first.retryAfter).toBe("2");
      // The lock (2 s) and the memory after it (1 s) have passed: the next lockout is a first one again.
      await sleepUntil(first.answeredAt + 3000 + 500);
      expect((await lockOut(gw, ip)).retryAfter).toBe("2");
    });

    it("keeps django-axes' fixed cool-off without AXES_COOLOFF_GROWTH", async () => {
      const gw = gatewayWith({ ...settings, AXES_LOCKOUT_PARAMETERS: '["ip_address"]', AXES_COOLOFF_TIME: "2s" });
      const ip = nextIp();
      const first = await lockOut(gw, ip);
      expect(first.retryAfter).toBe("2");
      await sleepUntil(first.answeredAt + 2000 + 300);
      expect((await lockOut(gw, ip)).retryAfter).toBe("2");
    });
  });
}

describe("cool-off growth settings", () => {
  it.each([
    [{ AXES_COOLOFF_GROWTH: "2", AXES_COOLOFF_TIME: "none" }, /AXES_COOLOFF_GROWTH: needs AXES_COOLOFF_TIME/],
    [{ AXES_COOLOFF_GROWTH: "0.5", AXES_COOLOFF_TIME: "30m" }, /AXES_COOLOFF_GROWTH: "0.5" must be a number above 1/],
    [{ AXES_COOLOFF_GROWTH: "two", AXES_COOLOFF_TIME: "30m" }, /AXES_COOLOFF_GROWTH: "two" must be a number above 1/],
    [{ AXES_COOLOFF_GROWTH: "2", AXES_COOLOFF_TIME: "30m", AXES_COOLOFF_MAX: "10m" }, /AXES_COOLOFF_MAX: must be at least AXES_COOLOFF_TIME/],
    [{ AXES_COOLOFF_GROWTH: "2", AXES_COOLOFF_TIME: "30m", AXES_COOLOFF_MEMORY: "24" }, /AXES_COOLOFF_MEMORY: "24" has no unit/],
  ])("refuses %o at startup", (vars, message) => {
    expect(() => gatewayWith(vars)).toThrow(message);
  });
});
