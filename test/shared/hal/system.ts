/** Shared suite: the `system` facet (identity and machine inventory). */
import { afterEach, describe, expect, it } from 'vitest';
import type { HalFixture, HalTarget } from './fixture.ts';

export function describeSystemSuite(fixture: HalFixture): void {
  describe(`system (${fixture.name})`, () => {
    let target: HalTarget | undefined;
    afterEach(() => target?.dispose());

    it('identity has every field as a non-empty string', async () => {
      target = await fixture.create();
      const identity = await target.device.system.identity();
      for (const key of ['deviceId', 'model', 'oem', 'hardwareId', 'firmwareVersion', 'locale'] as const) {
        expect(typeof identity[key], key).toBe('string');
        expect(identity[key].length, key).toBeGreaterThan(0);
      }
      expect(identity.locale).toMatch(/^[a-z]{2,3}(-[A-Za-z0-9]+)*$/);
    });

    it('identity options override the defaults', async () => {
      target = await fixture.create({ identity: { deviceId: 'suite-device-7', oem: 'Suite OEM' } });
      expect(await target.device.system.identity()).toMatchObject({ deviceId: 'suite-device-7', oem: 'Suite OEM' });
    });

    it('inventory has the documented shape', async () => {
      target = await fixture.create();
      const inventory = await target.device.system.inventory();
      expect(typeof inventory.architecture).toBe('string');
      expect(typeof inventory.operatingSystem).toBe('string');
      expect(Number.isInteger(inventory.cpuCount) && inventory.cpuCount >= 1).toBe(true);
      expect(inventory.memoryBytes).toBeGreaterThan(0);
      expect(inventory.storage.length).toBeGreaterThan(0);
      for (const storage of inventory.storage) {
        expect(typeof storage.name).toBe('string');
        expect(storage.sizeBytes).toBeGreaterThan(0);
        if (storage.freeBytes !== undefined) expect(storage.freeBytes).toBeLessThanOrEqual(storage.sizeBytes);
      }
      for (const net of inventory.network) {
        expect(typeof net.name).toBe('string');
        expect(Array.isArray(net.addresses)).toBe(true);
      }
      // Plain data: it goes into reports as JSON.
      expect(JSON.parse(JSON.stringify(inventory))).toEqual(inventory);
    });
  });
}
