/**
 * The attempt history on Postgres: the counting statements get one more data-modifying CTE that
 * appends to `access_log` (migrations/0005_access_log.sql), so a history row costs no statement of
 * its own. Its parameters come after the statement's own: the key prefix, then one array per field.
 */
import type { AttemptEntry, AttemptFilter, AttemptNote, AttemptOutcome } from "../history";
import { countersOf, countersText } from "../history";

/** The CTE appending the records of parameters `$first` (prefix) to `$first + 6`, when `condition` holds. */
const logged = (first: number, condition = "TRUE") => `logged AS (
  INSERT INTO access_log (prefix, username, ip, path, user_agent, outcome, counters)
  SELECT $${first}::text, r.u, r.ip, r.p, r.ua, r.o, r.c
  FROM unnest($${first + 1}::text[], $${first + 2}::text[], $${first + 3}::text[], $${first + 4}::text[], $${first + 5}::text[], $${first + 6}::text[]) AS r(u, ip, p, ua, o, c)
  WHERE ${condition})`;

/**
 * `statement` (whose `params` own parameters come first) also appending the records that follow
 * them: a `WITH ...` statement gets one more CTE; any other (a function call) is wrapped, and then
 * `condition` may test its rows (`answered`).
 */
export const withHistory = (statement: string, params: number, condition = "TRUE"): string =>
  /^\s*WITH /.test(statement)
    ? statement.replace(/^\s*WITH /, `WITH ${logged(params + 1)},\n`)
    : `
WITH answered AS MATERIALIZED (${statement}),
${logged(params + 1, condition)}
SELECT * FROM answered`;

/** An admission appends its records only when the answer is `locked` (the gateway_admit functions are unchanged). */
export const ADMITTED_LOCKED = "EXISTS (SELECT 1 FROM answered WHERE answered.outcome = 'locked')";

/** The parameters `logged` reads, for a note. */
export function historyParams({ target, records }: AttemptNote): unknown[] {
  return [
    target.prefix,
    records.map((r) => r.username),
    records.map((r) => r.ip),
    records.map((r) => r.path),
    records.map((r) => r.userAgent),
    records.map((r) => r.outcome),
    records.map((r) => countersText(r.counters)),
  ];
}

/**
 * $1 prefix, $2 username (null = any), $3 ip (null = any), $4 since (epoch ms, null = any), $5 the
 * id of the last row of the page before (null = the newest), $6 limit. Newest first.
 */
export const LIST_ATTEMPTS = `
SELECT id::text AS id, (extract(epoch FROM at) * 1000)::float8 AS at_ms, username, ip, path, user_agent, outcome, counters
FROM access_log
WHERE prefix = $1 AND ($2::text IS NULL OR username = $2::text) AND ($3::text IS NULL OR ip = $3::text)
  AND ($4::float8 IS NULL OR at >= to_timestamp($4::float8 / 1000.0)) AND ($5::bigint IS NULL OR id < $5::bigint)
ORDER BY id DESC
LIMIT $6`;

export interface AccessLogRow {
  id: string;
  at_ms: number;
  username: string;
  ip: string;
  path: string;
  user_agent: string;
  outcome: string;
  counters: string;
}

export const listAttemptsParams = (prefix: string, { username, ip, sinceMs }: AttemptFilter, after: string | null, limit: number): unknown[] => [
  prefix,
  username ?? null,
  ip ?? null,
  sinceMs ?? null,
  after,
  limit,
];

export const entryOf = (row: AccessLogRow): AttemptEntry => ({
  id: row.id,
  atMs: Math.round(row.at_ms),
  username: row.username,
  ip: row.ip,
  path: row.path,
  userAgent: row.user_agent,
  outcome: row.outcome as AttemptOutcome,
  counters: countersOf(row.counters),
});

/** A history cursor: the id of the last row of the page before, tagged `a:`. */
export const accessLogCursor = {
  after: (id: string): string => `a:${id}`,
  read: (cursor: string | null | undefined): string | null => /^a:([0-9]{1,19})$/.exec(cursor ?? "")?.[1] ?? null,
};

/** $1 prefix, $2 retention in seconds, $3 batch size. Deletes one batch of the prefix's rows older than the retention. */
export const SWEEP_ACCESS_LOG = `
DELETE FROM access_log WHERE id IN (
  SELECT id FROM access_log WHERE prefix = $1 AND at < now() - make_interval(secs => $2::float8) LIMIT $3)`;
