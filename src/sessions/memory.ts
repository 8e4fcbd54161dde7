/** Sessions in isolate memory: development only, like the in-memory counter store. */
import type { Session, SessionLookup, SessionStore, StoredSession } from "../store/session-contract";
import { revokedTombstone } from "./record";

export class MemorySessionStore implements SessionStore {
  readonly kind = "memory";
  private readonly sessions = new Map<string, { session: Session; expiresAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  private live(hash: string) {
    const entry = this.sessions.get(hash);
    if (entry && entry.expiresAt <= this.now()) this.sessions.delete(hash);
    return this.sessions.get(hash);
  }

  async save(hash: string, session: Session, ttlMs: number): Promise<void> {
    this.sessions.set(hash, { session, expiresAt: this.now() + ttlMs });
  }

  async touch(hash: string, now: number, timeoutMs: number, ttlMs: number): Promise<SessionLookup> {
    const entry = this.live(hash);
    if (!entry) return { state: "unknown", user: null };
    if (entry.session.revokedAtMs !== null) return { state: "revoked", user: null };
    if (now - entry.session.lastSeenAtMs > timeoutMs) return { state: "expired", user: null };
    this.sessions.set(hash, { session: { ...entry.session, lastSeenAtMs: now }, expiresAt: this.now() + ttlMs });
    return { state: "active", user: entry.session.username };
  }

  async remove(hash: string): Promise<void> {
    this.sessions.delete(hash);
  }

  async revoke(hashes: readonly string[], now: number, ttlMs: number): Promise<number> {
    let revoked = 0;
    for (const hash of hashes) {
      const entry = this.live(hash);
      // A session never recorded gets a revoked tombstone, not counted: its cookie is refused from now on.
      if (!entry) this.sessions.set(hash, { session: revokedTombstone(now), expiresAt: this.now() + ttlMs });
      if (!entry || entry.session.revokedAtMs !== null) continue;
      this.sessions.set(hash, { session: { ...entry.session, revokedAtMs: now }, expiresAt: this.now() + ttlMs });
      revoked += 1;
    }
    return revoked;
  }

  async listUser(username: string): Promise<StoredSession[]> {
    return [...this.sessions.keys()].flatMap((hash) => {
      const entry = this.live(hash);
      return entry && entry.session.username === username ? [{ hash, ...entry.session }] : [];
    });
  }
}
