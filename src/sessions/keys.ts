/** Session keys: under `<CACHE_KEY_PREFIX>_sessions:`, apart from the counters; never the raw session id. */
import { sha256Hex } from "../crypto/digest";
import { percentDecode } from "../http/text";

export const sessionKeyPrefix = (prefix: string) => `${prefix}_sessions:`;
export const sessionKey = (prefix: string, hash: string) => `${sessionKeyPrefix(prefix)}${hash}`;
export const userIndexKey = (prefix: string, username: string) => `${sessionKeyPrefix(prefix)}user:${encodeURIComponent(username)}`;

/**
 * SHA-256 of a session id, hex: what the registry stores instead of the id. The id is
 * percent-decoded first, so every spelling an origin that decodes cookie values (Express,
 * Rails) reads as one id is one record; for Django, which does not, it only makes `%61bc` as
 * refused as `abc`, never the reverse.
 */
export const hashSessionId = (sessionId: string): Promise<string> => sha256Hex(percentDecode(sessionId));
