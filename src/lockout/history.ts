/**
 * The attempt history's records as the lockout writes them (store/history.ts is the contract): the
 * username as it is counted, the user agent as the same digest a `user_agent` counter holds, the
 * counters without their prefix. Never a password.
 */
import { sha256Hex } from "../crypto/digest";
import type { AttemptOutcome, AttemptRecord } from "../store/history";
import { DIGEST_MARK, type LoginClient, lockoutKeyPrefix, usernameInKey } from "./keys";

/**
 * A normalised username as the history writes it: itself, or its key digest when its key form is
 * too long (so a record stays small whatever the username).
 * @example await historyUsername("alice") // "alice"
 */
export async function historyUsername(username: string): Promise<string> {
  const inKey = await usernameInKey(username);
  return inKey.startsWith(DIGEST_MARK) ? inKey : username;
}

/** The record of one client's attempt on `keys` (counters under `prefix`) at `path`. */
export async function attemptRecordOf(client: LoginClient, keys: readonly string[], prefix: string, path: string, outcome: AttemptOutcome): Promise<AttemptRecord> {
  return {
    username: await historyUsername(client.username),
    ip: client.address.text,
    path,
    userAgent: await sha256Hex(client.userAgent, 16),
    outcome,
    counters: keys.map((key) => key.slice(lockoutKeyPrefix(prefix).length)),
  };
}
