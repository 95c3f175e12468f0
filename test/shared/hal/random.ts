/** Shared suite: the `random` facet. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../../hal/errors.ts';
import type { HalFixture, HalTarget } from './fixture.ts';

export function describeRandomSuite(fixture: HalFixture): void {
  describe(`random (${fixture.name})`, () => {
    let target: HalTarget;
    beforeEach(async () => {
      target = await fixture.create();
    });
    afterEach(() => target.dispose());

    it('returns Uint8Arrays of the requested length', () => {
      for (const length of [0, 1, 3, 32, 1000]) {
        const bytes = target.device.random.bytes(length);
        expect(bytes).toBeInstanceOf(Uint8Array);
        expect(bytes.length).toBe(length);
      }
    });

    it('does not repeat itself and uses every bit', () => {
      const a = target.device.random.bytes(32);
      const b = target.device.random.bytes(32);
      expect(a).not.toEqual(b);
      let or = 0;
      let and = 0xff;
      for (const byte of target.device.random.bytes(4096)) {
        or |= byte;
        and &= byte;
      }
      expect([or, and]).toEqual([0xff, 0]);
    });

    it('rejects invalid lengths', () => {
      for (const length of [-1, 1.5, Number.NaN, 1e9]) expect(() => target.device.random.bytes(length)).toThrow(InvalidOptionsError);
    });
  });
}
