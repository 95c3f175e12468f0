/**
 * Clock of the Node HAL. Monotonic time is `performance.now()` (never jumps), wall time
 * `Date.now()`. Timers are ordinary *ref'd* `setTimeout`s on purpose: while the agent waits for
 * its next poll, the timer is what keeps the process alive; `close()` clears them all so a
 * closed device lets the process exit. Delays beyond setTimeout's 2^31-1 ms are chained.
 */
import { InvalidOptionsError } from '../errors.ts';
import type { Clock, TimerHandle } from '../types.ts';

const MAX_TIMEOUT = 2 ** 31 - 1;

export class NodeClock implements Clock {
  readonly #timers = new Map<TimerHandle, ReturnType<typeof setTimeout>>();
  #nextHandle = 1;

  monotonicMs(): number {
    return performance.now();
  }

  utcMs(): number {
    return Date.now();
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    if (typeof callback !== 'function') throw new InvalidOptionsError('setTimer: callback must be a function');
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0)
      throw new InvalidOptionsError('setTimer: delayMs must be a finite number >= 0');
    const handle = this.#nextHandle++;
    const due = performance.now() + delayMs;
    const arm = (remaining: number): void => {
      this.#timers.set(
        handle,
        setTimeout(() => {
          const left = due - performance.now();
          if (left > 1 && remaining > MAX_TIMEOUT) return arm(left);
          this.#timers.delete(handle);
          callback();
        }, Math.min(remaining, MAX_TIMEOUT)),
      );
    };
    arm(delayMs);
    return handle;
  }

  clearTimer(handle: TimerHandle): void {
    const timer = this.#timers.get(handle);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#timers.delete(handle);
  }

  /** The contract's `Clock` only (no `close` for the agent to call). */
  facet(): Clock {
    return {
      monotonicMs: () => this.monotonicMs(),
      utcMs: () => this.utcMs(),
      setTimer: (callback, delayMs) => this.setTimer(callback, delayMs),
      clearTimer: (handle) => this.clearTimer(handle),
    };
  }

  /** Clears every pending timer. */
  close(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
