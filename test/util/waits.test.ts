import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../hal/mock/index.ts';
import { createAbort } from '../../agent/util/abort.ts';
import { loadOnce } from '../../agent/util/load-once.ts';
import { AbortedError, pause, sleep } from '../../agent/util/sleep.ts';

describe('pause (a wait that an abort ends quietly)', () => {
  it('resolves true once the time passed, false when aborted, and leaves no timer behind', async () => {
    const clock = new VirtualClock();
    const timers = clock;
    const passed = pause(timers, 1000);
    await clock.advance(1000);
    expect(await passed).toBe(true);

    const abort = createAbort();
    const cut = pause(timers, 60_000, abort.signal);
    abort.abort('wake');
    expect(await cut).toBe(false);
    expect(clock.pendingTimers).toBe(0);

    expect(await pause(timers, 5, abort.signal)).toBe(false); // already aborted: at once
    await expect(pause(timers, Number.NaN)).rejects.toThrow(RangeError);
  });

  it('sleep still rejects with AbortedError (its callers tell an abort from the time passing that way)', async () => {
    const clock = new VirtualClock();
    const abort = createAbort();
    const waiting = sleep(clock, 60_000, abort.signal);
    abort.abort('stop');
    await expect(waiting).rejects.toBeInstanceOf(AbortedError);
    await expect(sleep(clock, 1, abort.signal)).rejects.toBeInstanceOf(AbortedError);
  });
});

describe('loadOnce', () => {
  it('imports once however many callers ask, and tries again after a failure', async () => {
    let calls = 0;
    let fail = true;
    const load = loadOnce(async () => {
      calls++;
      if (fail) throw new Error('not yet');
      return { module: calls };
    });
    await expect(load()).rejects.toThrow('not yet');
    fail = false;
    const [a, b] = await Promise.all([load(), load()]);
    expect(a).toBe(b);
    expect(await load()).toBe(a);
    expect(calls).toBe(2);
  });
});
