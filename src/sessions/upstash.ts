/**
 * Sessions in Upstash: one JSON string per session, a set per user. Save, touch and restore are one
 * Lua script each; saving prunes the user's set of sessions whose record is gone (logged out or
 * past its expiry), so the set holds live and revoked sessions only.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { upstashCall } from "../store/upstash";
import type { BatchedScript, ScriptBatch } from "../store/upstash/batch";
import type { Session, SessionLookup, SessionState, SessionStore, StoredSession } from "../store/session-contract";
import { recordJson, sessionFromJson } from "./record";
import { sessionKey, userIndexKey } from "./keys";

/** KEYS: the session. ARGV: now, timeout ms, ttl ms. Answers { state, user if active }; slides an active session. */
const TOUCH_SCRIPT = `
local raw = redis.call("GET", KEYS[1])
if not raw then return {"unknown"} end
local record = cjson.decode(raw)
if record.r then return {"revoked"} end
local now = tonumber(ARGV[1])
if now - record.s > tonumber(ARGV[2]) then return {"expired"} end
record.s = now
redis.call("SET", KEYS[1], cjson.encode(record), "PX", ARGV[3])
return {"active", record.u}
`.trim();

/**
 * KEYS: the session, the user's set. ARGV: record JSON, ttl ms, session hash, session key prefix.
 * Records the session, adds it to the set and drops members whose record no longer exists.
 */
const SAVE_SCRIPT = `
redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
for _, member in ipairs(redis.call("SMEMBERS", KEYS[2])) do
  if redis.call("EXISTS", ARGV[4] .. member) == 0 then redis.call("SREM", KEYS[2], member) end
end
redis.call("SADD", KEYS[2], ARGV[3])
if redis.call("PTTL", KEYS[2]) < tonumber(ARGV[2]) then redis.call("PEXPIRE", KEYS[2], ARGV[2]) end
return 1
`.trim();

/**
 * KEYS: per session, its key and its user's set. ARGV: per session, record JSON, ttl ms, hash.
 * Copies sessions recorded elsewhere (Postgres during an outage): a revoked record is never
 * replaced, nor one seen more recently.
 */
const RESTORE_SCRIPT = `
local restored = 0
for i = 1, #KEYS, 2 do
  local j = (i - 1) / 2 * 3
  local record = cjson.decode(ARGV[j + 1])
  local raw = redis.call("GET", KEYS[i])
  local current = raw and cjson.decode(raw)
  if not current or (not current.r and (current.s or 0) < record.s) then
    redis.call("SET", KEYS[i], ARGV[j + 1], "PX", ARGV[j + 2])
    redis.call("SADD", KEYS[i + 1], ARGV[j + 3])
    if redis.call("PTTL", KEYS[i + 1]) < tonumber(ARGV[j + 2]) then redis.call("PEXPIRE", KEYS[i + 1], ARGV[j + 2]) end
    restored = restored + 1
  end
end
return restored
`.trim();

/** Sessions per RESTORE_SCRIPT call, so one copy-back never sends an unbounded script call. */
const RESTORE_BATCH = 200;

/** A session as copied between stores, with the time it has left. */
export interface SessionCopy extends StoredSession {
  readonly ttlMs: number;
}

/**
 * KEYS: sessions. ARGV: now, ttl ms. Marks each existing, unrevoked session revoked, answering how
 * many; a session never recorded gets a revoked tombstone (not counted), so its cookie is refused
 * from now on, as the Postgres store does.
 */
const REVOKE_SCRIPT = `
local revoked = 0
for _, key in ipairs(KEYS) do
  local raw = redis.call("GET", key)
  if raw then
    local record = cjson.decode(raw)
    if not record.r then
      record.r = tonumber(ARGV[1])
      redis.call("SET", key, cjson.encode(record), "PX", ARGV[2])
      revoked = revoked + 1
    end
  else
    redis.call("SET", key, cjson.encode({u = "", ip = "", c = 0, s = 0, r = tonumber(ARGV[1])}), "PX", ARGV[2])
  end
end
return revoked
`.trim();

/** Where Upstash sessions live. */
export interface UpstashSessionStoreOptions {
  readonly redis: Redis;
  /** CACHE_KEY_PREFIX: sessions are kept under `<prefix>_sessions:`. */
  readonly prefix: string;
  /** The counters' batch when they share this database: a login's session record travels with its give-back. */
  readonly batch?: ScriptBatch;
}

export class UpstashSessionStore implements SessionStore {
  readonly kind = "upstash";
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly touchScript;
  private readonly revokeScript;
  private readonly saveScript: BatchedScript<number>;
  private readonly restoreScript;

  constructor({ redis, prefix, batch }: UpstashSessionStoreOptions) {
    this.redis = redis;
    this.prefix = prefix;
    this.touchScript = redis.createScript<[SessionState, string?]>(TOUCH_SCRIPT);
    this.revokeScript = redis.createScript<number>(REVOKE_SCRIPT);
    this.saveScript = batch ? batch.script<number>(SAVE_SCRIPT) : redis.createScript<number>(SAVE_SCRIPT);
    this.restoreScript = redis.createScript<number>(RESTORE_SCRIPT);
  }

  async save(hash: string, session: Session, ttlMs: number): Promise<void> {
    const keys = [sessionKey(this.prefix, hash), userIndexKey(this.prefix, session.username)];
    await upstashCall(() => this.saveScript.exec(keys, [recordJson(session), String(Math.ceil(ttlMs)), hash, sessionKey(this.prefix, "")]));
  }

  /** Copies sessions recorded elsewhere in, never over a revoked or more recently seen record; answers how many. */
  async restore(sessions: readonly SessionCopy[]): Promise<number> {
    let restored = 0;
    for (let start = 0; start < sessions.length; start += RESTORE_BATCH) {
      const batch = sessions.slice(start, start + RESTORE_BATCH);
      const keys = batch.flatMap(({ hash, username }) => [sessionKey(this.prefix, hash), userIndexKey(this.prefix, username)]);
      const args = batch.flatMap(({ hash, ttlMs, ...session }) => [recordJson(session), String(Math.max(1, Math.ceil(ttlMs))), hash]);
      restored += await upstashCall(() => this.restoreScript.exec(keys, args));
    }
    return restored;
  }

  async touch(hash: string, now: number, timeoutMs: number, ttlMs: number): Promise<SessionLookup> {
    const [state, user] = await upstashCall(() => this.touchScript.exec([sessionKey(this.prefix, hash)], [String(now), String(timeoutMs), String(ttlMs)]));
    return { state, user: user ?? null };
  }

  async remove(hash: string): Promise<void> {
    await upstashCall(() => this.redis.del(sessionKey(this.prefix, hash)));
  }

  async revoke(hashes: readonly string[], now: number, ttlMs: number): Promise<number> {
    if (hashes.length === 0) return 0;
    return upstashCall(() => this.revokeScript.exec(hashes.map((h) => sessionKey(this.prefix, h)), [String(now), String(ttlMs)]));
  }

  async listUser(username: string): Promise<StoredSession[]> {
    const hashes = await upstashCall(() => this.redis.smembers<string[]>(userIndexKey(this.prefix, username)));
    if (hashes.length === 0) return [];
    const raws = await upstashCall(() => this.redis.mget<(string | null)[]>(...hashes.map((h) => sessionKey(this.prefix, h))));
    return hashes.flatMap((hash, i) => (raws[i] ? [{ hash, ...sessionFromJson(raws[i]!) }] : []));
  }
}
