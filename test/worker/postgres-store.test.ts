/** The Postgres counter store on its own, through the Neon HTTP driver against the real Postgres. */
import { beforeAll, describe, expect, it } from "vitest";
import { neon, neonConfig } from "@neondatabase/serverless";
import { runMaintenance } from "../../src/maintenance";
import { PostgresStore, createSqlClient } from "../../src/store/postgres";
import { clearFaults, neonHttp, postgres, uniquePrefix } from "./helpers";

const rule = { limit: 3, ttlSeconds: 60, lockOutAtFailure: true, countWhileLocked: true, reservationMs: 30_000, idleSeconds: 86_400 };
let store: PostgresStore;

beforeAll(() => {
  store = new PostgresStore(createSqlClient({ url: postgres.DATABASE_URL!, timeoutMs: 2000, httpEndpoint: postgres.NEON_HTTP_ENDPOINT! }), 2000);
});

describe("Postgres counter store (the shared contract runs in counter-contract.test.ts)", () => {
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

  it("costs one SQL round trip per reservation, and one per settled failure", async () => {
    await neonHttp.resetStats();
    await store.reserve([`${uniquePrefix()}:x`, `${uniquePrefix()}:y`], rule, crypto.randomUUID());
    expect(await neonHttp.stats()).toEqual({ requests: 1, statements: 1 });
    await neonHttp.resetStats();
    await store.confirmFailure([`${uniquePrefix()}:x`], crypto.randomUUID(), rule);
    expect(await neonHttp.stats()).toEqual({ requests: 1, statements: 1 });
  });

  it("sweeps expired rows in bounded batches: maxBatches statements of batchSize rows, then the cron takes the rest", async () => {
    neonConfig.fetchEndpoint = () => postgres.NEON_HTTP_ENDPOINT!;
    const sql = neon(postgres.DATABASE_URL!);
    const prefix = uniquePrefix();
    // The table is shared with other runs, and a sweep is bounded: clear the backlog other runs left
    // expired (dead rows by definition), so the maintenance run below reaches this test's rows.
    await sql.query("DELETE FROM gateway_cache WHERE expires_at < now()");
    await sql.query(
      "INSERT INTO gateway_cache (key, count, expires_at) SELECT $1 || g, 1, now() - interval '1 minute' FROM generate_series(1, 30) g",
      [`${prefix}:old:`],
    );
    const left = async () =>
      ((await sql.query("SELECT count(*)::int AS left FROM gateway_cache WHERE key LIKE $1", [`${prefix}:%`])) as { left: number }[])[0]?.left;
    await neonHttp.resetStats();
    const swept = await store.sweepExpired({ batchSize: 10, maxBatches: 2 });
    // At least these 30 rows had expired: exactly 2 full batches of 10 go (other runs' expired rows may
    // be among them), in 2 statements, then the expired reservations and the expired trusted devices
    // in one each. A sweep that ignored maxBatches would take all 30 and more, in 5 statements or more.
    expect(swept.counters).toBe(20);
    expect(await neonHttp.stats()).toEqual({ requests: 4, statements: 4 });
    await runMaintenance({ sweep: store, copyBack: null });
    expect(await left()).toBe(0);
  });

  it("reports a query-builder statement that runs out of time as a timeout, like a raw one", async () => {
    const slow = new PostgresStore(createSqlClient({ url: postgres.DATABASE_URL!, timeoutMs: 300, httpEndpoint: postgres.NEON_HTTP_ENDPOINT! }), 300);
    const key = `${uniquePrefix()}:lockout:slow`;
    try {
      await neonHttp.fault({ mode: "delay", ms: 1500 });
      // Drizzle wraps the driver's error in its own, whose message is the statement and its parameters.
      await expect(slow.read([key])).rejects.toMatchObject({ name: "StoreError", reason: "timeout" });
      await expect(slow.pending([key])).rejects.toMatchObject({ name: "StoreError", reason: "timeout" });
    } finally {
      await clearFaults();
    }
  });
});
