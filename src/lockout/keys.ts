/**
 * Counter keys for a login attempt, one per entry of AXES_LOCKOUT_PARAMETERS.
 *
 * The empty-username rule: a counter that involves `username` is never keyed on a missing or empty
 * username alone. Such attempts are counted on that counter bound to the client's IP
 * (`ip_address=…&username=`), so an attacker sending empty usernames locks out only their own
 * address, not every empty-username request in the world (django-axes shares one counter).
 */
import { type ClientAddress, groupedAddress } from "../client/address";
import { sha256Hex } from "../crypto/digest";
import type { LockoutParameter } from "./settings";

/** Who is attempting a login, as far as the lockout parameters care. */
export interface LoginClient {
  readonly address: ClientAddress;
  /** Normalised username; "" when the attempt carried none. */
  readonly username: string;
  readonly userAgent: string;
}

/** Usernames longer than this are stored as a digest so keys stay small. */
const MAX_KEY_USERNAME = 200;

/** The name a login attempt is counted under (see ./username). */
export { countedUsername as normaliseUsername } from "./username";

const digest = (text: string) => sha256Hex(text, 16);

/** How a normalised username is written inside a key. */
export async function usernameInKey(username: string): Promise<string> {
  return username.length > MAX_KEY_USERNAME ? `sha256.${await digest(username)}` : encodeURIComponent(username);
}

/** The parts of a counter key, as written (`{ ip_address: "192.0.2.1", username: "alice" }`). */
export function keyParts(key: string, prefix: string): Partial<Record<LockoutParameter, string>> {
  const parts: Partial<Record<LockoutParameter, string>> = {};
  for (const pair of key.slice(lockoutKeyPrefix(prefix).length).split("&")) {
    const at = pair.indexOf("=");
    const name = pair.slice(0, at) as LockoutParameter;
    if (name === "ip_address" || name === "username" || name === "user_agent") parts[name] = pair.slice(at + 1);
  }
  return parts;
}

async function part(parameter: LockoutParameter, client: LoginClient, ipv6Prefix: number): Promise<string> {
  switch (parameter) {
    case "ip_address":
      return `ip_address=${groupedAddress(client.address, ipv6Prefix)}`;
    case "username":
      return `username=${await usernameInKey(client.username)}`;
    case "user_agent":
      return `user_agent=${await digest(client.userAgent)}`;
  }
}

/** The key prefix under which all lockout counters live. */
export const lockoutKeyPrefix = (prefix: string): string => `${prefix}:lockout:`;

/**
 * The counter keys for one attempt, in a stable order without duplicates; an IPv6 client's
 * `ip_address` is its network of `ipv6Prefix` bits (AXES_IPV6_PREFIX).
 * @example await lockoutKeysFor("axes", [["ip_address"], ["username"]], client, 64) // ["axes:lockout:ip_address=192.0.2.1", "axes:lockout:username=alice"]
 */
export async function lockoutKeysFor(
  prefix: string,
  parameters: readonly (readonly LockoutParameter[])[],
  client: LoginClient,
  ipv6Prefix: number,
): Promise<string[]> {
  const keys = new Set<string>();
  for (const combination of parameters) {
    const names = new Set(combination);
    if (names.has("username") && client.username === "") names.add("ip_address");
    const parts = await Promise.all([...names].sort().map((name) => part(name, client, ipv6Prefix)));
    keys.add(lockoutKeyPrefix(prefix) + parts.join("&"));
  }
  return [...keys];
}
