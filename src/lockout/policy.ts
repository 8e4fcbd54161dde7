/**
 * The lockout policy, written once against the CounterStore contract (django-axes' handler pattern).
 *
 * Race-free by construction, without treating an attempt in flight as a failure: before an attempt is
 * forwarded it takes a reservation (an in-flight slot, atomically, next to the confirmed failures), and
 * once the origin answered the reservation either becomes a confirmed failure or is given back. A key
 * never has more than `limit - confirmed failures` password checks of unknown outcome at once, so a
 * burst of 100 concurrent failing attempts lets exactly AXES_FAILURE_LIMIT of them reach the origin.
 * An attempt that finds the slots taken by attempts still in flight (not by failures) is held until
 * they settle, then decided on confirmed failures: concurrent correct logins are never refused.
 */
import type { AddressList } from "../client/address";
import { logEvent } from "../http/log";
import { type CounterRule, type CounterStore, StoreError } from "../store/contract";
import { type Background, runDetached } from "../store/failover/scope";
import type { LoginOutcome } from "../login/outcome";
import { type LoginClient, lockoutKeysFor } from "./keys";
import type { LockoutSettings } from "./settings";

/** What the policy says before the origin sees an attempt. */
export type Admission =
  /** Whitelisted: not counted, never locked. */
  | { readonly kind: "exempt" }
  /** Refused at the edge; the origin never sees it. */
  | { readonly kind: "locked"; readonly failures: number; readonly retryAfterSeconds: number | null }
  /**
   * Held while other attempts of the same client were in flight, for the whole LOGIN_INFLIGHT_WAIT:
   * not counted, not a lock; the client is asked to try again in a second.
   */
  | { readonly kind: "busy"; readonly failures: number; readonly inFlight: number; readonly waitedMs: number }
  /**
   * Reserved and allowed through; settle it with the origin's outcome. `mayLock`: its failure could
   * be the one that reaches the limit (confirmed failures plus attempts in flight, itself included,
   * reached it when it reserved), so its response waits for the count; any other failure is counted
   * after the response.
   */
  | { readonly kind: "admitted"; readonly keys: readonly string[]; readonly reservationId: string; readonly failures: number; readonly mayLock: boolean };

/** What the policy says once the origin has answered. */
export type Verdict =
  /** The origin's answer stands; `failures` is the confirmed count after a failure, null otherwise. */
  | { readonly kind: "pass"; readonly failures: number | null }
  | { readonly kind: "locked-out"; readonly failures: number; readonly retryAfterSeconds: number | null };

/**
 * What settling says: the final verdict, or, when the response does not depend on the store's answer
 * (a failure that cannot lock, a reservation given back), the write still on its way: hand `counted`
 * to `waitUntil`, the response need not wait for it.
 */
export type Settlement = Verdict | { readonly kind: "counting"; readonly counted: Promise<Verdict> };

export type { Background } from "../store/failover/scope";

export interface LockoutPolicyOptions {
  readonly settings: LockoutSettings;
  readonly store: CounterStore;
  readonly whitelist: AddressList;
  readonly keyPrefix: string;
  /**
   * How long this isolate answers a known lock by itself, without a store call on the request's path.
   * The refused attempts are still counted (restarting the cool-off, as AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT
   * says) in the background, at most one write per lock per second; an admin reset reaches other
   * isolates this late. 0 turns it off. @default 5
   */
  readonly lockCacheSeconds?: number;
  /** How long an attempt is held while other attempts of its client are in flight (LOGIN_INFLIGHT_WAIT). @default 3 */
  readonly inFlightWaitSeconds?: number;
  /** How long an unsettled reservation stands: the origin's timeout plus a margin. @default 35 */
  readonly reservationSeconds?: number;
  /** Without a cool-off, how long a counter that never reached the limit lives (CounterRule.idleSeconds). */
  readonly idleCounterSeconds?: number;
  readonly now?: () => number;
  /** Waits between polls of a held attempt; tests drive it with their clock. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** A lock this isolate knows of: answered locally until `until`. */
interface KnownLock {
  readonly until: number;
  /** When the lock itself ends; null = only an admin lifts it. */
  readonly endsAt: number | null;
  readonly failures: number;
}

/** Attempts refused from the cache for one lock, waiting for their background write. */
interface RefusedBatch {
  readonly attempts: Map<string, number>;
}

const KNOWN_LOCKS_MAX = 10_000;
/**
 * Without AXES_COOLOFF_TIME, a counter that never reached the limit is forgotten a day after its last
 * failure (one per attacker address and username would otherwise pile up forever); a real lockout
 * stays until an admin resets it, as in django-axes.
 */
export const IDLE_COUNTER_SECONDS = 86_400;
/** While one request re-asks the store about a cached lock, the others keep the cached answer this long. */
const REFRESH_GRACE_MS = 1000;
/** Refused attempts of one lock are written at most this often per isolate. */
const REFUSED_WRITE_INTERVAL_MS = 1000;
/**
 * Counters one background write touches at most. A locked address rotating usernames would otherwise
 * make one write as long as its flood; beyond this, only counters already in the batch (the lock's
 * own among them) are counted.
 */
const REFUSED_BATCH_KEYS_MAX = 1000;
/** A held attempt asks again after 25 ms, then doubling up to 400 ms (with jitter, so a held burst spreads out). */
const HOLD_FIRST_MS = 25;
const HOLD_MAX_MS = 400;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Seconds for a Retry-After header: at least 1, null when the lock has no end. */
export const retryAfterOf = (msLeft: number | null): number | null => (msLeft === null ? null : Math.max(1, Math.ceil(msLeft / 1000)));

/** Decides, per login attempt, whether to refuse it, and settles the count once the origin answered. */
export class LockoutPolicy {
  private readonly settings: LockoutSettings;
  private readonly store: CounterStore;
  private readonly whitelist: AddressList;
  private readonly keyPrefix: string;
  private readonly lockCacheMs: number;
  private readonly inFlightWaitMs: number;
  private readonly reservationMs: number;
  private readonly idleCounterSeconds: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly knownLocks = new Map<string, KnownLock>();
  private readonly refused = new Map<string, RefusedBatch>();
  private readonly refusedWrittenAt = new Map<string, number>();

  constructor({
    settings,
    store,
    whitelist,
    keyPrefix,
    lockCacheSeconds = 5,
    inFlightWaitSeconds = 3,
    reservationSeconds = 35,
    idleCounterSeconds = IDLE_COUNTER_SECONDS,
    now = Date.now,
    sleep = realSleep,
  }: LockoutPolicyOptions) {
    this.settings = settings;
    this.store = store;
    this.whitelist = whitelist;
    this.keyPrefix = keyPrefix;
    this.lockCacheMs = lockCacheSeconds * 1000;
    this.inFlightWaitMs = inFlightWaitSeconds * 1000;
    this.reservationMs = reservationSeconds * 1000;
    this.idleCounterSeconds = idleCounterSeconds;
    this.now = now;
    this.sleep = sleep;
  }

  /**
   * A lock this isolate already knows for any of the keys, with the key it is known for. When the
   * cached copy runs out while the lock itself lasts, the caller re-asks the store and, meanwhile,
   * concurrent requests keep the cached answer (one store call per refresh, not one per request in flight).
   */
  private knownLock(keys: readonly string[]): { key: string; lock: KnownLock } | undefined {
    const now = this.now();
    for (const key of keys) {
      const lock = this.knownLocks.get(key);
      if (!lock) continue;
      if (lock.until > now) return { key, lock };
      if (lock.endsAt === null || lock.endsAt > now) {
        this.knownLocks.set(key, { ...lock, until: Math.min(now + REFRESH_GRACE_MS, lock.endsAt ?? Number.POSITIVE_INFINITY) });
      } else {
        this.knownLocks.delete(key);
      }
    }
    return undefined;
  }

  /** `endsAt` is the store's lock end measured from when the store was asked, so the cache never outlasts it. */
  private rememberLock(keys: readonly string[], failures: number, endsAt: number | null): void {
    if (this.lockCacheMs <= 0) return;
    const until = Math.min(this.now() + this.lockCacheMs, endsAt ?? Number.POSITIVE_INFINITY);
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
      reservationMs: this.reservationMs,
      idleSeconds: this.idleCounterSeconds,
    };
  }

  /** Counter keys of a client, for admission and for admin resets. */
  keysFor(client: LoginClient): Promise<string[]> {
    return lockoutKeysFor(this.keyPrefix, this.settings.parameters, client, this.settings.ipv6Prefix);
  }

  /**
   * Says whether the attempt may reach the origin, reserving its slot when it may. An attempt that
   * finds the slots taken by attempts still in flight is held (polling with backoff) for at most
   * LOGIN_INFLIGHT_WAIT. Throws StoreError when the store fails.
   */
  async admit(client: LoginClient, method: string, background: Background = runDetached, store: CounterStore = this.store): Promise<Admission> {
    if (this.whitelist.has(client.address)) return { kind: "exempt" };
    const keys = await this.keysFor(client);
    const rule = this.rule(method);
    const reservationId = crypto.randomUUID();
    const started = this.now();
    for (let pause = HOLD_FIRST_MS; ; pause = Math.min(pause * 2, HOLD_MAX_MS)) {
      const known = rule.lockOutAtFailure ? this.knownLock(keys) : undefined;
      if (known) {
        if (rule.countWhileLocked) this.countRefused(known.key, keys, rule, background, store);
        const msLeft = known.lock.endsAt === null ? null : known.lock.endsAt - this.now();
        return { kind: "locked", failures: known.lock.failures, retryAfterSeconds: retryAfterOf(msLeft) };
      }
      const asked = this.now();
      const reservation = await store.reserve(keys, rule, reservationId);
      if (reservation.kind === "locked") {
        const endsAt = reservation.lockMsLeft === null ? null : asked + reservation.lockMsLeft;
        await this.noteLockout(keys, reservation.counts, endsAt, store);
        return { kind: "locked", failures: reservation.failures, retryAfterSeconds: retryAfterOf(reservation.lockMsLeft) };
      }
      if (reservation.kind === "reserved") {
        this.forgetLocks(keys); // the store says unlocked (an admin reset elsewhere): drop any refresh grace
        const mayLock = rule.lockOutAtFailure && reservation.failures + reservation.inFlight >= rule.limit;
        return { kind: "admitted", keys, reservationId, failures: reservation.failures, mayLock };
      }
      const waitedMs = this.now() - started;
      if (waitedMs + pause > this.inFlightWaitMs) return { kind: "busy", failures: reservation.failures, inFlight: reservation.inFlight, waitedMs };
      await this.sleep(pause * (0.5 + Math.random() / 2));
    }
  }

  /**
   * Counts an attempt refused from the cache in the background, batched per lock: the first refusal
   * schedules a write (no sooner than a second after the previous one for that lock), and refusals
   * until it runs join it. The write restarts the cool-off and tells when the lock now ends.
   */
  private countRefused(lockKey: string, keys: readonly string[], rule: CounterRule, background: Background, store: CounterStore): void {
    let batch = this.refused.get(lockKey);
    const scheduled = batch !== undefined;
    if (!batch) {
      batch = { attempts: new Map() };
      this.refused.set(lockKey, batch);
    }
    for (const key of keys) {
      const attempts = batch.attempts.get(key);
      if (attempts !== undefined || batch.attempts.size < REFUSED_BATCH_KEYS_MAX || key === lockKey) batch.attempts.set(key, (attempts ?? 0) + 1);
    }
    if (!scheduled) background(this.writeRefused(lockKey, batch, rule, store));
  }

  private async writeRefused(lockKey: string, batch: RefusedBatch, rule: CounterRule, store: CounterStore): Promise<void> {
    const last = this.refusedWrittenAt.get(lockKey);
    const wait = last === undefined ? 0 : last + REFUSED_WRITE_INTERVAL_MS - this.now();
    if (wait > 0) await this.sleep(wait);
    this.refused.delete(lockKey); // refusals from now on start the next batch
    if (this.refusedWrittenAt.size >= KNOWN_LOCKS_MAX) this.refusedWrittenAt.clear();
    const asked = this.now();
    this.refusedWrittenAt.set(lockKey, asked);
    try {
      const state = await store.countRefused({ lockKey, attempts: batch.attempts }, rule);
      if (!state.locked) return this.forgetLocks([lockKey]);
      const endsAt = state.lockMsLeft === null ? null : asked + state.lockMsLeft;
      await this.noteLockout([lockKey], [state.failures], endsAt, store);
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      logEvent("refused_count_failed", { store: error.store, reason: error.reason, attempts: Math.max(...batch.attempts.values()) }, "error");
    }
  }

  /**
   * Remembers the counters at the limit in this isolate, and hands them to the store, which may keep
   * a second copy of the lockout.
   */
  private async noteLockout(keys: readonly string[], counts: readonly number[], endsAt: number | null, store: CounterStore): Promise<void> {
    const locking = keys.flatMap((key, i) => ((counts[i] ?? 0) >= this.settings.failureLimit ? [{ key, count: counts[i]!, expiresAtMs: endsAt }] : []));
    if (locking.length === 0) return;
    this.rememberLock(locking.map((c) => c.key), Math.max(...locking.map((c) => c.count)), endsAt);
    await store.noteLockout?.(locking);
  }

  /**
   * Turns the origin's outcome into the final answer: a failure becomes a confirmed failure (and, at
   * the limit, gets the lockout response at once, as in axes); anything else gives the reservation
   * back, or with AXES_RESET_ON_SUCCESS also clears the client's counters.
   *
   * A failure that cannot reach the limit (`mayLock` false), and every give-back, are written after
   * the response (`counting`): until then the reservation still holds its slot, so no attempt gets
   * past the limit meanwhile (one may be held a moment longer). The attempt that took the last slot
   * waits for its count, and, below the limit, for the attempts reserved before it that are still in
   * flight (their failures may be on their way): so exactly the failure that reaches the limit gets
   * the lockout response.
   */
  async settle(admission: Admission, outcome: LoginOutcome, method: string, store: CounterStore = this.store): Promise<Settlement> {
    if (admission.kind !== "admitted") return { kind: "pass", failures: null };
    const { keys, reservationId } = admission;
    if (outcome !== "failure") {
      const clearCounters = outcome === "success" && this.settings.resetOnSuccess;
      return { kind: "counting", counted: store.release(keys, reservationId, clearCounters).then(() => ({ kind: "pass", failures: null })) };
    }
    if (!admission.mayLock) return { kind: "counting", counted: this.confirmFailure(keys, reservationId, method, store) };
    const verdict = await this.confirmFailure(keys, reservationId, method, store);
    return verdict.kind === "pass" ? this.afterOthersSettle(keys, method, store) : verdict;
  }

  /**
   * The last slot's failure, confirmed below the limit: polls (as a held attempt does, for at most
   * LOGIN_INFLIGHT_WAIT) until the counters reach the limit or the attempts still in flight can no
   * longer make them, and answers on the confirmed count.
   */
  private async afterOthersSettle(keys: readonly string[], method: string, store: CounterStore): Promise<Verdict> {
    const rule = this.rule(method);
    const started = this.now();
    for (let pause = HOLD_FIRST_MS; ; pause = Math.min(pause * 2, HOLD_MAX_MS)) {
      const asked = this.now();
      const state = await store.pending(keys);
      if (state.failures >= rule.limit) {
        const lockMs = rule.ttlSeconds === null ? null : rule.ttlSeconds * 1000;
        await this.noteLockout(keys, state.counts, lockMs === null ? null : asked + lockMs, store);
        return { kind: "locked-out", failures: state.failures, retryAfterSeconds: retryAfterOf(lockMs) };
      }
      const settled = state.failures + state.inFlight < rule.limit;
      if (settled || this.now() - started + pause > this.inFlightWaitMs) return { kind: "pass", failures: state.failures };
      await this.sleep(pause * (0.5 + Math.random() / 2));
    }
  }

  /** Adds a confirmed failure to the counters (ending the reservation, if any) and says whether it locked them. */
  private async confirmFailure(keys: readonly string[], reservationId: string, method: string, store: CounterStore): Promise<Verdict> {
    const rule = this.rule(method);
    const asked = this.now();
    const { failures, counts } = await store.confirmFailure(keys, reservationId, rule);
    if (!rule.lockOutAtFailure || failures < rule.limit) return { kind: "pass", failures };
    const lockMs = rule.ttlSeconds === null ? null : rule.ttlSeconds * 1000;
    await this.noteLockout(keys, counts, lockMs === null ? null : asked + lockMs, store);
    return { kind: "locked-out", failures, retryAfterSeconds: retryAfterOf(lockMs) };
  }

  /**
   * Counts a failure the origin reported after the fact (a password check the gateway did not see
   * coming, or another user than the one counted): as an attempt admitted and failed at once.
   */
  async recordFailure(client: LoginClient, method: string, store: CounterStore = this.store): Promise<Verdict> {
    if (this.whitelist.has(client.address)) return { kind: "pass", failures: null };
    return this.confirmFailure(await this.keysFor(client), crypto.randomUUID(), method, store);
  }

  /** A success the origin reported after the fact: clears the user's counters with AXES_RESET_ON_SUCCESS. */
  async recordSuccess(client: LoginClient, store: CounterStore = this.store): Promise<void> {
    if (!this.settings.resetOnSuccess || this.whitelist.has(client.address)) return;
    const keys = await this.keysFor(client);
    this.forgetLocks(keys);
    await store.reset(keys);
  }
}
