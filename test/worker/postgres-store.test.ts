/** The Postgres counter store on its own, through the Neon HTTP driver against the real Postgres. */
import { beforeAll, describe, expect, it } from "vitest";
import { neon, neonConfig } from "@neondatabase/serverless";
import { runMaintenance } from "../../src/maintenance";
import { PostgresStore, createSqlClient } from "../../src/store/postgres";
import { neonHttp, postgres, uniquePrefix } from "./helpers";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const rule = { limit: 3, ttlSeconds: 60, lockOutAtFailure: true, countWhileLocked: true };
let store: PostgresStore;

beforeAll(() => {
  store = new PostgresStore(createSqlClient({ url: postgres.DATABASE_URL!, timeoutMs: 2000, httpEndpoint: postgres.NEON_HTTP_ENDPOINT! }), 2000);
});

describe("Postgres counter store", () => {
  it("reserves, locks at the limit, and reports the cool-off", async () => {
    const key = `${uniquePrefix()}:lockout:ip_address=192.0.2.1`;
    expect(await store.reserve([key], rule)).toMatchObject({ locked: false, failures: 1, counts: [1] });
    await store.reserve([key], rule);
    expect(await store.reserve([key], rule)).toMatchObject({ locked: false, failures: 3 });
    expect(await store.reserve([key], rule)).toMatchObject({ locked: true, failures: 4, retryAfterSeconds: 60 });
    const quiet = await store.reserve([key], { ...rule, countWhileLocked: false });
    expect(quiet).toMatchObject({ locked: true, failures: 4 });
    expect(quiet.retryAfterSeconds).toBeGreaterThan(55);
  });

  it("lets exactly the limit through a burst of 100 concurrent reservations", async () => {
    const key = `${uniquePrefix()}:lockout:username=burst`;
    const results = await Promise.all(Array.from({ length: 100 }, () => store.reserve([key], { ...rule, countWhileLocked: false })));
    expect(results.filter((r) => !r.locked)).toHaveLength(3);
  });

  it("releases and resets, never below zero", async () => {
    const key = `${uniquePrefix()}:lockout:u`;
    await store.reserve([key], rule);
    await store.reserve([key], rule);
    await store.release([key]);
    expect(await store.reserve([key], rule)).toMatchObject({ failures: 2 });
    await store.release([key]);
    await store.release([key]);
    await store.release([key]);
    expect(await store.reserve([key], rule)).toMatchObject({ failures: 1 });
    await store.reset([key]);
    expect(await store.reserve([key], rule)).toMatchObject({ failures: 1 });
  });

  it("restarts an expired counter", async () => {
    const key = `${uniquePrefix()}:lockout:e`;
    await store.reserve([key], { ...rule, ttlSeconds: 1 });
    await store.reserve([key], { ...rule, ttlSeconds: 1 });
    await sleep(1100);
    expect(await store.reserve([key], { ...rule, ttlSeconds: 1 })).toMatchObject({ failures: 1 });
  });

  it("merges by raising counts and expiries, never lowering them", async () => {
    const prefix = uniquePrefix();
    const [a, b] = [`${prefix}:lockout:a`, `${prefix}:lockout:b`];
    await store.merge([{ key: a, count: 5, expiresAtMs: Date.now() + 60_000 }, { key: b, count: 2, expiresAtMs: null }]);
    await store.merge([{ key: a, count: 1, expiresAtMs: Date.now() + 1_000 }]);
    const changed = await store.changedSince(`${prefix}:lockout:`, Date.now() - 10_000, 100);
    const mine = Object.fromEntries(changed.filter((c) => c.key.startsWith(prefix)).map((c) => [c.key, c]));
    expect(mine[a]?.count).toBe(5);
    expect(mine[a]!.expiresAtMs!).toBeGreaterThan(Date.now() + 50_000);
    expect(mine[b]).toMatchObject({ count: 2, expiresAtMs: null });
  });

  it("costs one SQL round trip per reservation", async () => {
    await neonHttp.resetStats();
    await store.reserve([`${uniquePrefix()}:x`, `${uniquePrefix()}:y`], rule);
    expect(await neonHttp.stats()).toEqual({ requests: 1, statements: 1 });
  });

  it("sweeps expired rows in bounded batches from the cron trigger", async () => {
    neonConfig.fetchEndpoint = () => postgres.NEON_HTTP_ENDPOINT!;
    const sql = neon(postgres.DATABASE_URL!);
    const prefix = uniquePrefix();
    await sql.query(
      "INSERT INTO gateway_cache (key, count, expires_at) SELECT $1 || g, 1, now() - interval '1 minute' FROM generate_series(1, 30) g",
      [`${prefix}:old:`],
    );
    const left = async () =>
      ((await sql.query("SELECT count(*)::int AS left FROM gateway_cache WHERE key LIKE $1", [`${prefix}:%`])) as { left: number }[])[0]?.left;
    const swept = await store.sweepExpired({ batchSize: 10, maxBatches: 2 });
    // Bounded: 2 batches of 10, though 30 of these rows had expired. It stops short of its bound only when
    // nothing expired is left: other runs on this shared table sweep too, and may have taken these rows.
    expect({ swept, left: await left() }).toSatisfy(({ swept, left }) => swept === 20 || (swept < 20 && left === 0));
    await runMaintenance(store);
    expect(await left()).toBe(0);
  });
});
