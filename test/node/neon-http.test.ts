import { randomBytes } from "node:crypto";
import { neon, neonConfig, NeonDbError } from "@neondatabase/serverless";
import { eq, sql as drizzleSql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/neon-http";
import { integer, pgSchema, text, timestamp } from "drizzle-orm/pg-core";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type NeonHttpServer, startNeonHttp } from "../../tools/neon-http/server.ts";
import { spawnTool } from "./spawn-tool.ts";

const DATABASE_URL = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
/** What a Worker would hold: a Neon-style URL with a password; the adapter ignores the host and the password. */
const CLIENT_URL = "postgresql://postgres:placeholder@ep-local.neon.invalid/test";
/** Everything this file creates lives in this schema, dropped in afterAll; other tests share the database. */
const schemaName = `neon_http_test_${randomBytes(6).toString("hex")}`;
const table = `${schemaName}.items`;

const counters = pgSchema(schemaName).table("counters", {
  key: text("key").primaryKey(),
  count: integer("count").notNull(),
  expiresAt: timestamp("expires_at", { withTimezone: true, mode: "date" }).notNull(),
});

let neonHttp: NeonHttpServer;
/** A direct connection, for setup, checks behind the adapter's back, and cleanup. */
let direct: pg.Pool;
const sql = neon(CLIENT_URL);

beforeAll(async () => {
  neonHttp = await startNeonHttp({ databaseUrl: DATABASE_URL, port: 0 });
  neonConfig.fetchEndpoint = () => neonHttp.endpoint;
  direct = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  await direct.query(`CREATE SCHEMA ${schemaName}`);
  await direct.query(`
    CREATE TABLE ${table} (
      id int4 PRIMARY KEY, big int8, flag bool, at timestamptz, doc json, docb jsonb,
      nums int4[], tags text[], bytes bytea, note text
    );
    CREATE TABLE ${schemaName}.counters (key text PRIMARY KEY, count int4 NOT NULL, expires_at timestamptz NOT NULL);
  `);
});

afterEach(() => {
  neonHttp.setFault({ mode: "none" });
});

afterAll(async () => {
  await direct.query(`DROP SCHEMA IF EXISTS ${schemaName} CASCADE`);
  await direct.end();
  await neonHttp.close();
});

let nextId = 0;
function id(): number {
  nextId += 1;
  return nextId;
}

/** Sends one request the way the driver does (a text body, Neon-* headers); a string body goes as is. */
async function post(body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> {
  const res = await fetch(neonHttp.endpoint, {
    method: "POST",
    headers: { "neon-connection-string": CLIENT_URL, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text) as unknown };
}

describe("the real neon() query function", () => {
  it("runs parameterised queries as tagged templates and with sql.query", async () => {
    const name = "O'Brien; DROP TABLE x";
    expect(await sql`SELECT ${2}::int + ${3}::int AS sum, ${name}::text AS name`).toEqual([{ sum: 5, name }]);
    expect(await sql.query("SELECT $1::text || $2::text AS joined", ["a", "b"])).toEqual([{ joined: "ab" }]);
  });

  it("needs no real password: any placeholder works, since the adapter dials its own URL", async () => {
    const withoutPassword = neon("postgresql://postgres@127.0.0.1:5432/test");
    expect(await withoutPassword`SELECT 1 AS one`).toEqual([{ one: 1 }]);
    await expect(neon("postgresql://postgres:pw@127.0.0.1:5432")`SELECT 1`).rejects.toThrow(/missing user, host or database/);
  });

  it("round-trips timestamptz, int4, int8, bool, json, jsonb, arrays, bytea and null", async () => {
    const row = {
      id: id(),
      big: "9007199254740993",
      flag: true,
      at: new Date("2024-02-29T23:59:58.123Z"),
      doc: { nested: [1, "two", null] },
      docb: { b: true, n: 1.5 },
      nums: [1, -2, 3],
      tags: ['quo"te', "comma,here", "back\\slash", "NULL", ""],
      bytes: Buffer.from([0x00, 0xff, 0x10, 0x80]),
      note: null,
    };
    await sql`
      INSERT INTO ${sql.unsafe(table)} (id, big, flag, at, doc, docb, nums, tags, bytes, note)
      VALUES (${row.id}, ${row.big}, ${row.flag}, ${row.at}, ${row.doc}, ${row.docb}, ${row.nums}, ${row.tags}, ${row.bytes}, ${row.note})`;
    const [read] = await sql`SELECT * FROM ${sql.unsafe(table)} WHERE id = ${row.id}`;
    expect(read).toEqual(row);
    expect(read!.at).toBeInstanceOf(Date);
    expect(Buffer.isBuffer(read!.bytes)).toBe(true);
    // The same values behind the adapter's back: what reached Postgres is what was sent.
    const { rows } = await direct.query(`SELECT big::text, at = $2 AS same_instant, docb->>'n' AS n FROM ${table} WHERE id = $1`, [row.id, row.at]);
    expect(rows).toEqual([{ big: "9007199254740993", same_instant: true, n: "1.5" }]);
  });

  it("commits a transaction of several statements in one request", async () => {
    const [a, b] = [id(), id()];
    neonHttp.resetStats();
    const results = await sql.transaction([
      sql`INSERT INTO ${sql.unsafe(table)} (id, note) VALUES (${a}, 'a')`,
      sql`INSERT INTO ${sql.unsafe(table)} (id, note) VALUES (${b}, 'b')`,
      sql`SELECT count(*)::int AS n FROM ${sql.unsafe(table)} WHERE id IN (${a}, ${b})`,
    ]);
    expect(results[2]).toEqual([{ n: 2 }]);
    expect(neonHttp.stats()).toEqual({ requests: 1, statements: 3 });
    const { rows } = await direct.query(`SELECT note FROM ${table} WHERE id = ANY($1) ORDER BY id`, [[a, b]]);
    expect(rows).toEqual([{ note: "a" }, { note: "b" }]);
  });

  it("rolls the whole transaction back on an error and surfaces its code", async () => {
    const [a, b] = [id(), id()];
    await sql`INSERT INTO ${sql.unsafe(table)} (id) VALUES (${b})`;
    const failing = sql.transaction([
      sql`INSERT INTO ${sql.unsafe(table)} (id) VALUES (${a})`,
      sql`INSERT INTO ${sql.unsafe(table)} (id) VALUES (${b})`,
    ]);
    await expect(failing).rejects.toBeInstanceOf(NeonDbError);
    await expect(failing).rejects.toMatchObject({ code: "23505", constraint: "items_pkey", table: "items", schema: schemaName });
    const { rows } = await direct.query(`SELECT id FROM ${table} WHERE id = $1`, [a]);
    expect(rows).toEqual([]);
  });

  it("honours the isolation level, read-only and deferrable options of a transaction", async () => {
    const strict = await sql.transaction(
      [sql`SHOW transaction_isolation`, sql`SHOW transaction_read_only`, sql`SHOW transaction_deferrable`],
      { isolationLevel: "Serializable", readOnly: true, deferrable: true },
    );
    expect(strict).toEqual([
      [{ transaction_isolation: "serializable" }],
      [{ transaction_read_only: "on" }],
      [{ transaction_deferrable: "on" }],
    ]);
    expect(await sql.transaction([sql`SHOW transaction_isolation`])).toEqual([[{ transaction_isolation: "read committed" }]]);
    await expect(
      sql.transaction([sql`INSERT INTO ${sql.unsafe(table)} (id) VALUES (${id()})`], { readOnly: true }),
    ).rejects.toMatchObject({ code: "25006" });
  });

  it("counts with one atomic INSERT ... ON CONFLICT DO UPDATE ... RETURNING", async () => {
    const key = `user:${randomBytes(4).toString("hex")}`;
    const upsert = () => sql`
      INSERT INTO ${sql.unsafe(schemaName)}.counters AS c (key, count, expires_at)
      VALUES (${key}, 1, now() + interval '15 minutes')
      ON CONFLICT (key) DO UPDATE SET count = c.count + 1
      RETURNING count, expires_at`;
    const first = await upsert();
    expect(first).toEqual([{ count: 1, expires_at: expect.any(Date) }]);
    const concurrent = await Promise.all(Array.from({ length: 8 }, upsert));
    expect(concurrent.map(([row]) => row!.count).sort((x, y) => x - y)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("surfaces Postgres error codes and fields as NeonDbError", async () => {
    const missing = sql`SELECT * FROM neon_http_no_such_table`;
    await expect(missing).rejects.toBeInstanceOf(NeonDbError);
    await expect(missing).rejects.toMatchObject({
      name: "NeonDbError",
      code: "42P01",
      message: 'relation "neon_http_no_such_table" does not exist',
      position: "15",
      severity: "ERROR",
      routine: expect.any(String),
    });
    await expect(sql`SELECT ${"abc"}::int`).rejects.toMatchObject({ code: "22P02" });
    await expect(sql`SELECT 1; SELECT 2`).rejects.toMatchObject({ code: "42601" });
  });

  it("gives rows as arrays in array mode and as objects otherwise", async () => {
    const arrays = neon(CLIENT_URL, { arrayMode: true });
    expect(await arrays`SELECT 1 AS a, 'x' AS b`).toEqual([[1, "x"]]);
    expect(await sql`SELECT 1 AS a, 'x' AS b`).toEqual([{ a: 1, b: "x" }]);
    expect(await sql.query("SELECT 1 AS a", [], { arrayMode: true })).toEqual([[1]]);
  });

  it("returns command, rowCount and fields with fullResults", async () => {
    const full = neon(CLIENT_URL, { fullResults: true });
    const inserted = await full`INSERT INTO ${full.unsafe(table)} (id) VALUES (${id()}), (${id()})`;
    expect(inserted).toMatchObject({ command: "INSERT", rowCount: 2, rows: [], fields: [] });
    const selected = await full`SELECT id, note FROM ${full.unsafe(table)} WHERE false`;
    expect(selected).toMatchObject({ command: "SELECT", rowCount: 0, rows: [], rowAsArray: false });
    expect(selected.fields.map(({ name, dataTypeID, format }) => ({ name, dataTypeID, format }))).toEqual([
      { name: "id", dataTypeID: 23, format: "text" },
      { name: "note", dataTypeID: 25, format: "text" },
    ]);
    expect(selected.fields[0]).toMatchObject({ tableID: expect.any(Number), columnID: 1, dataTypeSize: 4, dataTypeModifier: -1 });
    expect(await full`CREATE TEMP TABLE IF NOT EXISTS neon_http_tmp (x int)`).toMatchObject({ command: "CREATE", rowCount: null });
  });
});

describe("the HTTP protocol", () => {
  it("answers Neon's result shape, with rows as objects unless Neon-Array-Mode is true", async () => {
    const query = { query: "SELECT $1::int4 AS n, NULL::text AS t", params: ["7"] };
    const objects = await post(query, { "neon-raw-text-output": "true" });
    expect(objects).toEqual({
      status: 200,
      json: {
        command: "SELECT",
        rowCount: 1,
        rowAsArray: false,
        fields: [
          { name: "n", dataTypeID: 23, tableID: 0, columnID: 0, dataTypeSize: 4, dataTypeModifier: -1, format: "text" },
          { name: "t", dataTypeID: 25, tableID: 0, columnID: 0, dataTypeSize: -1, dataTypeModifier: -1, format: "text" },
        ],
        rows: [{ n: "7", t: null }],
      },
    });
    const arrays = await post(query, { "neon-raw-text-output": "true", "neon-array-mode": "true" });
    expect(arrays.json).toMatchObject({ rowAsArray: true, rows: [["7", null]] });
    const overridden = await post({ ...query, arrayMode: false }, { "neon-array-mode": "true" });
    expect(overridden.json).toMatchObject({ rowAsArray: false, rows: [{ n: 7, t: null }] });
  });

  it("converts values to JSON like Neon when Neon-Raw-Text-Output is not true", async () => {
    const { json } = await post({
      query: `SELECT true AS b, 2::int2 AS i2, 3::int8 AS i8, 1.5::float8 AS f, 'NaN'::float4 AS nan, 1.10::numeric AS num,
        '{"a":[1]}'::jsonb AS j, ARRAY[1, NULL]::int4[] AS ints, ARRAY['a"b', 'c,d', NULL]::text[] AS texts,
        '{}'::int4[] AS empty, '[0:1]={t,f}'::bool[] AS bounded, ARRAY['{"x":1}']::jsonb[] AS docs,
        '2024-01-02 03:04:05+00'::timestamptz AS at, $1::int4[] AS param`,
      params: [[4, null, 5]],
    });
    expect(json).toMatchObject({
      rows: [
        {
          b: true, i2: 2, i8: "3", f: 1.5, nan: "NaN", num: "1.10", j: { a: [1] }, ints: [1, null],
          texts: ['a"b', "c,d", null], empty: [], bounded: [true, false], docs: [{ x: 1 }],
          at: "2024-01-02 03:04:05+00", param: [4, null, 5],
        },
      ],
    });
  });

  it("answers a {queries} batch with {results} and echoes the transaction headers", async () => {
    const res = await fetch(neonHttp.endpoint, {
      method: "POST",
      headers: { "neon-batch-isolation-level": "RepeatableRead", "neon-batch-read-only": "true" },
      body: JSON.stringify({ queries: [{ query: "SELECT 1 AS a" }, { query: "SHOW transaction_isolation" }] }),
    });
    expect(res.headers.get("neon-batch-isolation-level")).toBe("RepeatableRead");
    expect(res.headers.get("neon-batch-read-only")).toBe("true");
    expect(await res.json()).toMatchObject({ results: [{ rows: [{ a: 1 }] }, { rows: [{ transaction_isolation: "repeatable read" }] }] });
  });

  it("answers 400 with a clear message for malformed JSON, a wrong shape or an invalid isolation level", async () => {
    expect(await post("{not json")).toMatchObject({ status: 400, json: { message: expect.stringMatching(/not valid JSON/) } });
    expect(await post({ sql: "SELECT 1" })).toMatchObject({ status: 400, json: { message: expect.stringMatching(/"query"/) } });
    expect(await post({ query: "SELECT $1", params: "x" })).toMatchObject({ status: 400, json: { message: expect.stringMatching(/params/) } });
    expect(await post({ queries: [{ query: 1 }] })).toMatchObject({ status: 400, json: { message: expect.stringMatching(/queries\[0\]/) } });
    expect(await post({ queries: [] }, { "neon-batch-isolation-level": "Chaos" })).toMatchObject({
      status: 400,
      json: { message: expect.stringMatching(/invalid isolation level/) },
    });
  });

  it("answers 413 for a body over 10 MiB, 405 for GET /sql and 404 elsewhere", async () => {
    expect(await post({ query: "SELECT $1::text", params: ["x".repeat(10 * 1024 * 1024)] })).toMatchObject({ status: 413 });
    expect((await fetch(neonHttp.endpoint)).status).toBe(405);
    expect((await fetch(`${neonHttp.url}/v1/sql`, { method: "POST" })).status).toBe(404);
  });

  it("answers a Postgres error with HTTP 400 and every DatabaseError field", async () => {
    const { status, json } = await post({ query: "SELECT * FROM neon_http_no_such_table" });
    expect(status).toBe(400);
    expect(Object.keys(json as object).sort()).toEqual(
      ["message", "code", "detail", "hint", "position", "internalPosition", "internalQuery", "where", "schema", "table",
        "column", "dataType", "constraint", "file", "line", "routine", "severity"].sort(),
    );
    expect(json).toMatchObject({ code: "42P01", detail: null, position: "15" });
  });
});

describe("the connection string a request names", () => {
  it("is checked against a configured URL that must be postgres://, which is never echoed", async () => {
    const started = startNeonHttp({ databaseUrl: "mysql://root:s3cretpw@127.0.0.1/test", port: 0 });
    await expect(started).rejects.toThrow(TypeError);
    await expect(started).rejects.not.toThrow(/s3cretpw/);
  });

  it("serves any host, since only the configured URL is ever dialled", async () => {
    const elsewhere = neon("postgresql://postgres:pw@db.example.invalid:6543/test");
    expect(await elsewhere`SELECT current_database() AS db`).toEqual([{ db: "test" }]);
  });

  it("refuses another database or user with 400, without echoing the password", async () => {
    const otherDb = neon("postgresql://postgres:hunter2@127.0.0.1:5432/other_db");
    await expect(otherDb`SELECT 1`).rejects.toThrow('Neon-Connection-String names database "other_db", but this adapter only serves database "test"');
    const otherUser = await post({ query: "SELECT 1" }, { "neon-connection-string": "postgresql://mallory:hunter2@127.0.0.1/test" });
    expect(otherUser).toMatchObject({ status: 400, json: { message: expect.stringMatching(/user "mallory"/) } });
    const garbage = await post({ query: "SELECT 1" }, { "neon-connection-string": "hunter2" });
    expect(garbage.status).toBe(400);
    expect(JSON.stringify([otherUser, garbage])).not.toContain("hunter2");
  });
});

describe("stats, health and faults", () => {
  const control = (path: string, init: RequestInit = {}) => fetch(`${neonHttp.url}/__neon/${path}`, init);

  it("counts requests and statements on /sql, but not control endpoints", async () => {
    expect((await control("stats/reset", { method: "POST" })).status).toBe(200);
    await sql`SELECT 1`;
    await sql.transaction([sql`SELECT 1`, sql`SELECT 2`, sql`SELECT 3`]);
    await sql`SELECT 1/0`.catch(() => undefined);
    await control("health");
    const stats = (await (await control("stats")).json()) as unknown;
    expect(stats).toEqual({ requests: 3, statements: 5 });
    expect(neonHttp.stats()).toEqual(stats);
    neonHttp.resetStats();
    expect(neonHttp.stats()).toEqual({ requests: 0, statements: 0 });
  });

  it("reports health", async () => {
    const health = await control("health");
    expect({ status: health.status, body: await health.json() }).toEqual({ status: 200, body: { ok: true } });
  });

  it("answers 503 without touching Postgres while down, and the driver throws", async () => {
    const set = await control("fault", { method: "POST", body: JSON.stringify({ mode: "down" }) });
    expect(await set.json()).toEqual({ ok: true, fault: { mode: "down" } });
    neonHttp.resetStats();
    await expect(sql`SELECT 1`).rejects.toThrow(/HTTP status 503.*injected: database unavailable/);
    await expect(sql.transaction([sql`SELECT 1`])).rejects.toBeInstanceOf(NeonDbError);
    expect(neonHttp.stats()).toEqual({ requests: 2, statements: 0 });
    expect((await control("health")).status).toBe(200);
  });

  it("delays, then serves normally", async () => {
    neonHttp.setFault({ mode: "delay", ms: 300 });
    const started = performance.now();
    expect(await sql`SELECT 1 AS one`).toEqual([{ one: 1 }]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("rejects an invalid fault", async () => {
    expect((await control("fault", { method: "POST", body: '{"mode":"delay","ms":-1}' })).status).toBe(400);
    expect(() => neonHttp.setFault({ mode: "explode" } as never)).toThrow(TypeError);
  });

  it("answers 503 when Postgres is unreachable, and health says so", async () => {
    const dead = await startNeonHttp({ databaseUrl: "postgresql://postgres:s3cretpw@127.0.0.1:1/test", port: 0 });
    try {
      const res = await fetch(dead.endpoint, { method: "POST", body: '{"query":"SELECT 1"}' });
      const body = await res.text();
      expect({ status: res.status, body }).toEqual({ status: 503, body: expect.stringMatching(/database unavailable: .*ECONNREFUSED/) });
      const health = await fetch(`${dead.url}/__neon/health`);
      expect(health.status).toBe(503);
      expect(body + (await health.text())).not.toContain("s3cretpw");
    } finally {
      await dead.close();
    }
  });
});

describe("cli", () => {
  const cli = (env: NodeJS.ProcessEnv) => {
    const child = spawnTool("tools/neon-http/cli.ts", [], { ...process.env, NEON_HTTP_PORT: "0", ...env });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    return { child, exited, output: () => output };
  };

  it("prints where it listens but never the password, serves, and stops on SIGTERM", async () => {
    const run = cli({ DATABASE_URL: "postgresql://postgres:s3cretpw@127.0.0.1:5432/test" });
    try {
      await expect.poll(run.output, { timeout: 15_000 }).toMatch(
        /^Neon-compatible HTTP SQL endpoint on http:\/\/127\.0\.0\.1:\d+\/sql -> postgres at 127\.0\.0\.1:5432\/test\n/,
      );
      const endpoint = /http:\/\/\S+\/sql/.exec(run.output())![0];
      const res = await fetch(endpoint, { method: "POST", body: '{"query":"SELECT 1 AS one"}' });
      expect(await res.json()).toMatchObject({ rows: [{ one: 1 }] });
    } finally {
      run.child.kill("SIGTERM");
    }
    expect(await run.exited).toBe(0);
    expect(run.output()).not.toContain("s3cretpw");
  });

  it("exits 1 with a clear message when Postgres is unreachable, without the password", async () => {
    const run = cli({ DATABASE_URL: "postgresql://postgres:s3cretpw@127.0.0.1:1/test" });
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(/cannot reach Postgres at 127\.0\.0\.1:1\/test/);
    expect(run.output()).not.toContain("s3cretpw");
  });
});

// Last on purpose: building a drizzle neon-http database changes the driver's global type parsers (see the last test).
describe("drizzle-orm/neon-http", () => {
  let db: ReturnType<typeof drizzle>;

  beforeAll(() => {
    db = drizzle({ client: neon(CLIENT_URL) });
  });

  it("inserts, upserts with RETURNING and selects through the adapter", async () => {
    const key = `drizzle:${randomBytes(4).toString("hex")}`;
    const expiresAt = new Date(Date.now() + 60_000);
    const increment = () =>
      db
        .insert(counters)
        .values({ key, count: 1, expiresAt })
        .onConflictDoUpdate({ target: counters.key, set: { count: drizzleSql`${counters.count} + 1` } })
        .returning({ count: counters.count, expiresAt: counters.expiresAt });
    expect(await increment()).toEqual([{ count: 1, expiresAt }]);
    expect(await increment()).toEqual([{ count: 2, expiresAt }]);
    expect(await db.select().from(counters).where(eq(counters.key, key))).toEqual([{ key, count: 2, expiresAt }]);
  });

  it("runs db.batch as one transaction in one request", async () => {
    const key = `batch:${randomBytes(4).toString("hex")}`;
    neonHttp.resetStats();
    const [, rows] = await db.batch([
      db.insert(counters).values({ key, count: 5, expiresAt: new Date() }),
      db.select({ count: counters.count }).from(counters).where(eq(counters.key, key)),
    ]);
    expect(rows).toEqual([{ count: 5 }]);
    expect(neonHttp.stats()).toEqual({ requests: 1, statements: 2 });
    await expect(
      db.batch([db.insert(counters).values({ key: `${key}:2`, count: 1, expiresAt: new Date() }), db.insert(counters).values({ key, count: 1, expiresAt: new Date() })]),
    ).rejects.toMatchObject({ name: "NeonDbError", code: "23505" });
    expect(await db.select().from(counters).where(eq(counters.key, `${key}:2`))).toEqual([]);
  });

  it("leaves timestamps as strings for every neon() in the process once a drizzle database exists", async () => {
    // drizzle's NeonHttpDriver calls types.setTypeParser(TIMESTAMPTZ, (v) => v) and the like, globally.
    expect(await sql`SELECT '2024-01-02 03:04:05+00'::timestamptz AS at`).toEqual([{ at: "2024-01-02 03:04:05+00" }]);
  });
});
