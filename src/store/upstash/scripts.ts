/**
 * The Lua scripts behind the Upstash counter store. Each runs atomically inside Redis, so a burst of
 * concurrent attempts is serialised there: with a limit of 3, exactly 3 reservations succeed and
 * every later one sees the lock. (django-axes checks and counts in two steps, and lets 15-20 of 100
 * concurrent attempts through: its issue 592.)
 */

/**
 * KEYS: counters. ARGV: limit, ttl in ms (0 = never expires), lock (1/0), count while locked (1/0).
 * Returns { locked 1/0, highest count, ms until the lock lifts or -1 (none / never) }.
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
      if left < 0 then return {1, current, -1} end
      if left > retry then retry = left end
    end
  end
  return {1, current, retry}
end
local top = 0
for _, key in ipairs(KEYS) do
  local n = redis.call("INCR", key)
  if ttl > 0 then redis.call("PEXPIRE", key, ttl) end
  if n > top then top = n end
end
if locked and ttl > 0 then return {1, top, ttl} end
return {locked and 1 or 0, top, -1}
`.trim();

/** KEYS: counters. Takes back one reserved attempt from each; a counter reaching zero is deleted. */
export const RELEASE_SCRIPT = `
for _, key in ipairs(KEYS) do
  local n = tonumber(redis.call("GET", key) or "0") or 0
  if n > 1 then redis.call("DECR", key) elseif n == 1 then redis.call("DEL", key) end
end
return 0
`.trim();
