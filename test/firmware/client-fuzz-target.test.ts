// The update parsers' fuzz target (fuzz/targets/updates.ts) in short: its seeds are accepted, and
// generated inputs raise only the parsers' typed errors. `npm run fuzz` runs the long campaign.
import { describe, expect, it } from 'vitest';
import { target } from '../../fuzz/targets/updates.ts';
import { SeededRandom } from '../../hal/mock/random.ts';

describe('fuzz target: updates', () => {
  it('every seed is well-formed input', () => {
    for (const seed of target.seeds()) expect(() => target.run(seed)).not.toThrow();
  });

  it('5 000 generated inputs raise only typed errors', () => {
    const source = new SeededRandom(11);
    const random = (): number => (source.next() >>> 0) / 2 ** 32;
    const unexpected: string[] = [];
    let refused = 0;
    for (let i = 0; i < 5_000; i++) {
      const input = target.generate!(random);
      try {
        target.run(input);
      } catch (error) {
        if (target.isExpected(error)) refused++;
        else unexpected.push(`#${i}: ${(error as Error).stack ?? String(error)}`);
      }
    }
    expect(unexpected).toEqual([]);
    // The mutations are not all harmless: the parsers do get to refuse.
    expect(refused).toBeGreaterThan(500);
  });
});
