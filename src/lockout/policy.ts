/**
 * The lockout policy, written once against the CounterStore contract (django-axes' handler pattern).
 *
 * Race-free by construction: every attempt is counted atomically *before* it is forwarded (a
 * reservation) and taken back when the origin says it was not a failure. A burst of 100 concurrent
 * failing attempts therefore lets at most AXES_FAILURE_LIMIT of them reach the origin.
 */
import type { AddressList } from "../client/address";
import type { CounterRule, CounterStore } from "../store/contract";
import type { LoginOutcome } from "../login/outcome";
import { type LoginClient, lockoutKeysFor } from "./keys";
import type { LockoutSettings } from "./settings";

/** What the policy says before the origin sees an attempt. */
export type Admission =
  /** Whitelisted: not counted, never locked. */
  | { readonly kind: "exempt" }
  /** Refused at the edge; the origin never sees it. */
  | { readonly kind: "locked"; readonly failures: number; readonly retryAfterSeconds: number | null }
  /** Counted (reserved) and allowed through; settle it with the origin's outcome. */
  | { readonly kind: "admitted"; readonly keys: readonly string[]; readonly counts: readonly number[]; readonly failures: number };

/** What the policy says once the origin has answered. */
export type Verdict =
  | { readonly kind: "pass" }
  | { readonly kind: "locked-out"; readonly failures: number; readonly retryAfterSeconds: number | null };

export interface LockoutPolicyOptions {
  readonly settings: LockoutSettings;
  readonly store: CounterStore;
  readonly whitelist: AddressList;
  readonly keyPrefix: string;
  /**
   * How long this isolate answers a known lock by itself, without asking the store. A flood from a
   * locked client then costs no store round trip; the price is that its attempts during those
   * seconds do not restart the cool-off, and an admin reset reaches other isolates that late.
   * 0 turns it off. @default 5
   */
  readonly lockCacheSeconds?: number;
  readonly now?: () => number;
}

/** A lock this isolate knows of: answered locally until `until`. */
interface KnownLock {
  readonly until: number;
  /** When the lock itself ends; null = only an admin lifts it. */
  readonly endsAt: number | null;
  readonly failures: number;
}

const KNOWN_LOCKS_MAX = 10_000;
/** While one request re-asks the store about a cached lock, the others keep the cached answer this long. */
const REFRESH_GRACE_MS = 1000;

/** Decides, per login attempt, whether to refuse it, and settles the count once the origin answered. */
export class LockoutPolicy {
  private readonly settings: LockoutSettings;
  private readonly store: CounterStore;
  private readonly whitelist: AddressList;
  private readonly keyPrefix: string;
  private readonly lockCacheMs: number;
  private readonly now: () => number;
  private readonly knownLocks = new Map<string, KnownLock>();

  constructor({ settings, store, whitelist, keyPrefix, lockCacheSeconds = 5, now = Date.now }: LockoutPolicyOptions) {
    this.settings = settings;
    this.store = store;
    this.whitelist = whitelist;
    this.keyPrefix = keyPrefix;
    this.lockCacheMs = lockCacheSeconds * 1000;
    this.now = now;
  }

  /**
   * A lock this isolate already knows for any of the keys. When the cached copy runs out while the
   * lock itself lasts, the caller re-asks the store and, meanwhile, concurrent requests keep the cached
   * answer (one store call per refresh, not one per request in flight).
   */
  private knownLock(keys: readonly string[]): KnownLock | undefined {
    const now = this.now();
    for (const key of keys) {
      const lock = this.knownLocks.get(key);
      if (!lock) continue;
      if (lock.until > now) return lock;
      if (lock.endsAt === null || lock.endsAt > now) {
        this.knownLocks.set(key, { ...lock, until: Math.min(now + REFRESH_GRACE_MS, lock.endsAt ?? Number.POSITIVE_INFINITY) });
      } else {
        this.knownLocks.delete(key);
      }
    }
    return undefined;
  }

  private rememberLock(keys: readonly string[], failures: number, retryAfterSeconds: number | null): void {
    if (this.lockCacheMs <= 0) return;
    const now = this.now();
    const endsAt = retryAfterSeconds === null ? null : now + retryAfterSeconds * 1000;
    const until = Math.min(now + this.lockCacheMs, endsAt ?? Number.POSITIVE_INFINITY);
    if (this.knownLocks.size >= KNOWN_LOCKS_MAX) this.knownLocks.clear();
    for (const key of keys) this.knownLocks.set(key, { until, endsAt, failures });
  }

  /** Forgets locks this isolate remembers for the keys (after an admin reset). */
  forgetLocks(keys: readonly string[]): void {
    for (const key of keys) this.knownLocks.delete(key);
  }

  private rule(method: string): CounterRule {
    const { failureLimit, cooloffSeconds, lockOutAtFailure, neverLockoutGet, resetCoolOffOnFailureDuringLockout } = this.settings;
    return {
      limit: failureLimit,
      ttlSeconds: cooloffSeconds,
      lockOutAtFailure: lockOutAtFailure && !(neverLockoutGet && method === "GET"),
      countWhileLocked: resetCoolOffOnFailureDuringLockout,
    };
  }

  /** Counter keys of a client, for admission and for admin resets. */
  keysFor(client: LoginClient): Promise<string[]> {
    return lockoutKeysFor(this.keyPrefix, this.settings.parameters, client, this.settings.ipv6Prefix);
  }

  /** Counts the attempt and says whether it may reach the origin. Throws StoreError when the store fails. */
  async admit(client: LoginClient, method: string): Promise<Admission> {
    if (this.whitelist.has(client.address)) return { kind: "exempt" };
    const keys = await this.keysFor(client);
    const rule = this.rule(method);
    const known = rule.lockOutAtFailure ? this.knownLock(keys) : undefined;
    if (known) {
      const retryAfterSeconds = known.endsAt === null ? null : Math.max(1, Math.ceil((known.endsAt - this.now()) / 1000));
      return { kind: "locked", failures: known.failures, retryAfterSeconds };
    }
    const reservation = await this.store.reserve(keys, rule);
    if (reservation.locked) {
      await this.noteLockout(keys, reservation.counts, reservation.retryAfterSeconds);
      return { kind: "locked", failures: reservation.failures, retryAfterSeconds: reservation.retryAfterSeconds };
    }
    this.forgetLocks(keys); // the store says unlocked (an admin reset elsewhere): drop any refresh grace
    return { kind: "admitted", keys, counts: reservation.counts, failures: reservation.failures };
  }

  /**
   * Remembers the counters at the limit in this isolate, and hands them to the store, which may keep
   * a second copy of the lockout.
   */
  private async noteLockout(keys: readonly string[], counts: readonly number[], retryAfterSeconds: number | null): Promise<void> {
    const expiresAtMs = retryAfterSeconds === null ? null : this.now() + retryAfterSeconds * 1000;
    const locking = keys.flatMap((key, i) => ((counts[i] ?? 0) >= this.settings.failureLimit ? [{ key, count: counts[i]!, expiresAtMs }] : []));
    if (locking.length === 0) return;
    this.rememberLock(locking.map((c) => c.key), Math.max(...locking.map((c) => c.count)), retryAfterSeconds);
    await this.store.noteLockout?.(locking);
  }

  /**
   * Turns the origin's outcome into the final answer: a failure keeps its reservation (and, at the
   * limit, gets the lockout response at once, as in axes); anything else gives the reservation back,
   * or with AXES_RESET_ON_SUCCESS clears the client's counters.
   */
  async settle(admission: Admission, outcome: LoginOutcome, method: string): Promise<Verdict> {
    if (admission.kind !== "admitted") return { kind: "pass" };
    if (outcome === "failure") {
      const rule = this.rule(method);
      if (rule.lockOutAtFailure && admission.failures >= rule.limit) {
        const retryAfterSeconds = rule.ttlSeconds === null ? null : Math.ceil(rule.ttlSeconds);
        await this.noteLockout(admission.keys, admission.counts, retryAfterSeconds);
        return { kind: "locked-out", failures: admission.failures, retryAfterSeconds };
      }
      return { kind: "pass" };
    }
    if (outcome === "success" && this.settings.resetOnSuccess) await this.store.reset(admission.keys);
    else await this.store.release(admission.keys);
    return { kind: "pass" };
  }

  /**
   * Counts a failure the origin reported after the fact (a password check the gateway did not see
   * coming, or another user than the one counted): as an attempt admitted and failed at once.
   */
  async recordFailure(client: LoginClient, method: string): Promise<Verdict> {
    return this.settle(await this.admit(client, method), "failure", method);
  }

  /** A success the origin reported after the fact: clears the user's counters with AXES_RESET_ON_SUCCESS. */
  async recordSuccess(client: LoginClient): Promise<void> {
    if (!this.settings.resetOnSuccess || this.whitelist.has(client.address)) return;
    const keys = await this.keysFor(client);
    this.forgetLocks(keys);
    await this.store.reset(keys);
  }
}
