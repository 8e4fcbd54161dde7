/**
 * What the wiring hands out instead of `instanceof` (health probes, the cron's targets) and the
 * injected clocks of the admin views and the lockout page: pure logic, on stand-in stores.
 */
import { describe, expect, it } from "vitest";
import { storeHealth } from "../../src/admin/health";
import { LockoutAdmin } from "../../src/admin/lockouts";
import { lockoutKeysFor } from "../../src/lockout/keys";
import { lockoutResponse } from "../../src/lockout/response";
import { runMaintenance } from "../../src/maintenance";
import { parseAddress } from "../../src/client/address";
import { parseConfig } from "../../src/settings";
import type { CopyBackTarget, HealthProbe, SweepTarget } from "../../src/store";
import { StoreError } from "../../src/store/contract";
import type { CircuitState } from "../../src/store/failover/breaker";
import { MemoryStore } from "../../src/store/memory";
import { ORIGIN } from "./harness";

const config = parseConfig({ ENVIRONMENT: "development", ORIGIN_URL: ORIGIN, CACHE_KEY_PREFIX: "unit-capabilities", AXES_FAILURE_LIMIT: "3" });
const T = Date.UTC(2030, 0, 1, 12, 0, 0);

/** A clock that answers `times` in turn, then the last one. */
const clockOf = (...times: number[]) => () => (times.length > 1 ? times.shift()! : times[0]!);

describe("storeHealth over the wiring's probes", () => {
  it("reports each probe under its name, with its circuit and the latency on the given clock", async () => {
    const probes: HealthProbe[] = [
      { name: "counters", store: { kind: "upstash", ping: async () => {} }, circuit: () => "open" },
      { name: "fallback", store: { kind: "postgres", ping: () => Promise.reject(new StoreError("postgres", "timeout", "slow")) } },
    ];
    expect(await storeHealth({ health: probes }, clockOf(100, 130, 200, 205))).toEqual({
      status: "degraded",
      stores: {
        counters: { kind: "upstash", reachable: true, latency_ms: 30, circuit: "open" },
        fallback: { kind: "postgres", reachable: false, latency_ms: 5, reason: "timeout" },
      },
    });
  });
});

describe("runMaintenance over the wiring's targets", () => {
  const targets = (state: CircuitState) => {
    const calls: string[] = [];
    const sweep: SweepTarget = {
      sweepExpired: async () => (calls.push("sweepExpired"), { counters: 0, reservations: 0 }),
      sweepHistory: async (prefix, seconds) => (calls.push(`sweepHistory ${prefix} ${seconds}`), 0),
    };
    const copyBack: CopyBackTarget = { breaker: { state }, copyBack: async (sinceMs, trigger) => void calls.push(`copyBack ${sinceMs} ${trigger}`) };
    return { calls, sweep, copyBack };
  };

  it("sweeps, then copies back the last 15 minutes while the circuit is closed", async () => {
    const { calls, sweep, copyBack } = targets("closed");
    await runMaintenance({ sweep, copyBack }, { history: { prefix: "p", retentionSeconds: 60 }, now: () => T });
    expect(calls).toEqual(["sweepHistory p 60", "sweepExpired", `copyBack ${T - 15 * 60_000} cron`]);
  });

  it("does not copy back while the circuit is open, and does nothing without Postgres", async () => {
    const open = targets("open");
    await runMaintenance({ sweep: open.sweep, copyBack: open.copyBack }, { now: () => T });
    expect(open.calls).toEqual(["sweepExpired"]);
    const none = targets("closed");
    await runMaintenance({ sweep: null, copyBack: none.copyBack }, { now: () => T });
    expect(none.calls).toEqual([]);
  });
});

describe("injected clocks", () => {
  it("renders the lockout page's retry time from the time it is given", async () => {
    const request = new Request(`${ORIGIN}/accounts/login/`, { method: "POST" });
    const page = await lockoutResponse(request, config.lockout, { reason: "locked", failures: 3, retryAfterSeconds: 90 }, T).text();
    expect(page).toContain('datetime="2030-01-01T12:01:30.000Z"');
  });

  it("answers an admin status's retry_after_seconds on the admin's clock", async () => {
    const store = new MemoryStore(() => T);
    const [key] = await lockoutKeysFor(config.keyPrefix, [["ip_address"]], { address: parseAddress("192.0.2.7")!, username: "", userAgent: "" }, config.lockout.ipv6Prefix);
    await store.merge([{ key: key!, count: 3, expiresAtMs: T + 600_000 }]);
    const admin = new LockoutAdmin(store, { ...config.lockout, parameters: [["ip_address"]] }, config.keyPrefix, () => T + 60_000);
    expect(await admin.status({ ip: "192.0.2.7" })).toMatchObject({ locked: true, counters: [{ failures: 3, retry_after_seconds: 540 }] });
  });
});
