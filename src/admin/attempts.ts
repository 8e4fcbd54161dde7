/**
 * The attempt history for operators (django-axes' `axes_list_attempts` and its AccessLog admin): a
 * filtered, paged listing, and failures per minute over the last hour for the dashboard's chart.
 * Filters are read the way the lockout counts: the username normalised (AXES_USERNAME_CASE_SENSITIVE),
 * the IP in its canonical spelling.
 */
import { parseAddress } from "../client/address";
import { parseDurationSeconds } from "../config/duration";
import { historyUsername } from "../lockout/history";
import { normaliseUsername } from "../lockout/keys";
import type { LockoutSettings } from "../lockout/settings";
import type { AttemptEntry, AttemptFilter, AttemptHistory } from "../store/history";
import { AdminInputError } from "./lockouts";

/** Entries per page of the listing, unless the caller asks for fewer. @default 100 */
export const ATTEMPTS_PAGE = 100;
const ATTEMPTS_PAGE_MAX = 1000;
/** The chart reads at most this many entries of the last hour (newest first); it says when it stopped short. */
const CHART_MAX_ENTRIES = 20_000;
const MAX_CURSOR = 2048;

/** The filters as the API and the dashboard take them: text, as typed. */
export interface AttemptQuery {
  readonly username?: string;
  readonly ip?: string;
  /** A duration back from now: `1h`, `30m`, `2d`. */
  readonly since?: string;
}

/** An attempt as the admin API shows it. */
export interface AttemptView {
  readonly time: string;
  readonly username: string;
  readonly ip: string;
  readonly path: string;
  readonly user_agent: string;
  readonly outcome: string;
  readonly counters: readonly string[];
}

/** Failures per minute of the last hour: 60 counts, oldest minute first. */
export interface FailureChart {
  /** Epoch ms of the start of the first minute. */
  readonly startMs: number;
  readonly failures: readonly number[];
  /** Locked refusals per minute, alongside. */
  readonly locked: readonly number[];
  /** The hour held more entries than the chart reads. */
  readonly truncated: boolean;
}

const view = (entry: AttemptEntry): AttemptView => ({
  time: new Date(entry.atMs).toISOString(),
  username: entry.username,
  ip: entry.ip,
  path: entry.path,
  user_agent: entry.userAgent,
  outcome: entry.outcome,
  counters: entry.counters,
});

export class AttemptAdmin {
  constructor(
    private readonly history: AttemptHistory,
    private readonly settings: LockoutSettings,
    private readonly keyPrefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The store filter for a query; AdminInputError names a bad field. */
  async filterOf(query: AttemptQuery): Promise<AttemptFilter> {
    const filter: { username?: string; ip?: string; sinceMs?: number } = {};
    if (query.username !== undefined) {
      const username = normaliseUsername(query.username, this.settings.usernameCaseSensitive);
      if (username === "") throw new AdminInputError('"username" is empty once normalised');
      filter.username = await historyUsername(username);
    }
    if (query.ip !== undefined) {
      const address = parseAddress(query.ip);
      if (address === undefined) throw new AdminInputError('"ip" is not an IP address');
      filter.ip = address.text;
    }
    if (query.since !== undefined) {
      let seconds: number;
      try {
        seconds = parseDurationSeconds(query.since);
      } catch (error) {
        throw new AdminInputError(`"since" ${(error as Error).message} (for example 1h or 30m)`);
      }
      filter.sinceMs = this.now() - seconds * 1000;
    }
    return filter;
  }

  /** One page of attempts, newest first; `cursor` continues it. */
  async list(query: AttemptQuery, cursor: string | null, limit = ATTEMPTS_PAGE): Promise<{ attempts: AttemptView[]; cursor: string | null }> {
    if (cursor !== null && (cursor === "" || cursor.length > MAX_CURSOR)) throw new AdminInputError('"cursor" is not one this API gave out');
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > ATTEMPTS_PAGE_MAX) throw new AdminInputError(`"limit" must be a whole number from 1 to ${ATTEMPTS_PAGE_MAX}`);
    const page = await this.history.listAttempts(this.keyPrefix, await this.filterOf(query), limit, cursor);
    return { attempts: page.attempts.map(view), cursor: page.cursor };
  }

  /** Failures (and locked refusals) per minute over the last hour, for the query's username and IP. */
  async chart(query: Omit<AttemptQuery, "since">): Promise<FailureChart> {
    const now = this.now();
    const startMs = Math.floor(now / 60_000) * 60_000 - 59 * 60_000;
    const filter = { ...(await this.filterOf(query)), sinceMs: startMs };
    const failures = new Array<number>(60).fill(0);
    const locked = new Array<number>(60).fill(0);
    let read = 0;
    let cursor: string | null = null;
    do {
      const page = await this.history.listAttempts(this.keyPrefix, filter, ATTEMPTS_PAGE_MAX, cursor);
      for (const entry of page.attempts) {
        const minute = Math.floor((entry.atMs - startMs) / 60_000);
        if (minute < 0 || minute > 59) continue;
        if (entry.outcome === "failure") failures[minute]! += 1;
        if (entry.outcome === "locked") locked[minute]! += 1;
      }
      read += page.attempts.length;
      cursor = page.cursor;
    } while (cursor !== null && read < CHART_MAX_ENTRIES);
    return { startMs, failures, locked, truncated: cursor !== null };
  }
}
