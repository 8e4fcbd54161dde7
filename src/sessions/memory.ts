/** Sessions in isolate memory: development only, like the in-memory counter store. */
import type { SessionLookup, SessionRecord, SessionStore, StoredSession } from "./contract";

export class MemorySessionStore implements SessionStore {
  readonly kind = "memory";
  private readonly sessions = new Map<string, { record: SessionRecord; expiresAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  private live(hash: string) {
    const entry = this.sessions.get(hash);
    if (entry && entry.expiresAt <= this.now()) this.sessions.delete(hash);
    return this.sessions.get(hash);
  }

  async save(hash: string, record: SessionRecord, ttlMs: number): Promise<void> {
    this.sessions.set(hash, { record, expiresAt: this.now() + ttlMs });
  }

  async touch(hash: string, now: number, timeoutMs: number, ttlMs: number): Promise<SessionLookup> {
    const entry = this.live(hash);
    if (!entry) return { state: "unknown", user: null };
    if (entry.record.r !== undefined) return { state: "revoked", user: null };
    if (now - entry.record.s > timeoutMs) return { state: "expired", user: null };
    this.sessions.set(hash, { record: { ...entry.record, s: now }, expiresAt: this.now() + ttlMs });
    return { state: "active", user: entry.record.u };
  }

  async remove(hash: string): Promise<void> {
    this.sessions.delete(hash);
  }

  async revoke(hashes: readonly string[], now: number, ttlMs: number): Promise<number> {
    let revoked = 0;
    for (const hash of hashes) {
      const entry = this.live(hash);
      // A session never recorded gets a revoked tombstone, not counted: its cookie is refused from now on.
      if (!entry) this.sessions.set(hash, { record: { u: "", ip: "", c: 0, s: 0, r: now }, expiresAt: this.now() + ttlMs });
      if (!entry || entry.record.r !== undefined) continue;
      this.sessions.set(hash, { record: { ...entry.record, r: now }, expiresAt: this.now() + ttlMs });
      revoked += 1;
    }
    return revoked;
  }

  async listUser(username: string): Promise<StoredSession[]> {
    return [...this.sessions.keys()].flatMap((hash) => {
      const entry = this.live(hash);
      return entry && entry.record.u === username ? [{ hash, record: entry.record }] : [];
    });
  }
}
