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
}

/** Decides, per login attempt, whether to refuse it, and settles the count once the origin answered. */
export class LockoutPolicy {
  private readonly settings: LockoutSettings;
  private readonly store: CounterStore;
  private readonly whitelist: AddressList;
  private readonly keyPrefix: string;

  constructor({ settings, store, whitelist, keyPrefix }: LockoutPolicyOptions) {
    this.settings = settings;
    this.store = store;
    this.whitelist = whitelist;
    this.keyPrefix = keyPrefix;
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
    return lockoutKeysFor(this.keyPrefix, this.settings.parameters, client);
  }

  /** Counts the attempt and says whether it may reach the origin. Throws StoreError when the store fails. */
  async admit(client: LoginClient, method: string): Promise<Admission> {
    if (this.whitelist.has(client.address)) return { kind: "exempt" };
    const keys = await this.keysFor(client);
    const reservation = await this.store.reserve(keys, this.rule(method));
    if (reservation.locked) {
      await this.noteLockout(keys, reservation.counts, reservation.retryAfterSeconds);
      return { kind: "locked", failures: reservation.failures, retryAfterSeconds: reservation.retryAfterSeconds };
    }
    return { kind: "admitted", keys, counts: reservation.counts, failures: reservation.failures };
  }

  /** Hands the counters at the limit to the store, which may keep a second copy of the lockout. */
  private async noteLockout(keys: readonly string[], counts: readonly number[], retryAfterSeconds: number | null): Promise<void> {
    if (!this.store.noteLockout) return;
    const expiresAtMs = retryAfterSeconds === null ? null : Date.now() + retryAfterSeconds * 1000;
    const locking = keys.flatMap((key, i) => ((counts[i] ?? 0) >= this.settings.failureLimit ? [{ key, count: counts[i]!, expiresAtMs }] : []));
    if (locking.length > 0) await this.store.noteLockout(locking);
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
}
