/** Session keys: under `<CACHE_KEY_PREFIX>_sessions:`, apart from the counters; never the raw session id. */

export const sessionKeyPrefix = (prefix: string) => `${prefix}_sessions:`;
export const sessionKey = (prefix: string, hash: string) => `${sessionKeyPrefix(prefix)}${hash}`;
export const userIndexKey = (prefix: string, username: string) => `${sessionKeyPrefix(prefix)}user:${encodeURIComponent(username)}`;

/** SHA-256 of a session id, hex: what the registry stores instead of the id. */
export async function hashSessionId(sessionId: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(sessionId)));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
