/**
 * The Lua scripts behind the Upstash counter store. Each runs atomically inside Redis, so a burst of
 * concurrent attempts is serialised there: with a limit of 3, exactly 3 reservations succeed and
 * every later one is held (busy) until they settle, then sees the lock. (django-axes checks and counts in two steps, and lets 15-20 of 100
 * concurrent attempts through: its issue 592.) The counting scripts also append the attempt history
 * (./history.ts) when their arguments carry it: their own keys and arguments then end before it.
 */
import { HISTORY_BLOCK } from "./history";

/** Redis's clock in epoch ms; reservations expire by it, so every isolate agrees on when. */
const NOW = `local clock = redis.call("TIME")
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)`;

/**
 * Cool-offs that grow (AXES_COOLOFF_GROWTH): \`g\` is { factor (0 = fixed), memory ms, max ms }. A
 * counter at the limit gets min(ttl * factor^(lockouts - 1), max), recording a lockout in its
 * history when \`added\` failures just took it to the limit (or its history was forgotten); the
 * history lives for the cool-off applied plus the memory.
 */
const GROW = `local function grown(history, count, ttl, limit, added, g)
  if g[1] <= 0 or limit <= 0 or count < limit then return ttl end
  local lockouts = tonumber(redis.call("GET", history) or "0") or 0
  if count - added < limit or lockouts == 0 then lockouts = redis.call("INCR", history) end
  local applied = math.min(math.floor(ttl * g[1] ^ (lockouts - 1)), g[3])
  redis.call("PEXPIRE", history, applied + g[2])
  return applied
end
local function lockouts(counters, histories, limit, g)
  local most = 0
  if g[1] <= 0 or limit <= 0 then return 0 end
  for i = 1, #counters do
    if (tonumber(redis.call("GET", counters[i]) or "0") or 0) >= limit then
      most = math.max(most, tonumber(redis.call("GET", histories[i]) or "1") or 1)
    end
  end
  return most
end`;

/**
 * A counter's expiry after \`added\` counted failures took it to \`count\`: the cool-off (ttl ms, grown
 * for a repeat offender, see GROW) when there is one; otherwise none once it reached \`keep\` (the
 * limit; 0 = it never locks), and the idle time (ms) below it.
 */
const EXPIRE = `${GROW}
local function expire(key, count, ttl, keep, idle, history, added, g)
  if ttl > 0 then redis.call("PEXPIRE", key, grown(history, count, ttl, keep, added, g))
  elseif keep > 0 and count >= keep then redis.call("PERSIST", key)
  else redis.call("PEXPIRE", key, idle) end
end`;

/**
 * KEYS: the attempt's n counters (confirmed failures), their n reservation sets (sorted sets:
 * reservation id scored by its expiry in epoch ms) and their n lockout histories; then the same for
 * its m counters as a trusted device, and that device's registry (a hash: device id -> "<expiry ms>
 * <info>") when m > 0. ARGV: limit, ttl in ms (0 = never expires), lock (1/0), count while locked
 * (1/0), reservation id, reservation lifetime in ms, idle time in ms (without a ttl), n, m, device
 * id, growth factor (0 = fixed), memory ms, max cool-off ms.
 * Returns { 0 reserved / 1 locked / 2 busy, ms until the lock lifts or -1 (none / never), most
 * reservations in flight on one counter, trusted 1/0, lockouts remembered (growth), confirmed count
 * of each counter counted... }. History: a locked answer.
 */
export const RESERVE_SCRIPT = `
${EXPIRE}
${HISTORY_BLOCK}
local limit = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local lock = ARGV[3] == "1"
local g = {tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13])}
${NOW}
-- Trusted device: its counters count while the registry holds the device, unexpired.
local n = tonumber(ARGV[8])
local m = tonumber(ARGV[9])
local trusted = 0
local registry = KEYS[3 * n + 3 * m + 1]
if m > 0 then
  local entry = redis.call("HGET", registry, ARGV[10])
  if entry and (tonumber(string.match(entry, "^%d+")) or 0) > now then trusted = 1 end
end
local base = 0
if trusted == 1 then base, n = 3 * n, m end
local C, R, H = {}, {}, {}
for i = 1, n do
  C[i], R[i], H[i] = KEYS[base + i], KEYS[base + n + i], KEYS[base + 2 * n + i]
end
-- The attempt's counters, as chosen above.
local counts = {}
local top = 0
for i = 1, n do
  counts[i] = tonumber(redis.call("GET", C[i]) or "0") or 0
  if counts[i] > top then top = counts[i] end
end
if lock and top >= limit then
  if ARGV[4] == "1" then
    for i = 1, n do
      counts[i] = redis.call("INCR", C[i])
      expire(C[i], counts[i], ttl, limit, tonumber(ARGV[7]), H[i], 1, g)
    end
    -- A trusted device at the limit loses its trust (its counter is the last).
    if trusted == 1 and counts[n] >= limit then redis.call("HDEL", registry, ARGV[10]) end
  end
  local left = 0
  for i = 1, n do
    if counts[i] >= limit then
      local pttl = redis.call("PTTL", C[i])
      if pttl < 0 then left = -1 break end
      if pttl > left then left = pttl end
    end
  end
  append_history()
  return {1, left, 0, trusted, lockouts(C, H, limit, g), unpack(counts)}
end
local busiest = 0
local busy = false
for i = 1, n do
  redis.call("ZREMRANGEBYSCORE", R[i], "-inf", now)
  local flying = redis.call("ZCARD", R[i])
  if flying > busiest then busiest = flying end
  if lock and counts[i] + flying >= limit then busy = true end
end
if busy then return {2, -1, busiest, trusted, 0, unpack(counts)} end
local expires = now + tonumber(ARGV[6])
for i = 1, n do
  redis.call("ZADD", R[i], expires, ARGV[5])
  local pttl = redis.call("PTTL", R[i])
  if pttl < 0 or now + pttl < expires then redis.call("PEXPIREAT", R[i], expires) end
end
return {0, -1, busiest + 1, trusted, 0, unpack(counts)}
`.trim();

/**
 * KEYS: n counters, their n reservation sets, their n lockout histories, then (with a device) the
 * device's registry. ARGV: ttl in ms (0 = none), reservation id, the count a counter without a ttl
 * is kept at (the limit; 0 = never), idle time in ms, growth factor (0 = fixed), memory ms, max
 * cool-off ms, device id ("" = none), the device counter's position among the counters. Ends the
 * reservation and counts it as a confirmed failure; a device whose counter reaches the limit leaves
 * the registry. Returns { lockouts remembered (growth), the count of each counter... }. History: always.
 */
export const CONFIRM_FAILURE_SCRIPT = `
${EXPIRE}
${HISTORY_BLOCK}
local n = math.floor((#KEYS - history_keys) / 3)
local ttl = tonumber(ARGV[1])
local keep = tonumber(ARGV[3])
local g = {tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])}
local counts = {}
local C, H = {}, {}
for i = 1, n do
  C[i], H[i] = KEYS[i], KEYS[2 * n + i]
  redis.call("ZREM", KEYS[n + i], ARGV[2])
  counts[i] = redis.call("INCR", KEYS[i])
  expire(KEYS[i], counts[i], ttl, keep, tonumber(ARGV[4]), H[i], 1, g)
end
-- A trusted device that failed up to the limit loses its trust.
local device = tonumber(ARGV[9])
if ARGV[8] ~= "" and device > 0 and keep > 0 and counts[device] >= keep then redis.call("HDEL", KEYS[#KEYS - history_keys], ARGV[8]) end
append_history()
return {lockouts(C, H, keep, g), unpack(counts)}
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
 * KEYS: n counters, their n reservation sets, their n lockout histories, then (with a device) its
 * registry. ARGV: reservation id, clear counters (1/0); with a device: its id, the id it replaces
 * ("" = none), its entry ("<expiry ms> <info>"), the registry's lifetime in ms, devices kept.
 * Ends the reservation (other reservations stay); clearing deletes the counters and their history.
 * Registering prunes expired devices and, beyond the cap, those closest to expiry. History: always.
 */
export const RELEASE_SCRIPT = `
${HISTORY_BLOCK}
local n = math.floor((#KEYS - history_keys) / 3)
for i = 1, n do
  redis.call("ZREM", KEYS[n + i], ARGV[1])
  if ARGV[2] == "1" then redis.call("DEL", KEYS[i], KEYS[2 * n + i]) end
end
-- The device of a successful login.
if #ARGV - history_args >= 7 and ARGV[3] ~= "" then
  local registry = KEYS[#KEYS - history_keys]
  if ARGV[4] ~= "" then redis.call("HDEL", registry, ARGV[4]) end
  redis.call("HSET", registry, ARGV[3], ARGV[5])
  local time = redis.call("TIME")
  local now = tonumber(time[1]) * 1000
  local all = redis.call("HGETALL", registry)
  local live = {}
  for i = 1, #all, 2 do
    local expires = tonumber(string.match(all[i + 1], "^%d+")) or 0
    if expires <= now then redis.call("HDEL", registry, all[i]) else live[#live + 1] = {all[i], expires} end
  end
  table.sort(live, function(a, b) return a[2] > b[2] end)
  for i = tonumber(ARGV[7]) + 1, #live do redis.call("HDEL", registry, live[i][1]) end
  redis.call("PEXPIRE", registry, ARGV[6])
end
append_history()
return 0
`.trim();

/**
 * KEYS: the locked counter, then other counters of the refused clients, then each one's lockout
 * history in the same order. ARGV: limit, ttl in ms (0 = none), idle time in ms (without a ttl),
 * attempts per key, then growth factor (0 = fixed), memory ms, max cool-off ms. Counts only while
 * the first counter is still locked. Returns { locked 1/0, the locked counter's count, ms until it
 * lifts or -1 }. History: always (those attempts were refused, counted or not).
 */
export const COUNT_REFUSED_SCRIPT = `
${EXPIRE}
${HISTORY_BLOCK}
append_history()
local k = (#KEYS - history_keys) / 2
local limit = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local g = {tonumber(ARGV[4 + k]), tonumber(ARGV[5 + k]), tonumber(ARGV[6 + k])}
local top = tonumber(redis.call("GET", KEYS[1]) or "0") or 0
if top < limit then return {0, top, -1} end
for i = 1, k do
  local attempts = tonumber(ARGV[3 + i])
  if attempts > 0 then
    local count = redis.call("INCRBY", KEYS[i], attempts)
    if i == 1 then top = count end
    expire(KEYS[i], count, ttl, limit, tonumber(ARGV[3]), KEYS[k + i], attempts, g)
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

/** KEYS: a device registry. Returns device id, entry ("<expiry ms> <info>") pairs, flattened. */
export const LIST_DEVICES_SCRIPT = `
return redis.call("HGETALL", KEYS[1])
`.trim();

/**
 * KEYS: a device registry, then the counter of each device named. ARGV: the device ids. Removes
 * them and deletes their counters. Returns how many were in the registry.
 */
export const REVOKE_DEVICES_SCRIPT = `
local removed = 0
for i = 1, #ARGV do
  removed = removed + redis.call("HDEL", KEYS[1], ARGV[i])
  if KEYS[i + 1] then redis.call("DEL", KEYS[i + 1]) end
end
if redis.call("HLEN", KEYS[1]) == 0 then redis.call("DEL", KEYS[1]) end
return removed
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
