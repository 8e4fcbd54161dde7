/**
 * The attempt history on Postgres: the counting statements get one more data-modifying CTE that
 * appends to `access_log` (migrations/0005_access_log.sql), so a history row costs no statement of
 * its own. Its parameters come after the statement's own: the key prefix, then one array per field.
 * That CTE is raw SQL spliced into the counting statements' text; the listing and the sweep go through
 * drizzle's query builder.
 */
import { and, desc, eq, gte, inArray, lt, sql as raw } from "drizzle-orm";
import type { AttemptEntry, AttemptFilter, AttemptNote, AttemptOutcome } from "../history";
import { countersOf, countersText } from "../history";
import { accessLog } from "./schema";
import type { CounterDb } from "./statements";

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

/** The prefix's rows matching `filter`, after the row with id `after` (null = the newest), newest first. */
export const listAttempts = (db: CounterDb, prefix: string, { username, ip, sinceMs }: AttemptFilter, after: string | null, limit: number) =>
  db
    .select({
      // A bigint id as text: it may not fit a JS number.
      id: raw<string>`${accessLog.id}::text`,
      at_ms: raw<number>`(extract(epoch FROM ${accessLog.at}) * 1000)::float8`,
      username: accessLog.username,
      ip: accessLog.ip,
      path: accessLog.path,
      user_agent: accessLog.userAgent,
      outcome: accessLog.outcome,
      counters: accessLog.counters,
    })
    .from(accessLog)
    .where(
      and(
        eq(accessLog.prefix, prefix),
        username == null ? undefined : eq(accessLog.username, username),
        ip == null ? undefined : eq(accessLog.ip, ip),
        sinceMs == null ? undefined : gte(accessLog.at, raw`to_timestamp(${sinceMs}::float8 / 1000.0)`),
        after === null ? undefined : lt(accessLog.id, raw`${after}::bigint`),
      ),
    )
    .orderBy(desc(accessLog.id))
    .limit(limit);

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

/** Deletes one batch (`batchSize` rows) of the prefix's rows older than `retentionSeconds`; answers their ids. */
export const sweepAccessLog = (db: CounterDb, prefix: string, retentionSeconds: number, batchSize: number) => {
  const old = db
    .select({ id: accessLog.id })
    .from(accessLog)
    .where(and(eq(accessLog.prefix, prefix), lt(accessLog.at, raw`now() - make_interval(secs => ${retentionSeconds}::float8)`)))
    .limit(batchSize);
  return db.delete(accessLog).where(inArray(accessLog.id, old)).returning({ id: accessLog.id });
};
