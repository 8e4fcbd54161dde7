/**
 * Client addresses: parsed with Hono's IP helpers into one canonical form, so `2001:DB8::1`,
 * `2001:db8:0:0::1` and `::ffff:192.0.2.1`-style spellings of one client share one counter.
 */
import type { Context } from "hono";
import { getConnInfo } from "hono/cloudflare-workers";
import {
  convertIPv4BinaryToString,
  convertIPv4MappedIPv6ToIPv4,
  convertIPv4ToBinary,
  convertIPv6BinaryToString,
  convertIPv6ToBinary,
  distinctRemoteAddr,
  isIPv4MappedIPv6,
} from "hono/utils/ipaddr";

/** An IP address in canonical text and as a number, IPv4-mapped IPv6 folded to IPv4. */
export interface ClientAddress {
  readonly version: 4 | 6;
  readonly value: bigint;
  readonly text: string;
}

/** Parses an IP address; undefined when the text is not one. */
export function parseAddress(input: string): ClientAddress | undefined {
  const text = input.trim();
  try {
    const kind = distinctRemoteAddr(text);
    if (kind === "IPv4") {
      const value = convertIPv4ToBinary(text);
      return { version: 4, value, text: convertIPv4BinaryToString(value) };
    }
    if (kind === "IPv6") {
      const value = convertIPv6ToBinary(text.replace(/%.*$/, ""));
      if (isIPv4MappedIPv6(value)) {
        const v4 = convertIPv4MappedIPv6ToIPv4(value);
        return { version: 4, value: v4, text: convertIPv4BinaryToString(v4) };
      }
      return { version: 6, value, text: convertIPv6BinaryToString(value) };
    }
  } catch {
    // Hono throws a TypeError for malformed addresses: the caller decides what a bad address means.
  }
  return undefined;
}

/**
 * The first `bits` bits of an IPv6 address, the rest zeroed: the network a client holds whole
 * (a /64 is the usual end-site assignment, so one subscriber can use 2^64 addresses).
 * @example ipv6Network(parseAddress("2001:db8:1:2:3::9")!.value, 64) // the bits of 2001:db8:1:2::
 */
export function ipv6Network(value: bigint, bits: number): bigint {
  return value & (((1n << BigInt(bits)) - 1n) << BigInt(128 - bits));
}

/**
 * How an address is written in a counter key: IPv4 as it is, IPv6 as its network of `ipv6Prefix`
 * bits (`2001:db8:1:2::/64`), or as it is when the prefix is 128.
 * @example groupedAddress(parseAddress("2001:db8:1:2::9")!, 64) // "2001:db8:1:2::/64"
 */
export function groupedAddress(address: ClientAddress, ipv6Prefix: number): string {
  if (address.version === 4 || ipv6Prefix === 128) return address.text;
  return `${convertIPv6BinaryToString(ipv6Network(address.value, ipv6Prefix))}/${ipv6Prefix}`;
}

/**
 * The client's address as Cloudflare reports it (`CF-Connecting-IP`, read by Hono's `getConnInfo`).
 * `X-Forwarded-For`, `X-Real-IP` and friends are never consulted: a client can write them.
 */
export function clientAddressOf(c: Context): ClientAddress | undefined {
  const address = getConnInfo(c).remote.address;
  return address ? parseAddress(address) : undefined;
}

/**
 * A set of addresses and CIDR ranges (IPv4 and IPv6), compiled once into masks.
 * @example new AddressList(["192.0.2.0/24", "2001:db8::/32", "198.51.100.7"]).has(parseAddress("192.0.2.9")!)
 */
export class AddressList {
  private readonly ranges: ReadonlyArray<{ version: 4 | 6; network: bigint; mask: bigint }>;

  /** @throws TypeError naming the first rule that is not an address or CIDR range. */
  constructor(rules: readonly string[]) {
    this.ranges = rules.map((rule, index) => {
      const [addressText = "", prefixText, extra] = rule.split("/");
      const address = parseAddress(addressText);
      const bits = address?.version === 4 ? 32 : 128;
      // A mapped IPv6 range such as ::ffff:192.0.2.0/120 becomes the IPv4 range it names.
      const mapped = address?.version === 4 && addressText.includes(":");
      let prefix = prefixText === undefined ? bits : Number(prefixText);
      if (mapped && prefixText !== undefined) prefix -= 96;
      if (!address || extra !== undefined || !/^\d{0,3}$/.test(prefixText ?? "") || prefixText === "" || !(prefix >= 0 && prefix <= bits)) {
        // The list may come from a secret, so the message names the position, not the value.
        throw new TypeError(`entry ${index + 1} of ${rules.length} is not an IP address or CIDR range`);
      }
      const mask = ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
      return { version: address.version, network: address.value & mask, mask };
    });
  }

  get size(): number {
    return this.ranges.length;
  }

  has(address: ClientAddress): boolean {
    return this.ranges.some((range) => range.version === address.version && (address.value & range.mask) === range.network);
  }
}
