/** Waits told to clients in whole seconds (Retry-After, RateLimit `t=`, lockout bodies). */

/** Whole seconds until `msLeft` has passed, rounded up; 0 when it has. */
export const secondsLeft = (msLeft: number): number => Math.max(0, Math.ceil(msLeft / 1000));

/**
 * A Retry-After value for a wait of `msLeft`: whole seconds rounded up, and at least 1, because
 * `Retry-After: 0` invites a retry that would be refused again.
 * @example retryAfterSeconds(1) // 1
 */
export const retryAfterSeconds = (msLeft: number): number => Math.max(1, secondsLeft(msLeft));
