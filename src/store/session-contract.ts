/**
 * The edge session registry's storage contract: Upstash (optionally its own database), Postgres
 * (the same cache table), memory in development, and a failover wrapper, like the counters.
 */

/**
 * A session the gateway saw being created by a successful login, as the registry, the admin API and
 * the stores' callers speak of it. How a store keeps it (the short JSON of src/sessions/record.ts) stays inside
 * the store.
 */
export interface Session {
  /** Normalised username. */
  readonly username: string;
  /** Client IP at login. */
  readonly ip: string;
  /** Created, epoch ms. */
  readonly createdAtMs: number;
  /** Last seen, epoch ms. */
  readonly lastSeenAtMs: number;
  /** Revoked at, epoch ms; null while not revoked. */
  readonly revokedAtMs: number | null;
}

/** What the registry knows of a session cookie. Only "revoked" and "expired" are acted on. */
export type SessionState = "active" | "revoked" | "expired" | "unknown";

/** A session lookup: its state, and its user when active. */
export interface SessionLookup {
  readonly state: SessionState;
  readonly user: string | null;
}

/** A session and the key it is stored under. */
export interface StoredSession extends Session {
  /** SHA-256 of the session id, hex. */
  readonly hash: string;
}

export interface SessionStore {
  readonly kind: string;
  /** Records a session (and indexes it under its user) for `ttlMs`. */
  save(hash: string, session: Session, ttlMs: number): Promise<void>;
  /**
   * One round trip: reads the session and, when active, slides its last-seen time to `now` and its
   * expiry to `ttlMs`. A session not seen for `timeoutMs` is expired.
   */
  touch(hash: string, now: number, timeoutMs: number, ttlMs: number): Promise<SessionLookup>;
  /** Deletes a session (logout). */
  remove(hash: string): Promise<void>;
  /** Marks sessions revoked, kept for `ttlMs` so the edge keeps refusing them; answers how many. */
  revoke(hashes: readonly string[], now: number, ttlMs: number): Promise<number>;
  /** The sessions indexed under a user. */
  listUser(username: string): Promise<StoredSession[]>;
}
