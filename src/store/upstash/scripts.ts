/**
 * The Lua scripts behind the Upstash counter store. Each runs atomically inside Redis, so a burst of
 * concurrent attempts is serialised there: with a limit of 3, exactly 3 reservations succeed and
 * every later one sees the lock. (django-axes checks and counts in two steps, and lets 15-20 of 100
 * concurrent attempts through: its issue 592.)
 */

/**
 * KEYS: counters. ARGV: limit, ttl in ms (0 = never expires), lock (1/0), count while locked (1/0).
 * Returns { locked 1/0, ms until the lock lifts or -1 (none / never), count of each key... }.
 */
export const RESERVE_SCRIPT = `
local limit = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local counts = {}
local current = 0
for i, key in ipairs(KEYS) do
  counts[i] = tonumber(redis.call("GET", key) or "0") or 0
  if counts[i] > current then current = counts[i] end
end
local locked = ARGV[3] == "1" and current >= limit
if locked and ARGV[4] ~= "1" then
  local retry = 0
  for i, key in ipairs(KEYS) do
    if counts[i] >= limit then
      local left = redis.call("PTTL", key)
      if left < 0 then retry = -1 break end
      if left > retry then retry = left end
    end
  end
  return {1, retry, unpack(counts)}
end
for i, key in ipairs(KEYS) do
  counts[i] = redis.call("INCR", key)
  if ttl > 0 then redis.call("PEXPIRE", key, ttl) end
end
if locked and ttl > 0 then return {1, ttl, unpack(counts)} end
return {locked and 1 or 0, -1, unpack(counts)}
`.trim();

/** KEYS: counters. Takes back one reserved attempt from each; a counter reaching zero is deleted. */
export const RELEASE_SCRIPT = `
for _, key in ipairs(KEYS) do
  local n = tonumber(redis.call("GET", key) or "0") or 0
  if n > 1 then redis.call("DECR", key) elseif n == 1 then redis.call("DEL", key) end
end
return 0
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

/**
 * ARGV: a SCAN pattern, the most entries to return. Returns key, value, ms to live (-1 = never)
 * for each live counter matching, flattened.
 */
export const LIST_SCRIPT = `
local out = {}
local limit = tonumber(ARGV[2]) * 3
local cursor = "0"
repeat
  local page = redis.call("SCAN", cursor, "MATCH", ARGV[1], "COUNT", 1000)
  cursor = page[1]
  for _, key in ipairs(page[2]) do
    local value = redis.call("GET", key)
    if value then
      out[#out + 1] = key
      out[#out + 1] = value
      out[#out + 1] = redis.call("PTTL", key)
      if #out >= limit then return out end
    end
  end
until cursor == "0"
return out
`.trim();
