/** Shared suite: the `log` facet. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../../hal/errors.ts';
import type { LogRecord } from '../../../hal/types.ts';
import type { HalFixture, HalTarget } from './fixture.ts';

export function describeLogSuite(fixture: HalFixture): void {
  describe(`log (${fixture.name})`, () => {
    let target: HalTarget;
    beforeEach(async () => {
      target = await fixture.create();
    });
    afterEach(() => target.dispose());

    it('delivers structured records at every level', () => {
      const utcMs = target.device.clock.utcMs();
      for (const level of ['debug', 'info', 'warn', 'error'] as const)
        target.device.log.write({ level, message: `m-${level}`, fields: { n: 1, nested: { ok: true } }, utcMs });
      const mine = target.logs().filter((r) => r.message.startsWith('m-'));
      expect(mine.map((r) => r.level)).toEqual(['debug', 'info', 'warn', 'error']);
      expect(mine[0]).toEqual({ level: 'debug', message: 'm-debug', fields: { n: 1, nested: { ok: true } }, utcMs });
    });

    it('rejects malformed records', () => {
      const utcMs = target.device.clock.utcMs();
      const bad = [
        { level: 'trace', message: 'x', utcMs },
        { level: 'info', message: 5, utcMs },
        { level: 'info', message: 'x' },
        { level: 'info', message: 'x', utcMs, fields: [1] },
      ];
      for (const record of bad) expect(() => target.device.log.write(record as unknown as LogRecord)).toThrow(InvalidOptionsError);
    });
  });
}
