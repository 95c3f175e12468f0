/** agent/util/bytes.ts UTF-8 and base64 against the platform's TextEncoder/TextDecoder and Buffer (QuickJS has none of them). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EncodingError, fromBase64, toBase64, utf8Decode, utf8Encode, utf8EncodeInto } from '../../agent/util/bytes.ts';

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

describe('base64', () => {
  it('encodes and decodes like Buffer at every length (padding included) and refuses what is not base64', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 97 + n * 31) & 255);
      const text = Buffer.from(bytes).toString('base64');
      expect(toBase64(bytes)).toBe(text);
      expect([...fromBase64(text)]).toEqual([...bytes]);
    }
    expect([...fromBase64(' QU\nJD ')]).toEqual([65, 66, 67]);
    for (const bad of ['A', 'A===', 'AB=C', '====', 'AB$=']) expect(() => fromBase64(bad), bad).toThrow(EncodingError);
  });
});
