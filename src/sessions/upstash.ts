/** Sessions in Upstash: one JSON string per session, a set per user. Touch is one Lua script. */
import type { Redis } from "@upstash/redis/cloudflare";
import { upstashCall } from "../store/upstash";
import type { SessionLookup, SessionRecord, SessionState, SessionStore, StoredSession } from "./contract";
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

export class UpstashSessionStore implements SessionStore {
  readonly kind = "upstash";
  private readonly touchScript;
  private readonly revokeScript;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    this.touchScript = redis.createScript<[SessionState, string?]>(TOUCH_SCRIPT);
    this.revokeScript = redis.createScript<number>(REVOKE_SCRIPT);
  }

  async save(hash: string, record: SessionRecord, ttlMs: number): Promise<void> {
    const index = userIndexKey(this.prefix, record.u);
    await upstashCall(() =>
      this.redis.multi().set(sessionKey(this.prefix, hash), JSON.stringify(record), { px: ttlMs }).sadd(index, hash).pexpire(index, ttlMs).exec(),
    );
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
    return hashes.flatMap((hash, i) => (raws[i] ? [{ hash, record: JSON.parse(raws[i]!) as SessionRecord }] : []));
  }
}
