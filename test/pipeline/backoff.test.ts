import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../agent/pipeline/backoff.ts';
import { createAbort } from '../../agent/util/abort.ts';
import { AbortedError, sleep } from '../../agent/util/sleep.ts';
import { VirtualClock } from '../../hal/mock/index.ts';

describe('backoffDelay', () => {
  const policy = { initialMs: 1000, maxMs: 30_000, factor: 2 };

  it('grows exponentially and stays at the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, policy))).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
    expect(backoffDelay(10_000, policy)).toBe(30_000); // factor^n overflowing is still the cap
  });

  it('jitters into [delay/2, delay)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
        const exact = backoffDelay(attempt, policy);
        const jittered = backoffDelay(attempt, policy, r);
        expect(jittered).toBeGreaterThanOrEqual(exact / 2);
        expect(jittered).toBeLessThanOrEqual(exact);
      }),
    );
  });

  it('refuses nonsense', () => {
    expect(() => backoffDelay(0, policy)).toThrow(RangeError);
    expect(() => backoffDelay(1.5, policy)).toThrow(RangeError);
    expect(() => backoffDelay(1, { ...policy, factor: 0.5 })).toThrow(RangeError);
    expect(() => backoffDelay(1, { ...policy, maxMs: 10 })).toThrow(RangeError);
    expect(() => backoffDelay(1, { ...policy, initialMs: -1 })).toThrow(RangeError);
    expect(() => backoffDelay(1, policy, 1)).toThrow(RangeError);
  });
});

describe('sleep', () => {
  it('resolves after exactly the delay on the given clock', async () => {
    const clock = new VirtualClock();
    let done = false;
    void sleep(clock, 500).then(() => (done = true));
    await clock.advance(499);
    expect(done).toBe(false);
    await clock.advance(1);
    expect(done).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects with AbortedError on abort and clears its timer', async () => {
    const clock = new VirtualClock();
    const abort = createAbort();
    const waiting = sleep(clock, 10_000, abort.signal);
    expect(clock.pendingTimers).toBe(1);
    abort.abort('stop');
    await expect(waiting).rejects.toMatchObject({ code: 'aborted', reason: 'stop' });
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects at once when already aborted, without a timer', async () => {
    const clock = new VirtualClock();
    const abort = createAbort();
    abort.abort();
    await expect(sleep(clock, 10, abort.signal)).rejects.toBeInstanceOf(AbortedError);
    expect(clock.pendingTimers).toBe(0);
  });

  it('refuses a negative delay', async () => {
    await expect(sleep(new VirtualClock(), -1)).rejects.toBeInstanceOf(RangeError);
  });
});
