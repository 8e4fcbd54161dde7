/**
 * A session as the stores keep it: short JSON, one per session in Redis and in the Postgres cache
 * table, read by the Lua scripts (./upstash.ts) and the SQL (./postgres.ts) under these names. The
 * mapping to the `Session` the rest of the gateway speaks happens here, at the store's edge.
 */
import type { Session } from "../store/session-contract";

/** The stored JSON: `u` user, `ip`, `c` created, `s` last seen, `r` revoked (epoch ms). */
export interface SessionRecord {
  readonly u: string;
  readonly ip: string;
  readonly c: number;
  readonly s: number;
  readonly r?: number;
}

/** The stored JSON of a session. */
export function recordJson({ username, ip, createdAtMs, lastSeenAtMs, revokedAtMs }: Session): string {
  const record: SessionRecord = { u: username, ip, c: createdAtMs, s: lastSeenAtMs, ...(revokedAtMs === null ? {} : { r: revokedAtMs }) };
  return JSON.stringify(record);
}

/** The session a stored JSON holds. */
export function sessionFromJson(json: string): Session {
  const { u, ip, c, s, r } = JSON.parse(json) as SessionRecord;
  return { username: u, ip, createdAtMs: c, lastSeenAtMs: s, revokedAtMs: r ?? null };
}

/** What a store keeps for a session it never saw when it is revoked: refused from then on, not counted. */
export const revokedTombstone = (now: number): Session => ({ username: "", ip: "", createdAtMs: 0, lastSeenAtMs: 0, revokedAtMs: now });
