/**
 * Waiting and cancelling without globals: QuickJS has no setTimeout and no AbortController, so
 * every wait of the agent goes through the HAL clock (which also lets tests run on virtual time)
 * and every cancellation through `createAbort`. One module with the agent's core (which aborts its
 * runs): every family's pipeline waits, and a module of its own would cost each QuickJS cycle
 * ~1.2 KB more heap than its code does in the core.
 */
import type { AbortSignalLike, Clock } from '../../hal/types.ts';

/** A wait (or other cancellable work) ended because its signal aborted. */
export class AbortedError extends Error {
  // Declared and set in the constructor, not class fields: each class's field initializer is one more function in a QuickJS heap.
  declare readonly code: 'aborted';
  declare readonly reason: unknown;
  constructor(reason?: unknown) {
    super('aborted');
    this.code = 'aborted';
    this.reason = reason;
    this.name = 'AbortedError';
  }
}

/**
 * Resolves after `ms` of monotonic time on `clock`; rejects with `AbortedError` as soon as
 * `signal` aborts (at once if it already has), and then leaves no timer behind.
 */
export function sleep(clock: Pick<Clock, 'setTimer' | 'clearTimer'>, ms: number, signal?: AbortSignalLike): Promise<void> {
  return wait(clock, ms, signal, false) as Promise<void>;
}

/**
 * Like `sleep`, but an abort ends the wait quietly: resolves `false` (time passed: `true`). For
 * waits that are meant to be interrupted (the scheduler's wait, which every wake-up ends): an
 * Error, with its stack trace, per interruption is pure cost there.
 */
export function pause(clock: Pick<Clock, 'setTimer' | 'clearTimer'>, ms: number, signal?: AbortSignalLike): Promise<boolean> {
  return wait(clock, ms, signal, true) as Promise<boolean>;
}

/** `quiet`: an abort resolves false (`pause`) rather than rejecting (`sleep`, which resolves nothing). */
function wait(clock: Pick<Clock, 'setTimer' | 'clearTimer'>, ms: number, signal: AbortSignalLike | undefined, quiet: boolean): Promise<boolean | undefined> {
  if (!(typeof ms === 'number' && Number.isFinite(ms) && ms >= 0)) return Promise.reject(new RangeError(`sleep: ms must be a finite number >= 0, got ${ms}`));
  return new Promise((resolve, reject) => {
    const stop = (reason: unknown) => (quiet ? resolve(false) : reject(new AbortedError(reason)));
    if (signal?.aborted) return stop(signal.reason);
    let unregister: (() => void) | undefined;
    const timer = clock.setTimer(() => {
      unregister?.();
      resolve(quiet || undefined);
    }, ms);
    unregister = signal?.onAbort((reason) => {
      clock.clearTimer(timer);
      stop(reason);
    });
  });
}

/** AbortController for runtimes without one (QuickJS). */
export interface AbortHandle {
  readonly signal: AbortSignalLike;
  abort(reason?: unknown): void;
}

export function createAbort(): AbortHandle {
  let aborted = false;
  let reason: unknown;
  const listeners = new Set<(reason: unknown) => void>();
  const signal: AbortSignalLike = {
    get aborted() {
      return aborted;
    },
    get reason() {
      return reason;
    },
    onAbort(callback) {
      if (aborted) callback(reason);
      else listeners.add(callback);
      return () => listeners.delete(callback);
    },
  };
  return {
    signal,
    abort(why?: unknown) {
      if (aborted) return;
      aborted = true;
      reason = why;
      for (const listener of [...listeners]) listener(why);
      listeners.clear();
    },
  };
}
