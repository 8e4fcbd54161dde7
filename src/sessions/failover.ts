/**
 * Sessions on Upstash first and Postgres when Upstash fails, through the same Failover (one breaker
 * per Upstash database) as the counters when they share the database. Revocations and removals go
 * to both stores (Postgres keeps a tombstone even for a session it never saw). When the circuit
 * half-opens, the probe copies into Upstash the revocations made on Postgres during the outage and
 * the sessions recorded or slid there: a revocation holds, and a session created, through an outage.
 */
import type { Failover } from "../store/failover/runner";
import type { RequestScope } from "../store/failover/scope";
import type { SessionLookup, SessionRecord, SessionStore, StoredSession } from "./contract";
import type { PostgresSessionStore } from "./postgres";
import type { UpstashSessionStore } from "./upstash";

export class FailoverSessionStore implements SessionStore {
  readonly kind: string;

  constructor(
    private readonly primary: UpstashSessionStore,
    private readonly fallback: PostgresSessionStore,
    private readonly failover: Failover,
    /** How long copied revocations are kept in Upstash. */
    private readonly revocationTtlMs: number,
    private readonly scope: RequestScope | null = null,
  ) {
    this.kind = `${primary.kind}+${fallback.kind}`;
    if (scope === null) failover.addCopyBack("sessions", (sinceMs) => this.copyBack(sinceMs));
  }

  /** This store as one request sees it: backends that failed once in the request are skipped after. */
  forRequest(scope: RequestScope): FailoverSessionStore {
    return new FailoverSessionStore(this.primary, this.fallback, this.failover, this.revocationTtlMs, scope);
  }

  private async copyBack(sinceMs: number): Promise<Record<string, number>> {
    const revoked = await this.fallback.revokedSince(sinceMs);
    const saved = await this.fallback.savedSince(sinceMs);
    await this.primary.restore(saved);
    await this.primary.revoke(revoked, Date.now(), this.revocationTtlMs);
    return { sessions: saved.length, revocations: revoked.length };
  }

  /** Runs on both stores at once; fails only when both fail. */
  private async both<T>(operation: string, onPrimary: () => Promise<T>, onFallback: () => Promise<T>, combine: (a: T | undefined, b: T | undefined) => T): Promise<T> {
    const [a, b] = await Promise.allSettled([this.failover.primaryOnly(operation, this.scope, onPrimary), this.failover.fallback(this.scope, onFallback)]);
    const primary = a.status === "fulfilled" ? a.value : undefined;
    if (primary === undefined && b.status === "rejected") throw b.reason;
    return combine(primary, b.status === "fulfilled" ? b.value : undefined);
  }

  save(hash: string, record: SessionRecord, ttlMs: number): Promise<void> {
    return this.failover.run("session_save", this.scope, () => this.primary.save(hash, record, ttlMs), () => this.fallback.save(hash, record, ttlMs));
  }

  touch(hash: string, now: number, timeoutMs: number, ttlMs: number): Promise<SessionLookup> {
    return this.failover.run(
      "session_touch",
      this.scope,
      () => this.primary.touch(hash, now, timeoutMs, ttlMs),
      () => this.fallback.touch(hash, now, timeoutMs, ttlMs),
    );
  }

  remove(hash: string): Promise<void> {
    return this.both("session_remove", () => this.primary.remove(hash).then(() => true as const), () => this.fallback.remove(hash).then(() => true as const), () => true).then(() => {});
  }

  /**
   * Answers the sessions revoked. Sessions are recorded on Upstash, so with Upstash answering its count
   * stands (or Postgres', if higher: sessions recorded there during an outage). With Upstash down,
   * Postgres cannot tell a session recorded on Upstash from one never seen: every hash it refuses from
   * now on counts, since that revocation took effect.
   */
  async revoke(hashes: readonly string[], now: number, ttlMs: number): Promise<number> {
    const counted = await this.both(
      "session_revoke",
      async () => ({ revoked: await this.primary.revoke(hashes, now, ttlMs), refused: 0 }),
      () => this.fallback.revokeCounting(hashes, now, ttlMs),
      (a, b) => ({ revoked: a ? Math.max(a.revoked, b?.revoked ?? 0) : (b?.refused ?? 0), refused: 0 }),
    );
    return counted.revoked;
  }

  listUser(username: string): Promise<StoredSession[]> {
    return this.both(
      "session_list",
      () => this.primary.listUser(username),
      () => this.fallback.listUser(username),
      (a, b) => {
        const merged = new Map<string, StoredSession>();
        for (const s of [...(b ?? []), ...(a ?? [])]) merged.set(s.hash, s);
        return [...merged.values()];
      },
    );
  }
}
