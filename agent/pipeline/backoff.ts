/**
 * Exponential backoff between retries, as a pure function so the schedule is testable without a
 * clock and shared by every retry loop (downloads, polls, reports).
 */

export interface BackoffPolicy {
  /** Delay before the first retry. */
  initialMs: number;
  /** Cap: no delay is longer than this. */
  maxMs: number;
  /** Growth per retry (2 doubles the delay), at least 1. */
  factor: number;
}

/**
 * Delay before retry number `attempt` (1 = the first retry): `initialMs × factor^(attempt-1)`,
 * capped at `maxMs`. With `random01` (a value in [0, 1)) the delay is jittered into
 * [delay/2, delay) ("equal jitter"): a fleet that failed together does not retry in lockstep, yet
 * every device still waits at least half the schedule, so the server gets its breather.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random01?: number): number {
  validatePolicy(policy);
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`backoffDelay: attempt must be an integer >= 1, got ${attempt}`);
  // factor^n overflows to Infinity for large n; the cap absorbs it.
  const base = Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.factor, attempt - 1));
  if (random01 === undefined) return base;
  if (!(typeof random01 === 'number' && random01 >= 0 && random01 < 1)) throw new RangeError(`backoffDelay: random01 must be in [0, 1), got ${random01}`);
  return base / 2 + (base / 2) * random01;
}

export function validatePolicy(policy: BackoffPolicy): void {
  const { initialMs, maxMs, factor } = policy;
  if (!(Number.isFinite(initialMs) && initialMs >= 0)) throw new RangeError(`backoff: initialMs must be a finite number >= 0, got ${initialMs}`);
  if (!(Number.isFinite(maxMs) && maxMs >= initialMs)) throw new RangeError(`backoff: maxMs must be finite and >= initialMs, got ${maxMs}`);
  if (!(Number.isFinite(factor) && factor >= 1)) throw new RangeError(`backoff: factor must be a finite number >= 1, got ${factor}`);
}
