/** What the origin has seen since it started or was last reset. */
export interface OriginStats {
  /** Every request except reads and resets of the stats themselves. */
  requests: number;
  /** Login POSTs by path, e.g. `{ "/accounts/login/": 3 }`. */
  loginAttempts: Record<string, number>;
  /** Headers (lowercased names) of the most recent login POST. */
  lastLoginHeaders: Record<string, string> | null;
}

/** Counts requests and login attempts; hands out copies so callers cannot change the counts. */
export class StatsRecorder {
  private requests = 0;
  private loginAttempts = new Map<string, number>();
  private lastLoginHeaders: Record<string, string> | null = null;

  /** Counts one request. */
  countRequest(): void {
    this.requests += 1;
  }

  /** Counts one login POST to `path` and keeps its headers. */
  recordLogin(path: string, headers: Record<string, string>): void {
    this.loginAttempts.set(path, (this.loginAttempts.get(path) ?? 0) + 1);
    this.lastLoginHeaders = headers;
  }

  /** A copy of the current stats. */
  snapshot(): OriginStats {
    return {
      requests: this.requests,
      loginAttempts: Object.fromEntries(this.loginAttempts),
      lastLoginHeaders: this.lastLoginHeaders === null ? null : { ...this.lastLoginHeaders },
    };
  }

  /** Forgets everything counted so far. */
  reset(): void {
    this.requests = 0;
    this.loginAttempts = new Map();
    this.lastLoginHeaders = null;
  }
}
