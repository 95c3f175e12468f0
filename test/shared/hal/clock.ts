/** Shared suite: the `clock` facet. Assertions are about order and firing, never about sleeping. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../../hal/errors.ts';
import type { HalFixture, HalTarget } from './fixture.ts';

export function describeClockSuite(fixture: HalFixture): void {
  describe(`clock (${fixture.name})`, () => {
    let target: HalTarget;
    beforeEach(async () => {
      target = await fixture.create();
    });
    afterEach(() => target.dispose());

    it('monotonic time never goes backwards and advances with elapsed time', async () => {
      const { clock } = target.device;
      const start = clock.monotonicMs();
      expect(clock.monotonicMs()).toBeGreaterThanOrEqual(start);
      await target.elapse(30);
      expect(clock.monotonicMs() - start).toBeGreaterThanOrEqual(29);
    });

    it('wall time is a plausible UTC epoch value', () => {
      expect(target.device.clock.utcMs()).toBeGreaterThan(Date.UTC(2020, 0, 1));
    });

    it('fires timers once each, in order of their due time', async () => {
      const { clock } = target.device;
      const fired: string[] = [];
      const done = new Promise<void>((resolve) => {
        clock.setTimer(() => fired.push('30'), 30);
        clock.setTimer(() => fired.push('5'), 5);
        clock.setTimer(() => fired.push('15'), 15);
        clock.setTimer(() => resolve(), 45);
      });
      await target.elapse(50);
      await done;
      expect(fired).toEqual(['5', '15', '30']);
    });

    it('a cleared timer never fires; unknown handles are ignored', async () => {
      const { clock } = target.device;
      let cleared = false;
      const handle = clock.setTimer(() => {
        cleared = true;
      }, 10);
      clock.clearTimer(handle);
      clock.clearTimer(handle);
      clock.clearTimer(987654);
      // A later timer firing proves the cleared one's time has passed.
      const later = new Promise<void>((resolve) => clock.setTimer(resolve, 30));
      await target.elapse(40);
      await later;
      expect(cleared).toBe(false);
    });

    it('a timer callback can set the next timer', async () => {
      const { clock } = target.device;
      const done = new Promise<number>((resolve) => {
        clock.setTimer(() => clock.setTimer(() => resolve(clock.monotonicMs()), 10), 10);
      });
      const start = clock.monotonicMs();
      await target.elapse(30);
      // Real timers may fire up to ~1 ms early each (libuv rounds its loop time).
      expect((await done) - start).toBeGreaterThanOrEqual(18);
    });

    it('rejects invalid delays and callbacks', () => {
      const { clock } = target.device;
      for (const delay of [-1, Number.NaN, Number.POSITIVE_INFINITY, '5' as unknown as number])
        expect(() => clock.setTimer(() => {}, delay)).toThrow(InvalidOptionsError);
      expect(() => clock.setTimer(undefined as unknown as () => void, 5)).toThrow(InvalidOptionsError);
    });

    it('timers of a closed device never fire', async () => {
      let fired = false;
      target.device.clock.setTimer(() => {
        fired = true;
      }, 10);
      const device = await target.reboot();
      const later = new Promise<void>((resolve) => device.clock.setTimer(resolve, 30));
      await target.elapse(40);
      await later;
      expect(fired).toBe(false);
    });
  });
}
