/**
 * Sessions on Upstash first and Postgres when Upstash fails, through the same breaker mechanism as
 * the counters. Revocations and removals go to both stores (Postgres keeps a tombstone even for a
 * session it never saw), and when the circuit half-opens, revocations made on Postgres during the
 * outage are copied into Upstash before it serves again: a revocation holds through an outage of
 * either store.
 */
import { StoreError } from "../store/contract";
import type { CircuitBreaker } from "../store/failover/breaker";
import { Failover } from "../store/failover/runner";
import { logEvent } from "../http/log";
import type { SessionLookup, SessionRecord, SessionStore, StoredSession } from "./contract";
import type { PostgresSessionStore } from "./postgres";

const COPY_BACK_MARGIN_MS = 60_000;

export class FailoverSessionStore implements SessionStore {
  readonly kind: string;
  private readonly failover: Failover;

  constructor(
    private readonly primary: SessionStore,
    private readonly fallback: PostgresSessionStore,
    private readonly breaker: CircuitBreaker,
    /** How long copied revocations are kept in Upstash. */
    private readonly revocationTtlMs: number,
  ) {
    this.kind = `${primary.kind}+${fallback.kind}`;
    this.failover = new Failover(breaker, `sessions:${primary.kind}`, fallback.kind, () => this.copyBack());
  }

  private async copyBack(): Promise<void> {
    let hashes: string[] = [];
    try {
      hashes = await this.fallback.revokedSince((this.breaker.outageStartedAt ?? Date.now()) - COPY_BACK_MARGIN_MS);
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      logEvent("copy_back_skipped", { reason: error.reason, store: "postgres", of: "sessions" }, "warn");
    }
    await this.primary.revoke(hashes, Date.now(), this.revocationTtlMs);
    logEvent("copy_back", { sessions: hashes.length });
  }

  /** Runs on both stores; fails only when both fail. */
  private async both<T>(primary: Promise<T>, fallback: Promise<T>): Promise<T> {
    const [a, b] = await Promise.allSettled([primary, fallback]);
    if (a.status === "fulfilled") return a.value;
    if (b.status === "fulfilled") return b.value;
    throw a.reason instanceof StoreError ? a.reason : b.reason;
  }

  save(hash: string, record: SessionRecord, ttlMs: number): Promise<void> {
    return this.failover.run("session_save", () => this.primary.save(hash, record, ttlMs), () => this.fallback.save(hash, record, ttlMs));
  }

  touch(hash: string, now: number, timeoutMs: number, ttlMs: number): Promise<SessionLookup> {
    return this.failover.run(
      "session_touch",
      () => this.primary.touch(hash, now, timeoutMs, ttlMs),
      () => this.fallback.touch(hash, now, timeoutMs, ttlMs),
    );
  }

  remove(hash: string): Promise<void> {
    return this.both(this.primary.remove(hash), this.fallback.remove(hash));
  }

  async revoke(hashes: readonly string[], now: number, ttlMs: number): Promise<number> {
    const [a, b] = await Promise.allSettled([this.primary.revoke(hashes, now, ttlMs), this.fallback.revoke(hashes, now, ttlMs)]);
    if (a.status === "rejected" && b.status === "rejected") throw a.reason;
    return Math.max(a.status === "fulfilled" ? a.value : 0, b.status === "fulfilled" ? b.value : 0);
  }

  async listUser(username: string): Promise<StoredSession[]> {
    const [a, b] = await Promise.allSettled([this.primary.listUser(username), this.fallback.listUser(username)]);
    if (a.status === "rejected" && b.status === "rejected") throw a.reason;
    const merged = new Map<string, StoredSession>();
    for (const result of [b, a]) if (result.status === "fulfilled") for (const s of result.value) merged.set(s.hash, s);
    return [...merged.values()];
  }
}
