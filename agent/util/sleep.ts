/**
 * Waiting without globals: QuickJS has no setTimeout, so every wait of the agent goes through the
 * HAL clock (which also lets tests run on virtual time).
 */
import type { AbortSignalLike, Clock } from '../../hal/types.ts';

/** A wait (or other cancellable work) ended because its signal aborted. */
export class AbortedError extends Error {
  readonly code = 'aborted';
  readonly reason: unknown;
  constructor(reason?: unknown) {
    super('aborted');
    this.name = 'AbortedError';
    this.reason = reason;
  }
}

/**
 * Resolves after `ms` of monotonic time on `clock`; rejects with `AbortedError` as soon as
 * `signal` aborts (at once if it already has), and then leaves no timer behind.
 */
export function sleep(clock: Pick<Clock, 'setTimer' | 'clearTimer'>, ms: number, signal?: AbortSignalLike): Promise<void> {
  if (!(typeof ms === 'number' && Number.isFinite(ms) && ms >= 0)) return Promise.reject(new RangeError(`sleep: ms must be a finite number >= 0, got ${ms}`));
  if (signal?.aborted) return Promise.reject(new AbortedError(signal.reason));
  return new Promise<void>((resolve, reject) => {
    let unregister: () => void = () => {};
    const timer = clock.setTimer(() => {
      unregister();
      resolve();
    }, ms);
    if (signal) {
      unregister = signal.onAbort((reason) => {
        clock.clearTimer(timer);
        reject(new AbortedError(reason));
      });
    }
  });
}
