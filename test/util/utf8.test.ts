/** agent/util/bytes.ts UTF-8 against the platform's TextEncoder/TextDecoder (QuickJS has neither). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8Decode, utf8Encode, utf8EncodeInto } from '../../agent/util/bytes.ts';

describe('UTF-8', () => {
  it('encodes like TextEncoder, lone surrogates included, and decodes back', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        const encoded = utf8Encode(text);
        expect([...encoded]).toEqual([...new TextEncoder().encode(text)]);
        expect(utf8Decode(encoded)).toBe(new TextDecoder().decode(encoded));
      }),
      { numRuns: 2000 },
    );
  });

  it('encodes into a buffer at an offset and says where it ended', () => {
    const out = new Uint8Array(16).fill(0xee);
    expect(utf8EncodeInto('a€', out, 3)).toBe(7);
    expect([...out.subarray(0, 8)]).toEqual([0xee, 0xee, 0xee, 0x61, 0xe2, 0x82, 0xac, 0xee]);
  });
});
