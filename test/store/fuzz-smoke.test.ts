/** Short smoke of the store-recovery fuzz target (the full campaign runs in `npm run fuzz`). */
import { describe, expect, it } from 'vitest';
import { target } from '../../fuzz/targets/store-recovery.ts';
import { prng } from './workload.ts';

describe('fuzz target store-recovery (smoke)', () => {
  it('every seed and a few hundred generated images open to a writable store or a typed error', async () => {
    const random = prng(0x5ee0);
    const inputs = [...target.seeds(), ...Array.from({ length: 300 }, () => (target.generate as (r: () => number) => Uint8Array)(random))];
    let typed = 0;
    for (const input of inputs) {
      try {
        await target.run(input);
      } catch (error) {
        expect(target.isExpected(error), String(error)).toBe(true);
        typed++;
      }
    }
    expect(target.seeds().length).toBeGreaterThan(40);
    expect(typed).toBeLessThan(inputs.length);
  });
});
