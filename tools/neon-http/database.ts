/**
 * Runs Neon-protocol statements on a node-postgres pool over the one configured database URL.
 * Values come back as the text Postgres sent, exactly what Neon's proxy forwards.
 */
import pg from "pg";
import { beginStatement, type Statement, type TransactionOptions } from "./protocol.ts";
import type { ElementTypeOf, TextResult } from "./results.ts";

/** Postgres cannot be reached, or the connection broke mid-request; the server answers 503. */
export class DatabaseUnavailableError extends Error {}

/** The pool behind the adapter, narrowed to what a request needs. */
export interface Database {
  runSingle(statement: Statement): Promise<TextResult>;
  /** Runs every statement in one transaction on one connection: all commit, or the first error rolls back. */
  runTransaction(statements: Statement[], options: TransactionOptions): Promise<TextResult[]>;
  /** Array element types for the given OIDs, reading pg_type again only when an OID is new to the adapter. */
  elementTypes(oids: number[]): Promise<ElementTypeOf>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Keeps every value a string (null stays null): Neon forwards Postgres' text form and the driver parses it. */
const TEXT_VALUES = { getTypeParser: () => (text: string) => text } as unknown as pg.CustomTypesConfig;

/**
 * Opens a small pool on `databaseUrl`; connections are made on first use, so this never fails for a down Postgres.
 * `onStatement` is called once per user statement sent (not for BEGIN, COMMIT, ROLLBACK or the type catalog).
 */
export function openDatabase(databaseUrl: string, onStatement: () => void): Database {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 10,
    connectionTimeoutMillis: 5_000,
    application_name: "neon-http",
  });
  // An idle connection dropped by the server is removed from the pool; without a listener it would crash the process.
  pool.on("error", () => {});
  const elementOf = new Map<number, number | undefined>();

  async function withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw new DatabaseUnavailableError(`database unavailable: ${messageOf(error)}`);
    }
    try {
      const value = await work(client);
      client.release();
      return value;
    } catch (error) {
      // A Postgres error leaves the connection usable; anything else (a dropped socket) may not, so it is discarded.
      if (error instanceof pg.DatabaseError) {
        client.release();
        throw error;
      }
      client.release(error instanceof Error ? error : true);
      throw new DatabaseUnavailableError(`database unavailable: ${messageOf(error)}`);
    }
  }

  async function run(client: pg.PoolClient, { query, params }: Statement): Promise<TextResult> {
    onStatement();
    // Extended protocol like Neon's proxy: one statement per query, parameters sent as untyped text.
    const config = { text: query, values: params, rowMode: "array" as const, types: TEXT_VALUES, queryMode: "extended" };
    const { command, rowCount, fields, rows } = await client.query<Array<string | null>>(config);
    return { command, rowCount, fields, rows };
  }

  return {
    runSingle: (statement) => withClient((client) => run(client, statement)),
    runTransaction: (statements, options) =>
      withClient(async (client) => {
        await client.query(beginStatement(options));
        try {
          const results: TextResult[] = [];
          for (const statement of statements) results.push(await run(client, statement));
          await client.query("COMMIT");
          return results;
        } catch (error) {
          // If this fails too the connection is broken; its error then wins and the connection is discarded.
          await client.query("ROLLBACK");
          throw error;
        }
      }),
    elementTypes: async (oids) => {
      if (oids.some((oid) => !elementOf.has(oid))) {
        const { rows } = await withClient((client) =>
          client.query<{ oid: number; element: number | null }>(
            "SELECT oid::int4 AS oid, CASE WHEN typcategory = 'A' THEN typelem::int4 END AS element FROM pg_type",
          ),
        );
        for (const { oid, element } of rows) elementOf.set(oid, element ?? undefined);
        // Not in pg_type even now (a dropped type): remember it as a scalar rather than reading the catalog again.
        for (const oid of oids) if (!elementOf.has(oid)) elementOf.set(oid, undefined);
      }
      return (oid) => elementOf.get(oid);
    },
    ping: async () => {
      await withClient((client) => client.query("SELECT 1"));
    },
    close: () => pool.end(),
  };
}

function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Node reports a refused dual-stack connect as an AggregateError with an empty message but a code.
  return error.message || (error as NodeJS.ErrnoException).code || error.name;
}
