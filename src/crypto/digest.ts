/**
 * SHA-256 as hex, for values the gateway must recognise but never store: usernames too long for a
 * key, user agents, API keys, session ids.
 * @example await sha256Hex("alice", 16) // the first 16 bytes, 32 hex characters
 */
export async function sha256Hex(text: string, bytes = 32): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(hash.subarray(0, bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}
