/** Shared suite: the device as a whole (close semantics, options validation). */
import { describe, expect, it } from 'vitest';
import { ClosedError, InvalidOptionsError } from '../../../hal/errors.ts';
import type { HalFixture } from './fixture.ts';
import { expectFailure } from './helpers.ts';

export function describeDeviceSuite(fixture: HalFixture): void {
  describe(`device (${fixture.name})`, () => {
    it('names its platform', async () => {
      const target = await fixture.create();
      try {
        expect(typeof target.device.platform).toBe('string');
        expect(target.device.platform.length).toBeGreaterThan(0);
      } finally {
        await target.dispose();
      }
    });

    it('close is idempotent; every facet then throws ClosedError and open handles are closed', async () => {
      const target = await fixture.create();
      const { device } = target;
      const partition = await device.flash.open({ partition: 'state' });
      const file = await device.staging.open({ name: 'open.bin' });
      await device.close();
      await device.close();
      await expectFailure(() => partition.read(0, 8), ClosedError);
      await expectFailure(() => file.size(), ClosedError);
      await expectFailure(() => device.flash.open({ partition: 'state' }), ClosedError);
      expect(() => device.flash.partitions()).toThrow(ClosedError);
      await expectFailure(() => device.staging.list(), ClosedError);
      await expectFailure(() => device.update.status(), ClosedError);
      await expectFailure(() => device.power.conditions(), ClosedError);
      expect(() => device.power.idleMs()).toThrow(ClosedError);
      await expectFailure(() => device.system.identity(), ClosedError);
      await expectFailure(() => device.exec.run({ command: 'x', timeoutMs: 10 }), ClosedError);
      await expectFailure(() => device.files.stat(fixture.files.root), ClosedError);
      expect(() => device.clock.monotonicMs()).toThrow(ClosedError);
      expect(() => device.clock.setTimer(() => {}, 1)).toThrow(ClosedError);
      expect(() => device.log.write({ level: 'info', message: 'x', utcMs: 0 })).toThrow(ClosedError);
      expect(() => device.random.bytes(1)).toThrow(ClosedError);
      await expectFailure(() => device.net.http.request({ method: 'GET', url: 'http://example.invalid/' }), ClosedError);
      await target.dispose();
    });

    it('refuses invalid options before touching anything', async () => {
      expect(fixture.invalidOptions.length).toBeGreaterThan(0);
      for (const { label, create } of fixture.invalidOptions) {
        let failure: unknown;
        try {
          await create();
        } catch (error) {
          failure = error;
        }
        expect(failure, label).toBeInstanceOf(InvalidOptionsError);
      }
    });
  });
}
