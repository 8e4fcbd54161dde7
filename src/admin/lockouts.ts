/**
 * Lockout administration: list, status and reset, the counterparts of django-axes' management
 * commands. Which counters a reset touches:
 * - by IP (axes_reset_ip): every counter that involves that IP, alone or combined;
 * - by username (axes_reset_username): every counter that involves that username;
 * - by both (axes_reset_ip_username): that client's counters: the IP's own, the username's own and
 *   their combinations (every IP or username part of the counter matches).
 */
import { groupedAddress, parseAddress } from "../client/address";
import { keyParts, lockoutKeyPrefix, normaliseUsername, usernameInKey } from "../lockout/keys";
import type { LockoutSettings } from "../lockout/settings";
import type { CounterSnapshot, CounterStore } from "../store/contract";

/** At most this many counters are read per admin call; listings say when they were cut. */
export const LIST_LIMIT = 5000;

export interface ClientFilter {
  readonly ip?: string;
  readonly username?: string;
}

/** A counter as the admin API shows it. */
export interface CounterView {
  readonly ip_address?: string;
  readonly username?: string;
  readonly user_agent?: string;
  readonly failures: number;
  readonly locked: boolean;
  readonly retry_after_seconds: number | null;
}

/** Why an admin request's input is refused (400). */
export class AdminInputError extends Error {}

async function matcher(filter: ClientFilter, settings: LockoutSettings) {
  if (filter.ip === undefined && filter.username === undefined) throw new AdminInputError('give "ip", "username" or both');
  let ip: string | undefined;
  if (filter.ip !== undefined) {
    const address = parseAddress(String(filter.ip));
    if (address === undefined) throw new AdminInputError('"ip" is not an IP address');
    // Counters hold an IPv6 client's network, so any address in it names that counter.
    ip = groupedAddress(address, settings.ipv6Prefix);
  }
  const username = filter.username === undefined ? undefined : await usernameInKey(normaliseUsername(String(filter.username), settings.usernameCaseSensitive));
  return (parts: ReturnType<typeof keyParts>): boolean => {
    if (ip !== undefined && username !== undefined) {
      const hasIp = parts.ip_address !== undefined;
      const hasUser = parts.username !== undefined;
      return (hasIp || hasUser) && (!hasIp || parts.ip_address === ip) && (!hasUser || parts.username === username);
    }
    return ip !== undefined ? parts.ip_address === ip : parts.username === username;
  };
}

export class LockoutAdmin {
  constructor(
    private readonly store: CounterStore,
    private readonly settings: LockoutSettings,
    private readonly keyPrefix: string,
  ) {}

  private view(counter: CounterSnapshot, now: number): CounterView {
    const parts = keyParts(counter.key, this.keyPrefix);
    const locked = this.settings.lockOutAtFailure && counter.count >= this.settings.failureLimit;
    return {
      ...(parts.ip_address !== undefined && { ip_address: parts.ip_address }),
      ...(parts.username !== undefined && { username: parts.username.startsWith("sha256.") ? parts.username : decodeURIComponent(parts.username) }),
      ...(parts.user_agent !== undefined && { user_agent: parts.user_agent }),
      failures: counter.count,
      locked,
      retry_after_seconds: locked && counter.expiresAtMs !== null ? Math.max(1, Math.ceil((counter.expiresAtMs - now) / 1000)) : null,
    };
  }

  private async counters(): Promise<{ counters: CounterSnapshot[]; truncated: boolean }> {
    const counters = await this.store.list(lockoutKeyPrefix(this.keyPrefix), LIST_LIMIT);
    return { counters, truncated: counters.length >= LIST_LIMIT };
  }

  /** Every counter at the limit. */
  async list(): Promise<{ lockouts: CounterView[]; truncated: boolean }> {
    const { counters, truncated } = await this.counters();
    const now = Date.now();
    return { lockouts: counters.map((c) => this.view(c, now)).filter((v) => v.locked), truncated };
  }

  /** Every counter, locked or not, most failures first, then by username and IP (the dashboard's current counters). */
  async listAll(): Promise<{ counters: CounterView[]; truncated: boolean }> {
    const { counters, truncated } = await this.counters();
    const now = Date.now();
    const label = (view: CounterView) => `${view.username ?? ""} ${view.ip_address ?? ""} ${view.user_agent ?? ""}`;
    const views = counters.map((c) => this.view(c, now));
    return { counters: views.sort((a, b) => b.failures - a.failures || label(a).localeCompare(label(b))), truncated };
  }

  /** A client's counters and whether any of them locks it. */
  async status(filter: ClientFilter): Promise<{ locked: boolean; counters: CounterView[] }> {
    const matches = await matcher(filter, this.settings);
    const { counters } = await this.counters();
    const now = Date.now();
    const views = counters.filter((c) => matches(keyParts(c.key, this.keyPrefix))).map((c) => this.view(c, now));
    return { locked: views.some((v) => v.locked), counters: views };
  }

  /** Deletes the client's counters (see the module comment); answers the keys deleted. */
  async reset(filter: ClientFilter): Promise<string[]> {
    const matches = await matcher(filter, this.settings);
    const { counters } = await this.counters();
    const keys = counters.filter((c) => matches(keyParts(c.key, this.keyPrefix))).map((c) => c.key);
    if (keys.length > 0) await this.store.reset(keys);
    return keys;
  }
}
