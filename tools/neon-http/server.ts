/**
 * A local Neon-compatible SQL-over-HTTP endpoint over a real Postgres, so the real `neon()` query function
 * from `@neondatabase/serverless` (and `drizzle-orm/neon-http`) runs in tests and local development exactly
 * as a Worker runs it against Neon.
 */
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { BodyTooLargeError, readCappedBody, sendJson } from "../shared/http.ts";
import { closeServer, listen, type LocalServer } from "../shared/server.ts";
import { DatabaseUnavailableError, openDatabase } from "./database.ts";
import {
  BadRequestError,
  checkConnectionString,
  type DatabaseIdentity,
  identityOf,
  type NeonHttpFault,
  parseFault,
  parsePayload,
  parseRequestOptions,
  type RequestOptions,
  type Statement,
} from "./protocol.ts";
import { type ElementTypeOf, type TextResult, toNeonResult } from "./results.ts";

export type { NeonHttpFault } from "./protocol.ts";

/** How to start the adapter; only the database URL is required. */
export interface NeonHttpOptions {
  /** The one Postgres the adapter ever connects to, e.g. `postgresql://postgres@127.0.0.1:5432/test`. */
  databaseUrl: string;
  /** Port to listen on; 0 picks a free one. @default 8077 */
  port?: number;
  /** @default "127.0.0.1" */
  host?: string;
}

/** Counters of `/sql` traffic, for measuring SQL statements per gateway request. */
export interface NeonHttpStats {
  /** HTTP requests on `/sql`, including those answered by an injected fault or an error. */
  requests: number;
  /** SQL statements sent to Postgres for them (a transaction of 3 counts 3; BEGIN and COMMIT are not counted). */
  statements: number;
}

/** A running adapter; `close` stops listening, cancels injected delays and ends the Postgres pool. */
export interface NeonHttpServer extends LocalServer<NeonHttpStats> {
  /** What `neonConfig.fetchEndpoint` should return: `url + "/sql"`. */
  endpoint: string;
  /** Makes later `/sql` requests fail or stall; throws TypeError for an invalid fault. */
  setFault(fault: NeonHttpFault): void;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** Neon's proxy refuses to build larger answers (HTTP 507); so does the adapter. */
const MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
const DATABASE_ERROR_FIELDS = [
  "code", "detail", "hint", "position", "internalPosition", "internalQuery", "where", "schema", "table",
  "column", "dataType", "constraint", "file", "line", "routine", "severity",
] as const;

/** A failure the server answers with this status and `{"message": ...}`. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Starts the adapter; resolves once it listens. It connects to Postgres on the first query, so it also starts
 * while Postgres is down (then `/sql` answers 503 and `/__neon/health` says so).
 * @example const neonHttp = await startNeonHttp({ databaseUrl: "postgresql://postgres@127.0.0.1:5432/test", port: 0 });
 */
export async function startNeonHttp(options: NeonHttpOptions): Promise<NeonHttpServer> {
  const { databaseUrl, port = 8077, host = "127.0.0.1" } = options;
  let identity: DatabaseIdentity;
  try {
    identity = identityOf(databaseUrl);
  } catch {
    // The value itself is not echoed: it may hold a password.
    throw new TypeError("startNeonHttp: databaseUrl must be a postgres:// URL, e.g. postgresql://postgres@127.0.0.1:5432/test");
  }

  let stats = emptyStats();
  let fault: NeonHttpFault = { mode: "none" };
  const closing = new AbortController();
  const database = openDatabase(databaseUrl, () => {
    stats.statements += 1;
  });

  async function serveSql(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.requests += 1;
    if (req.method !== "POST") throw new HttpError(405, "use POST /sql with a JSON body");
    const body = await readBody(req);
    if (fault.mode === "down") return sendJson(res, 503, { message: "injected: database unavailable" });
    if (fault.mode === "delay") await sleep(fault.ms, undefined, { signal: closing.signal });

    const header = (name: string): string | undefined => [req.headers[name]].flat()[0];
    const requestOptions = parseRequestOptions(header);
    checkConnectionString(header("neon-connection-string"), identity);
    const payload = parsePayload(parseJson(body));
    if (payload.kind === "single") {
      const result = await database.runSingle(payload.statement);
      const shape = await shaper([result], requestOptions);
      return sendAnswer(res, shape(result, payload.statement));
    }
    const results = await database.runTransaction(payload.statements, requestOptions.transaction);
    const shape = await shaper(results, requestOptions);
    sendAnswer(res, { results: results.map((result, i) => shape(result, payload.statements[i]!)) }, echoedTransactionHeaders(requestOptions));
  }

  /** Returns how to turn each result into Neon's JSON, reading the array types first when values get converted. */
  async function shaper(results: TextResult[], { rawTextOutput, arrayMode }: RequestOptions) {
    const elementTypeOf: ElementTypeOf = rawTextOutput
      ? () => undefined
      : await database.elementTypes(results.flatMap((result) => result.fields.map((field) => field.dataTypeID)));
    return (result: TextResult, statement: Statement) =>
      toNeonResult(result, { rawTextOutput, arrayMode: statement.arrayMode ?? arrayMode }, elementTypeOf);
  }

  async function serveControl(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    switch (`${req.method} ${path}`) {
      case "GET /__neon/health": {
        const problem = await database.ping().then(() => undefined, (error: Error) => error.message);
        return sendJson(res, problem === undefined ? 200 : 503, problem === undefined ? { ok: true } : { ok: false, error: problem });
      }
      case "GET /__neon/stats":
        return sendJson(res, 200, { ...stats });
      case "POST /__neon/stats/reset":
        stats = emptyStats();
        return sendJson(res, 200, { ok: true });
      case "POST /__neon/fault":
        fault = faultFrom(parseJson(await readBody(req)));
        return sendJson(res, 200, { ok: true, fault });
      default:
        throw new HttpError(404, `unknown endpoint ${req.method} ${path}: the adapter serves POST /sql and /__neon/*`);
    }
  }

  const server = createServer((req, res) => {
    const { pathname } = new URL(req.url ?? "/", "http://neon-http.invalid");
    const served = pathname === "/sql" ? serveSql(req, res) : serveControl(req, res, pathname);
    served.catch((error: unknown) => sendFailure(res, error));
  });
  const bound = await listen(server, port, host).catch(async (error: unknown) => {
    await database.close();
    throw error;
  });

  return {
    ...bound,
    endpoint: `${bound.url}/sql`,
    stats: () => ({ ...stats }),
    resetStats: () => {
      stats = emptyStats();
    },
    setFault: (next) => {
      fault = parseFault(next);
    },
    close: async () => {
      closing.abort();
      await closeServer(server);
      await database.close();
    },
  };
}

/** Like Neon's proxy, a transaction's answer repeats the options it ran with. */
function echoedTransactionHeaders({ transaction }: RequestOptions): OutgoingHttpHeaders {
  return {
    ...(transaction.readOnly ? { "neon-batch-read-only": "true" } : {}),
    ...(transaction.deferrable ? { "neon-batch-deferrable": "true" } : {}),
    ...(transaction.isolationLevel === undefined ? {} : { "neon-batch-isolation-level": transaction.isolationLevel }),
  };
}

/** The one place that turns a failure into an HTTP answer. */
function sendFailure(res: ServerResponse, error: unknown): void {
  if (res.headersSent || res.destroyed) return void res.destroy();
  if (error instanceof pg.DatabaseError) return sendJson(res, 400, databaseErrorBody(error));
  if (error instanceof HttpError) return sendJson(res, error.status, { message: error.message });
  if (error instanceof BodyTooLargeError) return sendJson(res, 413, { message: error.message });
  if (error instanceof BadRequestError) return sendJson(res, 400, { message: error.message });
  if (error instanceof DatabaseUnavailableError) return sendJson(res, 503, { message: error.message });
  sendJson(res, 500, { message: `neon-http internal error: ${error instanceof Error ? error.message : String(error)}` });
}

/** The node-postgres DatabaseError fields, as Neon's proxy sends them (absent ones as null). */
function databaseErrorBody(error: pg.DatabaseError): Record<string, string | null> {
  const body: Record<string, string | null> = { message: error.message };
  for (const field of DATABASE_ERROR_FIELDS) body[field] = error[field] ?? null;
  return body;
}

/** parseFault throws TypeError, right for programmatic callers; over HTTP the same message is a 400. */
function faultFrom(body: unknown): NeonHttpFault {
  try {
    return parseFault(body);
  } catch (error) {
    throw new BadRequestError((error as Error).message);
  }
}

/** Sends a query answer, unless it is larger than Neon would send. */
function sendAnswer(res: ServerResponse, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  if (Buffer.byteLength(text) > MAX_RESPONSE_BYTES) {
    throw new HttpError(507, `response is too large (max is ${MAX_RESPONSE_BYTES} bytes)`);
  }
  sendJson(res, 200, body, headers, text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  return (await readCappedBody(req, MAX_BODY_BYTES)).toString("utf8");
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BadRequestError(`the body is not valid JSON: ${(error as Error).message}`);
  }
}

function emptyStats(): NeonHttpStats {
  return { requests: 0, statements: 0 };
}
