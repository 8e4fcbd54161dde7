/**
 * Lockout administration: list, status and reset, the counterparts of django-axes' management
 * commands. Which counters a reset touches:
 * - by IP (axes_reset_ip): every counter that involves that IP, alone or combined;
 * - by username (axes_reset_username): every counter that involves that username;
 * - by both (axes_reset_ip_username): that client's counters: the IP's own, the username's own and
 *   their combinations (every IP or username part of the counter matches).
 */
import { type ClientAddress, groupedAddress, parseAddress } from "../client/address";
import { DIGEST_MARK, deviceCounterKey, keyParts, lockoutKeyPrefix, lockoutKeysFor, normaliseUsername, usernameInKey } from "../lockout/keys";
import { retryAfterOf } from "../lockout/policy";
import type { LockoutParameter, LockoutSettings } from "../lockout/settings";
import type { CounterSnapshot, CounterStore } from "../store/contract";

/** Counters per page of the lockouts listing (each page is one store call). */
export const LIST_PAGE = 1000;
/** Counters per store call when a status or reset has to scan (see `plan`). */
export const SCAN_PAGE = 5000;
/** Stands in for the address of a filter without one, where no computed key contains it. */
const UNUSED_ADDRESS = parseAddress("0.0.0.0")!;
/** A listing cursor longer than this is not one the gateway gave out. */
const MAX_CURSOR = 2048;

export interface ClientFilter {
  readonly ip?: string;
  readonly username?: string;
}

/** A counter as the admin API shows it. */
export interface CounterView {
  readonly ip_address?: string;
  readonly username?: string;
  readonly user_agent?: string;
  /** A trusted device's own counter (its id). */
  readonly device?: string;
  readonly failures: number;
  readonly locked: boolean;
  readonly retry_after_seconds: number | null;
}

/** Why an admin request's input is refused (400). */
export class AdminInputError extends Error {}

type KeyParts = ReturnType<typeof keyParts>;

/** A client filter parsed once: its address and its username as keys write them. */
interface ParsedFilter {
  readonly address?: ClientAddress;
  /** The normalised username (for computing keys). */
  readonly username?: string;
  /** Whether a counter's parts belong to this client (see the module comment). */
  readonly matches: (parts: KeyParts) => boolean;
}

async function parseFilter(filter: ClientFilter, settings: LockoutSettings): Promise<ParsedFilter> {
  if (filter.ip === undefined && filter.username === undefined) throw new AdminInputError('give "ip", "username" or both');
  let address: ClientAddress | undefined;
  if (filter.ip !== undefined) {
    address = parseAddress(String(filter.ip));
    if (address === undefined) throw new AdminInputError('"ip" is not an IP address');
  }
  // Counters hold an IPv6 client's network, so any address in it names that counter.
  const ip = address && groupedAddress(address, settings.ipv6Prefix);
  const username = filter.username === undefined ? undefined : normaliseUsername(String(filter.username), settings.usernameCaseSensitive);
  // Attempts without a username are counted on their address (src/lockout/keys.ts): reset those by "ip".
  if (username === "") throw new AdminInputError('"username" is empty once normalised; give "ip" for attempts without a username');
  const inKey = username === undefined ? undefined : await usernameInKey(username);
  const matches = (parts: KeyParts): boolean => {
    if (ip !== undefined && inKey !== undefined) {
      const hasIp = parts.ip_address !== undefined;
      const hasUser = parts.username !== undefined;
      return (hasIp || hasUser) && (!hasIp || parts.ip_address === ip) && (!hasUser || parts.username === inKey);
    }
    return ip !== undefined ? parts.ip_address === ip : parts.username === inKey;
  };
  return { ...(address && { address }), ...(username !== undefined && { username }), matches };
}

/** Where a client's counters are: keys computed from the filter, and whether others need a scan. */
interface Plan {
  readonly keys: string[];
  readonly scan: boolean;
}

/** The most counters the dashboard shows at once. */
const DASHBOARD_MAX = 2_000;

export class LockoutAdmin {
  constructor(
    private readonly store: CounterStore,
    private readonly settings: LockoutSettings,
    private readonly keyPrefix: string,
    /** The clock of `retry_after_seconds` (read late, so a test's pinned clock holds). @default Date.now */
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Where trusted devices' own counters start (`deviceCounterKey`). */
  private get devicePrefix(): string {
    return deviceCounterKey(this.keyPrefix, "");
  }

  private view(counter: CounterSnapshot, now: number): CounterView {
    const parts = keyParts(counter.key, this.keyPrefix);
    const locked = this.settings.lockOutAtFailure && counter.count >= this.settings.failureLimit;
    return {
      ...(parts.ip_address !== undefined && { ip_address: parts.ip_address }),
      ...(parts.username !== undefined && { username: parts.username.startsWith(DIGEST_MARK) ? parts.username : decodeURIComponent(parts.username) }),
      ...(parts.user_agent !== undefined && { user_agent: parts.user_agent }),
      ...(counter.key.startsWith(this.devicePrefix) && { device: counter.key.slice(this.devicePrefix.length) }),
      failures: counter.count,
      locked,
      // The same rounding as the policy's Retry-After.
      retry_after_seconds: locked && counter.expiresAtMs !== null ? retryAfterOf(counter.expiresAtMs - now) : null,
    };
  }

  /**
   * A counter combination (AXES_LOCKOUT_PARAMETERS) whose every part the filter gives has exactly
   * one key, computed here. One that involves a given part and also one the filter does not give
   * (status by username with `ip_address,username`, or any `user_agent` one) has a key per unknown
   * value, so only a scan finds them; combinations that involve no given part cannot match. Attempts
   * without a username are counted on their address (`ip_address=…&username=`), so by IP the
   * `username` combinations have that key too.
   */
  private async plan(filter: ParsedFilter): Promise<Plan> {
    const given: Record<LockoutParameter, boolean> = { ip_address: filter.address !== undefined, username: filter.username !== undefined, user_agent: false };
    const direct: (readonly LockoutParameter[])[] = [];
    const withoutUsername: (readonly LockoutParameter[])[] = [];
    let scan = false;
    for (const names of this.settings.parameters) {
      if (names.every((name) => given[name])) {
        direct.push(names);
        continue;
      }
      if (names.some((name) => given[name])) scan = true;
      if (given.ip_address && !given.username && names.includes("username")) {
        if (names.includes("user_agent")) scan = true;
        else withoutUsername.push(names);
      }
    }
    const keysOf = (combinations: (readonly LockoutParameter[])[], username: string) =>
      combinations.length === 0
        ? Promise.resolve([])
        : // Without an address only `username` combinations are direct, and with a username those never read it.
          lockoutKeysFor(this.keyPrefix, combinations, { address: filter.address ?? UNUSED_ADDRESS, username, userAgent: "" }, this.settings.ipv6Prefix);
    const keys = [...(await keysOf(direct, filter.username ?? "")), ...(await keysOf(withoutUsername, ""))];
    return { keys, scan };
  }

  /** The client's live counters: the computed keys in one read, plus a complete scan only when `plan` needs one. */
  private async countersOf(filter: ClientFilter): Promise<CounterSnapshot[]> {
    const parsed = await parseFilter(filter, this.settings);
    const { keys, scan } = await this.plan(parsed);
    const found = new Map((await this.store.read(keys)).map((c) => [c.key, c]));
    if (!scan) return [...found.values()];
    let cursor: string | null = null;
    do {
      const page = await this.store.list(lockoutKeyPrefix(this.keyPrefix), SCAN_PAGE, cursor);
      for (const c of page.counters) if (parsed.matches(keyParts(c.key, this.keyPrefix))) found.set(c.key, c);
      cursor = page.cursor;
    } while (cursor !== null);
    return [...found.values()];
  }

  /**
   * One page of the counters at the limit, or with `all` every counter (those still below the limit
   * too, with their failures); `cursor` continues the listing (null when it is complete).
   */
  async list(cursor: string | null, all = false): Promise<{ lockouts: CounterView[]; cursor: string | null }> {
    if (cursor !== null && (cursor === "" || cursor.length > MAX_CURSOR)) throw new AdminInputError('"cursor" is not one this API gave out');
    const page = await this.store.list(lockoutKeyPrefix(this.keyPrefix), LIST_PAGE, cursor);
    const now = this.now();
    return { lockouts: page.counters.map((c) => this.view(c, now)).filter((v) => all || v.locked), cursor: page.cursor };
  }

  /**
   * Deletes every counter of this key prefix (axes_reset), page by page, and answers how many. Only
   * `<CACHE_KEY_PREFIX>:lockout:` keys are listed, so other gateways sharing the store keep theirs.
   */
  async resetAll(): Promise<string[]> {
    const deleted: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await this.store.list(lockoutKeyPrefix(this.keyPrefix), SCAN_PAGE, cursor);
      const keys = page.counters.map((c) => c.key);
      if (keys.length > 0) await this.store.reset(keys);
      deleted.push(...keys);
      cursor = page.cursor;
    } while (cursor !== null);
    return deleted;
  }

  /**
   * Counters locked or not, most failures first, then by username and IP (the dashboard's current
   * counters): pages through the store up to `max` counters; `truncated` when there were more.
   */
  async listAll(max = DASHBOARD_MAX): Promise<{ counters: CounterView[]; truncated: boolean }> {
    const counters: CounterSnapshot[] = [];
    let cursor: string | null = null;
    do {
      const page = await this.store.list(lockoutKeyPrefix(this.keyPrefix), LIST_PAGE, cursor);
      counters.push(...page.counters);
      cursor = page.cursor;
    } while (cursor !== null && counters.length < max);
    const truncated = cursor !== null || counters.length > max;
    counters.splice(max);
    const now = this.now();
    const label = (view: CounterView) => `${view.username ?? ""} ${view.ip_address ?? ""} ${view.user_agent ?? ""}`;
    const views = counters.map((c) => this.view(c, now));
    return { counters: views.sort((a, b) => b.failures - a.failures || label(a).localeCompare(label(b))), truncated };
  }

  /** A client's counters and whether any of them locks it. */
  async status(filter: ClientFilter): Promise<{ locked: boolean; counters: CounterView[] }> {
    const now = this.now();
    const views = (await this.countersOf(filter)).map((c) => this.view(c, now));
    return { locked: views.some((v) => v.locked), counters: views };
  }

  /** Deletes the client's counters (see the module comment); answers the keys deleted. */
  async reset(filter: ClientFilter): Promise<string[]> {
    const keys = (await this.countersOf(filter)).map((c) => c.key);
    if (keys.length > 0) await this.store.reset(keys);
    return keys;
  }
}
