/**
 * Issue 16: a failed login that cannot lock is answered after one store round trip (the reservation);
 * its confirmed failure is written after the response (`waitUntil`), while the reservation keeps its
 * slot. A success's give-back and its session record travel in one `/pipeline` request: 2 round trips
 * in all; a give-back that is late does not hold the response. Against the real Redis (through the
 * bridge) and the demo origin; confirmed failures and give-backs are held back by a gate around the
 * real Upstash store, so nothing here depends on timing.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { CounterStore } from "../../src/store/contract";
import type { Stores } from "../../src/store";
import { bridge, DEMO, gatewayWith, jsonLogin, nextIp, origin } from "./helpers";

/** The stores, with every confirmed failure and give-back waiting until the test opens the gate. */
function gatedConfirms() {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const gated = (store: CounterStore): CounterStore =>
    new Proxy(store, {
      get(target, name) {
        if (name === "confirmFailure" || name === "release") {
          return async (...args: unknown[]) => {
            await gate;
            return (target[name] as (...args: unknown[]) => Promise<unknown>)(...args);
          };
        }
        const value = Reflect.get(target, name, target) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  const wrap = (stores: Stores): Stores => ({
    ...stores,
    store: gated(stores.store),
    forRequest: (background) => {
      const scoped = stores.forRequest(background);
      return { ...scoped, store: gated(scoped.store) };
    },
  });
  return { wrap, open: () => open() };
}

/** A correct login of the demo user from `ip`, counted at the bridge from its start: answers its session cookie. */
async function successfulLogin(gw: ReturnType<typeof gatewayWith>, ip: string, ctx: ExecutionContext): Promise<string> {
  await bridge.resetStats();
  const res = await gw.request("/api/login/", { ...jsonLogin(DEMO.username, DEMO.password, ip), ctx });
  expect(res.status).toBe(200);
  await res.body?.cancel();
  return (res.headers.get("set-cookie") ?? "").split(";")[0]!;
}

/** The session cookie works on the very next request: the session was recorded before the response. */
async function expectSessionWorks(gw: ReturnType<typeof gatewayWith>, ip: string, session: string): Promise<void> {
  const next = await gw.request("/__origin/echo", { ip, headers: { cookie: session } });
  expect(((await next.json()) as { headers: Record<string, string> }).headers.cookie).toBe(session);
}

describe("a failed login that cannot lock is answered before its failure is written", () => {
  it("answers the origin's 401 after one store round trip, and counts the failure after the response", async () => {
    const { wrap, open } = gatedConfirms();
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "3", AXES_LOCKOUT_PARAMETERS: '["ip_address"]', ADMIN_TOKEN: "t".repeat(32) }, wrap);
    const ip = nextIp();
    const warm = gatewayWith();
    for (const password of ["wrong", DEMO.password]) await (await warm.request("/api/login/", jsonLogin(DEMO.username, password, nextIp()))).text(); // loads the scripts
    await bridge.resetStats();
    const ctx = createExecutionContext();
    const res = await gw.request("/api/login/", { ...jsonLogin("first-try", "wrong", ip), ctx });
    expect(res.status).toBe(401); // the origin's answer, while the confirmed failure still waits at the gate
    await res.body?.cancel();
    expect((await bridge.stats()).requests).toBe(1); // the reservation only
    open();
    await waitOnExecutionContext(ctx);
    expect((await bridge.stats()).requests).toBe(2); // then the confirmed failure, after the response
    const status = await gw.request(`/__gateway/lockouts/status?ip=${ip}`, { headers: { authorization: `Bearer ${"t".repeat(32)}` } });
    expect(await status.json()).toMatchObject({ locked: false, counters: [{ failures: 1 }] });
  });

  it("keeps the slot of an answered failure until its count lands: the limit is never passed meanwhile", async () => {
    const { wrap, open } = gatedConfirms();
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "2", AXES_LOCKOUT_PARAMETERS: '["username"]', LOGIN_INFLIGHT_WAIT: "300ms" }, wrap);
    await origin.resetStats();
    const ctx = createExecutionContext();
    const first = await gw.request("/api/login/", { ...jsonLogin("slot-holder", "wrong", nextIp()), ctx });
    expect(first.status).toBe(401);
    await first.body?.cancel();
    // The count is not written yet; a second attempt takes the last slot and must wait for the count.
    const second = gw.request("/api/login/", { ...jsonLogin("slot-holder", "wrong", nextIp()), ctx: createExecutionContext() });
    await new Promise((resolve) => setTimeout(resolve, 200));
    open();
    await waitOnExecutionContext(ctx);
    expect((await second).status).toBe(429); // the failure that reached the limit gets the lockout, as in axes
    expect((await gw.request("/api/login/", jsonLogin("slot-holder", DEMO.password, nextIp()))).status).toBe(429);
    expect((await origin.stats()).loginAttempts["/api/login/"]).toBe(2);
  });

  it("sends a failure confirmed after the response with the isolate's next reservation, ahead of it: one request per failed login", async () => {
    // A linger far longer than the test's pause between answer and next attempt, so the count does not depend on the machine's speed.
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "3", AXES_LOCKOUT_PARAMETERS: '["username"]', REDIS_WRITE_LINGER_MS: "1000" });
    const warm = gatewayWith();
    for (const password of ["wrong", DEMO.password]) await (await warm.request("/api/login/", jsonLogin(DEMO.username, password, nextIp()))).text(); // loads the scripts
    await origin.resetStats();
    await bridge.resetStats();
    // Three failures of one user back to back, each sent as soon as the one before was answered.
    const contexts: ExecutionContext[] = [];
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const ctx = createExecutionContext();
      contexts.push(ctx);
      const res = await gw.request("/api/login/", { ...jsonLogin("back-to-back", "wrong", nextIp()), ctx });
      await res.body?.cancel();
      statuses.push(res.status);
    }
    for (const ctx of contexts) await waitOnExecutionContext(ctx);
    // Each reservation saw the failure before it counted (it rode ahead of it), so the third failure, the limit, got the lockout.
    expect(statuses).toEqual([401, 401, 429]);
    expect((await origin.stats()).loginAttempts["/api/login/"]).toBe(3);
    // The first reservation alone; the next two each carried the failure before them; the third failure was awaited (it locked).
    expect(await bridge.stats()).toMatchObject({ requests: 4, commands: 6, byPath: { "/": 2, "/pipeline": 2 } });
  });

  it("sends a successful login's give-back and session record in one pipeline request: 2 round trips in all", async () => {
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "3", AXES_LOCKOUT_PARAMETERS: '["ip_address"]', AXES_RESET_ON_SUCCESS: "true", ADMIN_TOKEN: "t".repeat(32) });
    const ip = nextIp();
    await (await gw.request("/api/login/", jsonLogin(DEMO.username, DEMO.password, nextIp()))).text(); // loads the scripts
    await (await gw.request("/api/login/", jsonLogin("warm-up", "wrong", ip))).text(); // a failure on the counter
    const ctx = createExecutionContext();
    const session = await successfulLogin(gw, ip, ctx);
    await waitOnExecutionContext(ctx);
    expect(await bridge.stats()).toMatchObject({ requests: 2, byPath: { "/": 1, "/pipeline": 1 } }); // the reservation; then both writes
    // Both writes landed: the give-back reset the counter (AXES_RESET_ON_SUCCESS)...
    const status = await gw.request(`/__gateway/lockouts/status?ip=${ip}`, { headers: { authorization: `Bearer ${"t".repeat(32)}` } });
    expect(await status.json()).toMatchObject({ locked: false, counters: [] });
    // ...and the session was recorded.
    await expectSessionWorks(gw, ip, session);
  });

  it("records the session before the response when the give-back is late, and gives the reservation back after it", async () => {
    const { wrap, open } = gatedConfirms();
    const gw = gatewayWith({ AXES_FAILURE_LIMIT: "3" }, wrap);
    const ip = nextIp();
    const warm = gatewayWith();
    await (await warm.request("/api/login/", jsonLogin(DEMO.username, DEMO.password, nextIp()))).text(); // loads the scripts
    const ctx = createExecutionContext();
    const session = await successfulLogin(gw, ip, ctx);
    expect((await bridge.stats()).requests).toBe(2); // the reservation, then the session record alone
    open();
    await waitOnExecutionContext(ctx);
    expect((await bridge.stats()).requests).toBe(3); // the give-back, after the response
    await expectSessionWorks(gw, ip, session);
  });
});
