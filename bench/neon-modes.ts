/**
 * `node_modules/.bin/tsx bench/neon-modes.ts`: latency of one single-row upsert against the local Postgres via
 * (a) HTTP `neon()` through tools/neon-http, and (b) the WebSocket `Pool` of `@neondatabase/serverless`
 * created, used and closed per request (as a Worker must) through bench/ws-proxy.ts.
 * For reference it also times (c) plain node-postgres opening a TCP connection per request, which separates
 * Postgres' own connection start-up from what the WebSocket leg adds.
 * Env: DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test), ITERATIONS (200), WARMUP (20).
 * A measurement for choosing a mode, not a test: it asserts nothing.
 */
import { randomBytes } from "node:crypto";
import { neon, neonConfig, Pool } from "@neondatabase/serverless";
import pg from "pg";
import ws from "ws";
import { startNeonHttp } from "../tools/neon-http/server.ts";
import { startWsProxy } from "./ws-proxy.ts";

const databaseUrl = process.env.DATABASE_URL || "postgresql://postgres@127.0.0.1:5432/test";
const iterations = Number(process.env.ITERATIONS || 200);
const warmup = Number(process.env.WARMUP || 20);
const { hostname, port } = new URL(databaseUrl);
const postgresAddress = `${hostname}:${port || "5432"}`;
/** What the Worker holds; neon() wants user, host and database, and the local tools ignore the password. */
const clientUrl = `postgresql://postgres:placeholder@${postgresAddress}${new URL(databaseUrl).pathname}`;
const table = `bench_neon_modes_${randomBytes(4).toString("hex")}`;
const UPSERT = `INSERT INTO ${table} AS c (key, count, expires_at) VALUES ($1, 1, now() + interval '15 minutes')
  ON CONFLICT (key) DO UPDATE SET count = c.count + 1 RETURNING count, expires_at`;

interface Sample {
  /** Until the upsert's result is in hand: what the response waits for. */
  resultMs: number;
  /** Including closing the pool, which a Worker hands to ctx.waitUntil. */
  totalMs: number;
}

async function measure(name: string, once: (key: string) => Promise<{ resultAt: number }>): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let i = 0; i < warmup + iterations; i += 1) {
    const started = performance.now();
    const { resultAt } = await once(`${name}:${i % 10}`);
    const ended = performance.now();
    if (i >= warmup) samples.push({ resultMs: resultAt - started, totalMs: ended - started });
  }
  return samples;
}

function percentiles(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return [0.5, 0.9, 0.99].map((q) => at(q).toFixed(2).padStart(7)).join(" ");
}

async function main(): Promise<void> {
  const direct = new pg.Client({ connectionString: databaseUrl });
  await direct.connect();
  await direct.query(`CREATE TABLE ${table} (key text PRIMARY KEY, count int4 NOT NULL, expires_at timestamptz NOT NULL)`);
  const neonHttp = await startNeonHttp({ databaseUrl, port: 0 });
  const proxy = await startWsProxy({ allowedAddress: postgresAddress });
  try {
    neonConfig.fetchEndpoint = () => neonHttp.endpoint;
    neonConfig.webSocketConstructor = ws;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineConnect = false;
    neonConfig.wsProxy = (host, wsPort) => proxy.addressFor(host, wsPort);

    const sql = neon(clientUrl);
    const http = await measure("http", async (key) => {
      await sql.query(UPSERT, [key]);
      return { resultAt: performance.now() };
    });
    const httpStats = neonHttp.stats();

    proxy.resetStats();
    const websocket = await measure("ws", async (key) => {
      const pool = new Pool({ connectionString: clientUrl });
      await pool.query(UPSERT, [key]);
      const resultAt = performance.now();
      await pool.end();
      return { resultAt };
    });
    const proxyStats = proxy.stats();

    const tcp = await measure("tcp", async (key) => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query(UPSERT, [key]);
      const resultAt = performance.now();
      await client.end();
      return { resultAt };
    });

    const runs = warmup + iterations;
    console.log(`neon-modes: one single-row upsert, ${iterations} iterations each after ${warmup} warm-up, Postgres at ${postgresAddress} (local)`);
    console.log(`${"mode".padEnd(44)}    p50     p90     p99  (ms)`);
    console.log(`${"(a) HTTP neon() via tools/neon-http".padEnd(44)}${percentiles(http.map((s) => s.resultMs))}`);
    console.log(`${"(b) WS Pool per request, until the result".padEnd(44)}${percentiles(websocket.map((s) => s.resultMs))}`);
    console.log(`${"(b) WS Pool per request, incl. pool.end()".padEnd(44)}${percentiles(websocket.map((s) => s.totalMs))}`);
    console.log(`${"(c) reference: node-postgres TCP per request".padEnd(44)}${percentiles(tcp.map((s) => s.resultMs))}`);
    console.log(
      `round trips per upsert: (a) ${httpStats.requests / runs} HTTP request carrying ${httpStats.statements / runs} SQL statement ` +
        `(adapter -> Postgres on a warm pooled connection); (b) ${proxyStats.connections / runs} WebSocket upgrade + ` +
        `${(proxyStats.roundTrips / runs).toFixed(1)} Postgres-protocol round trips through the proxy (startup, query; trust auth, no SCRAM)`,
    );
  } finally {
    await direct.query(`DROP TABLE IF EXISTS ${table}`);
    await direct.end();
    await proxy.close();
    await neonHttp.close();
  }
}

main().catch((error: unknown) => {
  console.error("neon-modes failed:", error instanceof Error ? error.message : error);
  process.exit(1);
});
