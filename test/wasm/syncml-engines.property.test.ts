/**
 * The two SyncML tokenizer engines agree on random input: structure-aware near-valid XML and WBXML
 * (fuzz/targets/syncml-generate.ts, driven by fast-check seeds) and raw random bytes, in lenient,
 * strict and small-limit modes (fuzz/targets/syncml-check.ts is the oracle the fuzz targets use too).
 * Also a short smoke of the two fuzz targets themselves.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SyncmlError } from '../../wasm/index.ts';
import { checkEngines } from '../../fuzz/targets/syncml-check.ts';
import { generateWbxml, generateXml } from '../../fuzz/targets/syncml-generate.ts';
import { prng as mulberry32 } from '../../bench/lib.ts'; // cli-fuzz moved the PRNG to bench/lib.ts
import { engines } from './engines.ts';

describe('syncml tokenizer engines agree', () => {
  const tally = { ok: 0, refused: 0 };
  const check = async (input: Uint8Array, format: 'xml' | 'wbxml' | 'auto') => {
    const error = checkEngines(await engines('wasm'), await engines('js'), input, format);
    if (error) tally.refused++;
    else tally.ok++;
  };

  it('on generated XML', async () => {
    await fc.assert(fc.asyncProperty(fc.integer(), (seed) => check(generateXml(mulberry32(seed)), 'xml')), { numRuns: 400 });
  });

  it('on generated WBXML', async () => {
    await fc.assert(fc.asyncProperty(fc.integer(), (seed) => check(generateWbxml(mulberry32(seed)), 'wbxml')), { numRuns: 400 });
  });

  it('on random bytes, any format', async () => {
    const format = fc.constantFrom('xml' as const, 'wbxml' as const, 'auto' as const);
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), format, (bytes, f) => check(bytes, f)), { numRuns: 400 });
  });

  it('reached both outcomes', () => {
    // The generators are useful only if they produce accepted documents as well as refused ones.
    expect(tally.ok).toBeGreaterThan(100);
    expect(tally.refused).toBeGreaterThan(100);
  });

  it('fuzz targets: seeds and a smoke of generated inputs end in success or SyncmlError only', async () => {
    for (const { target } of [await import('../../fuzz/targets/syncml-xml.ts'), await import('../../fuzz/targets/syncml-wbxml.ts')]) {
      const inputs = [...target.seeds(), ...Array.from({ length: 300 }, (_, i) => target.generate?.(mulberry32(i)) as Uint8Array)];
      let refused = 0;
      for (const input of inputs) {
        try {
          await target.run(input);
        } catch (error) {
          expect(target.isExpected(error), String(error)).toBe(true);
          expect(error).toBeInstanceOf(SyncmlError);
          refused++;
        }
      }
      expect(refused).toBeGreaterThan(0);
      expect(refused).toBeLessThan(inputs.length);
    }
  });
});
