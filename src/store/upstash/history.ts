/**
 * The attempt history on Upstash: one capped stream per key prefix, `<prefix>:history`, appended by
 * the counting scripts themselves (`XADD ... MAXLEN ~ cap`), so it costs no round trip. The history
 * travels at the END of a script's keys and arguments, after a marker, so the counting scripts read
 * their own keys and arguments as before whatever else is added to them.
 */
import { type AttemptEntry, type AttemptFilter, type AttemptNote, type AttemptOutcome, countersOf, countersText } from "../history";

/** The stream of a key prefix's attempts. Not a string, so the counter listings skip it (by type and by pattern). */
export const historyStreamOf = (prefix: string): string => `${prefix}:history`;

/** Fields per record in a script's arguments. */
const FIELDS = 6;

/**
 * The Lua block the counting scripts include. When their last argument is "history", their last key
 * is the stream, and the arguments before the marker are the records (6 fields each: username, ip,
 * path, user agent digest, outcome, counters), the number of records, and the stream's cap.
 * `history_keys` is what the scripts subtract from #KEYS to find their own keys.
 */
export const HISTORY_BLOCK = `local history_keys, history_args = 0, 0
if ARGV[#ARGV] == "history" then
  history_keys = 1
  history_args = tonumber(ARGV[#ARGV - 1]) * ${FIELDS} + 3
end
local function append_history()
  if history_keys == 0 then return end
  local cap = ARGV[#ARGV - 2]
  local first = #ARGV - history_args
  for r = 0, tonumber(ARGV[#ARGV - 1]) - 1 do
    local b = first + r * ${FIELDS}
    redis.call("XADD", KEYS[#KEYS], "MAXLEN", "~", cap, "*", "u", ARGV[b + 1], "ip", ARGV[b + 2], "p", ARGV[b + 3], "ua", ARGV[b + 4], "o", ARGV[b + 5], "c", ARGV[b + 6])
  end
end`;

/** What to append to a counting script's keys and arguments for `note` (nothing without one). */
export function historyTail(note: AttemptNote | undefined): { keys: string[]; args: string[] } {
  if (note === undefined || note.records.length === 0) return { keys: [], args: [] };
  const args = note.records.flatMap((r) => [r.username, r.ip, r.path, r.userAgent, r.outcome, countersText(r.counters)]);
  return { keys: [historyStreamOf(note.target.prefix)], args: [...args, String(note.target.maxEntries), String(note.records.length), "history"] };
}

/** Entries read per XREVRANGE inside the listing script. */
const BATCH = 500;

/**
 * KEYS: the stream. ARGV: the id of the last entry of the page before ("" = the newest), the oldest
 * id to read ("-" or "<ms>-0"), the most entries to return, username filter (1/0) and value, ip
 * filter (1/0) and value, the most entries to read in this call. Reads newest first, in batches, so
 * one call stays bounded however few entries match. Returns the cursor ("" = done), then id,
 * username, ip, path, user agent, outcome, counters for each match, flattened.
 */
export const LIST_ATTEMPTS_SCRIPT = `
local limit = tonumber(ARGV[3])
local budget = tonumber(ARGV[8])
local out = {""}
local found, read = 0, 0
local top = ARGV[1] == "" and "+" or ("(" .. ARGV[1])
while true do
  local batch = redis.call("XREVRANGE", KEYS[1], top, ARGV[2], "COUNT", ${BATCH})
  for _, entry in ipairs(batch) do
    read = read + 1
    local f = {}
    for i = 1, #entry[2], 2 do f[entry[2][i]] = entry[2][i + 1] end
    if (ARGV[4] ~= "1" or f.u == ARGV[5]) and (ARGV[6] ~= "1" or f.ip == ARGV[7]) then
      found = found + 1
      for _, v in ipairs({entry[1], f.u or "", f.ip or "", f.p or "", f.ua or "", f.o or "", f.c or ""}) do out[#out + 1] = v end
    end
    if found >= limit or read >= budget then
      out[1] = entry[1]
      return out
    end
  end
  if #batch < ${BATCH} then return out end
  top = "(" .. batch[#batch][1]
end
`.trim();

/** Entries the listing script reads at most per call. */
export const LIST_ATTEMPTS_BUDGET = 5000;

/** The listing script's arguments. */
export function listAttemptsArgs({ username, ip, sinceMs }: AttemptFilter, limit: number, after: string): string[] {
  return [
    after,
    sinceMs === undefined ? "-" : `${Math.max(0, Math.floor(sinceMs))}-0`,
    String(limit),
    username === undefined ? "0" : "1",
    username ?? "",
    ip === undefined ? "0" : "1",
    ip ?? "",
    String(LIST_ATTEMPTS_BUDGET),
  ];
}

/** Entries from the listing script's flat answer (after its cursor). */
export function attemptEntries(flat: readonly (string | number)[]): AttemptEntry[] {
  const entries: AttemptEntry[] = [];
  for (let i = 0; i + 6 < flat.length; i += 7) {
    const [id, username, ip, path, userAgent, outcome, counters] = flat.slice(i, i + 7).map(String) as [string, string, string, string, string, string, string];
    entries.push({ id, atMs: Number(id.split("-")[0]), username, ip, path, userAgent, outcome: outcome as AttemptOutcome, counters: countersOf(counters) });
  }
  return entries;
}
