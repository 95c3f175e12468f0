/**
 * Canonical JSON: fixed vectors, refusals with their codes, and a cross-check against tuf-js's own
 * canonicalizer (@tufjs/canonical-json) on generated documents.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { canonicalize, parseJson, type JsonLimits } from '../../agent/trust/canonical-json.ts';
import { TrustError } from '../../agent/trust/errors.ts';

const { canonicalize: tufCanonicalize } = createRequire(import.meta.url)('@tufjs/canonical-json') as { canonicalize: (v: unknown) => string };

const code = (f: () => unknown) => {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(TrustError);
    return (error as TrustError).code;
  }
  return 'accepted';
};

describe('canonical JSON', () => {
  it('serializes as the TUF dialect: sorted keys, no spaces, only " and \\ escaped', () => {
    expect(canonicalize({ b: 1, a: [true, null, 'x"y\\z\n'], c: { é: -3, A: 0 } })).toBe('{"a":[true,null,"x\\"y\\\\z\n"],"b":1,"c":{"A":0,"é":-3}}');
    expect(canonicalize(-0)).toBe('0');
  });

  it('refuses what canonical JSON cannot carry', () => {
    expect(code(() => canonicalize(1.5))).toBe('malformed');
    expect(code(() => canonicalize(2 ** 60))).toBe('malformed');
    expect(code(() => canonicalize({ a: undefined }))).toBe('malformed');
    expect(code(() => canonicalize(new Date(0)))).toBe('malformed');
  });

  it('parses pretty JSON and reads escapes and surrogate pairs', () => {
    expect(parseJson(' {\n "a" : [ 1 , -2 ],\t"b":"\\u00e9\\ud83d\\ude00\\n\\/"}\n')).toEqual({ a: [1, -2], b: 'é😀\n/' });
    expect(parseJson(new TextEncoder().encode('"😀é"'))).toBe('😀é');
  });

  it('refuses ambiguous and non-canonical input with a typed code', () => {
    const cases: [string, string][] = [
      ['{"a":1,"a":2}', 'malformed'], // duplicate key: two parsers, two documents, one signature
      ['1.0', 'malformed'],
      ['1e3', 'malformed'],
      ['9007199254740993', 'malformed'],
      ['01', 'malformed'],
      ['"\\ud800"', 'malformed'],
      ['"\\udc00x"', 'malformed'],
      ['"a\u0001"', 'malformed'],
      ['[1,]', 'malformed'],
      ['{"a":1} x', 'malformed'],
      ['', 'malformed'],
      ['"abc', 'malformed'],
      ['nul', 'malformed'],
    ];
    for (const [text, expected] of cases) expect([text, code(() => parseJson(text))]).toEqual([text, expected]);
    expect(code(() => parseJson(new Uint8Array([0x22, 0xff, 0x22])))).toBe('malformed');
  });

  it('keeps __proto__ as data', () => {
    const value = parseJson('{"__proto__":{"x":1}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(canonicalize(value)).toBe('{"__proto__":{"x":1}}');
  });

  it('bounds size, depth and value count (endless data)', () => {
    const limits: JsonLimits = { maxBytes: 100, maxDepth: 4, maxValues: 10 };
    expect(code(() => parseJson(' '.repeat(101), limits))).toBe('tooLarge');
    expect(code(() => parseJson('[[[[[1]]]]]', limits))).toBe('tooLarge');
    expect(code(() => parseJson('[1,2,3,4,5,6,7,8,9,10]', limits))).toBe('tooLarge');
    expect(code(() => parseJson('['.repeat(100_000)))).toBe('tooLarge'); // no stack overflow
  });

  it('agrees with tuf-js canonicalization and round-trips through the parser', () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.maxSafeInteger(), fc.string({ unit: 'grapheme' }), tie('array'), tie('object')),
      array: fc.array(tie('value'), { maxLength: 5 }),
      object: fc.dictionary(fc.string({ unit: 'grapheme-ascii' }), tie('value'), { maxKeys: 5 }),
    })).value;
    fc.assert(
      fc.property(json, (value) => {
        const ours = canonicalize(value);
        expect(ours).toBe(tufCanonicalize(value));
        expect(canonicalize(parseJson(ours))).toBe(ours);
        expect(canonicalize(parseJson(JSON.stringify(value, null, 2)))).toBe(ours);
      }),
      { numRuns: 300 },
    );
  });
});
