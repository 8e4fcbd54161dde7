/**
 * The Lua scripts behind the Upstash counter store. Each runs atomically inside Redis, so a burst of
 * concurrent attempts is serialised there: with a limit of 3, exactly 3 reservations succeed and
 * every later one is held (busy) until they settle, then sees the lock. (django-axes checks and counts in two steps, and lets 15-20 of 100
 * concurrent attempts through: its issue 592.)
 */

/** Redis's clock in epoch ms; reservations expire by it, so every isolate agrees on when. */
const NOW = `local clock = redis.call("TIME")
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)`;

/**
 * A counter's expiry after a counted failure: the cool-off (ttl ms) when there is one; otherwise none
 * once it reached \`keep\` (the limit; 0 = it never locks), and the idle time (ms) below it.
 */
const EXPIRE = `local function expire(key, count, ttl, keep, idle)
  if ttl > 0 then redis.call("PEXPIRE", key, ttl)
  elseif keep > 0 and count >= keep then redis.call("PERSIST", key)
  else redis.call("PEXPIRE", key, idle) end
end`;

/**
 * KEYS: n counters (confirmed failures), then their n reservation sets (sorted sets: reservation id
 * scored by its expiry in epoch ms). ARGV: limit, ttl in ms (0 = never expires), lock (1/0), count
 * while locked (1/0), reservation id, reservation lifetime in ms, idle time in ms (without a ttl).
 * Returns { 0 reserved / 1 locked / 2 busy, ms until the lock lifts or -1 (none / never), most
 * reservations in flight on one counter, confirmed count of each counter... }.
 */
export const RESERVE_SCRIPT = `
${EXPIRE}
local n = #KEYS / 2
local limit = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local lock = ARGV[3] == "1"
${NOW}
local counts = {}
local top = 0
for i = 1, n do
  counts[i] = tonumber(redis.call("GET", KEYS[i]) or "0") or 0
  if counts[i] > top then top = counts[i] end
end
if lock and top >= limit then
  if ARGV[4] == "1" then
    for i = 1, n do
      counts[i] = redis.call("INCR", KEYS[i])
      expire(KEYS[i], counts[i], ttl, limit, tonumber(ARGV[7]))
    end
  end
  local left = 0
  for i = 1, n do
    if counts[i] >= limit then
      local pttl = redis.call("PTTL", KEYS[i])
      if pttl < 0 then left = -1 break end
      if pttl > left then left = pttl end
    end
  end
  return {1, left, 0, unpack(counts)}
end
local busiest = 0
local busy = false
for i = 1, n do
  redis.call("ZREMRANGEBYSCORE", KEYS[n + i], "-inf", now)
  local flying = redis.call("ZCARD", KEYS[n + i])
  if flying > busiest then busiest = flying end
  if lock and counts[i] + flying >= limit then busy = true end
end
if busy then return {2, -1, busiest, unpack(counts)} end
local expires = now + tonumber(ARGV[6])
for i = 1, n do
  redis.call("ZADD", KEYS[n + i], expires, ARGV[5])
  local pttl = redis.call("PTTL", KEYS[n + i])
  if pttl < 0 or now + pttl < expires then redis.call("PEXPIREAT", KEYS[n + i], expires) end
end
return {0, -1, busiest + 1, unpack(counts)}
`.trim();

/**
 * KEYS: n counters, then their n reservation sets. ARGV: ttl in ms (0 = none), reservation id, the
 * count a counter without a ttl is kept at (the limit; 0 = never), idle time in ms. Ends the
 * reservation and counts it as a confirmed failure. Returns the count of each counter.
 */
export const CONFIRM_FAILURE_SCRIPT = `
${EXPIRE}
local n = #KEYS / 2
local ttl = tonumber(ARGV[1])
local counts = {}
for i = 1, n do
  redis.call("ZREM", KEYS[n + i], ARGV[2])
  counts[i] = redis.call("INCR", KEYS[i])
  expire(KEYS[i], counts[i], ttl, tonumber(ARGV[3]), tonumber(ARGV[4]))
end
return counts
`.trim();

/**
 * KEYS: n counters, then their n reservation sets. Reads only: returns { most live reservations on
 * one counter, confirmed count of each counter... }.
 */
export const PENDING_SCRIPT = `
${NOW}
local n = #KEYS / 2
local out = {0}
for i = 1, n do
  out[i + 1] = tonumber(redis.call("GET", KEYS[i]) or "0") or 0
  local flying = redis.call("ZCOUNT", KEYS[n + i], "(" .. now, "+inf")
  if flying > out[1] then out[1] = flying end
end
return out
`.trim();

/**
 * KEYS: n counters, then their n reservation sets. ARGV: reservation id, clear counters (1/0).
 * Ends the reservation; other reservations stay.
 */
export const RELEASE_SCRIPT = `
local n = #KEYS / 2
for i = 1, n do
  redis.call("ZREM", KEYS[n + i], ARGV[1])
  if ARGV[2] == "1" then redis.call("DEL", KEYS[i]) end
end
return 0
`.trim();

/**
 * KEYS: the locked counter, then other counters of the refused clients. ARGV: limit, ttl in ms
 * (0 = none), idle time in ms (without a ttl), attempts per key. Counts only while the first counter
 * is still locked. Returns { locked 1/0, the locked counter's count, ms until it lifts or -1 }.
 */
export const COUNT_REFUSED_SCRIPT = `
${EXPIRE}
local limit = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local top = tonumber(redis.call("GET", KEYS[1]) or "0") or 0
if top < limit then return {0, top, -1} end
for i, key in ipairs(KEYS) do
  local attempts = tonumber(ARGV[3 + i])
  if attempts > 0 then
    local count = redis.call("INCRBY", key, attempts)
    if i == 1 then top = count end
    expire(key, count, ttl, limit, tonumber(ARGV[3]))
  end
end
return {1, top, redis.call("PTTL", KEYS[1])}
`.trim();

/**
 * KEYS: counters. ARGV: count and expiry (epoch ms, 0 = never) per key. Raises each counter to at
 * least that count and its expiry to at least that time; never lowers either.
 */
export const MERGE_SCRIPT = `
local time = redis.call("TIME")
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
for i, key in ipairs(KEYS) do
  local count = tonumber(ARGV[2 * i - 1])
  local expires = tonumber(ARGV[2 * i])
  if expires == 0 or expires > now then
    local current = tonumber(redis.call("GET", key) or "0") or 0
    local left = redis.call("PTTL", key)
    if count > current then redis.call("SET", key, count, "KEEPTTL") end
    if expires == 0 then
      redis.call("PERSIST", key)
    elseif left == -2 or (left >= 0 and now + left < expires) then
      redis.call("PEXPIREAT", key, expires)
    end
  end
end
return 0
`.trim();

/** KEYS: the window's counter. ARGV: window in ms. Returns { count, ms left in the window }. */
export const CONSUME_SCRIPT = `
local n = redis.call("INCR", KEYS[1])
if n == 1 then redis.call("PEXPIRE", KEYS[1], ARGV[1]) end
return {n, redis.call("PTTL", KEYS[1])}
`.trim();

/** A live counter as the listing scripts return it: key, value, ms to live (-1 = never). */
const SNAPSHOT = `local function snapshot(out, key)
  if redis.call("TYPE", key).ok ~= "string" then return end
  out[#out + 1] = key
  out[#out + 1] = redis.call("GET", key)
  out[#out + 1] = redis.call("PTTL", key)
end`;

/**
 * ARGV: a SCAN pattern, the most counters to return, the SCAN cursor to start from. Scans in batches
 * of 1,000 until that many counters were found, the keyspace ends, or 50 batches were read (so one
 * call stays short however few keys match). Returns the next cursor ("0" = done), then key, value, ms
 * to live (-1 = never) for each counter found, flattened; reservation sets (not strings) are skipped.
 * A batch is returned whole, so a page can exceed the limit by less than a batch.
 */
export const LIST_SCRIPT = `
${SNAPSHOT}
local out = {"0"}
local limit = tonumber(ARGV[2]) * 3 + 1
local cursor = ARGV[3]
local batches = 0
repeat
  local page = redis.call("SCAN", cursor, "MATCH", ARGV[1], "COUNT", 1000)
  cursor = page[1]
  batches = batches + 1
  for _, key in ipairs(page[2]) do snapshot(out, key) end
until cursor == "0" or #out >= limit or batches >= 50
out[1] = cursor
return out
`.trim();

/** KEYS: counters. Returns key, value, ms to live (-1 = never) for each that exists, flattened. */
export const READ_SCRIPT = `
${SNAPSHOT}
local out = {}
for _, key in ipairs(KEYS) do snapshot(out, key) end
return out
`.trim();
