/** Shared suite: the `power` facet (conditions, idle/activity, reboot requests, last boot). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../../hal/errors.ts';
import type { RebootOptions } from '../../../hal/types.ts';
import type { HalFixture, HalTarget } from './fixture.ts';
import { expectFailure } from './helpers.ts';

export function describePowerSuite(fixture: HalFixture): void {
  describe(`power (${fixture.name})`, () => {
    let target: HalTarget;
    beforeEach(async () => {
      target = await fixture.create();
    });
    afterEach(() => target.dispose());

    it('reports conditions with the documented types', async () => {
      const conditions = await target.device.power.conditions();
      for (const key of ['externalPower', 'charging', 'networkUp', 'networkMetered'] as const) expect(typeof conditions[key], key).toBe('boolean');
      if (conditions.batteryPercent !== undefined) expect(conditions.batteryPercent).toBeGreaterThanOrEqual(0);
    });

    it('idle time grows with time and resets on activity, which listeners hear', async () => {
      const { power } = target.device;
      let heard = 0;
      const unregister = power.onActivity(() => heard++);
      target.activity();
      expect(heard).toBe(1);
      const fresh = power.idleMs();
      await target.elapse(40);
      expect(power.idleMs()).toBeGreaterThanOrEqual(fresh + 39);
      target.activity();
      expect(power.idleMs()).toBeLessThan(39);
      unregister();
      target.activity();
      expect(heard).toBe(2);
    });

    it('a first boot is a power-on; a requested reboot reports its reason', async () => {
      expect(await target.device.power.lastBoot()).toEqual({ cause: 'powerOn' });
      await target.device.power.requestReboot({ reason: 'firmware update' });
      const device = await target.reboot();
      expect(await device.power.lastBoot()).toEqual({ cause: 'requested', reason: 'firmware update' });
      const again = await target.reboot();
      expect((await again.power.lastBoot()).cause).toBe('powerOn');
    });

    it('rejects invalid reboot requests', async () => {
      await expectFailure(() => target.device.power.requestReboot({} as RebootOptions), InvalidOptionsError);
      await expectFailure(() => target.device.power.requestReboot({ reason: '' }), InvalidOptionsError);
      expect(() => target.device.power.onActivity(undefined as unknown as () => void)).toThrow(InvalidOptionsError);
    });
  });
}
