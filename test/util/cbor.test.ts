/**
 * agent/util/cbor.ts against cbor-x, the codec it replaced and the real peer (stores written by
 * earlier versions, tools that read dumps): the same bytes for every value the agent encodes,
 * and both read each other's output. Plus RFC 8949 Appendix A vectors and malformed input.
 */
import { Decoder, Encoder } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CborError, decodeCbor, encodeCbor } from '../../agent/util/cbor.ts';
import { fromHex, toHex } from '../../agent/util/bytes.ts';

// The options agent/util/cbor.ts used with cbor-x.
const peerEncoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
const peerDecoder = new Decoder({ useRecords: false, mapsAsObjects: false });
const peerEncode = (value: unknown) => new Uint8Array(peerEncoder.encode(value));

// Well-formed strings only: cbor-x writes a lone surrogate as WTF-8 in short strings and as
// U+FFFD in long ones; ours always writes U+FFFD (tested below).
const text = fc.string({ unit: 'grapheme', maxLength: 40 });
const longText = fc.string({ unit: 'grapheme', minLength: 60, maxLength: 400 });
const number = fc.oneof(
  fc.integer({ min: -30, max: 30 }),
  fc.integer({ min: -0x100000000, max: 0xffffffff }),
  fc.maxSafeInteger(),
  fc.double(),
  fc.constantFrom(0, -0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), -(2 ** 32) - 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER),
);
const leaf = fc.oneof(fc.constant(null), fc.constant(undefined), fc.boolean(), number, text, longText, fc.uint8Array({ maxLength: 300 }));
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('node'), { maxLength: 30 }),
  object: fc.dictionary(fc.oneof(text, fc.constantFrom('__proto__', 'constructor', '0', '17', 'a')), tie('node'), { maxKeys: 30 }),
})).node;

describe('CBOR codec against cbor-x', () => {
  it('writes the same bytes as cbor-x for every value', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(toHex(encodeCbor(v))).toBe(toHex(peerEncode(v)));
      }),
      { numRuns: 2000 },
    );
  });

  it('reads what cbor-x writes, and cbor-x reads what it writes', () => {
    fc.assert(
      fc.property(value, (v) => {
        // -0 is written as the integer 0 (by both).
        const expected = withoutNegativeZero(v);
        expect(decodeCbor(peerEncode(v))).toEqual(expected);
        expect(peerDecode(encodeCbor(v))).toEqual(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('writes big objects and long text with the header cbor-x writes', () => {
    const big = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i]));
    const text64k = 'é'.repeat(40_000);
    for (const v of [big, text64k, new Uint8Array(70_000).fill(7), Array.from({ length: 70_000 }, (_, i) => i & 1)]) {
      expect(toHex(encodeCbor(v))).toBe(toHex(peerEncode(v)));
      expect(decodeCbor(encodeCbor(v))).toEqual(v);
    }
  });

  it('writes Maps behind tag 259 as cbor-x did and reads them back as objects', () => {
    const map = new Map<unknown, unknown>([['a', 1], [2, 'two']]);
    expect(toHex(encodeCbor(map))).toBe(toHex(peerEncode(map)));
    expect(decodeCbor(encodeCbor(map))).toEqual({ a: 1, 2: 'two' });
  });

  it('keeps `__proto__` as data and byte strings as plain Uint8Array copies', () => {
    const v = JSON.parse('{"__proto__": {"x": 1}, "b": 2}');
    const decoded = decodeCbor(encodeCbor(v)) as Record<string, unknown>;
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.keys(decoded)).toEqual(['__proto__', 'b']);
    const input = encodeCbor({ bytes: new Uint8Array([1, 2, 3]) });
    const bytes = (decodeCbor(input) as { bytes: Uint8Array }).bytes;
    expect(bytes.constructor).toBe(Uint8Array);
    input.fill(0);
    expect([...bytes]).toEqual([1, 2, 3]);
  });

  it('encodes inside an encode (a getter that encodes) without mixing the two outputs', () => {
    const inner = { a: 'x'.repeat(300), n: 1 };
    const outer = {
      before: 'é'.repeat(100),
      get nested() {
        return encodeCbor(inner);
      },
      after: [1, 2, 3],
    };
    const plain = { before: outer.before, nested: peerEncode(inner), after: [1, 2, 3] };
    expect(toHex(encodeCbor(outer))).toBe(toHex(peerEncode(plain)));
    expect(toHex(encodeCbor(inner))).toBe(toHex(peerEncode(inner))); // the writer is whole again
  });

  it('writes a lone surrogate as U+FFFD', () => {
    expect(decodeCbor(encodeCbor('a\ud800b'))).toBe('a\ufffdb');
  });
});

describe('CBOR decoding: RFC 8949 Appendix A and the agent rules', () => {
  const vectors: [string, unknown][] = [
    ['00', 0], ['17', 23], ['1818', 24], ['1903e8', 1000], ['1a000f4240', 1000000], ['1b000000e8d4a51000', 1000000000000],
    ['1b001fffffffffffff', Number.MAX_SAFE_INTEGER], ['20', -1], ['3863', -100], ['3903e7', -1000],
    ['f90000', 0], ['f93c00', 1], ['f93e00', 1.5], ['f97bff', 65504], ['f90001', 5.960464477539063e-8], ['f9c400', -4], ['f97c00', Infinity], ['f9fc00', -Infinity],
    ['fa47c35000', 100000], ['fb3ff199999999999a', 1.1], ['fb7e37e43c8800759c', 1e300],
    ['f4', false], ['f5', true], ['f6', null], ['f7', undefined],
    ['40', new Uint8Array()], ['4401020304', new Uint8Array([1, 2, 3, 4])], ['60', ''], ['6161', 'a'], ['62c3bc', 'ü'], ['64f0908591', '𐅑'],
    ['80', []], ['83010203', [1, 2, 3]], ['8301820203820405', [1, [2, 3], [4, 5]]],
    ['a0', {}], ['a201020304', { 1: 2, 3: 4 }], ['a26161016162820203', { a: 1, b: [2, 3] }],
    ['5f42010243030405ff', new Uint8Array([1, 2, 3, 4, 5])], ['7f657374726561646d696e67ff', 'streaming'],
    ['9fff', []], ['9f018202039f0405ffff', [1, [2, 3], [4, 5]]], ['bf61610161629f0203ffff', { a: 1, b: [2, 3] }],
    ['d9d9f7a0', {}], ['d90103a1f5f4', { true: false }], ['a1f93e0001', { '1.5': 1 }],
  ];
  it.each(vectors)('%s', (hex, expected) => {
    expect(decodeCbor(fromHex(hex))).toEqual(expected);
  });

  it('decodes NaN', () => {
    expect(decodeCbor(fromHex('f97e00'))).toBeNaN();
  });

  const malformed: [string, RegExp][] = [
    ['', /found 0/],
    ['0001', /trailing/],
    ['1b0020000000000000', /outside/], // 2^53
    ['3b001fffffffffffff', /outside/], // -2^53
    ['18', /end of data/],
    ['62c3', /runs past/],
    ['9a00010000', /runs past/],
    ['1c', /reserved/],
    ['ff', /unexpected break/],
    ['8201ff', /unexpected break/],
    ['a1f601', /map key of type null/],
    ['a14101', /map key of type object/],
    ['c074323031332d30332d32315432303a30343a30305a', /unsupported CBOR tag 0/],
    ['f0', /simple value 16/],
    ['5f61ff', /bad chunk/],
    ['1f', /indefinite-length integer/],
    ['81'.repeat(300) + '00', /deeper/],
  ];
  it.each(malformed)('refuses %s', (hex, message) => {
    let thrown: unknown;
    try {
      decodeCbor(fromHex(hex));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CborError);
    expect((thrown as Error).message).toMatch(message);
  });

  it('refuses truncated and random input with CborError only', () => {
    fc.assert(
      fc.property(value, fc.nat(), (v, cut) => {
        const bytes = encodeCbor(v);
        const end = cut % bytes.length;
        expect(() => decodeCbor(bytes.subarray(0, end))).toThrow(CborError);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeCbor(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(CborError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses values it cannot write as plain CBOR', () => {
    for (const v of [() => 1, Symbol('s'), new Date(0), new Set([1]), new Uint32Array(2), 2n ** 64n]) expect(() => encodeCbor(v)).toThrow(CborError);
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(() => encodeCbor(loop)).toThrow(CborError);
  });
});

/**
 * How the agent read CBOR with cbor-x: Maps (cbor-x renames a `__proto__` key when it builds
 * objects itself) turned into objects with own keys, Buffers into plain bytes.
 */
function peerDecode(bytes: Uint8Array): unknown {
  const walk = (value: unknown): unknown => {
    if (value instanceof Uint8Array) return new Uint8Array(value);
    if (Array.isArray(value)) return value.map(walk);
    if (value instanceof Map) {
      const out: Record<string, unknown> = {};
      for (const [key, inner] of value) Object.defineProperty(out, String(key), { value: walk(inner), enumerable: true, writable: true, configurable: true });
      return out;
    }
    return value;
  };
  return walk(peerDecoder.decode(bytes));
}

function withoutNegativeZero(value: unknown): unknown {
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(withoutNegativeZero);
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) Object.defineProperty(out, key, { value: withoutNegativeZero(inner), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}
