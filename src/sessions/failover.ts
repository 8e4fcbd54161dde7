/**
 * Sessions on Upstash first and Postgres when Upstash fails, through the same Failover (one breaker
 * per Upstash database) as the counters when they share the database. Revocations and removals go
 * to both stores (`writeBoth`: Postgres keeps a tombstone even for a session it never saw). When the
 * circuit half-opens, the probe copies into Upstash the revocations made on Postgres during the
 * outage and the sessions recorded or slid there: a revocation holds, and a session created, through
 * an outage.
 */
import type { Failover } from "../store/failover/runner";
import type { RequestScope } from "../store/failover/scope";
import type { Session, SessionLookup, SessionStore, StoredSession } from "../store/session-contract";
import type { PostgresSessionStore } from "./postgres";
import type { UpstashSessionStore } from "./upstash";

/** What a failover session store is built from. */
export interface FailoverSessionStoreOptions {
  readonly primary: UpstashSessionStore;
  readonly fallback: PostgresSessionStore;
  readonly failover: Failover;
  /** How long copied revocations are kept in Upstash. */
  readonly revocationTtlMs: number;
  /** @default Date.now */
  readonly now?: () => number;
}

export class FailoverSessionStore implements SessionStore {
  readonly kind: string;
  private readonly primary: UpstashSessionStore;
  private readonly fallback: PostgresSessionStore;
  private readonly failover: Failover;
  private readonly now: () => number;

  constructor(
    private readonly options: FailoverSessionStoreOptions,
    private readonly scope: RequestScope | null = null,
  ) {
    ({ primary: this.primary, fallback: this.fallback, failover: this.failover } = options);
    this.now = options.now ?? (() => Date.now());
    this.kind = `${this.primary.kind}+${this.fallback.kind}`;
    if (scope === null) this.failover.addCopyBack("sessions", (sinceMs) => this.copyBack(sinceMs));
  }

  /** This store as one request sees it: backends that failed once in the request are skipped after. */
  forRequest(scope: RequestScope): FailoverSessionStore {
    return new FailoverSessionStore(this.options, scope);
  }

  private async copyBack(sinceMs: number): Promise<Record<string, number>> {
    const revoked = await this.fallback.revokedSince(sinceMs);
    const saved = await this.fallback.savedSince(sinceMs);
    await this.primary.restore(saved);
    await this.primary.revoke(revoked, this.now(), this.options.revocationTtlMs);
    return { sessions: saved.length, revocations: revoked.length };
  }

  save(hash: string, session: Session, ttlMs: number): Promise<void> {
    return this.failover.run("session_save", this.scope, () => this.primary.save(hash, session, ttlMs), () => this.fallback.save(hash, session, ttlMs));
  }

  touch(hash: string, now: number, timeoutMs: number, ttlMs: number): Promise<SessionLookup> {
    return this.failover.run(
      "session_touch",
      this.scope,
      () => this.primary.touch(hash, now, timeoutMs, ttlMs),
      () => this.fallback.touch(hash, now, timeoutMs, ttlMs),
    );
  }

  async remove(hash: string): Promise<void> {
    await this.failover.writeBoth("session_remove", this.scope, () => this.primary.remove(hash), () => this.fallback.remove(hash));
  }

  /**
   * Answers the sessions revoked. Sessions are recorded on Upstash, so with Upstash answering its count
   * stands (or Postgres', if higher: sessions recorded there during an outage). With Upstash down,
   * Postgres cannot tell a session recorded on Upstash from one never seen: every hash it refuses from
   * now on counts, since that revocation took effect.
   */
  async revoke(hashes: readonly string[], now: number, ttlMs: number): Promise<number> {
    const { primary, fallback } = await this.failover.writeBoth(
      "session_revoke",
      this.scope,
      () => this.primary.revoke(hashes, now, ttlMs),
      () => this.fallback.revokeCounting(hashes, now, ttlMs),
    );
    return primary !== undefined ? Math.max(primary, fallback?.revoked ?? 0) : (fallback?.refused ?? 0);
  }

  async listUser(username: string): Promise<StoredSession[]> {
    const { primary, fallback } = await this.failover.writeBoth("session_list", this.scope, () => this.primary.listUser(username), () => this.fallback.listUser(username));
    const merged = new Map<string, StoredSession>();
    for (const session of [...(fallback ?? []), ...(primary ?? [])]) merged.set(session.hash, session);
    return [...merged.values()];
  }
}
