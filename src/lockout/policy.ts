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
import { retryAfterSeconds } from "../http/retry-after";
import { type CounterRule, type CounterStore, type DeviceCounted, type DeviceRegistration, type DeviceTrust, StoreError, grownCooloffMs } from "../store/contract";
import { type Background, runDetached } from "../store/failover/scope";
import type { AttemptNote, AttemptOutcome, AttemptRecord, HistoryTarget } from "../store/history";
import { attemptRecordOf } from "./history";
import { type LoginClient, deviceCounterKey, deviceRegistryKey, lockoutKeysFor } from "./keys";
import type { LockoutSettings } from "./settings";

/** How the origin's answer to an attempt reads (login/outcome.ts reads it); the policy settles on it. */
export type LoginOutcome = "success" | "failure" | "unknown";

/** Seconds an isolate answers a lock it already knows without asking the store (LOCKOUT_CACHE_SECONDS). */
export const DEFAULT_LOCK_CACHE_SECONDS = 5;

/** What the policy says before the origin sees an attempt. */
export type Admission =
  /** Whitelisted: not counted, never locked. */
  | { readonly kind: "exempt" }
  /** Refused at the edge; the origin never sees it. `cooloffSeconds`: the lock's whole cool-off (grown for a repeat offender); null = none. */
  | { readonly kind: "locked"; readonly failures: number; readonly retryAfterSeconds: number | null; readonly cooloffSeconds: number | null }
  /**
   * Held while other attempts of the same client were in flight, for the whole LOGIN_INFLIGHT_WAIT:
   * not counted, not a lock; the client is asked to try again in a second.
   */
  | { readonly kind: "busy"; readonly failures: number; readonly inFlight: number; readonly waitedMs: number }
  /**
   * Reserved and allowed through; settle it with the origin's outcome. `mayLock`: its failure could
   * be the one that reaches the limit (confirmed failures plus attempts in flight, itself included,
   * reached it when it reserved), so its response waits for the count; any other failure is counted
   * after the response. `device`: the attempt was counted as a trusted device (on its own counter
   * instead of the username's).
   */
  | {
      readonly kind: "admitted";
      readonly keys: readonly string[];
      readonly reservationId: string;
      readonly failures: number;
      readonly mayLock: boolean;
      readonly device?: DeviceCounted;
      /** The attempt's history record, its outcome set when it settles; absent without a history. */
      readonly record?: AttemptRecord;
    };

/** What the policy says once the origin has answered. */
export type Verdict =
  /** The origin's answer stands; `failures` is the confirmed count after a failure, null otherwise. */
  | { readonly kind: "pass"; readonly failures: number | null }
  | { readonly kind: "locked-out"; readonly failures: number; readonly retryAfterSeconds: number | null; readonly cooloffSeconds: number | null };

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
  /**
   * Where the attempt history goes (AXES_HISTORY): each counting call appends its attempt's record in
   * the same script or statement. @default null (not kept)
   */
  readonly history?: HistoryTarget | null;
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
  /** The lock's whole cool-off (grown for a repeat offender); null = none. */
  readonly cooloffSeconds: number | null;
}

/** Attempts refused from the cache for one lock, waiting for their background write. */
interface RefusedBatch {
  readonly attempts: Map<string, number>;
  /** Their history records, at most REFUSED_BATCH_RECORDS_MAX. */
  readonly records: AttemptRecord[];
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
/**
 * History records one background write appends at most: a flood refused from the lock cache is
 * recorded by its first refusals each second, not request by request.
 */
const REFUSED_BATCH_RECORDS_MAX = 100;
/** A held attempt asks again after 25 ms, then doubling up to 400 ms (with jitter, so a held burst spreads out). */
const HOLD_FIRST_MS = 25;
const HOLD_MAX_MS = 400;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Seconds for a Retry-After header: at least 1, null when the lock has no end. */
export const retryAfterOf = (msLeft: number | null): number | null => (msLeft === null ? null : retryAfterSeconds(msLeft));

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
  private readonly history: HistoryTarget | null;
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
    lockCacheSeconds = DEFAULT_LOCK_CACHE_SECONDS,
    inFlightWaitSeconds = 3,
    reservationSeconds = 35,
    idleCounterSeconds = IDLE_COUNTER_SECONDS,
    history = null,
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
    this.history = history;
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
  private rememberLock(keys: readonly string[], failures: number, endsAt: number | null, cooloffSeconds: number | null): void {
    if (this.lockCacheMs <= 0) return;
    const until = Math.min(this.now() + this.lockCacheMs, endsAt ?? Number.POSITIVE_INFINITY);
    if (this.knownLocks.size >= KNOWN_LOCKS_MAX) this.knownLocks.clear();
    for (const key of keys) this.knownLocks.set(key, { until, endsAt, failures, cooloffSeconds });
  }

  /** The whole cool-off of a lock whose counters remember `lockouts` lockouts (cool-offs that grow); null = none. */
  private cooloffOf(lockouts: number | undefined): number | null {
    const { cooloffSeconds, cooloffGrowth } = this.settings;
    return cooloffSeconds === null ? null : grownCooloffMs(cooloffSeconds * 1000, cooloffGrowth, lockouts ?? 1) / 1000;
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
      growth: this.settings.cooloffGrowth,
    };
  }

  /** The client's attempt record, when the history is kept. */
  private recordOf(client: LoginClient, keys: readonly string[], outcome: AttemptOutcome): Promise<AttemptRecord | undefined> {
    return this.history === null ? Promise.resolve(undefined) : attemptRecordOf(client, keys, this.keyPrefix, client.path ?? "", outcome);
  }

  /** The history to append with a counting call: these records, or none. */
  private note(records: readonly (AttemptRecord | undefined)[]): AttemptNote | undefined {
    const kept = records.filter((r) => r !== undefined);
    return this.history === null || kept.length === 0 ? undefined : { target: this.history, records: kept };
  }

  /**
   * How an attempt presenting a device cookie (already verified for its username) is counted while
   * the registry trusts the device: its counters that do not involve the username, and the device's
   * own counter (last), instead of the username's.
   */
  private async trustFor(client: LoginClient, deviceId: string): Promise<DeviceTrust> {
    const withoutUsername = this.settings.parameters.filter((combination) => !combination.includes("username"));
    const keys = withoutUsername.length === 0 ? [] : await lockoutKeysFor(this.keyPrefix, withoutUsername, client, this.settings.ipv6Prefix);
    return { registry: await deviceRegistryKey(this.keyPrefix, client.username), id: deviceId, keys: [...keys, deviceCounterKey(this.keyPrefix, deviceId)] };
  }

  /** Counter keys of a client, for admission and for admin resets. */
  keysFor(client: LoginClient): Promise<string[]> {
    return lockoutKeysFor(this.keyPrefix, this.settings.parameters, client, this.settings.ipv6Prefix);
  }

  /**
   * Says whether the attempt may reach the origin, reserving its slot when it may. An attempt that
   * finds the slots taken by attempts still in flight is held (polling with backoff) for at most
   * LOGIN_INFLIGHT_WAIT. `deviceId`: the device of a cookie verified for this username, counted as
   * a trusted device while the store's registry still trusts it. Throws StoreError when the store fails.
   */
  async admit(client: LoginClient, method: string, background: Background = runDetached, store: CounterStore = this.store, deviceId: string | null = null): Promise<Admission> {
    if (this.whitelist.has(client.address)) return { kind: "exempt" };
    const ordinary = await this.keysFor(client);
    const trust = deviceId === null || client.username === "" ? undefined : await this.trustFor(client, deviceId);
    const rule = this.rule(method);
    const reservationId = crypto.randomUUID();
    const record = await this.recordOf(client, ordinary, "locked");
    const started = this.now();
    for (let pause = HOLD_FIRST_MS; ; pause = Math.min(pause * 2, HOLD_MAX_MS)) {
      // A device cookie skips locks cached for the username: only the store knows whether it is still trusted.
      const cached = trust?.keys ?? ordinary;
      const known = rule.lockOutAtFailure ? this.knownLock(cached) : undefined;
      if (known) {
        if (rule.countWhileLocked) this.countRefused(known.key, cached, rule, background, store, record);
        const msLeft = known.lock.endsAt === null ? null : known.lock.endsAt - this.now();
        return { kind: "locked", failures: known.lock.failures, retryAfterSeconds: retryAfterOf(msLeft), cooloffSeconds: known.lock.cooloffSeconds };
      }
      const asked = this.now();
      const reservation = await store.reserve(ordinary, rule, reservationId, trust, this.note([record]));
      const keys = trust && reservation.kind !== "busy" && reservation.trusted ? trust.keys : ordinary;
      if (reservation.kind === "locked") {
        const endsAt = reservation.lockMsLeft === null ? null : asked + reservation.lockMsLeft;
        const cooloffSeconds = this.cooloffOf(reservation.lockouts);
        await this.noteLockout(keys, reservation.counts, endsAt, cooloffSeconds, store);
        return { kind: "locked", failures: reservation.failures, retryAfterSeconds: retryAfterOf(reservation.lockMsLeft), cooloffSeconds };
      }
      if (reservation.kind === "reserved") {
        this.forgetLocks(keys); // the store says unlocked (an admin reset elsewhere): drop any refresh grace
        const device = keys === ordinary || !trust ? {} : { device: { registry: trust.registry, id: trust.id, counter: trust.keys.at(-1)! } };
        const mayLock = rule.lockOutAtFailure && reservation.failures + reservation.inFlight >= rule.limit;
        return { kind: "admitted", keys, reservationId, failures: reservation.failures, mayLock, ...device, ...(record && { record }) };
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
  private countRefused(lockKey: string, keys: readonly string[], rule: CounterRule, background: Background, store: CounterStore, record: AttemptRecord | undefined): void {
    let batch = this.refused.get(lockKey);
    const scheduled = batch !== undefined;
    if (!batch) {
      batch = { attempts: new Map(), records: [] };
      this.refused.set(lockKey, batch);
    }
    if (record && batch.records.length < REFUSED_BATCH_RECORDS_MAX) batch.records.push(record);
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
      const state = await store.countRefused({ lockKey, attempts: batch.attempts }, rule, this.note(batch.records));
      if (!state.locked) return this.forgetLocks([lockKey]);
      const endsAt = state.lockMsLeft === null ? null : asked + state.lockMsLeft;
      await this.noteLockout([lockKey], [state.failures], endsAt, this.knownLocks.get(lockKey)?.cooloffSeconds ?? this.settings.cooloffSeconds, store);
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      logEvent("refused_count_failed", { store: error.store, reason: error.reason, attempts: Math.max(...batch.attempts.values()) }, "error");
    }
  }

  /**
   * Remembers the counters at the limit in this isolate, and hands them to the store, which may keep
   * a second copy of the lockout.
   */
  private async noteLockout(keys: readonly string[], counts: readonly number[], endsAt: number | null, cooloffSeconds: number | null, store: CounterStore): Promise<void> {
    const locking = keys.flatMap((key, i) => ((counts[i] ?? 0) >= this.settings.failureLimit ? [{ key, count: counts[i]!, expiresAtMs: endsAt }] : []));
    if (locking.length === 0) return;
    this.rememberLock(locking.map((c) => c.key), Math.max(...locking.map((c) => c.count)), endsAt, cooloffSeconds);
    await store.noteLockout?.(locking);
  }

  /**
   * Turns the origin's outcome into the final answer: a failure becomes a confirmed failure (and, at
   * the limit, gets the lockout response at once, as in axes); anything else gives the reservation
   * back, or with AXES_RESET_ON_SUCCESS also clears the client's counters. A success's `device`
   * (trusted devices) is registered in the same store call as the release.
   *
   * A failure that cannot reach the limit (`mayLock` false), and every give-back, are written after
   * the response (`counting`): until then the reservation still holds its slot, so no attempt gets
   * past the limit meanwhile (one may be held a moment longer). The attempt that took the last slot
   * waits for its count, and, below the limit, for the attempts reserved before it that are still in
   * flight (their failures may be on their way): so exactly the failure that reaches the limit gets
   * the lockout response.
   */
  async settle(admission: Admission, outcome: LoginOutcome, method: string, store: CounterStore = this.store, device?: DeviceRegistration): Promise<Settlement> {
    if (admission.kind !== "admitted") return { kind: "pass", failures: null };
    const { keys, reservationId, record } = admission;
    if (outcome !== "failure") {
      const success = outcome === "success";
      const released = store.release(keys, reservationId, success && this.settings.resetOnSuccess, success ? device : undefined, this.note([record && { ...record, outcome }]));
      return { kind: "counting", counted: released.then(() => ({ kind: "pass", failures: null })) };
    }
    const failed = record && { ...record, outcome };
    if (!admission.mayLock) return { kind: "counting", counted: this.confirmFailure(keys, reservationId, method, store, admission.device, failed, true) };
    const verdict = await this.confirmFailure(keys, reservationId, method, store, admission.device, failed);
    return verdict.kind === "pass" ? this.afterOthersSettle(keys, method, store) : verdict;
  }

  /**
   * The last slot's failure, confirmed below the limit: polls (as a held attempt does, for at most
   * LOGIN_INFLIGHT_WAIT) until the counters reach the limit or the attempts still in flight can no
   * longer make them, and answers on the confirmed count. (With cool-offs that grow, its Retry-After
   * is the first lockout's: the lockouts remembered are not read here.)
   */
  private async afterOthersSettle(keys: readonly string[], method: string, store: CounterStore): Promise<Verdict> {
    const rule = this.rule(method);
    const started = this.now();
    for (let pause = HOLD_FIRST_MS; ; pause = Math.min(pause * 2, HOLD_MAX_MS)) {
      const asked = this.now();
      const state = await store.pending(keys);
      if (state.failures >= rule.limit) {
        const cooloffSeconds = this.cooloffOf(undefined);
        const lockMs = cooloffSeconds === null ? null : cooloffSeconds * 1000;
        await this.noteLockout(keys, state.counts, lockMs === null ? null : asked + lockMs, cooloffSeconds, store);
        return { kind: "locked-out", failures: state.failures, retryAfterSeconds: retryAfterOf(lockMs), cooloffSeconds };
      }
      const settled = state.failures + state.inFlight < rule.limit;
      if (settled || this.now() - started + pause > this.inFlightWaitMs) return { kind: "pass", failures: state.failures };
      await this.sleep(pause * (0.5 + Math.random() / 2));
    }
  }

  /** Adds a confirmed failure to the counters (ending the reservation, if any) and says whether it locked them. */
  private async confirmFailure(keys: readonly string[], reservationId: string, method: string, store: CounterStore, device: DeviceCounted | undefined, record: AttemptRecord | undefined, afterResponse = false): Promise<Verdict> {
    const rule = this.rule(method);
    const asked = this.now();
    const { failures, counts, lockouts } = await store.confirmFailure(keys, reservationId, rule, device, this.note([record]), afterResponse);
    if (!rule.lockOutAtFailure || failures < rule.limit) return { kind: "pass", failures };
    const cooloffSeconds = this.cooloffOf(lockouts);
    const lockMs = cooloffSeconds === null ? null : cooloffSeconds * 1000;
    await this.noteLockout(keys, counts, lockMs === null ? null : asked + lockMs, cooloffSeconds, store);
    return { kind: "locked-out", failures, retryAfterSeconds: retryAfterOf(lockMs), cooloffSeconds };
  }

  /**
   * Counts a failure the origin reported after the fact (a password check the gateway did not see
   * coming, or another user than the one counted): as an attempt admitted and failed at once.
   */
  async recordFailure(client: LoginClient, method: string, store: CounterStore = this.store): Promise<Verdict> {
    if (this.whitelist.has(client.address)) return { kind: "pass", failures: null };
    const keys = await this.keysFor(client);
    return this.confirmFailure(keys, crypto.randomUUID(), method, store, undefined, await this.recordOf(client, keys, "failure"));
  }

  /** A success the origin reported after the fact: clears the user's counters with AXES_RESET_ON_SUCCESS. */
  async recordSuccess(client: LoginClient, store: CounterStore = this.store): Promise<void> {
    if (!this.settings.resetOnSuccess || this.whitelist.has(client.address)) return;
    const keys = await this.keysFor(client);
    this.forgetLocks(keys);
    await store.reset(keys);
  }
}
