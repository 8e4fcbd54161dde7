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
  /** Where the attempt was made (the route's path), for the attempt history; "" when unknown. */
  readonly path?: string;
}

/**
 * A username whose percent-encoded form is longer than this enters keys as a digest, so a key stays
 * small whatever the username: the bound is on the encoded length because 200 multibyte characters
 * encode to up to 2,400 bytes.
 */
export const MAX_KEY_USERNAME = 200;

/**
 * Marks a digested username. encodeURIComponent always encodes ":", so no username written as itself
 * can look like a digest (and collide with a long username's counter).
 */
export const DIGEST_MARK = "sha256:";

/** The name a login attempt is counted under (see ./username). */
export { countedUsername as normaliseUsername } from "./username";

const digest = (text: string) => sha256Hex(text, 16);

/**
 * How a normalised username is written inside a key: percent-encoded, or a digest when that is longer
 * than MAX_KEY_USERNAME.
 * @example await usernameInKey("alice") // "alice"; a 201-character name gives "sha256:" and 32 hex digits
 */
export async function usernameInKey(username: string): Promise<string> {
  const encoded = encodeURIComponent(username);
  return encoded.length > MAX_KEY_USERNAME ? DIGEST_MARK + (await digest(username)) : encoded;
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

export { lockoutHistoryKey } from "../store/contract";

/** A trusted device's own failure counter, under the lockout prefix. */
export const deviceCounterKey = (prefix: string, deviceId: string): string => `${lockoutKeyPrefix(prefix)}device=${deviceId}`;

/** The registry of a username's trusted devices. */
export const deviceRegistryKey = async (prefix: string, username: string): Promise<string> => `${prefix}:devices:${await usernameInKey(username)}`;
