/**
 * The delta module's checksums (wasm/assembly/delta-sums.ts: SIMD and SWAR Adler-32, slicing-by-8
 * CRC) and the JS slicing CRC equal the bytewise definitions on random bytes of every length
 * class: below one 8/16-byte step, across the 5536-byte reduction blocks, and with ragged tails.
 * All-0xff input is the worst case for the lane sums (largest values before a reduction).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bzip2Crc } from '../../wasm/src/bzip2.ts';
import { asDeltaExports, type DeltaExports } from '../../wasm/src/delta-wasm.ts';
import { createNodeWasmHost } from '../../wasm/node-host.ts';
import { adler32 as bytewiseAdler } from './vcdiff-writer.ts';

function bytewiseCrc(bytes: Uint8Array, crc: number): number {
  for (const c of bytes) {
    crc ^= c << 24;
    for (let k = 0; k < 8; k++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  }
  return crc >>> 0;
}

async function load(name: string): Promise<DeltaExports> {
  const host = createNodeWasmHost();
  return asDeltaExports(await host.instantiate(await host.moduleBytes(name), {}));
}

const sizes = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 5500, max: 5600 }), fc.integer({ min: 0, max: 40_000 }));
const input = fc.tuple(sizes, fc.integer({ min: 0, max: 2 ** 31 }), fc.boolean()).map(([n, seed, ones]) => {
  const bytes = new Uint8Array(n);
  let s = seed;
  for (let k = 0; k < n; k++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    bytes[k] = ones ? 0xff : s >>> 24;
  }
  return bytes;
});

describe.each(['delta', 'delta-scalar'])('checksums of %s.wasm', (name) => {
  it('Adler-32 of the target window and CRC update in place equal the bytewise definitions', async () => {
    const x = await load(name);
    await fc.assert(
      fc.asyncProperty(input, fc.integer({ min: 0, max: 0xffffffff }), async (bytes, start) => {
        x.prepare(0, 0, 0, 0, bytes.length);
        new Uint8Array(x.memory.buffer, x.tgtPtr(), bytes.length).set(bytes);
        expect(x.adler32() >>> 0).toBe(bytewiseAdler(bytes));
        expect(x.crc32(x.tgtPtr(), bytes.length, start) >>> 0).toBe(bytewiseCrc(bytes, start));
      }),
      { numRuns: 200 },
    );
  });
});

describe('JS bzip2 CRC', () => {
  it('equals the bytewise definition', () => {
    fc.assert(
      fc.property(input, fc.integer({ min: 0, max: 0xffffffff }), (bytes, start) => {
        expect(bzip2Crc(bytes, start)).toBe(bytewiseCrc(bytes, start));
      }),
      { numRuns: 200 },
    );
  });
});
