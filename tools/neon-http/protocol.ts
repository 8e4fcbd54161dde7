/**
 * Neon's SQL-over-HTTP wire format, the request side: bodies, headers and injected faults, checked once
 * into typed values. Pure functions only, so the server stays about transport.
 */

/** A request the adapter cannot run; the server answers 400 `{"message": ...}`. */
export class BadRequestError extends Error {}

/** One statement as Postgres will get it: parameters already in their text form. */
export interface Statement {
  query: string;
  params: Array<string | null>;
  /** Per-statement override of the `Neon-Array-Mode` header, as Neon's proxy accepts in the body. */
  arrayMode?: boolean;
}

/** A `{"query"}` body runs alone; a `{"queries"}` body runs as one transaction. */
export type Payload = { kind: "single"; statement: Statement } | { kind: "transaction"; statements: Statement[] };

/** The Neon-* request headers that shape execution and output. */
export interface RequestOptions {
  rawTextOutput: boolean;
  arrayMode: boolean;
  transaction: TransactionOptions;
}

export interface TransactionOptions {
  isolationLevel?: IsolationLevel;
  readOnly: boolean;
  deferrable: boolean;
}

/** The `Neon-Batch-Isolation-Level` header values, as Neon's proxy spells them. */
export type IsolationLevel = keyof typeof ISOLATION_SQL;

const ISOLATION_SQL = {
  ReadUncommitted: "READ UNCOMMITTED",
  ReadCommitted: "READ COMMITTED",
  RepeatableRead: "REPEATABLE READ",
  Serializable: "SERIALIZABLE",
} as const;

/**
 * How the adapter misbehaves on `/sql`, so tests can see the gateway cope with Neon being down or slow.
 * - `down`: answer 503 `{"message":"injected: database unavailable"}` without touching Postgres.
 * - `delay`: wait `ms` milliseconds, then serve normally.
 */
export type NeonHttpFault = { mode: "none" } | { mode: "down" } | { mode: "delay"; ms: number };

const MAX_DELAY_MS = 120_000;

/**
 * Checks a parsed JSON body: `{"query":"...","params":[...]}` or `{"queries":[{...}, ...]}`.
 * @example parsePayload({ query: "SELECT $1::int AS n", params: [1] })
 */
export function parsePayload(body: unknown): Payload {
  if (isObject(body) && Array.isArray(body.queries)) {
    return { kind: "transaction", statements: body.queries.map((item: unknown, index) => parseStatement(item, `queries[${index}]`)) };
  }
  if (isObject(body) && "query" in body) return { kind: "single", statement: parseStatement(body, "the body") };
  throw new BadRequestError(
    'the body must be {"query":"SELECT $1","params":[...]} or {"queries":[{"query":...,"params":[...]}, ...]}',
  );
}

function parseStatement(value: unknown, where: string): Statement {
  if (!isObject(value) || typeof value.query !== "string") {
    throw new BadRequestError(`${where} needs "query" as a string, e.g. {"query":"SELECT $1::int","params":[1]}`);
  }
  const { query, params = [], arrayMode } = value;
  if (!Array.isArray(params)) throw new BadRequestError(`${where}: "params" must be an array`);
  if (arrayMode !== undefined && typeof arrayMode !== "boolean") throw new BadRequestError(`${where}: "arrayMode" must be a boolean`);
  return { query, params: params.map(paramText), ...(arrayMode === undefined ? {} : { arrayMode }) };
}

/**
 * A JSON parameter in the text form Postgres receives, by Neon's rules: strings as they are, numbers,
 * booleans and objects as JSON, arrays as Postgres array literals (the driver itself sends only strings and null).
 */
export function paramText(value: unknown): string | null {
  if (value === null) return null;
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return arrayLiteral(value);
  return JSON.stringify(value);
}

function arrayLiteral(value: unknown): string {
  if (value === null) return "NULL";
  if (Array.isArray(value)) return `{${value.map(arrayLiteral).join(",")}}`;
  // Inside an array literal strings need quotes and escapes, which JSON.stringify happens to produce.
  return JSON.stringify(typeof value === "object" ? JSON.stringify(value) : value);
}

/** Reads the Neon-* headers; like Neon's proxy, anything but exactly "true" is false. */
export function parseRequestOptions(header: (name: string) => string | undefined): RequestOptions {
  const level = header("neon-batch-isolation-level");
  if (level !== undefined && !Object.hasOwn(ISOLATION_SQL, level)) {
    throw new BadRequestError(`invalid isolation level "${level}": use one of ${Object.keys(ISOLATION_SQL).join(", ")}`);
  }
  return {
    rawTextOutput: header("neon-raw-text-output") === "true",
    arrayMode: header("neon-array-mode") === "true",
    transaction: {
      ...(level === undefined ? {} : { isolationLevel: level as IsolationLevel }),
      readOnly: header("neon-batch-read-only") === "true",
      deferrable: header("neon-batch-deferrable") === "true",
    },
  };
}

/** The BEGIN that opens a `{"queries"}` transaction. */
export function beginStatement({ isolationLevel, readOnly, deferrable }: TransactionOptions): string {
  return [
    "BEGIN",
    isolationLevel === undefined ? "" : ` ISOLATION LEVEL ${ISOLATION_SQL[isolationLevel]}`,
    readOnly ? " READ ONLY" : "",
    deferrable ? " DEFERRABLE" : "",
  ].join("");
}

/** The user and database a request may name; undefined parts are not checked. */
export interface DatabaseIdentity {
  user?: string;
  database?: string;
}

/** The user and database a postgres:// URL names. Never throws with the URL in the message: it may hold a password. */
export function identityOf(connectionString: string): DatabaseIdentity {
  let user: string;
  let database: string;
  try {
    const url = new URL(connectionString);
    if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") throw new TypeError();
    user = decodeURIComponent(url.username);
    database = decodeURIComponent(url.pathname.slice(1));
  } catch {
    throw new BadRequestError("Neon-Connection-String must be a postgres:// or postgresql:// URL");
  }
  return { ...(user === "" ? {} : { user }), ...(database === "" ? {} : { database }) };
}

/**
 * Refuses a `Neon-Connection-String` naming another user or database than the adapter's own. Its host and
 * password are never used: the adapter only ever dials its configured URL.
 */
export function checkConnectionString(header: string | undefined, configured: DatabaseIdentity): void {
  if (header === undefined) return;
  const requested = identityOf(header);
  for (const part of ["user", "database"] as const) {
    const want = configured[part];
    if (want !== undefined && requested[part] !== want) {
      throw new BadRequestError(
        `Neon-Connection-String names ${part} "${requested[part] ?? ""}", but this adapter only serves ${part} "${want}"`,
      );
    }
  }
}

/**
 * Checks an untrusted fault (a JSON body or a caller's argument) and returns a fresh one.
 * @example parseFault({ mode: "delay", ms: 500 })
 */
export function parseFault(value: unknown): NeonHttpFault {
  const fault = isObject(value) ? value : {};
  switch (fault.mode) {
    case "none":
    case "down":
      return { mode: fault.mode };
    case "delay":
      if (typeof fault.ms !== "number" || !Number.isInteger(fault.ms) || fault.ms < 0 || fault.ms > MAX_DELAY_MS) {
        throw new TypeError(`fault "delay" needs an integer ms from 0 to ${MAX_DELAY_MS}, e.g. {"mode":"delay","ms":500}`);
      }
      return { mode: "delay", ms: fault.ms };
    default:
      throw new TypeError('fault mode must be one of none, down, delay, e.g. {"mode":"down"}');
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
