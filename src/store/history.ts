/**
 * The attempt history's contract (django-axes' AccessAttempt / AccessLog, at the edge): each counted
 * login attempt is appended by the very script or statement that counts it, so keeping a history
 * costs no round trip of its own. Upstash keeps a capped stream per key prefix (`XADD ... MAXLEN ~`),
 * Postgres an `access_log` table the cron sweeps, memory an array. No password is ever part of a
 * record; the user agent is a digest.
 */

/**
 * What became of an attempt:
 * - `failure`: the origin said the password was wrong (a confirmed failure, also one the origin
 *   reported after the fact);
 * - `success`: the origin said it was right;
 * - `locked`: refused at the edge while the client was locked;
 * - `unknown`: neither (a 404, a 5xx, a success without a session cookie): given back, not counted.
 */
export type AttemptOutcome = "failure" | "success" | "locked" | "unknown";

/** One attempt as it is written: who, from where, to which path, and what became of it. */
export interface AttemptRecord {
  /** As the lockout counts it (normalised); a very long one as its key digest (`sha256:…`); "" = none. */
  readonly username: string;
  /** The client's address as seen (an IPv6 client's full address, not its counted network). */
  readonly ip: string;
  readonly path: string;
  /** First 16 bytes of the user agent's SHA-256, as in `user_agent` counter keys. */
  readonly userAgent: string;
  readonly outcome: AttemptOutcome;
  /** The counters the attempt is counted on, without `<prefix>:lockout:`. */
  readonly counters: readonly string[];
}

/** Where a store appends records: the key prefix's history, capped at `maxEntries` (Upstash's stream). */
export interface HistoryTarget {
  readonly prefix: string;
  readonly maxEntries: number;
}

/** Records to append with a counting call, and where. */
export interface AttemptNote {
  readonly target: HistoryTarget;
  readonly records: readonly AttemptRecord[];
}

/** A record read back, with the time the store wrote it. */
export interface AttemptEntry extends AttemptRecord {
  /** Epoch milliseconds, by the store's clock. */
  readonly atMs: number;
  /** The store's id of the entry (a stream id, a row id). */
  readonly id: string;
}

/** Which records a listing answers; every field given must match. */
export interface AttemptFilter {
  readonly username?: string;
  readonly ip?: string;
  /** Epoch milliseconds; records written before are left out. */
  readonly sinceMs?: number;
}

/** One page of history, newest first; `cursor` continues it (null = no more). */
export interface AttemptPage {
  readonly attempts: AttemptEntry[];
  /** Opaque, meaningful only to the store kind that gave it; another kind's cursor starts again. */
  readonly cursor: string | null;
}

/** A store that keeps the history its counting calls append. */
export interface AttemptHistory {
  /** One page of `prefix`'s records, newest first, at most `limit`; a page may be short (even empty) with a cursor. */
  listAttempts(prefix: string, filter: AttemptFilter, limit: number, cursor?: string | null): Promise<AttemptPage>;
}

/** The counters a record names, as one space-separated text (keys hold no spaces: they are percent-encoded). */
export const countersText = (counters: readonly string[]): string => counters.join(" ");
export const countersOf = (text: string): string[] => (text === "" ? [] : text.split(" "));

/** Whether a record passes a filter (the memory store, and tests). */
export const matchesFilter = (entry: AttemptEntry, { username, ip, sinceMs }: AttemptFilter): boolean =>
  (username === undefined || entry.username === username) && (ip === undefined || entry.ip === ip) && (sinceMs === undefined || entry.atMs >= sinceMs);
