/**
 * Who a rate limit counts: the client's IP (IPv6 grouped to its /64, which one customer usually
 * holds whole), a request header such as an API key (stored as a digest, never as the key), the edge
 * session's user, or a combination.
 */
import { type ClientAddress, ipv6Network } from "../client/address";
import { sha256Hex } from "../crypto/digest";
import type { KeyPart } from "./policies";

/** The client's part of a key: its IPv4 address, or its IPv6 /64. */
export function ipPart(address: ClientAddress | undefined): string {
  if (!address) return "ip=unknown";
  if (address.version === 4) return `ip=${address.text}`;
  const network = ipv6Network(address.value, 64).toString(16).padStart(32, "0").slice(0, 16);
  return `ip6=${network}/64`;
}

const digest = (text: string) => sha256Hex(text, 16);

/**
 * The identifier of a request under a policy's key. A request without the header (or without an
 * active edge session, for "user") is counted under its IP instead, so anonymous callers share
 * nothing with each other.
 * @example await rateLimitIdentity([{ kind: "ip" }], request, address, null) // "ip=192.0.2.1"
 */
export async function rateLimitIdentity(key: readonly KeyPart[], request: Request, address: ClientAddress | undefined, user: string | null): Promise<string> {
  const parts = await Promise.all(
    key.map(async (part) => {
      if (part.kind === "ip") return ipPart(address);
      if (part.kind === "user") return user ? `user=${await digest(user)}` : `user=none&${ipPart(address)}`;
      const value = request.headers.get(part.name);
      return value ? `${part.name}=${await digest(value)}` : `${part.name}=none&${ipPart(address)}`;
    }),
  );
  return parts.join("&");
}
